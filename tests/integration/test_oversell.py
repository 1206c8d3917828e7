"""The oversell guard on both stores: orders hold stock at once; the last unit goes to one channel."""

from __future__ import annotations

import threading
import time
from typing import Any

import psycopg
import pytest

import logisync.pipeline.ingest as ingest_module
from fixtures.channels import SYNCMAP, atp, order, stock
from logisync.domain.change import Change
from logisync.domain.inventory import available
from logisync.domain.kinds import Domain
from logisync.pipeline import Pipeline
from logisync.store import open_store
from logisync.store.postgres import _lock_bucket


@pytest.fixture
def pipeline(store) -> Pipeline:
    return Pipeline(store, SYNCMAP)


def position(store, key: str) -> dict[str, Any]:
    record = store.get_record("inventory", key)
    return {} if record is None else record.fields


def test_an_order_holds_its_units_at_once_and_every_channel_sees_less(store, pipeline):
    pipeline.ingest("wms", [stock("s1", "SKU-1@DC1", on_hand=10), stock("s2", "SKU-1@DC2", on_hand=4)])
    assert (atp(store, "shop", "SKU-1"), atp(store, "market", "SKU-1")) == (14, 4)
    [out] = pipeline.ingest("shop", [order("o1", "SO-1", ("SKU-1", 3))])
    assert out.outcome == "applied"
    assert position(store, "SKU-1@DC1")["reserved_by"] == {"SO-1": 3}
    assert position(store, "SKU-1@DC1")["reserved"] == 3
    assert store.get_record("order", "SO-1").fields["reservations"] == {"SKU-1": {"DC1": 3}}
    assert (atp(store, "shop", "SKU-1"), atp(store, "market", "SKU-1")) == (11, 3)
    # the hold is the hub's own change, caused by the order, with an outbox row for each channel
    entry = store.record_log("inventory", "SKU-1@DC1")[-1]
    assert (entry.system, entry.source) == ("logisync", "shop/o1")
    routes = {
        row.route for row in store.list_outbox() if row.key == "SKU-1@DC1" and row.change_seq == entry.seq
    }
    assert routes == {"stock-to-shop", "stock-to-market"}


def test_holds_spread_over_the_channels_locations_in_the_configured_order(store, pipeline):
    pipeline.ingest("wms", [stock("s1", "SKU-1@DC1", on_hand=2), stock("s2", "SKU-1@DC2", on_hand=5)])
    pipeline.ingest("shop", [order("o1", "SO-1", ("SKU-1", 4))])
    assert store.get_record("order", "SO-1").fields["reservations"] == {"SKU-1": {"DC1": 2, "DC2": 2}}


def test_the_last_unit_goes_to_the_first_order_and_reject_policy_refuses_the_second(store, pipeline):
    pipeline.ingest("wms", [stock("s1", "SKU-1@DC1", on_hand=3)])
    [first] = pipeline.ingest("market", [order("m1", "MK-1", ("SKU-1", 1))])  # market may sell (3-1)*0.5 = 1
    assert first.outcome == "applied"
    [second] = pipeline.ingest("shop", [order("o1", "SO-1", ("SKU-1", 3))])
    assert second.outcome == "insufficient_stock"
    assert second.reason == "insufficient stock for channel 'shop': SKU-1: 3 wanted, 2 available"
    assert store.get_record("order", "SO-1") is None
    assert position(store, "SKU-1@DC1")["reserved_by"] == {"MK-1": 1}
    [exc] = store.list_exceptions(kind="insufficient_stock")
    assert (exc.key, exc.system, exc.change_id) == ("SO-1", "shop", "o1")
    assert exc.detail["short"] == {"SKU-1": {"wanted": 3, "available_to_promise": 2}}
    assert store.outcome_counts()[("shop", "order", "insufficient_stock")] == 1


def test_backorder_policy_takes_the_order_and_records_what_is_missing(store, pipeline):
    pipeline.ingest("wms", [stock("s1", "SKU-1@DC1", on_hand=5)])
    [out] = pipeline.ingest("market", [order("m1", "MK-1", ("SKU-1", 3))])  # market may sell 2
    assert out.outcome == "applied"
    assert out.reason == "backordered 1 of SKU-1: more than channel 'market' has available"
    fields = store.get_record("order", "MK-1").fields
    assert (fields["reservations"], fields["backorders"]) == ({"SKU-1": {"DC1": 2}}, {"SKU-1": 1})
    [exc] = store.list_exceptions(kind="insufficient_stock")
    assert exc.detail == {"channel": "market", "policy": "backorder", "backorders": {"SKU-1": 1}}


