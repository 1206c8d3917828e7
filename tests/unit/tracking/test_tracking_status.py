"""final_status: dedupe, event-time order, equal-time precedence, no regression after delivery."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from logisync.domain.tracking import TrackingStatus
from logisync.tracking.formats import FORMATS
from logisync.tracking.status import PRECEDENCE, TERMINAL, final_status, fold_status, ordered_events

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)


def ev(status: str, minutes: int, event_id: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"status": status, "occurred_at": T0 + timedelta(minutes=minutes)}
    if event_id is not None:
        out["event_id"] = event_id
    return out


def test_late_in_transit_never_regresses_delivered() -> None:
    assert final_status([ev("delivered", 60), ev("in_transit", 10)]) == "delivered"
    assert final_status([ev("delivered", 60), ev("in_transit", 90)]) == "delivered"  # skewed scan


def test_terminal_can_follow_terminal() -> None:
    assert final_status([ev("delivered", 60), ev("returned_to_sender", 900)]) == "returned_to_sender"


def test_equal_times_follow_precedence() -> None:
    assert final_status([ev("delivered", 5), ev("out_for_delivery", 5)]) == "delivered"
    assert final_status([ev("exception", 5), ev("in_transit", 5)]) == "exception"


def test_dedupe_by_id_and_by_content() -> None:
    events = [ev("in_transit", 1, "a"), ev("in_transit", 1, "a"), ev("pre_transit", 0), ev("pre_transit", 0)]
    assert len(ordered_events(events)) == 2


def test_no_events_no_status() -> None:
    assert final_status([]) is None


def test_decoded_fixture_changes_feed_final_status() -> None:
    body = json.loads((Path(__file__).parents[2] / "fixtures/carriers/x12_214_statuses.json").read_text())
    changes = FORMATS["x12_214"].decode(body).changes
    assert final_status(c.fields for c in reversed(changes)) == "delivered"


def test_precedence_covers_every_status() -> None:
    assert set(PRECEDENCE) == set(TrackingStatus)


events_strategy = st.lists(
    st.builds(
        ev,
        st.sampled_from([s.value for s in TrackingStatus]),
        st.integers(min_value=0, max_value=20),  # few distinct times: many ties
        st.one_of(st.none(), st.sampled_from(["e1", "e2", "e3", "e4"])),  # shared ids: corrections
    ),
    max_size=12,
)


@given(events=events_strategy, data=st.data())
def test_permutation_and_duplication_do_not_change_the_status(
    events: list[dict[str, Any]], data: Any
) -> None:
    dups = data.draw(st.lists(st.sampled_from(events), max_size=8)) if events else []
    shuffled = data.draw(st.permutations(events + dups))
    canonical = fold_status(ordered_events(events))
    assert final_status(shuffled) == canonical
    assert final_status(reversed(shuffled)) == canonical


@given(events=events_strategy)
def test_delivered_is_never_regressed_to_a_moving_status(events: list[dict[str, Any]]) -> None:
    kept = ordered_events(events)
    result = final_status(events)
    if any(e["status"] == "delivered" for e in kept):
        assert result in TERMINAL
