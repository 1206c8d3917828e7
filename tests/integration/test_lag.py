"""Route lag and SLA breaches on both stores: one exception per breach, resolved when it heals."""

from __future__ import annotations

import asyncio

from logisync.config import parse_syncmap
from logisync.delivery.dispatcher import RouteWorker
from logisync.domain.change import Change, now_us
from logisync.domain.kinds import Domain
from logisync.monitor.lag import check_slas, open_breaches, route_lags
from logisync.pipeline import Pipeline
from logisync.store.outbox import OutboxQueue

SYNCMAP = parse_syncmap(
    """\
systems:
  wms: {kind: wms}
  erp: {kind: erp}
owners:
  inventory: wms
routes:
  - {name: stock-to-erp, domain: inventory, to: erp, sla: 30s}
  - {name: slow-to-erp, domain: inventory, to: erp}
""",
    env={},
)


class Ok:
    async def send(self, delivery, body):
        return None


def test_lag_is_the_age_of_the_oldest_undelivered_change(store):
    Pipeline(store, SYNCMAP).ingest(
        "wms", [Change(id="s1", domain=Domain.inventory, key="SKU-1@DC1", fields={"on_hand": 1})]
    )
    accepted = store.list_outbox(route="stock-to-erp")[0].first_us
    [lag, other] = route_lags(SYNCMAP, store, accepted + 12_000_000)
    assert (lag.route, lag.pending, lag.lag_s, lag.sla_s, lag.breached) == (
        "stock-to-erp",
        1,
        12.0,
        30.0,
        False,
    )
    assert other.sla_s is None and not other.breached


def test_a_breach_opens_one_exception_and_healing_resolves_it(store):
    Pipeline(store, SYNCMAP).ingest(
        "wms", [Change(id="s1", domain=Domain.inventory, key="SKU-1@DC1", fields={"on_hand": 1})]
    )
    accepted = store.list_outbox(route="stock-to-erp")[0].first_us
    check_slas(SYNCMAP, store, accepted + 31_000_000)
    check_slas(SYNCMAP, store, accepted + 45_000_000)  # still in breach: no second exception
    [exc] = store.list_exceptions(kind="sla_breach")
    assert exc.route == "stock-to-erp" and "over its SLA of 30 s" in exc.reason
    route = SYNCMAP.routes[0]
    asyncio.run(RouteWorker(route, store, OutboxQueue(store), Ok()).drain())
    [lag, _] = check_slas(SYNCMAP, store, now_us())
    assert lag.lag_s == 0 and lag.pending == 0
    assert store.list_exceptions(kind="sla_breach") == []  # resolved
    assert [e.state for e in store.list_exceptions(kind="sla_breach", state=None)] == ["resolved"]


def test_status_shows_each_routes_lag_against_its_sla(store):
    from rich.console import Console

    from logisync.console.status import gather, tables

    Pipeline(store, SYNCMAP).ingest(
        "wms", [Change(id="s1", domain=Domain.inventory, key="SKU-1@DC1", fields={"on_hand": 1})]
    )
    figures = gather(store, SYNCMAP)
    assert [(r["route"], r["pending"], r["sla_s"]) for r in figures["routes"]] == [
        ("stock-to-erp", 1, 30.0),
        ("slow-to-erp", 1, None),
    ]
    console = Console(record=True, width=120)
    for table in tables(figures):
        console.print(table)
    assert "routes: lag against SLA" in console.export_text()
    assert "routes" not in gather(store)  # without the sync map, no SLAs to show


def test_two_checkers_that_both_saw_no_breach_open_one_exception(store):
    """Two dispatcher processes check at the same moment: both computed the route in breach with
    nothing open; the second to write finds the first's exception and opens none."""
    Pipeline(store, SYNCMAP).ingest(
        "wms", [Change(id="s1", domain=Domain.inventory, key="SKU-1@DC1", fields={"on_hand": 1})]
    )
    accepted = store.list_outbox(route="stock-to-erp")[0].first_us
    breached = [lag for lag in route_lags(SYNCMAP, store, accepted + 31_000_000) if lag.breached]
    assert [lag.route for lag in breached] == ["stock-to-erp"]
    assert open_breaches(store, breached, accepted + 31_000_000) == 1
    assert open_breaches(store, breached, accepted + 31_000_000) == 0
    assert len(store.list_exceptions(kind="sla_breach")) == 1
