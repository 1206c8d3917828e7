"""The simulated systems as honest peers: real servers on loopback ports, real signed calls.

Until the hub takes webhooks (`POST /v1/webhooks/{system}`), a small loopback receiver stands in
for it: it verifies each webhook's signature in the sender's scheme and answers as the hub does.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logisync.delivery.signing import new_secret, signature_headers, verify
from logisync.sim.carrier import SimCarrier
from logisync.sim.clock import SimClock
from logisync.sim.faults import Faults, Window
from logisync.sim.marketplace import SimMarketplace
from logisync.sim.system import HubLink, SimSystem
from logisync.sim.wms import SimWms

DEADLINE = 30.0  # generous: conditions are waited for, never timed


class Receiver:
    """A stand-in for the hub's webhook endpoint that checks every signature it gets."""

    def __init__(self, secret: str, scheme: str) -> None:
        self.secret, self.scheme = secret, scheme
        self.got: list[tuple[str, Any]] = []  # (webhook id, payload) of every valid webhook
        self.refused = 0

    def check(self, request: web.Request, body: bytes) -> str:
        h = request.headers
        if self.scheme == "standard-webhooks":
            return verify([self.secret], h, body, time.time())
        if self.scheme == "shopify":
            digest = base64.b64encode(hmac.new(self.secret.encode(), body, hashlib.sha256).digest()).decode()
            if not hmac.compare_digest(digest, h.get("X-Shopify-Hmac-Sha256", "")):
                raise ValueError("bad shopify signature")
            return h["X-Shopify-Webhook-Id"]
        raise AssertionError(self.scheme)

    async def take(self, request: web.Request) -> web.Response:
        body = await request.read()
        try:
            msg_id = self.check(request, body)
        except Exception:
            self.refused += 1
            return web.json_response({"error": "invalid_signature"}, status=401)
        self.got.append((msg_id, json.loads(body)))
        return web.json_response({"outcomes": [{"id": msg_id, "outcome": "applied"}]})

    async def __aenter__(self) -> str:
        app = web.Application()
        app.router.add_post("/v1/webhooks/{system}", self.take)
        self.runner = web.AppRunner(app)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return f"http://127.0.0.1:{port}"

    async def __aexit__(self, *exc: object) -> None:
        await self.runner.cleanup()


async def until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        assert time.monotonic() < deadline, "the condition never held"
        await asyncio.sleep(0.02)


