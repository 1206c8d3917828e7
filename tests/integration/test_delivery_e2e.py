"""Delivery end to end on both stores: the pipeline fills the outbox, the dispatchers send signed
calls over real HTTP to a loopback target. An outage: the target is down for a while, then up;
afterwards everything is delivered, events in order per key, nothing lost, nothing dead."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from fixtures.loopback_target import LoopbackTarget, free_port
from logisync.config import parse_syncmap
from logisync.delivery.dispatcher import Dispatcher
from logisync.domain.change import Change
from logisync.domain.kinds import Domain
from logisync.pipeline import Pipeline
from logisync.store.outbox import OutboxQueue

SECRET = "whsec_bG9vcGJhY2stdGFyZ2V0LXNlY3JldC1mb3ItZTJl"
ENV = {"ERP_SECRET": SECRET}
T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
TNS = ("1Z999AA10123456784", "1Z999AA10123456791")


def syncmap(port: int):
    return parse_syncmap(
        f"""\
systems:
  wms: {{kind: wms}}
  carrier: {{kind: carrier}}
  erp:
    kind: erp
    url: http://127.0.0.1:{port}/hook
    signing: {{secret_env: ERP_SECRET}}
    transport:
      allow_private_network: true
      timeout: 2s
      retry: {{attempts: 8, schedule: [0, 5, 5, 5, 5, 5, 5, 5], jitter: 0}}
      breaker: {{threshold: 3, cooldown: 10s}}
owners:
  inventory: wms
  tracking: carrier
routes:
  - {{name: stock-to-erp, domain: inventory, to: erp, mapping: {{sku: key, on_hand: fields.on_hand}}}}
  - {{name: tracking-to-erp, domain: tracking, to: erp, mapping: {{tn: key, status: fields.status, n: fields.event_id}}}}
""",
        env=ENV,
    )


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def traffic(pipeline: Pipeline) -> None:
    for i in range(40):  # 40 stock counts over 5 positions
        pipeline.ingest(
            "wms",
            [Change(id=f"s{i}", domain=Domain.inventory, key=f"SKU-{i % 5}@DC1", fields={"on_hand": i})],
        )
    for i in range(12):  # 6 events for each of two parcels
        at = T0 + timedelta(minutes=i)
        fields = {"status": "in_transit", "occurred_at": at.isoformat(), "event_id": f"{i:03d}"}
        pipeline.ingest(
            "carrier",
            [Change(id=f"e{i}", domain=Domain.tracking, key=TNS[i % 2], fields=fields, occurred_at=at)],
        )


def test_an_outage_then_recovery_delivers_everything_in_order(store):
    port = free_port()
    hub = syncmap(port)
    traffic(Pipeline(store, hub))
    clock = Clock()
    dispatcher = Dispatcher.for_syncmap(hub, store, ENV, clock=clock)
    target = LoopbackTarget(SECRET)

    async def scenario() -> None:
        for _ in range(6):  # down: connection refused, retried on schedule, the breaker opens
            for worker in dispatcher.workers:
                await worker.drain()
            clock.now += 5
        assert all(w.breaker.state.value == "open" for w in dispatcher.workers)
        async with target.serving(port):
            for _ in range(30):  # up: probes close the breaker, retries and the rest go out
                clock.now += 5
                for worker in dispatcher.workers:
                    await worker.drain()
        for close in dispatcher.closers:
            await close()

    asyncio.run(scenario())
    assert target.bad_signatures == 0
    outbox = store.list_outbox(limit=1000)
    assert {row.state for row in outbox} <= {"delivered", "coalesced"}  # nothing pending, nothing dead
    assert max(row.attempts for row in outbox) > 1  # the outage was felt: deliveries were retried
    assert store.list_exceptions(kind="dead_delivery") == []
    latest = {body["sku"]: body["on_hand"] for body in target.received if "sku" in body}
    assert latest == {f"SKU-{k}@DC1": 35 + k for k in range(5)}  # every position's last count
    for tn in TNS:  # every event, once, in order
        got = [body["n"] for body in target.received if body.get("tn") == tn]
        assert got == sorted(got) and len(got) == 6


def test_serve_mode_delivers_as_changes_arrive(store):
    """The dispatcher running as `serve` runs it: nudged after each commit, real time."""
    port = free_port()
    hub = syncmap(port)
    target = LoopbackTarget(SECRET)

    async def scenario() -> None:
        async with target.serving(port):
            dispatcher = Dispatcher.for_syncmap(hub, store, ENV, poll=0.05)
            stop = asyncio.Event()
            running = asyncio.create_task(dispatcher.run(stop))
            pipeline = Pipeline(store, hub)
            await asyncio.to_thread(traffic, pipeline)
            dispatcher.notify()
            for _ in range(100):
                if len([b for b in target.received if "tn" in b]) == 12:
                    break
                await asyncio.sleep(0.05)
            stop.set()
            await running

    asyncio.run(scenario())
    assert len([b for b in target.received if "tn" in b]) == 12
    assert {b["sku"] for b in target.received if "sku" in b} == {f"SKU-{k}@DC1" for k in range(5)}


def test_a_live_route_to_a_system_without_url_waits_and_a_shadow_route_runs(store):
    hub = parse_syncmap(
        """\