def test_a_system_without_a_stock_route_backorders_against_every_location(store, pipeline):
    pipeline.ingest("wms", [stock("s1", "SKU-1@DC1", on_hand=1), stock("s2", "SKU-1@DC9", on_hand=1)])
    [out] = pipeline.ingest("erp", [order("e1", "PO-1", ("SKU-1", 3))])
    assert out.outcome == "applied"
    fields = store.get_record("order", "PO-1").fields
    assert fields["reservations"] == {"SKU-1": {"DC1": 1, "DC9": 1}}
    assert fields["backorders"] == {"SKU-1": 1}


def test_cancelling_releases_and_allocating_converts_the_holds(store, pipeline):
    pipeline.ingest("wms", [stock("s1", "SKU-1@DC1", on_hand=10), stock("s2", "SKU-2@DC1", on_hand=10)])
    pipeline.ingest("shop", [order("o1", "SO-1", ("SKU-1", 2)), order("o2", "SO-2", ("SKU-2", 5))])
    assert position(store, "SKU-1@DC1")["reserved"] == 2
    pipeline.ingest("wms", [order("w1", "SO-1", status="cancelled")])
    assert position(store, "SKU-1@DC1")["reserved"] == 0
    assert position(store, "SKU-1@DC1")["reserved_by"] is None
    assert store.get_record("order", "SO-1").fields["reservations"] is None
    # the WMS takes SO-2 over: its own allocated counts the units from now on
    pipeline.ingest("wms", [order("w2", "SO-2", status="allocated"), stock("s3", "SKU-2@DC1", allocated=5)])
    assert position(store, "SKU-2@DC1")["reserved"] == 0
    assert available(position(store, "SKU-2@DC1")) == 5


def test_a_line_allocated_in_part_keeps_holding_the_rest(store, pipeline):
    pipeline.ingest("wms", [stock("s1", "SKU-1@DC1", on_hand=10)])
    pipeline.ingest("shop", [order("o1", "SO-1", ("SKU-1", 4))])
    lines = [{"line_no": 1, "sku": "SKU-1", "quantity": 4, "allocated": 3}]
    pipeline.ingest("shop", [Change(id="o2", domain=Domain.order, key="SO-1", fields={"lines": lines})])
    assert position(store, "SKU-1@DC1")["reserved_by"] == {"SO-1": 1}


def test_stock_falling_below_the_holds_backorders_the_newest_orders(store, pipeline):
    pipeline.ingest("wms", [stock("s1", "SKU-1@DC1", on_hand=6)])
    pipeline.ingest("shop", [order("o1", "SO-1", ("SKU-1", 3))])
    pipeline.ingest("shop", [order("o2", "SO-2", ("SKU-1", 3))])
    [out] = pipeline.ingest("wms", [stock("s2", "SKU-1@DC1", on_hand=4)])  # two units broke
    assert out.outcome == "applied"
    assert "backordered 2 for SO-2" in out.reason
    assert position(store, "SKU-1@DC1")["reserved_by"] == {"SO-1": 3, "SO-2": 1}
    so2 = store.get_record("order", "SO-2").fields
    assert (so2["reservations"], so2["backorders"]) == ({"SKU-1": {"DC1": 1}}, {"SKU-1": 2})
    [exc] = store.list_exceptions(kind="stock_shortfall")
    assert exc.detail == {"released": {"SO-2": 2}}


def test_a_backorder_is_filled_as_soon_as_stock_is_back(store, pipeline):
    pipeline.ingest("wms", [stock("s1", "SKU-1@DC1", on_hand=3)])
    pipeline.ingest("market", [order("m1", "MK-1", ("SKU-1", 2))])  # market may sell 1: 1 backordered
    pipeline.ingest("wms", [stock("s2", "SKU-1@DC1", on_hand=9)])  # more stock: tried again at once
    fields = store.get_record("order", "MK-1").fields
    assert (fields["reservations"], fields["backorders"]) == ({"SKU-1": {"DC1": 2}}, None)
    pipeline.ingest("wms", [order("w1", "MK-1", status="accepted")])  # its own change: nothing to fill
    assert store.get_record("order", "MK-1").fields["reservations"] == {"SKU-1": {"DC1": 2}}


def test_a_hold_after_allocation_is_never_refused_and_holds_nothing_again(store, pipeline):
    """shop refuses orders it cannot fill; a WMS putting an allocated order on hold is not one."""
    pipeline.ingest("wms", [stock("s1", "SKU-1@DC1", on_hand=3)])
    pipeline.ingest("shop", [order("o1", "SO-1", ("SKU-1", 3))])
    pipeline.ingest("wms", [order("w1", "SO-1", status="allocated"), stock("s2", "SKU-1@DC1", allocated=3)])
    [out] = pipeline.ingest("wms", [order("w2", "SO-1", status="on_hold")])
    assert out.outcome == "applied"
    assert not position(store, "SKU-1@DC1").get("reserved")  # the WMS's allocated still counts them
    fields = store.get_record("order", "SO-1").fields
    assert (fields["status"], fields["reservations"], fields.get("backorders")) == ("on_hold", None, None)
    assert fields["handed_over"] is True
    assert store.list_exceptions(kind="insufficient_stock") == []
    [resumed] = pipeline.ingest("wms", [order("w3", "SO-1", status="picking")])
    assert resumed.outcome == "applied"


