"""Orders follow their shipments on both stores: partial and split shipments, backorders, status."""

from __future__ import annotations

import pytest

from fixtures.fulfilment import SYNCMAP, fields, order, package, shipment, stock
from logisync.domain.change import Change
from logisync.domain.kinds import Domain
from logisync.pipeline import Pipeline


@pytest.fixture
def pipeline(store) -> Pipeline:
    return Pipeline(store, SYNCMAP)


def test_two_shipments_ship_an_order_in_parts_and_the_status_follows(store, pipeline):
    pipeline.ingest("shop", [order("o1", "SO-1", ("SKU-1", 3), ("SKU-2", 2))])
    pipeline.ingest("wms", [order("w1", "SO-1", status="packed")])
    [out] = pipeline.ingest("wms", [shipment("s1", "SH-1", "SO-1", package("P1", ("SKU-1", 2, 1)))])
    assert out.outcome == "applied"
    assert "order SO-1 is partially_shipped" in out.reason
    so = fields(store, "order", "SO-1")
    assert so["status"] == "partially_shipped"
    assert so["shipped_by_line"] == {"1": 2}
    assert so["backordered_by_line"] == {"1": 1, "2": 2}
    assert so["shipped_in"]["SH-1"]["lines"] == {"1": 2}
    # the second shipment names no order lines: its units count by SKU
    pipeline.ingest("wms", [shipment("s2", "SH-2", "SO-1", package("P2", ("SKU-1", 1), ("SKU-2", 2)))])
    so = fields(store, "order", "SO-1")
    assert (so["status"], so["shipped_by_line"], so["backordered_by_line"]) == (
        "shipped",
        {"1": 3, "2": 2},
        None,
    )
    assert sorted(so["shipped_in"]) == ["SH-1", "SH-2"]
    # the derived statuses are the hub's changes, caused by the shipments, in the order's history
    log = [e for e in store.record_log("order", "SO-1") if e.system == "logisync" and "status" in e.payload]
    assert [(e.source, e.payload.get("status")) for e in log] == [
        ("wms/s1", "partially_shipped"),
        ("wms/s2", "shipped"),
    ]


def test_a_backordered_line_ships_later_and_a_resent_shipment_counts_once(store, pipeline):
    pipeline.ingest("shop", [order("o1", "SO-1", ("SKU-1", 1), ("SKU-2", 4))])
    pipeline.ingest("wms", [shipment("s1", "SH-1", "SO-1", package("P1", ("SKU-1", 1), ("SKU-2", 1)))])
    so = fields(store, "order", "SO-1")
    assert (so["status"], so["backordered_by_line"]) == ("partially_shipped", {"2": 3})
    pipeline.ingest("wms", [shipment("s1b", "SH-1", "SO-1", package("P1", ("SKU-1", 1), ("SKU-2", 1)))])
    assert fields(store, "order", "SO-1")["shipped_by_line"] == {"1": 1, "2": 1}  # the same shipment again
    pipeline.ingest("wms", [shipment("s2", "SH-2", "SO-1", package("P2", ("SKU-2", 3)))])
    so = fields(store, "order", "SO-1")
    assert (so["status"], so["shipped_by_line"], so["backordered_by_line"]) == (
        "shipped",
        {"1": 1, "2": 4},
        None,
    )


def test_cancelling_what_is_left_of_a_partial_order_ships_it(store, pipeline):
    pipeline.ingest("shop", [order("o1", "SO-1", ("SKU-1", 2), ("SKU-2", 1))])
    pipeline.ingest("wms", [shipment("s1", "SH-1", "SO-1", package("P1", ("SKU-1", 2)))])
    assert fields(store, "order", "SO-1")["status"] == "partially_shipped"
    lines = [
        {"line_no": 1, "sku": "SKU-1", "quantity": 2},
        {"line_no": 2, "sku": "SKU-2", "quantity": 1, "cancelled": 1},
    ]
    [out] = pipeline.ingest(
        "shop", [Change(id="o2", domain=Domain.order, key="SO-1", fields={"lines": lines})]
    )
    assert out.outcome == "applied"
    assert fields(store, "order", "SO-1")["status"] == "shipped"


