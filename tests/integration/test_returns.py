"""Returns on both stores: restocked lines go back into stock once, disposed ones never."""

from __future__ import annotations

import pytest

from fixtures.fulfilment import SYNCMAP, fields, order, package, rma, shipment, stock
from logisync.pipeline import Pipeline


@pytest.fixture
def pipeline(store) -> Pipeline:
    return Pipeline(store, SYNCMAP)


def on_hand(store, key: str) -> int | None:
    return fields(store, "inventory", key).get("on_hand")


def test_restocking_adds_to_on_hand_exactly_once(store, pipeline):
    pipeline.ingest("wms", [stock("i1", "SKU-1@DC1", on_hand=10)])
    pipeline.ingest("wms", [rma("r1", "RMA-1", "authorised", ("SKU-1", 2, "pending"), location="DC1")])
    pipeline.ingest("wms", [rma("r2", "RMA-1", "received", ("SKU-1", 2, "pending"))])
    assert on_hand(store, "SKU-1@DC1") == 10  # received, not yet decided
    [out] = pipeline.ingest("wms", [rma("r3", "RMA-1", "restocked", ("SKU-1", 2, "restock"))])
    assert out.outcome == "applied"
    assert out.reason == "restocked 2 of SKU-1 at DC1"
    assert on_hand(store, "SKU-1@DC1") == 12
    pipeline.ingest("wms", [rma("r3", "RMA-1", "restocked", ("SKU-1", 2, "restock"))])  # a duplicate id
    pipeline.ingest("wms", [rma("r4", "RMA-1", "restocked", ("SKU-1", 2, "restock"), reason="damaged box")])
    assert on_hand(store, "SKU-1@DC1") == 12
    assert fields(store, "return", "RMA-1")["restocked_units"] == {"SKU-1": 2}
    # the same path as any adjustment: a hub change with its reason, caused by the return, routed
    entry = store.record_log("inventory", "SKU-1@DC1")[-1]
    assert (entry.system, entry.source, entry.applied) == ("logisync", "wms/r3", ["on_hand", "adjust"])
    assert entry.payload == {"adjust": {"on_hand": 2, "inbound": None, "reason": "return"}}
    assert any(r.change_seq == entry.seq for r in store.list_outbox(limit=1000) if r.route == "stock-to-shop")


def test_a_line_decided_restock_goes_back_once_received_and_disposed_lines_never(store, pipeline):
    pipeline.ingest("wms", [stock("i1", "SKU-1@DC1", on_hand=1), stock("i2", "SKU-2@DC1", on_hand=1)])
    lines = (("SKU-1", 1, "restock"), ("SKU-2", 3, "dispose"))
    pipeline.ingest("wms", [rma("r1", "RMA-1", "received", *lines, location="DC1")])
    assert (on_hand(store, "SKU-1@DC1"), on_hand(store, "SKU-2@DC1")) == (2, 1)
    pipeline.ingest("wms", [rma("r2", "RMA-1", "restocked", *lines)])
    assert (on_hand(store, "SKU-1@DC1"), on_hand(store, "SKU-2@DC1")) == (2, 1)
    pipeline.ingest("wms", [rma("r3", "RMA-2", "received", ("SKU-2", 1, "pending"), location="DC1")])
    pipeline.ingest("wms", [rma("r4", "RMA-2", "disposed")])
    assert on_hand(store, "SKU-2@DC1") == 1


def test_a_restock_without_a_location_waits_for_it(store, pipeline):
    [out] = pipeline.ingest("wms", [rma("r1", "RMA-1", "received", ("SKU-1", 2, "restock"))])
    assert "names no location" in out.reason
    [exc] = store.list_exceptions(kind="restock_without_location")
    assert exc.detail == {"to_restock": {"SKU-1": 2}}
    pipeline.ingest("wms", [rma("r2", "RMA-1", "received", location="DC2")])
    assert on_hand(store, "SKU-1@DC2") == 2


def test_a_line_that_stops_restocking_is_not_taken_back_out(store, pipeline):
    pipeline.ingest("wms", [rma("r1", "RMA-1", "received", ("SKU-1", 2, "restock"), location="DC1")])
    pipeline.ingest("wms", [rma("r2", "RMA-1", "received", ("SKU-1", 2, "dispose"))])
    assert on_hand(store, "SKU-1@DC1") == 2
    [exc] = store.list_exceptions(kind="restock_reversed")
    assert exc.detail == {"restocked": {"SKU-1": 2}, "no_longer": {"SKU-1": 2}}


def test_the_orders_returned_quantities_and_status_follow_its_returns(store, pipeline):
    pipeline.ingest("shop", [order("o1", "SO-1", ("SKU-1", 2), ("SKU-2", 1))])
    pipeline.ingest("wms", [shipment("s1", "SH-1", "SO-1", package("P1", ("SKU-1", 2), ("SKU-2", 1)))])
    pipeline.ingest(
        "wms", [shipment("s2", "SH-1", "SO-1", package("P1", ("SKU-1", 2), ("SKU-2", 1)), status="delivered")]
    )
    assert fields(store, "order", "SO-1")["status"] == "delivered"
    pipeline.ingest("wms", [rma("r1", "RMA-1", "authorised", ("SKU-1", 1, "pending"), order_number="SO-1")])
    assert fields(store, "order", "SO-1").get("returned_by_line") is None  # nothing back yet
    pipeline.ingest("wms", [rma("r2", "RMA-1", "received", location="DC1")])
    so = fields(store, "order", "SO-1")
    assert (so["returned_by_line"], so["status"]) == ({"1": 1}, "delivered")  # some lines: stays delivered
    lines = (("SKU-1", 1, "restock"), ("SKU-2", 1, "dispose"))
    pipeline.ingest("wms", [rma("r3", "RMA-2", "received", *lines, order_number="SO-1", location="DC1")])
    so = fields(store, "order", "SO-1")
    assert (so["returned_by_line"], so["status"]) == ({"1": 2, "2": 1}, "returned")
    assert on_hand(store, "SKU-1@DC1") == 1  # only RMA-2's restock line went back


def test_a_restock_fills_a_waiting_backorder_like_any_receipt(store, pipeline):
    pipeline.ingest("wms", [stock("i1", "SKU-1@DC1", on_hand=0)])
    pipeline.ingest("shop", [order("o1", "SO-9", ("SKU-1", 2))])  # nothing to hold: backordered
    assert fields(store, "order", "SO-9")["backorders"] == {"SKU-1": 2}
    pipeline.ingest("wms", [rma("r1", "RMA-1", "received", ("SKU-1", 2, "pending"), location="DC1")])
    pipeline.ingest("wms", [rma("r2", "RMA-1", "restocked", ("SKU-1", 2, "restock"))])
    so9 = fields(store, "order", "SO-9")
    assert (so9.get("reservations"), so9.get("backorders")) == ({"SKU-1": {"DC1": 2}}, None)
    assert store.record_log("order", "SO-9")[-1].source == "wms/r2"  # in the restock's transaction
