"""The hub's real calls out to the simulated systems: its signatures, compare-and-set and mappings.

The systems' changes go in through `POST /v1/changes` with their API keys here, so that only the
hub's half is under test (their signed webhooks in: test_sim_hub_webhooks.py): the shop takes the
hub's ATP by compare-and-set through `shop_outbound`, the market in batches, the WMS the order
through `wms_order`, each checking the hub's Standard Webhooks signature.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from fixtures.sim_hub import sim_hub, until
from logisync.sim.clock import SimClock
from logisync.sim.marketplace import SimMarketplace
from logisync.sim.system import SimSystem
from logisync.sim.wms import SimWms


def test_the_hub_calls_the_sim_systems_as_they_expect(tmp_path: Path) -> None:
    async def go() -> None:
        clock = SimClock(3600)
        systems: dict[str, SimSystem] = {
            "wms": SimWms("wms", clock=clock, pick_delay=60, ship_delay=120),
            "shop": SimMarketplace("shop", flavour="shop", clock=clock),
            "market": SimMarketplace("market", flavour="market", clock=clock),
        }
        async with sim_hub(tmp_path, systems) as hub:
            hub_url, wiring = hub.url, hub.wiring
            async with httpx.AsyncClient(base_url=hub_url, timeout=15) as client:

                async def send(system: str, change: dict[str, object]) -> None:
                    key = wiring.env[f"SIM_{system.upper()}_API_KEY"]
                    answer = await client.post(
                        "/v1/changes", json={"changes": [change]}, headers={"Authorization": f"Bearer {key}"}
                    )
                    assert answer.status_code == 200, answer.text

                stock = {"domain": "inventory", "key": "A@DC1", "fields": {"on_hand": 5, "allocated": 0}}
                await send("wms", {"id": "wms-1", **stock})
                shop, market, wms = systems["shop"], systems["market"], systems["wms"]
                await until(lambda: shop.view("inventory").get("A") == {"available": 5})
                await until(lambda: market.view("inventory").get("A") == {"available": 5})
                await send("wms", {"id": "wms-2", **stock, "fields": {"on_hand": 7, "allocated": 0}})
                await until(lambda: shop.view("inventory").get("A") == {"available": 7})  # expected 5 held
                lines = [{"line_no": 1, "sku": "A", "quantity": 2}]
                order = {"domain": "order", "key": "SHOP-1", "fields": {"lines": lines, "channel": "shop"}}
                await send("shop", {"id": "shop-1", **order})
                await until(lambda: "SHOP-1" in wms.view("order"))
                assert wms.view("order")["SHOP-1"]["lines"][0]["quantity"] == 2
            for system in systems.values():
                assert system.stats["rejected_signature"] == 0 and system.stats["rejected_malformed"] == 0
            assert shop.stats["conflicts"] == 0

    asyncio.run(go())