def run(test: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(test())  # type: ignore[arg-type]


async def started(system: SimSystem, hub_url: str, secret: str, call_secret: str) -> SimSystem:
    scheme = system.scheme
    await system.start(HubLink(hub_url, system.name, secret, scheme=scheme, call_secret=call_secret))
    return system


def signed(secret: str, body: Any) -> tuple[bytes, dict[str, str]]:
    raw = json.dumps(body).encode()
    headers = signature_headers([secret], "msg_1", int(time.time()), raw)
    return raw, {"content-type": "application/json", **headers}


def test_shop_is_an_honest_peer() -> None:
    """Bad signature 401, malformed 400, compare-and-set 409, over the rate limit 429, outage 503."""

    async def go() -> None:
        call_secret = new_secret()
        async with Receiver("shop-secret", "shopify") as hub:
            shop = SimMarketplace("shop", flavour="shop", rate=1.0, burst=6, clock=SimClock(100))
            await started(shop, hub, "shop-secret", call_secret)
            async with httpx.AsyncClient() as client:
                level = {"inventory_level": {"sku": "A", "available": 5, "expected": None}}
                raw, headers = signed(new_secret(), level)
                assert (await client.post(shop.url, content=raw, headers=headers)).status_code == 401
                raw, headers = signed(call_secret, level)
                assert (await client.post(shop.url, content=raw, headers=headers)).status_code == 200
                assert shop.view("inventory") == {"A": {"available": 5}}
                stale = {"inventory_level": {"sku": "A", "available": 9, "expected": 3}}
                raw, headers = signed(call_secret, stale)
                answer = await client.post(shop.url, content=raw, headers=headers)
                assert answer.status_code == 409 and answer.json()["actual"] == 5
                raw, headers = signed(
                    call_secret, {"inventory_level": {"sku": "A", "available": -1, "expected": 5}}
                )
                answer = await client.post(shop.url, content=raw, headers=headers)
                assert answer.status_code == 400 and "available" in answer.json()["detail"]
                assert shop.view("inventory") == {"A": {"available": 5}}
                statuses = []
                for _ in range(10):
                    raw, headers = signed(call_secret, level)
                    statuses.append(await client.post(shop.url, content=raw, headers=headers))
                throttled = [a for a in statuses if a.status_code == 429]
                assert throttled and all(int(a.headers["Retry-After"]) >= 1 for a in throttled)
                repeats = sum(a.status_code == 409 for a in statuses)  # `expected` null: A holds 5
                assert repeats + len(throttled) == 10
                shop.faults = Faults(outages=[Window(0, 10**9)])
                raw, headers = signed(call_secret, level)
                assert (await client.post(shop.url, content=raw, headers=headers)).status_code == 503
            assert shop.stats["rejected_signature"] == 1 and shop.stats["rejected_malformed"] == 1
            assert shop.stats["conflicts"] == 1 + repeats and shop.stats["outage"] == 1
            await shop.stop()

    run(go)


def test_market_takes_inventory_in_bounded_batches() -> None:
    async def go() -> None:
        call_secret = new_secret()
        async with Receiver(new_secret(), "standard-webhooks") as hub:
            market = SimMarketplace("market", flavour="market", max_batch=3, clock=SimClock(100))
            await started(market, hub, "x", call_secret)
            async with httpx.AsyncClient() as client:
                items = [{"sku": f"S{i}", "quantity": i} for i in range(4)]
                raw, headers = signed(call_secret, items)
                assert (await client.post(market.url, content=raw, headers=headers)).status_code == 400
                raw, headers = signed(call_secret, items[:3])
                assert (await client.post(market.url, content=raw, headers=headers)).status_code == 200
            assert market.view("inventory") == {f"S{i}": {"available": i} for i in range(3)}
            await market.stop()

    run(go)


def test_marketplace_sells_only_what_its_view_shows_and_signs_its_orders() -> None:
    async def go() -> None:
        secret = "shop-secret"
        receiver = Receiver(secret, "shopify")
        async with receiver as hub:
            shop = SimMarketplace("shop", flavour="shop", clock=SimClock(100))
            await started(shop, hub, secret, new_secret())
            shop.stock["A"] = 2
            assert await shop.place_order([("A", 3)]) is None
            key = await shop.place_order([("A", 2)])
            # the level stays what the hub set until it sets another; the units sold are counted
            assert key is not None and shop.view("inventory")["A"] == {"available": 2}
            assert shop.sellable("A") == 0
            assert await shop.place_order([("A", 1)]) is None
            assert [p["id"] for _, p in receiver.got] == [key] and receiver.refused == 0
            assert shop.sent[-1].change_ids == [shop.sent[-1].id]
            await shop.stop()

    run(go)


def test_wms_ships_what_it_has_and_the_carrier_tracks_it_to_delivered() -> None:
    async def go() -> None:
        secret = new_secret()
        receiver = Receiver(secret, "standard-webhooks")
        async with receiver as hub:
            clock = SimClock(3600)
            wms = SimWms("wms", clock=clock, pick_delay=60, ship_delay=120)
            carrier = SimCarrier("carrier", clock=clock, leg=600)
            wms.attach_carrier(carrier)
            call_secret = new_secret()
            await started(wms, hub, secret, call_secret)
            await started(carrier, hub, secret, call_secret)
            await wms.receive("A", "DC1", 3)
            order = {"order": {"number": "O-1", "lines": [{"line_no": 1, "sku": "A", "quantity": 5}]}}
            async with httpx.AsyncClient() as client:
                raw, headers = signed(call_secret, order)
                assert (await client.post(wms.url, content=raw, headers=headers)).status_code == 200
            await until(
                lambda: any(p.get("result", {}).get("status") == "delivered" for _, p in receiver.got)
            )
            assert [t["status"] for t in carrier.view("tracking").values()] == ["delivered"]
            assert wms.orders["O-1"]["status"] == "partially_shipped"
            assert wms.view("order")["O-1"] == {
                "lines": [{"line_no": 1, "sku": "A", "quantity": 5}],
                "cancel_requested": False,
            }
            assert wms.view("inventory")["A@DC1"] == {"on_hand": 0, "allocated": 0}
            (shipment,) = wms.view("shipment").values()
            assert shipment["packages"][0]["lines"] == [{"sku": "A", "quantity": 3, "order_line_no": 1}]
            codes = [p["result"]["status"] for _, p in receiver.got if "result" in p]
            assert codes == ["pre_transit", "in_transit", "out_for_delivery", "delivered"]
            await wms.stop()
            await carrier.stop()

    run(go)


def test_a_count_below_the_allocated_units_takes_them_from_the_newest_orders() -> None:
    """The shelf is the truth: a count that finds fewer units than are allocated takes the newest
    orders' allocations, they ship what is left, and the shelf never goes below zero. The loss is
    in the WMS's `shrinkage` view, allocated units apart (what no_oversell allows for)."""

    async def go() -> None:
        secret = new_secret()
        async with Receiver(secret, "standard-webhooks") as hub:
            wms = SimWms("wms", clock=SimClock(3600), autopilot=False)
            call_secret = new_secret()
            await started(wms, hub, secret, call_secret)
            await wms.receive("A", "DC1", 5)
            async with httpx.AsyncClient() as client:
                for number, qty in (("O-1", 2), ("O-2", 2)):
                    body = {
                        "order": {"number": number, "lines": [{"line_no": 1, "sku": "A", "quantity": qty}]}
                    }
                    raw, headers = signed(call_secret, body)
                    assert (await client.post(wms.url, content=raw, headers=headers)).status_code == 200
            await wms.advance("O-1", "allocated")
            await wms.advance("O-2", "allocated")
            await wms.count("A", "DC1", 3)  # two units gone, one of them allocated
            assert wms.view("inventory")["A@DC1"] == {"on_hand": 3, "allocated": 3}
            assert wms.view("shrinkage") == {"A": {"units": 2, "allocated": 1}}
            assert await wms.advance("O-2", "shipped") == "SH-O-2-1"
            assert await wms.advance("O-1", "shipped") == "SH-O-1-1"
            assert [s["packages"][0]["lines"][0]["quantity"] for s in wms.view("shipment").values()] == [1, 2]
            assert wms.orders["O-2"]["status"] == "partially_shipped"
            assert wms.view("inventory")["A@DC1"] == {"on_hand": 0, "allocated": 0}
            await wms.stop()

    run(go)


@pytest.mark.parametrize("knob", ["duplicate_events", "reorder_events"])
def test_webhook_faults_never_lose_a_webhook(knob: str) -> None:
    async def go() -> None:
        secret = new_secret()
        receiver = Receiver(secret, "standard-webhooks")
        async with receiver as hub:
            carrier = SimCarrier("carrier", clock=SimClock(1000), faults=Faults(**{knob: 0.5}), seed=7)
            await started(carrier, hub, secret, new_secret())
            carrier.tracking["T1"] = {"shipment_number": "S1", "events": []}
            for code in ("pre_transit", "in_transit", "out_for_delivery", "delivered"):
                await carrier.scan("T1", code, carrier.clock.now())
            carrier.quiesce()
            await carrier.stop()  # sends what a reorder still holds
            sent_ids = {s.id for s in carrier.sent}
            assert {i for i, _ in receiver.got} == sent_ids and len(sent_ids) == 4
            assert (
                carrier.stats["webhooks_duplicated" if knob == "duplicate_events" else "webhooks_reordered"]
                > 0
            )

    run(go)


def test_faults_from_dict_names_the_wrong_field() -> None:
    faults = Faults.from_dict(
        {"outages": [{"start": 5, "end": 10}], "error_rate": 0.1, "latency": [0, 0.1]}, "f"
    )
    assert faults.active_outage(5) and not faults.active_outage(10) and faults.latency == (0.0, 0.1)
    for bad, where in (
        ({"error_rate": 2}, "f.error_rate"),
        ({"latency": [3, 1]}, "f.latency"),
        ({"outages": [{"start": 3}]}, "f.outages[0]"),
        ({"typo": 1}, "f.typo"),
    ):
        with pytest.raises(ValueError, match="^" + re.escape(where)):
            Faults.from_dict(bad, "f")


def test_the_sim_syncmap_is_a_valid_sync_map() -> None:
    """Every system with its URL and secrets, owners and routes with mappings that import."""
    from logisync.sim.erp import SimErp
    from logisync.sim.hub import validated
    from logisync.sim.syncmap import SimWiring

    async def go() -> None:
        clock = SimClock(100)
        systems: dict[str, SimSystem] = {
            "wms": SimWms("wms", clock=clock),
            "erp": SimErp("erp", clock=clock),
            "shop": SimMarketplace("shop", flavour="shop", clock=clock),
            "market": SimMarketplace("market", flavour="market", clock=clock),
            "carrier": SimCarrier("carrier", clock=clock),
        }
        wiring = SimWiring.create(list(systems), "http://127.0.0.1:1")
        for name, system in systems.items():
            await system.start(wiring.links[name])
        try:
            data = wiring.syncmap(systems, "sqlite:///x.db")
            syncmap = validated(data, "sim")
            assert syncmap.systems["shop"].url == systems["shop"].url
            assert {r.name for r in syncmap.routes} >= {"stock-to-shop", "stock-to-market", "orders-to-wms"}
            named = [s.signing.secret_env for s in syncmap.systems.values() if s.signing]
            assert named and all(env in wiring.env for env in named)
            assert (
                wiring.links["shop"].scheme == "shopify" and wiring.links["wms"].scheme == "standard-webhooks"
            )
        finally:
            for system in systems.values():
                await system.stop()

    run(go)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 10_000),
    drop=st.sampled_from([0.0, 0.3]),
    duplicate=st.floats(0, 1),
    reorder=st.floats(0, 1),
    n=st.integers(1, 12),
)
def test_webhook_faults_lose_nothing_but_what_they_drop(
    seed: int, drop: float, duplicate: float, reorder: float, n: int
) -> None:
    """Whatever the shares, every webhook not dropped on purpose reaches the receiver, validly signed."""

    async def go() -> None:
        secret = new_secret()
        receiver = Receiver(secret, "standard-webhooks")
        async with receiver as hub:
            faults = Faults(drop_webhooks=drop, duplicate_events=duplicate, reorder_events=reorder)
            carrier = SimCarrier("carrier", clock=SimClock(1000), faults=faults, seed=seed)
            await started(carrier, hub, secret, new_secret())
            carrier.tracking["T1"] = {"shipment_number": "S1", "events": []}
            for _ in range(n):
                await carrier.scan("T1", "in_transit", carrier.clock.now())
            await carrier.stop()
            dropped = {s.id for s in carrier.sent if s.dropped}
            delivered = {s.id for s in carrier.sent if not s.dropped}
            assert len(dropped | delivered) == n and not dropped & delivered
            assert {i for i, _ in receiver.got} == delivered and receiver.refused == 0
            assert len(receiver.got) == n - len(dropped) + carrier.stats["webhooks_duplicated"]

    run(go)


