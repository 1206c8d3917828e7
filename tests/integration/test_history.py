"""Reading records back on both stores: explain (provenance and what was replaced), history, time travel."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import logisync.pipeline.ingest as ingest_module
from logisync.config import parse_syncmap
from logisync.domain.change import Change, from_us
from logisync.domain.kinds import Domain
from logisync.history import explain, history, state_at, view
from logisync.pipeline import Pipeline

T1 = 1_714_550_400_000_000  # 2024-05-01T08:00:00Z, in µs
MINUTE = 60_000_000
TN = "1Z999AA10123456784"

# erp may write inventory too: `uom` belongs to nobody, so both systems set it
MAP = """\
systems:
  wms: {kind: wms}
  erp: {kind: erp, writes: [inventory]}
  carrier: {kind: carrier}
owners:
  inventory.quantities: wms
  tracking: carrier
"""


class Clock:
    """The hub's clock, set by the test: every batch is received at `now`."""

    def __init__(self) -> None:
        self.now = T1

    def __call__(self) -> int:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    c = Clock()
    monkeypatch.setattr(ingest_module, "now_us", c)
    return c


@pytest.fixture
def pipeline(store) -> Pipeline:
    return Pipeline(store, parse_syncmap(MAP, env={}))


def inv(cid: str, v: int, **fields: Any) -> Change:
    return Change(id=cid, domain=Domain.inventory, key="SKU-1@DC1", fields=fields, version=v)


def at(clock: Clock, minutes: int) -> int:
    clock.now = T1 + minutes * MINUTE
    return clock.now


def state(record) -> tuple[Any, ...]:
    return (record.fields, record.prov, record.revision, record.updated_us)


@pytest.fixture
def three_changes(store, pipeline, clock) -> None:
    """wms sets on_hand/allocated at 0 min, erp sets the unit at 10, wms recounts at 20, a stale replay at 30."""
    at(clock, 0)
    pipeline.ingest("wms", [inv("w1", 1, on_hand=10, allocated=2)], source="wms.ndjson:1")
    at(clock, 10)
    pipeline.ingest("erp", [inv("e1", 1, uom="case")])
    at(clock, 20)
    pipeline.ingest("wms", [inv("w2", 2, on_hand=8, uom="each")])
    at(clock, 30)
    pipeline.ingest("wms", [inv("w0", 0, on_hand=99)])  # an old replay: stale


def test_explain_names_the_system_change_time_and_what_was_replaced(store, three_changes):
    stories = {s.field: s for s in explain(store, "inventory", "SKU-1@DC1")}
    assert list(stories) == ["allocated", "on_hand", "uom"]
    on_hand = stories["on_hand"]
    assert (on_hand.value, on_hand.system, on_hand.change_id, on_hand.stamp, on_hand.applied_us) == (
        8,
        "wms",
        "w2",
        2,
        T1 + 20 * MINUTE,
    )
    assert (on_hand.replaced_value, on_hand.replaced_system, on_hand.replaced_change_id) == (10, "wms", "w1")
    uom = stories["uom"]
    assert (uom.value, uom.system, uom.change_id) == ("each", "wms", "w2")
    assert (uom.replaced_value, uom.replaced_system, uom.replaced_change_id) == (
        "case",
        "erp",
        "e1",
    )
    allocated = stories["allocated"]
    assert (allocated.value, allocated.change_id, allocated.applied_us) == (2, "w1", T1)
    assert (allocated.replaced_value, allocated.replaced_system, allocated.replaced_change_id) == (
        None,
        None,
        None,
    )
    assert on_hand.as_dict() == {
        "field": "on_hand",
        "value": 8,
        "system": "wms",
        "change_id": "w2",
        "stamp": 2,
        "applied_at": "2024-05-01T08:20:00+00:00",
        "replaced": {"value": 10, "system": "wms", "change_id": "w1"},
    }
    assert allocated.as_dict()["replaced"] is None


def test_explain_an_unknown_record(store):
    assert explain(store, "inventory", "SKU-404@DC1") is None
    assert explain(store, Domain.order, "SO-404") is None


def test_view_shows_derived_fields_and_readable_provenance(store, three_changes):
    shown = view(store.get_record("inventory", "SKU-1@DC1"), store)
    assert shown["fields"] == {"on_hand": 8, "allocated": 2, "uom": "each", "available": 6}
    assert shown["revision"] == 3
    assert shown["updated_at"] == "2024-05-01T08:20:00+00:00"
    assert shown["provenance"]["uom"]["system"] == "wms"
    assert shown["provenance"]["uom"]["change_id"] == "w2"
    assert shown["provenance"]["allocated"]["applied_at"] == "2024-05-01T08:00:00+00:00"
    assert "available" not in shown["provenance"]  # derived: no provenance of its own


