"""The scenario invariants on real stores, against hand-made views: each one passes when the
systems agree with the hub and fails, with the evidence, when they do not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from fixtures.channels import SYNCMAP, order, stock
from logisync.config import parse_syncmap
from logisync.domain.change import Change
from logisync.domain.kinds import Domain
from logisync.pipeline import Pipeline
from logisync.sim import invariants, mappings
from logisync.sim.scenario import KpiBounds
from logisync.store.base import NewException


class View:
    """A simulated system as the checks see it: a name and what it believes, by domain."""

    def __init__(self, name: str, **views: dict[str, dict[str, Any]]) -> None:
        self.name = name
        self.views = views

    def view(self, domain: str) -> dict[str, dict[str, Any]]:
        return self.views.get(domain, {})


@pytest.fixture
def pipeline(store) -> Pipeline:
    return Pipeline(store, SYNCMAP)


def test_convergence_compares_each_channels_atp_with_what_it_holds(store, pipeline):
    pipeline.ingest("wms", [stock("s1", "SKU-1@DC1", on_hand=10), stock("s2", "SKU-2@DC1", on_hand=5)])
    pipeline.ingest("shop", [order("o1", "SO-1", ("SKU-1", 3))])
    route = next(r for r in SYNCMAP.routes if r.to == "shop")
    assert invariants.expected_view(route, store) == {"SKU-1": {"available": 7}, "SKU-2": {"available": 5}}
    shop = View("shop", inventory={"SKU-1": {"available": 7}, "SKU-2": {"available": 5.0}})
    systems = {"shop": shop}
    assert invariants.route_converged(route, store, systems) == []
    shop.views["inventory"] = {"SKU-1": {"available": 10}}  # missed the hold, and never heard of SKU-2
    diffs = invariants.route_converged(route, store, systems)
    assert diffs == [
        {"key": "SKU-1", "problem": "differs", "fields": {"available": {"expected": 7, "actual": 10}}},
        {"key": "SKU-2", "problem": "missing", "expected": {"available": 5}},
    ]


def test_convergence_fails_a_route_that_agreed_only_after_its_sla(store, pipeline):
    pipeline.ingest("wms", [stock("s1", "SKU-1@DC1", on_hand=10)])
    views = {
        "shop": View("shop", inventory={"SKU-1": {"available": 10}}),
        "market": View("market", inventory={"SKU-1": {"available": 4}}),
    }  # (10 - 1) * 0.5
    syncmap = SYNCMAP.model_copy(deep=True)
    for r in syncmap.routes:
        r.sla = 60.0
    ok = invariants.convergence(syncmap, store, views, {"stock-to-shop": 10.0, "stock-to-market": 0.0}, 600)
    assert ok.passed, ok.evidence
    late = invariants.convergence(syncmap, store, views, {"stock-to-shop": 90.0, "stock-to-market": 0.0}, 600)
    assert not late.passed
    assert late.evidence == [
        {"route": "stock-to-shop", "to": "shop", "converged_after_s": 90.0, "sla_s": 60.0}
    ]
    never = invariants.convergence(
        syncmap, store, views, {"stock-to-shop": None, "stock-to-market": 0.0}, 600
    )
    assert not never.passed and never.evidence[0]["route"] == "stock-to-shop"


def test_differences_compare_only_what_the_view_holds_but_all_of_it():
    golden = {
        "SO-1": {"status": "shipped", "lines": [{"sku": "A", "quantity": 2, "shipped": 2}], "channel": "shop"}
    }
    assert (
        invariants.route_differences(
            golden, {"SO-1": {"status": "shipped", "lines": [{"sku": "A", "quantity": 2}]}}
        )
        == []
    )
    assert invariants.route_differences(golden, {"SO-1": {"lines": [{"sku": "A", "quantity": 3}]}}) == [
        {"key": "SO-1", "problem": "differs", "fields": {"lines[0].quantity": {"expected": 2, "actual": 3}}}
    ]
    assert invariants.route_differences(golden, {"SO-1": {"lines": []}})[0]["fields"] == {
        "lines": {"expected": "1 items", "actual": "0 items"}
    }
    times = {"K": {"at": "2026-01-01T10:00:00Z"}}
    assert invariants.route_differences(times, {"K": {"at": "2026-01-01T11:00:00+01:00"}}) == []


def test_no_oversell_passes_when_every_sold_unit_is_shipped_or_on_the_shelf(store, pipeline):
    pipeline.ingest("wms", [stock("s1", "SKU-1@DC1", on_hand=3)])
    pipeline.ingest("shop", [order("o1", "SO-1", ("SKU-1", 2))])
    wms = View("wms", inventory={"SKU-1@DC1": {"on_hand": 3}})
    result = invariants.no_oversell(store, wms)
    assert result.passed, result.evidence


def test_no_oversell_fails_with_the_sku_and_the_orders_when_a_channel_sold_units_that_do_not_exist(
    store, pipeline
):
    pipeline.ingest("wms", [stock("s1", "SKU-1@DC1", on_hand=3)])
    pipeline.ingest("market", [order("m1", "MK-1", ("SKU-1", 1))])  # market sells (3 - 1) * 0.5 = 1
    pipeline.ingest("market", [order("m2", "MK-2", ("SKU-1", 3))])  # backorder policy: accepted, 3 short
    assert store.get_record("order", "MK-2").fields["backorders"] == {"SKU-1": 3}
    result = invariants.no_oversell(store, View("wms", inventory={"SKU-1@DC1": {"on_hand": 3}}))
    assert not result.passed
    assert result.evidence == [
        {
            "sku": "SKU-1",
            "sold": 4,
            "shipped": 0,
            "owed": 4,
            "on_hand_at_wms": 3,
            "oversold": 1,
            "orders": ["MK-1", "MK-2"],
        }
    ]


def test_units_a_count_took_after_the_sale_are_shrinkage_not_an_oversell(store, pipeline):
    pipeline.ingest("wms", [stock("s1", "SKU-1@DC1", on_hand=3)])
    pipeline.ingest("shop", [order("o1", "SO-1", ("SKU-1", 2))])  # held: the shop sold units that existed
    pipeline.ingest("wms", [stock("s2", "SKU-1@DC1", on_hand=0)])  # then a count finds the shelf empty
    assert store.get_record("order", "SO-1").fields["backorders"] == {"SKU-1": 2}
    empty = View("wms", inventory={"SKU-1@DC1": {"on_hand": 0}}, shrinkage={"SKU-1": {"units": 3}})
    result = invariants.no_oversell(store, empty)
    assert result.passed, result.evidence
    pipeline.ingest("market", [order("m1", "MK-1", ("SKU-1", 1))])  # sold after the count: no such unit
    result = invariants.no_oversell(store, empty)
    assert not result.passed
    assert result.evidence[0]["oversold"] == 1 and result.evidence[0]["lost_to_counts"] == 2


def test_holds_released_for_units_the_warehouse_allocated_elsewhere_are_not_shrinkage(store, pipeline):
    """The flash sale under `backorder`: the warehouse allocates the last unit to an order the hub
    had backordered, the hub releases the newest hold (a `stock_shortfall`), and the warehouse
    ships. It lost nothing to a count, so the order left without its unit is an oversell."""
    pipeline.ingest("wms", [stock("s1", "SKU-1@DC1", on_hand=1)])
    pipeline.ingest("shop", [order("o1", "SO-1", ("SKU-1", 1))])  # holds the unit
    pipeline.ingest("market", [order("m1", "MK-1", ("SKU-1", 1))])  # backordered
    assert store.get_record("order", "MK-1").fields["backorders"] == {"SKU-1": 1}
    pipeline.ingest("wms", [stock("s2", "SKU-1@DC1", on_hand=1, allocated=1)])  # allocated to MK-1
    assert store.get_record("order", "SO-1").fields["backorders"] == {"SKU-1": 1}
    assert store.list_exceptions(kind="stock_shortfall")
    shipped = View("wms", inventory={"SKU-1@DC1": {"on_hand": 0}})  # MK-1's unit left; nothing lost
    result = invariants.no_oversell(store, shipped)
    assert not result.passed
    [evidence] = result.evidence
    assert (evidence["owed"], evidence["oversold"]) == (2, 2)
    assert "lost_to_counts" not in evidence
    counted = View("wms", inventory={"SKU-1@DC1": {"on_hand": 0}}, shrinkage={"SKU-1": {"units": 1}})
    assert invariants.no_oversell(store, counted).evidence[0]["oversold"] == 1  # had a count taken it


def test_wms_statuses_arriving_out_of_order_are_stale_not_illegal(store, pipeline):
    """The simulated WMS stamps each order status with when it happened (its `at`): an
    `allocated` webhook that arrives after the `cancelled` it preceded is stale at the hub, not an
    `illegal_transition` (happy_path's exceptions bound saw one under load without it)."""
    from logisync.sim.mappings import wms_inbound

    pipeline.ingest("shop", [order("o1", "SO-1", ("SKU-1", 1))])

    def status(cid: str, value: str, at: str) -> Change:
        [raw] = wms_inbound({"type": "order.status", "order_no": "SO-1", "status": value, "at": at}, None)
        return Change(id=cid, **raw)

    [cancelled] = pipeline.ingest("wms", [status("w2", "cancelled", "2026-11-29T10:00:05+00:00")])
    [allocated] = pipeline.ingest("wms", [status("w1", "allocated", "2026-11-29T10:00:01+00:00")])
    assert (cancelled.outcome.value, allocated.outcome.value) == ("applied", "stale")
    assert store.get_record("order", "SO-1").fields["status"] == "cancelled"
    assert store.list_exceptions(kind="illegal_transition") == []


def test_cancelled_orders_are_not_sold(store, pipeline):
    pipeline.ingest("wms", [stock("s1", "SKU-1@DC1", on_hand=1)])
    pipeline.ingest("shop", [order("o1", "SO-1", ("SKU-1", 1))])
    pipeline.ingest("wms", [Change(id="c1", domain=Domain.order, key="SO-1", fields={"status": "cancelled"})])
    result = invariants.no_oversell(store, View("wms", inventory={"SKU-1@DC1": {"on_hand": 0}}))
    assert result.passed, result.evidence


def test_no_double_shipment_reads_the_wms_shipments_of_each_order(store, pipeline):
    pipeline.ingest("wms", [stock("s1", "SKU-1@DC1", on_hand=5)])
    pipeline.ingest("shop", [order("o1", "SO-1", ("SKU-1", 2))])

    def shipment(order_no: str, n: int) -> dict[str, Any]:
        return {"order_number": order_no, "packages": [{"lines": [{"sku": "SKU-1", "quantity": n}]}]}

    once = View("wms", shipment={"SH-1": shipment("SO-1", 1), "SH-2": shipment("SO-1", 1)})
    assert invariants.no_double_shipment(store, once).passed
    twice = View("wms", shipment={"SH-1": shipment("SO-1", 2), "SH-2": shipment("SO-1", 2)})
    result = invariants.no_double_shipment(store, twice)
    assert not result.passed
    assert result.evidence == [
        {
            "order": "SO-1",
            "sku": "SKU-1",
            "ordered": 2,
            "shipped": 4,
            "by": "wms",
            "shipments": ["SH-1", "SH-2"],
        }
    ]


def test_nothing_lost_checks_acknowledged_ids_and_that_dead_deliveries_are_open_exceptions(store, pipeline):
    pipeline.ingest("wms", [stock("s1", "SKU-1@DC1", on_hand=5)])
    assert invariants.nothing_lost(store, {}, {"wms": ["s1"]}).passed
    lost = invariants.nothing_lost(store, {}, {"wms": ["s1", "s2"]})
    assert not lost.passed
    assert lost.evidence == [{"check": "acknowledged", "system": "wms", "change_id": "s2"}]

    [row] = [r for r in store.list_outbox() if r.route == "stock-to-shop"]
    with store.write() as tx:  # a dead delivery whose exception was never opened
        tx.cur.execute(store._sql("UPDATE outbox SET state = 'dead' WHERE id = ?"), (row.id,))
    dead = invariants.nothing_lost(store, {}, {})
    assert not dead.passed and dead.evidence[0]["check"] == "dead"
    with store.write() as tx:
        tx.open_exceptions([NewException("dead_delivery", "gone", route=row.route, key=row.key)], 1)
    assert invariants.nothing_lost(store, {}, {}).passed


def test_kpis_hold_the_fill_rate_the_lag_and_the_exceptions_to_their_bounds(store, pipeline):
    pipeline.ingest("wms", [stock("s1", "SKU-1@DC1", on_hand=5)])
    pipeline.ingest("shop", [order("o1", "SO-1", ("SKU-1", 2))])
    assert invariants.fill_rate(store) == 0.0
    lags = {"stock-to-shop": {"delivered": 3, "p95": 40.0}}
    bounds = KpiBounds(lag_p95=60, exceptions={"dead_delivery": 0})
    assert invariants.kpis(bounds, store, lags, {}).passed
    result = invariants.kpis(
        KpiBounds(fill_rate=0.9, lag_p95=30, exceptions={"dead_delivery": 0}),
        store,
        lags,
        {"dead_delivery": 2},
    )
    assert [e["kpi"] for e in result.evidence] == ["fill_rate", "lag_p95", "open_exceptions"]


def test_a_kpi_bound_with_no_data_fails_rather_than_passing(store):
    """Nothing sold, nothing delivered: a bound on the fill rate, OTIF, order-to-ship or lag has
    nothing to hold to, and says so instead of passing."""
    bounds = KpiBounds(fill_rate=0.9, otif=0.9, order_to_ship_p90=3600, lag_p95=60)
    result = invariants.kpis(bounds, store, {"stock-to-shop": {"delivered": 0}}, {})
    assert not result.passed
    assert sorted((e["kpi"], e["problem"]) for e in result.evidence) == [
        ("fill_rate", "no data"),
        ("lag_p95", "no data"),
        ("order_to_ship_p90", "no data"),
        ("otif", "no data"),
    ]
    assert "otif: no data" in result.summary
    unbounded = invariants.kpis(KpiBounds(exceptions={"dead_delivery": 0}), store, {}, {})
    assert unbounded.passed  # no bound on a figure: nothing is claimed about it


SIM_MAP = """\
systems:
  wms: {kind: wms, writes: [inventory, order, shipment]}
  shop: {kind: marketplace, writes: [order]}
owners: {inventory.quantities: wms, order.fulfillment: wms, shipment: wms}
routes:
  - {name: stock-to-shop, domain: inventory, to: shop}
"""


def _sim_changes(system: str, cid: str, payload: dict[str, Any]) -> list[Change]:
    """What the sim's own mapping makes of one webhook of `system` (as the hub applies it)."""
    mapping = {"wms": mappings.wms_inbound, "shop": mappings.shop_inbound}[system]
    return [
        Change(id=f"{cid}-{i}", domain=Domain(c["domain"]), key=c["key"], fields=c["fields"])
        for i, c in enumerate(mapping(payload, None))
    ]


def test_kpi_bounds_hold_the_order_kpis_the_wms_ship_times_give(store):
    """The shop's order carries when it was placed, the WMS's shipment and order status when it
    shipped: the KPI engine's OTIF and order-to-ship come from them, and bounds hold them."""
    pipeline = Pipeline(store, parse_syncmap(SIM_MAP, env={}))
    placed = datetime(2026, 11, 2, 8, 0, tzinfo=UTC)
    pipeline.ingest("wms", [stock("s1", "SKU-1@DC1", on_hand=10, allocated=0)])
    for n, (qty, sent, hours) in enumerate([(2, 2, 1), (3, 2, 3)], 1):  # SO-2 ships a unit short
        number, shipped_at = f"SO-{n}", (placed + timedelta(hours=hours)).isoformat()
        line = {"line_number": 1, "sku": "SKU-1", "quantity": qty}
        shop = {"id": number, "created_at": placed.isoformat(), "line_items": [line]}
        pipeline.ingest("shop", _sim_changes("shop", f"o{n}", shop))
        pipeline.ingest(
            "wms",
            _sim_changes("wms", f"a{n}", {"type": "order.status", "order_no": number, "status": "allocated"}),
        )
        parcel = {
            "package_id": "P1",
            "tracking_number": f"T{n}",
            "lines": [{"sku": "SKU-1", "quantity": sent, "order_line_no": 1}],
        }
        shipment = {
            "type": "shipment.confirmed",
            "shipment_no": f"SH-{number}-1",
            "order_number": number,
            "packages": [parcel],
            "shipped_at": shipped_at,
        }
        status = {
            "type": "order.status",
            "order_no": number,
            "status": "shipped" if sent == qty else "partially_shipped",
            "shipped_at": shipped_at,
        }
        pipeline.ingest("wms", _sim_changes("wms", f"s{n}", shipment) + _sim_changes("wms", f"t{n}", status))
    order = store.get_record("order", "SO-1").fields
    assert (order["placed_at"], order["shipped_at"]) == ("2026-11-02T08:00:00Z", "2026-11-02T09:00:00Z")
    assert store.get_record("shipment", "SH-SO-2-1").fields["shipped_at"] == "2026-11-02T11:00:00Z"
    figures = invariants.run_kpis(store)
    assert figures["otif"].value == 0.5 and figures["otif"].count == 2  # SO-2 is not in full
    assert figures["order_to_ship_avg"].value == 2.0  # hours: 1 and 3
    assert figures["fill_rate_units"].value == 4 / 5
    lags = {"stock-to-shop": {"delivered": 1, "p95": 1.0}}
    holds = KpiBounds(otif=0.5, order_to_ship_p90=3 * 3600, order_accuracy=1.0, lag_p95=60)
    assert invariants.kpis(holds, store, lags, {}, figures).passed
    broken = invariants.kpis(KpiBounds(otif=0.9, order_to_ship_p90=3600), store, lags, {}, figures)
    assert not broken.passed
    assert sorted(e["kpi"] for e in broken.evidence) == ["order_to_ship_p90", "otif"]


def test_percentile_is_the_nearest_rank():
    values = [float(v) for v in range(1, 101)]
    assert [invariants.percentile(values, p) for p in (50, 95, 99, 100)] == [50, 95, 99, 100]
    assert invariants.percentile([7.0], 95) == 7.0
