"""`GET /v1/routes` on both stores: backlog and lag per route; with `serve`'s dispatchers, the
breaker and counters; admin only."""

from __future__ import annotations

import time

import httpx

from fixtures.api_live import ADMIN, KEYS, WMS, LiveServer, change, set_keys, with_admin
from fixtures.loopback_target import LoopbackTarget, free_port
from logisync.api.app import create_app
from logisync.config import parse_syncmap
from logisync.config.model import SyncMap


def test_routes_show_backlog_and_lag_and_no_dispatcher(store, syncmap, monkeypatch):
    set_keys(monkeypatch)
    app = create_app(with_admin(syncmap), store)
    with LiveServer(app) as live, httpx.Client(base_url=live.url, timeout=10) as client:
        assert client.post("/v1/changes", json={"changes": [change("c1")]}, headers=WMS).status_code == 200
        assert client.get("/v1/routes", headers=WMS).status_code == 403
        assert client.get("/v1/routes").status_code == 401
        body = client.get("/v1/routes", headers=ADMIN).json()
    by = {r["route"]: r for r in body["routes"]}
    assert list(by) == ["stock-to-shop", "orders-to-wms", "tracking-to-shop"]
    stock = by["stock-to-shop"]
    assert (stock["to"], stock["pending"], stock["dispatched"], stock["breaker"]) == ("shop", 1, False, None)
    assert stock["lag_s"] >= 0


def delivering_syncmap(port: int) -> SyncMap:
    text = f"""\
systems:
  wms: {{kind: wms, auth: {{api_key_env: TEST_WMS_KEY}}}}
  shop:
    kind: marketplace
    url: http://127.0.0.1:{port}/hook
    transport: {{allow_private_network: true}}
owners:
  inventory.quantities: wms
routes:
  - {{name: stock-to-shop, domain: inventory, to: shop, sla: 60s}}
"""
    return parse_syncmap(text, env={})


def test_in_serve_mode_a_change_is_delivered_and_the_route_shows_it(store, monkeypatch):
    set_keys(monkeypatch)
    port = free_port()
    target = LoopbackTarget()
    app = create_app(with_admin(delivering_syncmap(port)), store, env=KEYS, deliver=True)

    import asyncio
    import threading

    loop = asyncio.new_event_loop()
    started = threading.Event()
    stop = asyncio.Event()

    async def run_target() -> None:
        async with target.serving(port):
            started.set()
            await stop.wait()

    thread = threading.Thread(target=lambda: loop.run_until_complete(run_target()), daemon=True)
    thread.start()
    started.wait(10)
    try:
        with LiveServer(app) as live, httpx.Client(base_url=live.url, timeout=10) as client:
            assert (
                client.post(
                    "/v1/changes", json={"changes": [change("c1", on_hand=7)]}, headers=WMS
                ).status_code
                == 200
            )
            deadline = time.time() + 10
            while not target.received and time.time() < deadline:
                time.sleep(0.02)
            [route] = client.get("/v1/routes", headers=ADMIN).json()["routes"]
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)
        loop.close()
    assert target.received[0]["data"] == {"on_hand": 7}
    assert (route["dispatched"], route["breaker"], route["delivered"], route["dead"]) == (
        True,
        "closed",
        1,
        0,
    )


def test_a_shadow_routes_differences_from_its_target_are_listed(store, monkeypatch):
    import asyncio

    from logisync.delivery.dispatcher import Dispatcher
    from logisync.domain.change import Change
    from logisync.domain.kinds import Domain
    from logisync.pipeline import Pipeline

    set_keys(monkeypatch)
    port = free_port()
    hub = with_admin(
        parse_syncmap(
            f"""\
systems:
  wms: {{kind: wms, auth: {{api_key_env: TEST_WMS_KEY}}}}
  shop:
    kind: marketplace
    transport: {{allow_private_network: true}}
    read: {{url: "http://127.0.0.1:{port}/inventory/{{key}}", path: data, compare: [data.on_hand]}}
owners:
  inventory.quantities: wms
routes:
  - {{name: stock-shadow, domain: inventory, to: shop, mode: shadow}}
""",
            env={},
        )
    )
    Pipeline(store, hub).ingest(
        "wms",
        [
            Change(id=f"s{i}", domain=Domain.inventory, key=f"SKU-{i}@DC1", fields={"on_hand": i})
            for i in (1, 2)
        ],
    )
    target = LoopbackTarget()
    target.current = {"SKU-1@DC1": {"data": {"on_hand": 1}}, "SKU-2@DC1": {"data": {"on_hand": 20}}}
    dispatcher = Dispatcher.for_syncmap(hub, store, KEYS)

    async def shadow() -> None:
        async with target.serving(port):
            await dispatcher.workers[0].drain()
        for close in dispatcher.closers:
            await close()

    asyncio.run(shadow())
    app = create_app(hub, store, env=KEYS)
    with LiveServer(app) as live, httpx.Client(base_url=live.url, timeout=10) as client:
        assert client.get("/v1/routes/stock-shadow/shadow", headers=WMS).status_code == 403
        assert client.get("/v1/routes/nope/shadow", headers=ADMIN).status_code == 404
        every = client.get("/v1/routes/stock-shadow/shadow", headers=ADMIN).json()
        differing = client.get("/v1/routes/stock-shadow/shadow?differs=true", headers=ADMIN).json()
    assert sorted(r["key"] for r in every["results"]) == ["SKU-1@DC1", "SKU-2@DC1"]
    [one] = differing["results"]
    assert one["key"] == "SKU-2@DC1" and one["body"]["data"] == {"on_hand": 2}
    assert one["diff"]["fields"] == {"data.on_hand": {"hub": 2, "target": 20}}
