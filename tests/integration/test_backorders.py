"""Backorders filled when stock frees up, on both stores: oldest backorder first, in the transaction
that freed the stock, never with units another order holds, each channel's ATP following."""

from __future__ import annotations

from typing import Any

import pytest

from fixtures.channels import SYNCMAP, atp, order, stock
from logisync.inbox import Inbox
from logisync.pipeline import Pipeline


@pytest.fixture
def pipeline(store) -> Pipeline:
    return Pipeline(store, SYNCMAP)


def holds(store, key: str) -> tuple[Any, Any]:
    fields = store.get_record("order", key).fields
    return fields.get("reservations"), fields.get("backorders")


def held_at(store, key: str) -> dict[str, int]:
    return store.get_record("inventory", key).fields.get("reserved_by") or {}


def test_a_receipt_fills_the_oldest_backorders_first_in_its_own_transaction(store, pipeline):
    pipeline.ingest("wms", [stock("s1", "SKU-1@DC1", on_hand=1)])
    pipeline.ingest("erp", [order("e1", "PO-9", ("SKU-1", 3))])  # holds 1, 2 backordered
    pipeline.ingest("erp", [order("e2", "PO-1", ("SKU-1", 2))])  # later (its key sorts first): 2 backordered
    assert (holds(store, "PO-9"), holds(store, "PO-1")) == (
        ({"SKU-1": {"DC1": 1}}, {"SKU-1": 2}),
        (None, {"SKU-1": 2}),
    )
    receipt = stock("r1", "SKU-1@DC1", adjust={"on_hand": 3, "reason": "receipt"})
    [out] = pipeline.ingest("wms", [receipt])
    assert out.outcome == "applied"
    assert holds(store, "PO-9") == ({"SKU-1": {"DC1": 3}}, None)  # the older backorder first, in full
    assert holds(store, "PO-1") == ({"SKU-1": {"DC1": 1}}, {"SKU-1": 1})  # then what is left
    assert held_at(store, "SKU-1@DC1") == {"PO-9": 3, "PO-1": 1}
    assert atp(store, "shop", "SKU-1") == 0
    # the holds are the hub's changes caused by the receipt, committed with it, each routed
    receipt_seq = store.get_change("wms", "r1").seq
    log = store.record_log("inventory", "SKU-1@DC1")
    after = [e for e in log if e.seq > receipt_seq]
    assert after and {e.source for e in after} == {"wms/r1"}
    routed = {(row.route, row.change_seq) for row in store.list_outbox() if row.key == "SKU-1@DC1"}
    assert {("stock-to-shop", after[-1].seq), ("stock-to-market", after[-1].seq)} <= routed


def test_a_cancel_gives_its_units_to_the_waiting_orders(store, pipeline):
    pipeline.ingest("wms", [stock("s1", "SKU-1@DC1", on_hand=2)])
    pipeline.ingest("erp", [order("e1", "PO-1", ("SKU-1", 2))])
    pipeline.ingest("erp", [order("e2", "PO-2", ("SKU-1", 2))])  # nothing left: all backordered
    assert holds(store, "PO-2") == (None, {"SKU-1": 2})
    [out] = pipeline.ingest("wms", [order("w1", "PO-1", status="cancelled")])
    assert out.outcome == "applied"
    assert holds(store, "PO-1") == (None, None)
    assert holds(store, "PO-2") == ({"SKU-1": {"DC1": 2}}, None)
    assert held_at(store, "SKU-1@DC1") == {"PO-2": 2}
    entry = store.record_log("order", "PO-2")[-1]
    assert (entry.system, entry.source) == ("logisync", "wms/w1")


def test_a_count_or_a_lower_allocation_frees_stock_too(store, pipeline):
    pipeline.ingest("wms", [stock("s1", "SKU-1@DC1", on_hand=5, allocated=5)])
    pipeline.ingest("erp", [order("e1", "PO-1", ("SKU-1", 4))])
    assert holds(store, "PO-1") == (None, {"SKU-1": 4})
    pipeline.ingest("wms", [stock("s2", "SKU-1@DC1", allocated=3)])  # the WMS shipped two
    assert holds(store, "PO-1") == ({"SKU-1": {"DC1": 2}}, {"SKU-1": 2})
    count = stock("s3", "SKU-1@DC1", on_hand=6, counted_at="2026-11-28T10:00:00Z")
    pipeline.ingest("wms", [count])
    assert holds(store, "PO-1") == ({"SKU-1": {"DC1": 3}}, {"SKU-1": 1})


def test_a_fill_takes_only_free_units_never_another_orders_hold(store, pipeline):
    pipeline.ingest("wms", [stock("s1", "SKU-1@DC1", on_hand=4)])
    pipeline.ingest("shop", [order("o1", "SO-1", ("SKU-1", 4))])  # shop holds every unit
    pipeline.ingest("erp", [order("e1", "PO-1", ("SKU-1", 3))])  # erp backorders all three
    assert holds(store, "PO-1") == (None, {"SKU-1": 3})
    assert held_at(store, "SKU-1@DC1") == {"SO-1": 4}
    pipeline.ingest("wms", [stock("r1", "SKU-1@DC1", adjust={"on_hand": 1, "reason": "found"})])
    assert held_at(store, "SKU-1@DC1") == {"SO-1": 4, "PO-1": 1}
    assert holds(store, "PO-1") == ({"SKU-1": {"DC1": 1}}, {"SKU-1": 2})