def test_a_hold_before_allocation_keeps_the_orders_units(store, pipeline):
    pipeline.ingest("wms", [stock("s1", "SKU-1@DC1", on_hand=3)])
    pipeline.ingest("shop", [order("o1", "SO-1", ("SKU-1", 2))])
    pipeline.ingest("wms", [order("w1", "SO-1", status="accepted")])
    pipeline.ingest("wms", [order("w2", "SO-1", status="on_hold")])  # payment review
    assert position(store, "SKU-1@DC1")["reserved_by"] == {"SO-1": 2}
    assert store.get_record("order", "SO-1").fields.get("handed_over") is None


def test_a_stale_order_change_is_stale_not_short_of_stock(store, pipeline):
    pipeline.ingest("wms", [stock("s1", "SKU-1@DC1", on_hand=3)])
    lines = [{"line_no": 1, "sku": "SKU-1", "quantity": 1}]
    pipeline.ingest(
        "shop", [Change(id="o2", domain=Domain.order, key="SO-1", fields={"lines": lines}, version=2)]
    )
    bigger = [{"line_no": 1, "sku": "SKU-1", "quantity": 5}]
    [out] = pipeline.ingest(
        "shop", [Change(id="o1", domain=Domain.order, key="SO-1", fields={"lines": bigger}, version=1)]
    )
    assert out.outcome == "stale"
    assert store.list_exceptions(kind="insufficient_stock") == []
    assert position(store, "SKU-1@DC1")["reserved_by"] == {"SO-1": 1}


def test_the_seller_is_recorded_once_and_keeps_its_rule_when_another_system_edits_the_lines(store, pipeline):
    pipeline.ingest("wms", [stock("s1", "SKU-1@DC2", on_hand=10)])
    pipeline.ingest("shop", [order("o1", "SO-1", ("SKU-1", 2))])  # shop sells from DC1 and DC2
    assert store.get_record("order", "SO-1").fields["seller"] == "shop"
    [out] = pipeline.ingest("market", [order("m1", "SO-1", ("SKU-1", 3))])  # market sells from DC1 only
    assert out.outcome == "applied"
    fields = store.get_record("order", "SO-1").fields
    assert fields["seller"] == "shop"
    assert (fields["reservations"], fields["backorders"]) == ({"SKU-1": {"DC2": 3}}, None)


def test_an_order_whose_channel_names_a_system_is_that_systems_sale(store, pipeline):
    pipeline.ingest("wms", [stock("s1", "SKU-1@DC1", on_hand=1)])
    [out] = pipeline.ingest("erp", [order("e1", "PO-1", ("SKU-1", 3), channel="shop")])  # erp relays it
    assert out.outcome == "insufficient_stock"  # shop's rule: reject, not erp's backorder
    assert out.reason == "insufficient stock for channel 'shop': SKU-1: 3 wanted, 1 available"
    [other] = pipeline.ingest("erp", [order("e2", "PO-2", ("SKU-1", 1), channel="amazon-de")])
    assert other.outcome == "applied"  # not a configured system: erp is the seller
    assert store.get_record("order", "PO-2").fields["seller"] == "erp"


def test_nobody_but_the_hub_writes_the_holds(store, pipeline):
    [out] = pipeline.ingest("shop", [order("o1", "SO-1", reservations={"SKU-1": {"DC1": 1}})])
    assert out.outcome == "quarantined"
    assert out.reason == "field reservations: kept by the hub itself, cannot be written"


def test_a_process_whose_clock_is_behind_still_records_its_holds(store, monkeypatch):
    """Two hub processes; the second's clock is ten minutes behind the first's."""
    now = {"us": 1_800_000_000_000_000}
    monkeypatch.setattr(ingest_module, "now_us", lambda: now["us"])
    ahead, behind = Pipeline(store, SYNCMAP), Pipeline(store, SYNCMAP)
    ahead.ingest("wms", [stock("s1", "SKU-1@DC1", on_hand=10)])
    ahead.ingest("shop", [order("o1", "SO-1", ("SKU-1", 3))])
    now["us"] -= 600_000_000
    [out] = behind.ingest("shop", [order("o2", "SO-2", ("SKU-1", 2))])
    assert out.outcome == "applied"
    assert position(store, "SKU-1@DC1")["reserved_by"] == {"SO-1": 3, "SO-2": 2}
    assert position(store, "SKU-1@DC1")["reserved"] == 5
    behind.ingest("wms", [order("w1", "SO-1", status="cancelled")])  # a release from behind, too
    assert position(store, "SKU-1@DC1")["reserved_by"] == {"SO-2": 2}
    assert store.get_record("order", "SO-1").fields["reservations"] is None
    entry = store.record_log("inventory", "SKU-1@DC1")[-1]
    assert entry.system == "logisync" and entry.applied == ["reserved_by", "reserved"]