systems:
  wms: {kind: wms}
  erp: {kind: erp}
owners:
  inventory: wms
routes:
  - {name: stock-to-erp, domain: inventory, to: erp}
  - {name: stock-shadow, domain: inventory, to: erp, mode: shadow}
""",
        env={},
    )
    dispatcher = Dispatcher.for_syncmap(hub, store, {})
    assert [w.route.name for w in dispatcher.workers] == ["stock-shadow"]
    Pipeline(store, hub).ingest(
        "wms", [Change(id="s1", domain=Domain.inventory, key="SKU-1@DC1", fields={"on_hand": 2})]
    )
    asyncio.run(dispatcher.workers[0].drain())
    states = {row.route: row.state for row in store.list_outbox()}
    assert states == {"stock-to-erp": "pending", "stock-shadow": "shadowed"}


def test_over_real_http_a_backlog_coalesces_echoes_are_suppressed_and_shadow_sends_nothing(store):
    port = free_port()
    hub = parse_syncmap(
        f"""\
systems:
  wms: {{kind: wms}}
  erp:
    kind: erp
    url: http://127.0.0.1:{port}/hook
    signing: {{secret_env: ERP_SECRET}}
    transport: {{allow_private_network: true}}
owners:
  inventory.quantities: wms
  inventory.inbound: erp
routes:
  - {{name: stock-to-erp, domain: inventory, to: erp, mapping: {{sku: key, on_hand: "fields.on_hand?", inbound: "fields.inbound?"}}}}
  - {{name: stock-shadow, domain: inventory, to: erp, mode: shadow}}
""",
        env=ENV,
    )
    pipeline = Pipeline(store, hub)
    for i in range(40):  # a backlog: 8 counts for each of 5 positions
        pipeline.ingest(
            "wms",
            [Change(id=f"s{i}", domain=Domain.inventory, key=f"SKU-{i % 5}@DC1", fields={"on_hand": i})],
        )
    # the ERP's own change to a position no one else touched: not sent back to the ERP
    pipeline.ingest(
        "erp", [Change(id="e1", domain=Domain.inventory, key="SKU-9@DC1", fields={"inbound": 100})]
    )
    target = LoopbackTarget(SECRET)
    dispatcher = Dispatcher.for_syncmap(hub, store, ENV)

    async def scenario() -> None:
        async with target.serving(port):
            for worker in dispatcher.workers:
                await worker.drain()
        for close in dispatcher.closers:
            await close()

    asyncio.run(scenario())
    assert target.bad_signatures == 0
    assert sorted((b["sku"], b["on_hand"]) for b in target.received) == [
        (f"SKU-{k}@DC1", 35 + k) for k in range(5)
    ]  # one call per position, its latest count; nothing from the shadow route, no echo
    shadowed = [row for row in store.list_outbox(route="stock-shadow", limit=100) if row.state == "shadowed"]
    assert sorted(row.key for row in shadowed) == [f"SKU-{k}@DC1" for k in range(5)]  # computed, not sent
    assert store.list_outbox(route="stock-to-erp", limit=100) and all(
        row.key != "SKU-9@DC1" for row in store.list_outbox(limit=100)
    )  # the ERP's change was never queued for the ERP


def test_shadow_mode_reads_the_target_and_records_the_difference(store):
    port = free_port()
    hub = parse_syncmap(
        f"""\