def test_inbound_mappings_read_what_the_systems_send() -> None:
    """Each marketplace's order webhook maps to the same canonical order."""
    from logisync.sim import mappings

    async def go() -> None:
        payloads: dict[str, Any] = {}
        for flavour in ("shop", "market"):
            receiver = Receiver(new_secret(), "standard-webhooks")
            receiver.check = lambda request, body: (
                request.headers.get(  # type: ignore[method-assign]
                    "webhook-id"
                )
                or request.headers["X-Shopify-Webhook-Id"]
            )
            async with receiver as hub:
                system = SimMarketplace(flavour, flavour=flavour, clock=SimClock(100))
                await started(system, hub, "s3cret" if flavour == "shop" else new_secret(), new_secret())
                system.stock.update({"A": 5, "B": 5})
                await system.place_order([("A", 2), ("B", 1)], order_id="O-9")
                payloads[flavour] = receiver.got[0][1]
                await system.stop()

        class Context:
            system = "x"

        shop = mappings.shop_inbound(payloads["shop"], Context())
        market = mappings.market_inbound(payloads["market"], Context())
        assert [(c["domain"], c["key"], c["fields"]["lines"]) for c in shop] == [
            (
                "order",
                "O-9",
                [{"line_no": 1, "sku": "A", "quantity": 2}, {"line_no": 2, "sku": "B", "quantity": 1}],
            )
        ]
        assert [(c["domain"], c["key"], c["fields"]["lines"]) for c in market] == [
            (c["domain"], c["key"], c["fields"]["lines"]) for c in shop
        ]
        with pytest.raises(ValueError, match="line_items"):
            mappings.shop_inbound({"id": "O-1", "line_items": "lots"}, Context())

    run(go)


