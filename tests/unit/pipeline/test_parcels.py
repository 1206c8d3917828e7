"""Event digests (dedupe, corrections, the bound) and a shipment's status from its parcels."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from logisync.domain.tracking import TrackingStatus
from logisync.pipeline.parcels import (
    MAX_EVENTS,
    SUMMARY,
    delivered_at,
    digest,
    parcel_status,
    remember,
    shipment_status,
)
from logisync.tracking.status import final_status

T0 = datetime(2026, 3, 1, 8, 0, tzinfo=UTC)


def ev(status: str, minutes: int, event_id: str | None = None, city: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"status": status, "occurred_at": (T0 + timedelta(minutes=minutes)).isoformat()}
    if event_id is not None:
        out["event_id"] = event_id
    if city is not None:
        out["city"] = city
    return out


def fold(events: list[dict[str, Any]], limit: int = MAX_EVENTS) -> list[dict[str, str]]:
    kept: list[dict[str, str]] = []
    for event in events:
        kept = remember(kept, digest(event), limit)
    return kept


def test_a_digest_is_the_event_id_or_a_stable_digest_of_the_content():
    assert digest(ev("in_transit", 5, "e-1")) == {
        "id": "e-1",
        "status": "in_transit",
        "at": "2026-03-01T08:05:00+00:00",
    }
    one, two = digest(ev("in_transit", 5, city="Leipzig")), digest(ev("in_transit", 5, city="Leipzig"))
    assert one == two and one["id"].startswith("~")
    assert digest(ev("in_transit", 5, city="Halle"))["id"] != one["id"]


def test_duplicates_are_kept_once_and_a_correction_keeps_the_later_copy_whatever_the_order():
    first, corrected = ev("out_for_delivery", 5, "e-1"), ev("delivered", 9, "e-1")
    assert fold([first, corrected, first]) == fold([corrected, first]) == [digest(corrected)]


def test_the_bound_keeps_the_newest_and_the_last_terminal_it_drops_as_a_summary():
    events = [ev("delivered", 0, "d")] + [ev("in_transit", m, f"t{m}") for m in range(1, 8)]
    kept = fold(events, limit=4)
    assert [d["id"] for d in kept] == [SUMMARY, "t5", "t6", "t7"]
    assert parcel_status(kept) == {"status": "delivered", "at": "2026-03-01T08:00:00+00:00"}


def test_a_correction_of_a_summarised_event_leaves_the_terminal_summary_standing():
    kept = fold([ev("delivered", 0, "d"), ev("in_transit", 1, "t1"), ev("in_transit", 2, "t2")], limit=2)
    assert parcel_status(remember(kept, digest(ev("in_transit", 3, "d")), 2))["status"] == "delivered"


event = st.builds(
    lambda status, minutes, with_id: ev(status, minutes, f"{status}@{minutes}" if with_id else None),
    st.sampled_from([s.value for s in TrackingStatus]),
    st.integers(0, 30),
    st.booleans(),
)


@given(st.lists(event, max_size=30), st.randoms(use_true_random=False), st.integers(1, 6))
def test_digests_give_final_status_of_the_full_events_in_any_order_even_bounded(events, rng, limit):
    shuffled = events + events[: len(events) // 2]
    rng.shuffle(shuffled)
    expected = final_status(events)
    got = parcel_status(fold(shuffled, limit))
    assert (got or {}).get("status") == (expected.value if expected else None)


corrected = st.builds(
    lambda status, minutes, event_id: ev(status, minutes, event_id),
    st.sampled_from([s.value for s in TrackingStatus]),
    st.integers(0, 30),
    st.sampled_from(["a", "b", "c"]),
)


@given(st.lists(corrected, max_size=20), st.randoms(use_true_random=False))
def test_corrections_keep_the_copy_final_status_keeps_whatever_the_arrival_order(events, rng):
    shuffled = list(events)
    rng.shuffle(shuffled)
    expected = final_status(events)
    got = parcel_status(fold(shuffled))
    assert (got or {}).get("status") == (expected.value if expected else None)


@pytest.mark.parametrize(
    ("parcels", "expected"),
    [
        ([], None),
        ([None, None], None),
        (["in_transit"], "in_transit"),
        (["delivered", "delivered"], "delivered"),
        (["delivered", None], "label_created"),  # a silent parcel holds the shipment back
        (["delivered", "out_for_delivery", "in_transit"], "in_transit"),  # the least advanced
        (["delivered", "exception", "in_transit"], "exception"),
        (["delivered", "returned_to_sender"], "returned_to_sender"),
        (["cancelled", "delivered"], "delivered"),  # a voided label does not count
        (["cancelled", "cancelled"], "cancelled"),
    ],
)
def test_shipment_status_from_its_parcels(parcels, expected):
    assert shipment_status(parcels) == (TrackingStatus(expected) if expected else None)


def test_delivered_at_is_the_last_parcels_delivery():
    parcels = [
        {"status": "delivered", "at": "2026-03-01T09:00:00+00:00"},
        {"status": "delivered", "at": "2026-03-01T11:30:00+01:00"},
    ]
    assert delivered_at(parcels) == "2026-03-01T10:30:00+00:00"