def test_two_channels_racing_for_the_last_unit_on_postgres(postgres_store, pg_url):
    """Two hub processes (two connections) take orders for the last unit at the same moment."""
    Pipeline(postgres_store, SYNCMAP).ingest("wms", [stock("s1", "SKU-1@DC1", on_hand=1)])
    second_store = open_store(pg_url)
    try:
        results: dict[str, str] = {}
        start = threading.Barrier(2)

        def sell(store, system: str, key: str) -> None:
            start.wait()
            [out] = Pipeline(store, SYNCMAP).ingest(system, [order(f"{system}-1", key, ("SKU-1", 1))])
            results[system] = out.outcome.value

        threads = [
            threading.Thread(target=sell, args=(postgres_store, "shop", "SO-1")),
            threading.Thread(target=sell, args=(second_store, "erp", "PO-1")),
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        second_store.close()
    held = position(postgres_store, "SKU-1@DC1")["reserved_by"]
    assert sum(held.values()) == 1  # exactly one order holds the last unit
    holds_on_orders = [
        n
        for key in ("SO-1", "PO-1")
        if (rec := postgres_store.get_record("order", key)) is not None
        for at in (rec.fields.get("reservations") or {}).values()
        for n in at.values()
    ]
    assert holds_on_orders == [1]  # and the orders agree: no unit was promised twice
    winner = next(iter(held))
    loser = {"SO-1": "PO-1", "PO-1": "SO-1"}[winner]
    if loser == "SO-1":  # shop refuses
        assert results["shop"] == "insufficient_stock"
    else:  # erp backorders
        assert store_backorders(postgres_store, "PO-1") == {"SKU-1": 1}


def store_backorders(store, key: str) -> Any:
    return store.get_record("order", key).fields.get("backorders")


def test_a_positions_history_rises_when_a_batch_waits_for_its_lock_on_postgres(postgres_store, pg_url):
    """Batch A (orders) waits for a position that batch B (the WMS) locked first: B's entry comes
    first in the position's history, so it must have the lower change log position."""
    key = "SKU-1@DC1"
    bucket = _lock_bucket(f"r:inventory/{key}")
    orders = [n for n in (f"SO-{i}" for i in range(100)) if _lock_bucket(f"r:order/{n}") != bucket][:3]
    ids = [n for n in (f"o{i}" for i in range(100)) if _lock_bucket(f"i:shop/{n}") != bucket][:3]
    Pipeline(postgres_store, SYNCMAP).ingest("wms", [stock("s1", key, on_hand=10)])
    second_store = open_store(pg_url)
    errors: list[BaseException] = []

    def run(pipeline: Pipeline, system: str, changes: list[Change]) -> None:
        try:
            pipeline.ingest(system, changes)
        except BaseException as exc:  # re-raised in the test's thread
            errors.append(exc)

    wms = threading.Thread(
        target=run, args=(Pipeline(second_store, SYNCMAP), "wms", [stock("s2", key, on_hand=9)])
    )
    shop = threading.Thread(
        target=run,
        args=(
            Pipeline(postgres_store, SYNCMAP),
            "shop",
            [order(cid, n, ("SKU-1", 1)) for cid, n in zip(ids, orders, strict=True)],
        ),
    )
    try:
        with psycopg.connect(pg_url) as holder, psycopg.connect(pg_url, autocommit=True) as watch:
            holder.execute("SELECT pg_advisory_xact_lock(%s)", (bucket,))  # the position, held
            wms.start()
            _wait_for_waiters(watch, 1)  # the WMS batch queues first on the position
            shop.start()
            _wait_for_waiters(watch, 2)  # then the orders, once they reach it
            holder.commit()
        wms.join()
        shop.join()
    finally:
        second_store.close()
    assert errors == []
    log = postgres_store.record_log("inventory", key)
    assert all(e.prev_seq is None or e.prev_seq < e.seq for e in log), [(e.seq, e.prev_seq) for e in log]
    assert [e.system for e in log][:2] == ["wms", "wms"]  # s1, then s2 (first to get the lock)
    assert postgres_store.get_record("inventory", key).last_seq == max(e.seq for e in log)


def _wait_for_waiters(conn, n: int) -> None:
    """Until `n` transactions wait for an advisory lock (a synchronisation, not a timed check)."""
    for _ in range(2000):
        found = conn.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")
        if found.fetchone()[0] >= n:
            return
        time.sleep(0.005)
    raise AssertionError(f"{n} lock waiters never appeared")