def test_a_fulfilment_marks_the_shops_order_shipped_in_canonical_names() -> None:
    async def go() -> None:
        call_secret = new_secret()
        async with Receiver("s", "shopify") as hub:
            shop = SimMarketplace("shop", flavour="shop", clock=SimClock(100))
            await started(shop, hub, "s", call_secret)
            shop.stock["A"] = 1
            key = await shop.place_order([("A", 1)])
            fulfilment = {
                "fulfillment": {"id": "SH-1", "order_id": key, "tracking_numbers": ["T"], "status": None}
            }
            async with httpx.AsyncClient() as client:
                raw, headers = signed(call_secret, fulfilment)
                assert (await client.post(shop.url, content=raw, headers=headers)).status_code == 200
            assert shop.view("order")[key]["status"] == "shipped"
            assert shop.view("shipment") == {"SH-1": {"order_number": key, "tracking_numbers": ["T"]}}
            elsewhere = {"fulfillment": {"id": "SH-2", "order_id": "MARKET-1", "tracking_numbers": ["U"]}}
            async with httpx.AsyncClient() as client:
                raw, headers = signed(call_secret, elsewhere)
                answer = await client.post(shop.url, content=raw, headers=headers)
            assert answer.status_code == 400  # another channel's order: never placed here
            assert "fulfillment.order: no order 'MARKET-1' was placed here" in answer.json()["detail"]
            assert "SH-2" not in shop.view("shipment")
            await shop.stop()

    run(go)


