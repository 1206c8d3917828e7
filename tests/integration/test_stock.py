"""Stock movements on both stores: adjustments (deltas with a reason), counts and their variance."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logisync.config import parse_syncmap
from logisync.domain.change import Change
from logisync.domain.kinds import Domain
from logisync.history import state_at
from logisync.pipeline import Pipeline
from logisync.store import open_store

T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
MAP = "systems:\n  wms: {kind: wms}\nowners:\n  inventory.quantities: wms\n"


@pytest.fixture
def pipeline(store) -> Pipeline:
    return Pipeline(store, parse_syncmap(MAP, env={}))


def inv(cid: str, minutes: int | None = None, key: str = "SKU-1@DC1", **fields: Any) -> Change:
    at = None if minutes is None else T0 + timedelta(minutes=minutes)
    return Change(id=cid, domain=Domain.inventory, key=key, fields=fields, occurred_at=at)


def on_hand(store, key: str = "SKU-1@DC1") -> Any:
    record = store.get_record("inventory", key)
    return None if record is None else record.fields.get("on_hand")


def test_an_adjustment_adds_its_delta_and_is_applied_once(store, pipeline):
    pipeline.ingest("wms", [inv("s1", on_hand=10)])
    [out] = pipeline.ingest("wms", [inv("a1", adjust={"on_hand": 5, "reason": "receipt"})])
    assert out.outcome == "applied"
    assert out.applied_fields == ["on_hand", "adjust"]
    [again] = pipeline.ingest("wms", [inv("a1", adjust={"on_hand": 5, "reason": "receipt"})])
    assert again.outcome == "duplicate"
    assert on_hand(store) == 15
    entry = store.get_change("wms", "a1")
    assert entry.payload == {"adjust": {"on_hand": 5, "inbound": None, "reason": "receipt"}}


def test_deltas_commute_whatever_order_their_event_times_arrive_in(store, pipeline):
    pipeline.ingest("wms", [inv("s1", 0, on_hand=10)])
    pipeline.ingest("wms", [inv("d2", 20, adjust={"on_hand": -3, "reason": "damage"})])
    pipeline.ingest("wms", [inv("d1", 10, adjust={"on_hand": 4, "reason": "receipt"})])  # late, still counts
    assert on_hand(store) == 11


def test_a_delta_older_than_the_last_count_is_stale_the_count_already_has_it(store, pipeline):
    pipeline.ingest("wms", [inv("c1", 30, on_hand=40, counted_at=(T0 + timedelta(minutes=30)).isoformat())])
    [out] = pipeline.ingest("wms", [inv("d1", 10, adjust={"on_hand": 4, "reason": "receipt"})])
    assert out.outcome == "stale"
    assert on_hand(store) == 40


def test_deltas_with_no_absolute_value_under_them_all_count_whatever_their_times(store, pipeline):
    pipeline.ingest("wms", [inv("d2", 20, adjust={"on_hand": 3, "reason": "receipt"})])
    [out] = pipeline.ingest("wms", [inv("d1", 10, adjust={"on_hand": 4, "reason": "receipt"})])
    assert out.outcome == "applied"
    assert on_hand(store) == 7
    pipeline.ingest("wms", [inv("c1", 30, on_hand=5, counted_at=(T0 + timedelta(minutes=30)).isoformat())])
    [late] = pipeline.ingest("wms", [inv("d0", 25, adjust={"on_hand": 1, "reason": "found"})])
    assert late.outcome == "stale"  # the count at 30 already has it
    assert on_hand(store) == 5


# (minute, delta) pairs: distinct ids by position; sent in any order, some twice. Deltas at even
# minutes, a snapshot at an odd one: no stamp ties between the two (ties go by change id)
deltas = st.lists(
    st.tuples(st.integers(0, 30).map(lambda m: 2 * m), st.integers(1, 9)), min_size=1, max_size=8
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(deltas, st.randoms(use_true_random=False), st.none() | st.integers(0, 30).map(lambda m: 2 * m + 1))
def test_any_order_and_duplication_of_deltas_ends_in_the_same_stock(moves, rnd, snapshot_at):
    """Deltas commute: sent in any order, with repeats, they end where their sum says. With a
    snapshot sent first, exactly the deltas newer than it count on top of it."""
    sends = [
        inv(f"d{i}", minute, adjust={"on_hand": n, "reason": "receipt"})
        for i, (minute, n) in enumerate(moves)
    ]
    sends += rnd.sample(sends, k=len(sends) // 2)
    rnd.shuffle(sends)
    store = open_store("sqlite:///:memory:")
    try:
        pipeline = Pipeline(store, parse_syncmap(MAP, env={}))
        expected = sum(n for _, n in moves)
        if snapshot_at is not None:
            pipeline.ingest("wms", [inv("s0", snapshot_at, on_hand=100)])
            expected = 100 + sum(n for minute, n in moves if minute > snapshot_at)
        for change in sends:
            pipeline.ingest("wms", [change])
        assert on_hand(store) == expected
    finally:
        store.close()


def test_a_count_older_than_an_applied_movement_does_not_undo_it(store, pipeline):
    pipeline.ingest("wms", [inv("s1", 0, on_hand=10)])
    pipeline.ingest("wms", [inv("d1", 20, adjust={"on_hand": 5, "reason": "receipt"})])
    [out] = pipeline.ingest(
        "wms", [inv("c1", 10, on_hand=7, counted_at=(T0 + timedelta(minutes=10)).isoformat())]
    )
    assert out.outcome == "stale"
    assert on_hand(store) == 15


def test_a_delta_below_zero_is_rejected_with_the_numbers_and_an_exception(store, pipeline):
    pipeline.ingest("wms", [inv("s1", on_hand=1)])
    [out] = pipeline.ingest("wms", [inv("d1", adjust={"on_hand": -2, "reason": "damage"})])
    assert out.outcome == "rejected"
    assert out.reason == "adjustment of -2 would take on_hand below zero (the record has 1)"
    assert on_hand(store) == 1
    [exc] = store.list_exceptions(kind="negative_stock")
    assert (exc.key, exc.change_id, exc.system) == ("SKU-1@DC1", "d1", "wms")


def test_a_rejected_first_delta_leaves_no_empty_record(store, pipeline):
    [out] = pipeline.ingest("wms", [inv("d1", key="SKU-9@DC1", adjust={"on_hand": -1, "reason": "damage"})])
    assert out.outcome == "rejected"
    assert store.get_record("inventory", "SKU-9@DC1") is None


def test_a_count_that_differs_keeps_its_variance(store, pipeline):
    pipeline.ingest("wms", [inv("s1", 0, on_hand=12)])
    counted = (T0 + timedelta(minutes=5)).isoformat()
    [out] = pipeline.ingest("wms", [inv("c1", 5, on_hand=9, counted_at=counted)])
    assert out.outcome == "applied"
    assert "variance" in out.applied_fields
    record = store.get_record("inventory", "SKU-1@DC1")
    assert record.fields["on_hand"] == 9
    assert record.fields["variance"] == {
        "quantity": -3,
        "expected": 12,
        "counted": 9,
        "counted_at": "2026-11-01T08:05:00Z",
    }
    assert record.prov["variance"]["c"] == "c1"


def test_a_count_that_agrees_or_comes_first_records_no_variance(store, pipeline):
    first = (T0 + timedelta(minutes=1)).isoformat()
    pipeline.ingest("wms", [inv("c1", 1, on_hand=5, counted_at=first)])
    pipeline.ingest("wms", [inv("c2", 2, on_hand=5, counted_at=(T0 + timedelta(minutes=2)).isoformat())])
    assert "variance" not in store.get_record("inventory", "SKU-1@DC1").fields


def test_an_adjustment_of_inbound_moves_expected_stock(store, pipeline):
    pipeline.ingest("wms", [inv("s1", on_hand=3, inbound=100)])
    pipeline.ingest("wms", [inv("r1", adjust={"on_hand": 40, "inbound": -40, "reason": "receipt"})])
    record = store.get_record("inventory", "SKU-1@DC1")
    assert (record.fields["on_hand"], record.fields["inbound"]) == (43, 60)


def test_an_adjustment_needs_a_known_reason(store, pipeline):
    [out] = pipeline.ingest("wms", [inv("d1", adjust={"on_hand": 1, "reason": "magic"})])
    assert out.outcome == "quarantined"
    assert "adjust.reason" in out.reason


def test_a_stale_count_takes_nothing_not_even_its_time(store, pipeline):
    pipeline.ingest("wms", [inv("c2", 20, on_hand=8, counted_at=(T0 + timedelta(minutes=20)).isoformat())])
    [out] = pipeline.ingest(
        "wms", [inv("c1", 10, on_hand=7, counted_at=(T0 + timedelta(minutes=10)).isoformat())]
    )
    assert out.outcome == "stale"
    assert store.get_record("inventory", "SKU-1@DC1").fields["counted_at"] == "2026-11-01T08:20:00Z"


def test_a_count_that_takes_its_quantity_but_not_its_time_reports_what_it_applied(store, pipeline):
    """A count applies `on_hand` and `variance` but not a `counted_at` already newer: a repeat of it
    (and the change log) names the fields it applied, not the fields it was sent."""
    pipeline.ingest("wms", [inv("s1", 0, on_hand=10)])
    pipeline.ingest("wms", [inv("t1", 30, counted_at=(T0 + timedelta(minutes=30)).isoformat())])
    count = inv("c1", 20, on_hand=7, counted_at=(T0 + timedelta(minutes=20)).isoformat())
    [out] = pipeline.ingest("wms", [count])
    assert (out.outcome, out.applied_fields) == ("applied", ["on_hand", "variance"])
    [again] = pipeline.ingest("wms", [count])
    assert again.outcome == "duplicate"
    assert again.original.applied_fields == ["on_hand", "variance"]
    assert store.get_change("wms", "c1").applied == ["on_hand", "variance"]
    assert store.get_record("inventory", "SKU-1@DC1").fields["variance"]["quantity"] == -3


def test_state_at_replays_adjustments_and_counts(store, pipeline):
    pipeline.ingest("wms", [inv("s1", 0, on_hand=10, inbound=5)])
    pipeline.ingest("wms", [inv("a1", 10, adjust={"on_hand": 5, "inbound": -5, "reason": "receipt"})])
    middle = store.get_record("inventory", "SKU-1@DC1")
    pipeline.ingest("wms", [inv("c1", 20, on_hand=12, counted_at=(T0 + timedelta(minutes=20)).isoformat())])
    pipeline.ingest("wms", [inv("a2", 30, adjust={"on_hand": -2, "reason": "damage"})])
    now = store.get_record("inventory", "SKU-1@DC1")
    assert now.fields["on_hand"] == 10 and now.fields["variance"]["quantity"] == -3
    log = store.record_log("inventory", "SKU-1@DC1")
    replayed = state_at(store, "inventory", "SKU-1@DC1", log[-1].received_us)
    assert (replayed.fields, replayed.prov, replayed.revision) == (now.fields, now.prov, now.revision)
    past = state_at(store, "inventory", "SKU-1@DC1", log[1].received_us)
    assert (past.fields, past.prov, past.revision) == (middle.fields, middle.prov, middle.revision)