def test_each_order_fills_by_its_own_channels_rule(store, pipeline):
    pipeline.ingest("wms", [stock("s1", "SKU-1@DC1", on_hand=3)])
    pipeline.ingest("market", [order("m1", "MK-1", ("SKU-1", 3))])  # market may sell (3-1)/2 = 1
    assert holds(store, "MK-1") == ({"SKU-1": {"DC1": 1}}, {"SKU-1": 2})
    pipeline.ingest("wms", [stock("s2", "SKU-2@DC2", on_hand=50), stock("s3", "SKU-1@DC2", on_hand=50)])
    assert holds(store, "MK-1") == ({"SKU-1": {"DC1": 1}}, {"SKU-1": 2})  # DC2 does not serve market
    pipeline.ingest("wms", [stock("s4", "SKU-1@DC1", on_hand=6)])  # available 5: (5-1)/2 = 2 more
    assert holds(store, "MK-1") == ({"SKU-1": {"DC1": 3}}, None)


def test_a_conversion_is_not_free_stock(store, pipeline):
    """The WMS allocating an order converts its hold: the WMS's own `allocated` counts those units."""
    pipeline.ingest("wms", [stock("s1", "SKU-1@DC1", on_hand=2)])
    pipeline.ingest("erp", [order("e1", "PO-1", ("SKU-1", 2))])
    pipeline.ingest("erp", [order("e2", "PO-2", ("SKU-1", 2))])
    pipeline.ingest("wms", [order("w1", "PO-1", status="allocated")])
    assert holds(store, "PO-2") == (None, {"SKU-1": 2})
    pipeline.ingest("wms", [stock("s2", "SKU-1@DC1", allocated=2)])
    assert holds(store, "PO-2") == (None, {"SKU-1": 2})


def test_stock_freed_later_in_the_same_batch_fills_a_backorder_of_that_batch(store, pipeline):
    pipeline.ingest("wms", [stock("s1", "SKU-1@DC1", on_hand=2)])
    pipeline.ingest("erp", [order("e1", "PO-1", ("SKU-1", 2))])
    receipt = stock("r1", "SKU-1@DC1", adjust={"on_hand": 5, "reason": "receipt"})
    outs = pipeline.ingest("wms", [stock("s2", "SKU-1@DC1", on_hand=0), receipt])  # short, then received
    assert [o.outcome for o in outs] == ["applied", "applied"]
    assert "backordered 2 for PO-1" in (outs[0].reason or "")
    assert holds(store, "PO-1") == ({"SKU-1": {"DC1": 2}}, None)
    assert held_at(store, "SKU-1@DC1") == {"PO-1": 2}


def test_the_queue_keeps_its_place_across_batches_and_forgets_filled_orders(store, pipeline):
    pipeline.ingest("wms", [stock("s1", "SKU-1@DC1", on_hand=0)])
    pipeline.ingest("erp", [order("e1", "PO-3", ("SKU-1", 2))])
    pipeline.ingest("erp", [order("e2", "PO-2", ("SKU-1", 2))])
    pipeline.ingest("wms", [stock("s2", "SKU-1@DC1", on_hand=1)])  # PO-3 gets one, keeps its place
    pipeline.ingest("erp", [order("e3", "PO-1", ("SKU-1", 1))])
    pipeline.ingest("wms", [stock("s3", "SKU-1@DC1", on_hand=3)])  # two more: PO-3's last, then PO-2
    assert holds(store, "PO-3") == ({"SKU-1": {"DC1": 2}}, None)
    assert holds(store, "PO-2") == ({"SKU-1": {"DC1": 1}}, {"SKU-1": 1})
    assert holds(store, "PO-1") == (None, {"SKU-1": 1})
    pipeline.ingest("wms", [order("w1", "PO-2", status="cancelled")])  # its unit goes to PO-1
    assert holds(store, "PO-1") == ({"SKU-1": {"DC1": 1}}, None)
    assert held_at(store, "SKU-1@DC1") == {"PO-3": 2, "PO-1": 1}


def test_a_filled_backorder_settles_its_exception_and_a_partial_one_stays_open(store, pipeline):
    pipeline.ingest("wms", [stock("s1", "SKU-1@DC1", on_hand=0)])
    pipeline.ingest("erp", [order("e1", "PO-1", ("SKU-1", 2))])
    pipeline.ingest("erp", [order("e2", "PO-2", ("SKU-1", 2))])
    pipeline.ingest("shop", [order("o1", "SO-1", ("SKU-1", 1))])  # shop refuses: its change never applied
    assert len(store.list_exceptions(kind="insufficient_stock")) == 3
    pipeline.ingest("wms", [stock("r1", "SKU-1@DC1", adjust={"on_hand": 3, "reason": "receipt"})])
    assert holds(store, "PO-1") == ({"SKU-1": {"DC1": 2}}, None)
    assert holds(store, "PO-2") == ({"SKU-1": {"DC1": 1}}, {"SKU-1": 1})
    still = {e.key for e in store.list_exceptions(kind="insufficient_stock")}
    assert still == {"PO-2", "SO-1"}  # PO-2 still waits for one; SO-1's refusal is for a person
    [settled] = [e for e in store.list_exceptions(state="resolved", kind="insufficient_stock")]
    assert settled.key == "PO-1"
    trail = Inbox(store, pipeline).table.trail(settled.id)
    assert [(a.actor, a.action) for a in trail] == [("logisync", "resolve")]