def test_wms_takes_an_rma_receives_it_later_and_restocks_its_lines() -> None:
    from logisync.sim.mappings import market_inbound, wms_inbound, wms_return

    async def go() -> None:
        secret = new_secret()
        receiver = Receiver(secret, "standard-webhooks")
        async with receiver as hub:
            wms = SimWms("wms", clock=SimClock(3600), return_delay=600)
            call_secret = new_secret()
            await started(wms, hub, secret, call_secret)
            await wms.receive("A", "DC1", 3)
            ctx = type("Ctx", (), {"key": "RMA-M-1", "domain": "return"})()
            rma = wms_return({"order_number": "M-1", "lines": [{"sku": "A", "quantity": 2}]}, ctx)
            async with httpx.AsyncClient() as client:
                for body, status in (
                    (rma, 200),
                    (rma, 200),  # sent again (the hub echoes a changed record): taken once
                    ({"return": {"rma": "RMA-2", "lines": [{"sku": "A", "quantity": 0}]}}, 400),
                ):
                    raw, headers = signed(call_secret, body)
                    assert (await client.post(wms.url, content=raw, headers=headers)).status_code == status
            assert wms.rejected == ["return.lines[0].quantity: a whole number of units above 0, not 0"]
            await until(lambda: wms.view("return")["RMA-M-1"]["status"] == "restocked")
            assert wms.view("inventory")["A@DC1"]["on_hand"] == 5
            await until(lambda: any(p.get("reason") == "return" for _, p in receiver.got))
            returns = [p for _, p in receiver.got if p.get("type") == "return.received"]
            assert [p["status"] for p in returns] == ["received", "restocked"]
            [change] = wms_inbound(returns[0], None)
            assert change["domain"] == "return" and change["key"] == "RMA-M-1"
            assert change["fields"]["location"] == "DC1"
            assert change["fields"]["lines"] == [
                {"sku": "A", "quantity": 2, "disposition": "restock", "condition": "new"}
            ]
            await wms.stop()
        # a marketplace's return request is an authorised RMA of canonical return lines
        payload = {
            "event": "order.return_requested",
            "order": {"order_id": "M-1"},
            "return_lines": [{"sku": "A", "quantity": 2}],
        }
        [request] = market_inbound(payload, None)
        assert request == {
            "domain": "return",
            "key": "RMA-M-1",
            "fields": {"order_number": "M-1", "status": "authorised", "lines": [{"sku": "A", "quantity": 2}]},
        }

    run(go)