def test_history_lists_every_change_oldest_first(store, three_changes):
    entries = history(store, "inventory", "SKU-1@DC1")
    assert [(e["change_id"], e["system"], e["outcome"]) for e in entries] == [
        ("w1", "wms", "applied"),
        ("e1", "erp", "applied"),
        ("w2", "wms", "applied"),
        ("w0", "wms", "stale"),
    ]
    assert entries[0]["source"] == "wms.ndjson:1"
    assert entries[0]["applied_fields"] == ["on_hand", "allocated"]
    assert entries[0]["received_at"] == "2024-05-01T08:00:00+00:00"
    assert entries[3]["applied_fields"] is None
    assert entries[3]["fields"] == {"on_hand": 99}
    assert entries[3]["reason"] == "older than the golden record (stamp 0): on_hand (has 2 from wms)"
    assert [e["seq"] for e in entries] == sorted(e["seq"] for e in entries)
    assert history(store, "inventory", "SKU-404@DC1") == []


def test_the_history_of_one_record_holds_nothing_of_another(store, pipeline, clock):
    pipeline.ingest(
        "wms",
        [inv("a", 1, on_hand=1), Change(id="b", domain="inventory", key="SKU-2@DC1", fields={"on_hand": 2})],
    )
    pipeline.ingest(
        "wms",
        [Change(id="c", domain="inventory", key="SKU-2@DC1", fields={"on_hand": 3}), inv("d", 2, on_hand=4)],
    )
    assert [e["change_id"] for e in history(store, "inventory", "SKU-1@DC1")] == ["a", "d"]
    assert [e["change_id"] for e in history(store, "inventory", "SKU-2@DC1")] == ["b", "c"]


def test_state_at_a_moment_between_two_changes_is_the_earlier_state(store, pipeline, clock):
    at(clock, 0)
    pipeline.ingest("wms", [inv("w1", 1, on_hand=10, allocated=2)])
    after_first = store.get_record("inventory", "SKU-1@DC1")
    at(clock, 10)
    pipeline.ingest("erp", [inv("e1", 1, uom="case")])
    after_second = store.get_record("inventory", "SKU-1@DC1")
    at(clock, 20)
    pipeline.ingest("wms", [inv("w2", 2, on_hand=8, uom="each")])

    assert state_at(store, "inventory", "SKU-1@DC1", T1 - 1) is None  # before it existed
    assert state(state_at(store, "inventory", "SKU-1@DC1", T1)) == state(after_first)
    assert state(state_at(store, "inventory", "SKU-1@DC1", T1 + 5 * MINUTE)) == state(after_first)
    assert state(state_at(store, "inventory", "SKU-1@DC1", T1 + 15 * MINUTE)) == state(after_second)
    now = store.get_record("inventory", "SKU-1@DC1")
    assert state(state_at(store, "inventory", "SKU-1@DC1", T1 + 60 * MINUTE)) == state(now)
    assert state_at(store, Domain.inventory, "SKU-404@DC1", T1 + 60 * MINUTE) is None


def test_state_at_skips_what_was_not_applied(store, three_changes):
    now = store.get_record("inventory", "SKU-1@DC1")
    assert state(state_at(store, "inventory", "SKU-1@DC1", T1 + 30 * MINUTE)) == state(now)
    assert state_at(store, "inventory", "SKU-1@DC1", T1 + 30 * MINUTE).fields["on_hand"] == 8


def test_state_at_a_partly_stale_change_takes_only_its_applied_fields(store, pipeline, clock):
    at(clock, 0)
    pipeline.ingest("wms", [inv("a", 5, on_hand=5)])
    at(clock, 1)
    pipeline.ingest("wms", [inv("b", 4, on_hand=4, allocated=1)])
    past = state_at(store, "inventory", "SKU-1@DC1", T1 + MINUTE)
    assert past.fields == {"on_hand": 5, "allocated": 1}
    assert state(past) == state(store.get_record("inventory", "SKU-1@DC1"))


def test_state_at_now_of_an_event_record_with_late_events_is_the_record(store, pipeline, clock):
    def event(cid: str, hours: int, status: str) -> Change:
        moment = datetime(2024, 5, 1, tzinfo=UTC) + timedelta(hours=hours)
        return Change(id=cid, domain=Domain.tracking, key=TN, fields={"status": status}, occurred_at=moment)

    at(clock, 0)
    pipeline.ingest("carrier", [event("e1", 1, "in_transit")])
    at(clock, 1)
    pipeline.ingest("carrier", [event("e3", 5, "delivered")])
    at(clock, 2)
    pipeline.ingest("carrier", [event("e2", 3, "out_for_delivery")])  # late: kept, applies nothing
    past = state_at(store, "tracking", TN, T1 + 90_000_000)
    assert past.fields == {"status": "delivered"}
    now = store.get_record("tracking", TN)
    assert now.fields == {"status": "delivered"}
    assert state(state_at(store, "tracking", TN, T1 + 10 * MINUTE)) == state(now)


def test_time_travel_reads_the_hub_clock_not_the_source_clock(store, pipeline, clock):
    at(clock, 0)
    event = Change(
        id="e1",
        domain=Domain.tracking,
        key=TN,
        fields={"status": "delivered"},
        occurred_at=from_us(T1 + 60 * MINUTE),  # the carrier says an hour from now
    )
    pipeline.ingest("carrier", [event])
    assert state_at(store, "tracking", TN, T1).fields == {"status": "delivered"}
