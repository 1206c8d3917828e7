"""Stock movements on both stores: adjustments (deltas with a reason), counts and their variance."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from logisync.config import parse_syncmap
from logisync.domain.change import Change
from logisync.domain.kinds import Domain
from logisync.pipeline import Pipeline

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
