"""A change: its envelope, its order stamp (version, else event time, else arrival), and outcomes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from logisync.domain.change import Change, Outcome, from_us, now_us, to_us
from logisync.domain.kinds import Domain, OutcomeKind


def change(**kw) -> Change:
    base = {"id": "c1", "domain": "inventory", "key": "SKU-1@DC1", "fields": {"on_hand": 1}}
    return Change(**{**base, **kw})


def test_the_stamp_is_the_version_first():
    moment = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    assert change(version=7, occurred_at=moment).order_stamp(received_us=99) == 7
    assert change(version=0).order_stamp(received_us=99) == 0  # version 0 is a version, not "none"


def test_then_the_event_time_in_microseconds():
    moment = datetime(2024, 5, 1, 12, 0, 0, 250, tzinfo=UTC)
    assert change(occurred_at=moment).order_stamp(received_us=99) == 1_714_564_800_000_250


def test_then_the_arrival_time():
    assert change().order_stamp(received_us=1234) == 1234


def test_naive_times_are_utc_and_offsets_are_honoured():
    naive = datetime(2024, 5, 1, 12, 0)
    berlin = datetime(2024, 5, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    assert to_us(naive) == to_us(berlin) == 1_714_564_800_000_000


@given(st.datetimes(timezones=st.just(UTC)))
def test_microseconds_round_trip(moment):
    assert from_us(to_us(moment)) == moment


def test_now_is_microseconds_since_the_epoch():
    assert abs(now_us() - int(datetime.now(UTC).timestamp() * 1_000_000)) < 60_000_000


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"version": -1}, "version"),
        ({"version": 2**63}, "version"),  # past a signed 64-bit column
        ({"id": ""}, "id"),
        ({"id": "x" * 201}, "id"),
        ({"key": ""}, "key"),
        ({"domain": "invoice"}, "domain"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_a_malformed_envelope_is_refused(changes, field):
    with pytest.raises(ValidationError) as info:
        change(**changes)
    assert {e["loc"][0] for e in info.value.errors()} == {field}


def test_the_largest_version_fits():
    assert change(version=2**63 - 1).version == 2**63 - 1


def test_a_change_is_immutable():
    c = change()
    assert c.domain is Domain.inventory
    with pytest.raises(ValidationError):
        c.key = "SKU-2@DC1"  # type: ignore[misc]


def test_outcome_as_dict_carries_the_first_outcome_of_a_duplicate():
    first = Outcome("c1", OutcomeKind.applied, applied_fields=["on_hand"], received_us=1_714_564_800_000_000)
    dup = Outcome("c1", OutcomeKind.duplicate, "seen before", original=first)
    assert dup.as_dict() == {
        "id": "c1",
        "outcome": "duplicate",
        "reason": "seen before",
        "original": {
            "id": "c1",
            "outcome": "applied",
            "applied_fields": ["on_hand"],
            "received_at": "2024-05-01T12:00:00+00:00",
        },
    }
    assert Outcome("c2", OutcomeKind.stale).as_dict() == {"id": "c2", "outcome": "stale"}


@pytest.mark.parametrize("bad", ["a\x00b", "line\nbreak", "tab\there", "del\x7f"])
def test_ids_and_keys_refuse_control_characters(bad):
    with pytest.raises(ValidationError):
        Change(id=bad, domain="product", key="SKU-1", fields={"name": "x"})
    with pytest.raises(ValidationError):
        Change(id="c1", domain="product", key=bad, fields={"name": "x"})