@pytest.mark.parametrize("status", ["cancelled", "on_hold"])
def test_a_shipment_does_not_move_a_cancelled_or_held_order_it_opens_an_exception(store, pipeline, status):
    pipeline.ingest("shop", [order("o1", "SO-1", ("SKU-1", 1))])
    pipeline.ingest("wms", [order("w1", "SO-1", status=status)])
    [out] = pipeline.ingest("wms", [shipment("s1", "SH-1", "SO-1", package("P1", ("SKU-1", 1)))])
    assert out.outcome == "applied"  # the shipment itself is a fact; the order does not follow
    so = fields(store, "order", "SO-1")
    assert so["status"] == status
    assert so["shipped_by_line"] == {"1": 1}
    [exc] = store.list_exceptions(kind="illegal_transition")
    assert (exc.domain, exc.key, exc.system, exc.change_id) == ("order", "SO-1", "wms", "s1")
    assert exc.detail == {"from": status, "to": "shipped", "derived": True}
    assert f"order cannot move from {status!r} to 'shipped'" in exc.reason


def test_a_shipment_before_its_order_is_kept_on_the_order_and_the_status_follows_the_order(store, pipeline):
    pipeline.ingest("wms", [shipment("s1", "SH-1", "SO-1", package("P1", ("SKU-1", 2)))])
    so = fields(store, "order", "SO-1")
    assert "status" not in so and so["shipped_in"]["SH-1"]["skus"] == {"SKU-1": 2}
    pipeline.ingest("shop", [order("o1", "SO-1", ("SKU-1", 2))])
    so = fields(store, "order", "SO-1")
    assert (so["status"], so["shipped_by_line"]) == ("shipped", {"1": 2})  # a first status, as it comes
    assert so.get("reservations") is None  # nothing is held for units already gone


def test_units_the_order_has_no_line_for_open_one_exception(store, pipeline):
    pipeline.ingest("shop", [order("o1", "SO-1", ("SKU-1", 1))])
    pipeline.ingest("wms", [shipment("s1", "SH-1", "SO-1", package("P1", ("SKU-1", 1), ("SKU-9", 2)))])
    pipeline.ingest(
        "wms", [shipment("s1b", "SH-1", "SO-1", package("P1", ("SKU-1", 1), ("SKU-9", 2)), carrier="ups")]
    )
    [exc] = store.list_exceptions(kind="shipment_mismatch")
    assert exc.detail == {"unmatched": {"SKU-9": 2}}
    assert fields(store, "order", "SO-1")["status"] == "shipped"


def test_shipped_units_end_the_oversell_guards_holds_even_when_the_order_cannot_move(store, pipeline):
    pipeline.ingest("wms", [stock("i1", "SKU-1@DC1", on_hand=10)])
    pipeline.ingest("shop", [order("o1", "SO-1", ("SKU-1", 4))])
    assert fields(store, "inventory", "SKU-1@DC1")["reserved_by"] == {"SO-1": 4}
    pipeline.ingest("wms", [order("w1", "SO-1", status="on_hold")])
    pipeline.ingest("wms", [shipment("s1", "SH-1", "SO-1", package("P1", ("SKU-1", 3)))])
    so = fields(store, "order", "SO-1")
    assert so["status"] == "on_hold"  # on hold cannot jump to shipping (an exception says so)
    assert fields(store, "inventory", "SKU-1@DC1")["reserved_by"] == {"SO-1": 1}  # only the unit still owed
    assert so["reservations"] == {"SKU-1": {"DC1": 1}}


def test_a_cancelled_shipment_carries_nothing(store, pipeline):
    pipeline.ingest("shop", [order("o1", "SO-1", ("SKU-1", 2))])
    pipeline.ingest("wms", [shipment("s1", "SH-1", "SO-1", package("P1", ("SKU-1", 1)))])
    pipeline.ingest("wms", [shipment("s2", "SH-1", "SO-1", package("P1", ("SKU-1", 1)), status="cancelled")])
    so = fields(store, "order", "SO-1")
    assert so["shipped_by_line"] is None and so["backordered_by_line"] is None
    assert so["status"] == "partially_shipped"  # the hub never moves an order backwards