systems:
  wms: {{kind: wms}}
  shop:
    kind: storefront
    signing: {{secret_env: ERP_SECRET}}
    transport: {{allow_private_network: true}}
    read: {{url: "http://127.0.0.1:{port}/inventory/{{key}}", path: data}}
owners:
  inventory: wms
routes:
  - {{name: stock-shadow, domain: inventory, to: shop, mode: shadow, mapping: {{sku: key, on_hand: fields.on_hand, tags: "fields.tags?"}}}}
""",
        env=ENV,
    )
    Pipeline(store, hub).ingest(
        "wms",
        [
            Change(id="a", domain=Domain.inventory, key="SKU-1@DC1", fields={"on_hand": 5}),
            Change(id="b", domain=Domain.inventory, key="SKU-2@DC1", fields={"on_hand": 7}),
            Change(id="c", domain=Domain.inventory, key="SKU-3@DC1", fields={"on_hand": 1}),
        ],
    )
    target = LoopbackTarget(SECRET)
    target.current = {
        "SKU-1@DC1": {"sku": "SKU-1@DC1", "on_hand": 5},  # the same
        "SKU-2@DC1": {"sku": "SKU-2@DC1", "on_hand": 9, "extra": 1},  # another count
    }  # SKU-3@DC1: the target has no such record (404)
    dispatcher = Dispatcher.for_syncmap(hub, store, ENV)
    [worker] = dispatcher.workers

    async def scenario() -> None:
        async with target.serving(port):
            await worker.drain()
        for close in dispatcher.closers:
            await close()

    asyncio.run(scenario())
    assert target.received == [] and target.bad_signatures == 0  # read, signed, never sent
    assert sorted(target.reads) == ["SKU-1@DC1", "SKU-2@DC1", "SKU-3@DC1"]  # "@" URL-encoded in the path
    results = {r.key: r for r in OutboxQueue(store).shadow_results("stock-shadow")}  # type: ignore[arg-type]
    assert results["SKU-1@DC1"].diff == {"read": "ok", "differs": False, "fields": {}, "error": None}
    assert results["SKU-2@DC1"].diff["fields"] == {"on_hand": {"hub": 7, "target": 9}}
    assert results["SKU-2@DC1"].body == {"sku": "SKU-2@DC1", "on_hand": 7}
    missing = results["SKU-3@DC1"].diff
    assert (missing["read"], missing["differs"]) == ("missing", True)
    assert missing["fields"]["on_hand"] == {"hub": 1, "target": None}
    only = OutboxQueue(store).shadow_results("stock-shadow", differs=True)  # type: ignore[arg-type]
    assert sorted(r.key for r in only) == ["SKU-2@DC1", "SKU-3@DC1"]
    s = worker.stats
    assert (s.shadowed, s.shadow_compared, s.shadow_differed, s.shadow_read_failed) == (3, 3, 2, 0)
    from logisync.console.status import gather  # `logisync status` counts them too

    [route] = gather(store, hub)["routes"]
    assert (route["route"], route["shadow_differs"]) == ("stock-shadow", 2)


def test_a_shadow_read_that_fails_is_recorded_not_retried(store):
    port = free_port()  # nothing listens there
    hub = parse_syncmap(
        f"""\
systems:
  wms: {{kind: wms}}
  shop:
    kind: storefront
    transport: {{allow_private_network: true, timeout: 2s}}
    read: {{url: "http://127.0.0.1:{port}/inventory/{{key}}"}}
owners:
  inventory: wms
routes:
  - {{name: stock-shadow, domain: inventory, to: shop, mode: shadow}}
""",
        env={},
    )
    Pipeline(store, hub).ingest(
        "wms", [Change(id="a", domain=Domain.inventory, key="SKU-1@DC1", fields={"on_hand": 5})]
    )
    dispatcher = Dispatcher.for_syncmap(hub, store, {})
    [worker] = dispatcher.workers

    async def scenario() -> None:
        await worker.drain()
        for close in dispatcher.closers:
            await close()

    asyncio.run(scenario())
    [row] = store.list_outbox(route="stock-shadow")
    assert row.state == "shadowed"
    [result] = OutboxQueue(store).shadow_results("stock-shadow")  # type: ignore[arg-type]
    assert result.diff["read"] == "failed" and result.diff["error"].startswith("connection")
    assert worker.stats.shadow_read_failed == 1
