"""The simulated systems' real signed webhooks into a real hub: POST /v1/webhooks/{system} end to end.

The WMS signs with Standard Webhooks, the shop Shopify-style, each with the secret `SimWiring`
made; the hub verifies them, maps them with `logisync.sim.mappings`, and the records appear (and
go on to the other systems through the routes).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from fixtures.sim_hub import sim_hub, until
from logisync.sim.clock import SimClock
from logisync.sim.marketplace import SimMarketplace
from logisync.sim.system import HubLink, SimSystem
from logisync.sim.wms import SimWms


def test_sim_systems_send_signed_webhooks_that_become_records(tmp_path: Path) -> None:
    async def go() -> None:
        clock = SimClock(3600)
        systems: dict[str, SimSystem] = {
            "wms": SimWms("wms", clock=clock, autopilot=False),
            "shop": SimMarketplace("shop", flavour="shop", clock=clock),
        }
        async with sim_hub(tmp_path, systems) as hub:
            hub_url, store = hub.url, hub.store
            assert hub.syncmap.systems["shop"].webhooks is not None  # the sim wires the endpoint
            wms, shop = systems["wms"], systems["shop"]
            assert isinstance(wms, SimWms) and isinstance(shop, SimMarketplace)
            await wms.receive("A", "DC1", 9)  # a Standard Webhooks-signed stock webhook
            sent = wms.sent[-1]
            assert sent.status == 200 and sent.change_ids == [sent.id]
            record = store.get_record("inventory", "A@DC1")
            assert record is not None and record.fields["on_hand"] == 9
            change = store.get_change("wms", sent.id)
            assert change is not None and change.source == "webhook"
            await until(lambda: shop.view("inventory").get("A") == {"available": 9})  # and on to the shop

            key = await shop.place_order([("A", 2)])  # a Shopify-signed order webhook
            assert key is not None
            order = shop.sent[-1]
            assert order.status == 200 and order.change_ids == [order.id]
            logged = store.get_change("shop", order.id)  # its outcome is the sim's owners' business
            assert logged is not None and logged.source == "webhook" and logged.key == key

            await wms._deliver(sent.id, "inventory", "A@DC1", None, {"type": "stock.changed"})  # unmappable
            assert wms.sent[-1].status == 422
            kept = [x for x in store.list_exceptions(limit=100) if x.kind == "unmappable_webhook"]
            assert [(x.system, x.change_id) for x in kept] == [("wms", sent.id)]

            forged = SimWms("forger", clock=clock)
            await forged.start(HubLink(hub_url, "wms", "whsec_Zm9yZ2VkLXNlY3JldC0wMTIzNDU2Nzg5"))
            try:
                await forged.receive("A", "DC1", 1000)
                assert forged.sent[-1].status == 401
            finally:
                await forged.stop()
            assert store.get_record("inventory", "A@DC1").fields["on_hand"] == 9
            assert wms.stats["webhooks_failed"] == 1 and shop.stats["webhooks_failed"] == 0

    asyncio.run(go())
