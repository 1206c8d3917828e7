"""Cross-references going out, on both stores: a target with an `xref` is sent its own ids."""

from __future__ import annotations

import asyncio
from typing import Any

from logisync.config import parse_syncmap
from logisync.delivery.dispatcher import Dispatcher, RouteWorker
from logisync.delivery.errors import DeliveryError
from logisync.delivery.outgoing import Delivery
from logisync.domain.change import Change
from logisync.domain.kinds import Domain
from logisync.pipeline import Pipeline
from logisync.store.outbox import OutboxQueue
from logisync.store.xrefs import XrefTable

MAP = """\
systems:
  wms:  {kind: wms}
  erp:  {kind: erp}
  shop: {kind: marketplace, xref: {sku: listing_id}}
  acme: {kind: edi_partner, writes: [], xref: {sku: item_number, location: site}}
  ups:  {kind: carrier, writes: [shipment], xref: {service: service_code}}
owners:
  product: erp
  product.attributes: shop
  inventory: wms
  order.lines: shop
  order.fulfillment: wms
  shipment: wms
routes:
  - {name: atp-to-shop, domain: inventory, to: shop, transform: {atp: {}}}
  - {name: products-to-shop, domain: product, to: shop}
  - {name: stock-to-acme, domain: inventory, to: acme}
  - {name: orders-to-acme, domain: order, to: acme}
  - {name: shipments-to-ups, domain: shipment, to: ups, mapping: {id: key, svc: fields.service}}
  - {name: products-to-wms, domain: product, to: wms}
"""
SYNCMAP = parse_syncmap(MAP, env={})
ROUTES = {r.name: r for r in SYNCMAP.routes}


class Recorder:
    def __init__(self) -> None:
        self.sent: list[tuple[Delivery, Any]] = []

    async def send(self, delivery: Delivery, body: Any) -> DeliveryError | None:
        self.sent.append((delivery, body))
        return None

    async def send_batch(self, deliveries: list[Delivery], bodies: list[Any]) -> DeliveryError | None:
        self.sent.extend(zip(deliveries, bodies, strict=True))
        return None


def deliver(store, route: str) -> Recorder:
    sender = Recorder()
    xref = {str(k): v for k, v in (SYNCMAP.systems[ROUTES[route].to].xref or {}).items()}
    worker = RouteWorker(ROUTES[route], store, OutboxQueue(store), sender, clock=lambda: 1.8e9, xref=xref)
    asyncio.run(worker.drain())
    return sender


def change(cid: str, domain: str, key: str, **fields: Any) -> Change:
    return Change(id=cid, domain=Domain(domain), key=key, fields=fields)


def load(store) -> None:
    XrefTable(store).load("shop", "sku", [("L-1", "SKU-1", "f:2")])
    XrefTable(store).load("acme", "sku", [("ITEM-77", "SKU-1", "f:2")])
    XrefTable(store).load("acme", "location", [("SITE-9", "DC1", "f:2")])
    XrefTable(store).load("ups", "service", [("03", "ground", "f:2")])


def test_a_marketplace_gets_its_listing_id_for_a_channels_atp_and_a_product(store):
    load(store)
    pipeline = Pipeline(store, SYNCMAP)
    pipeline.ingest("wms", [change("i1", "inventory", "SKU-1@DC1", on_hand=7)])
    pipeline.ingest("erp", [change("p1", "product", "SKU-1", name="Mug")])
    [(delivery, body)] = deliver(store, "atp-to-shop").sent
    assert (delivery.key, dict(delivery.fields)) == ("L-1", {"sku": "L-1", "available_to_promise": 7})
    assert (body["key"], body["data"]["sku"]) == ("L-1", "L-1")
    [(delivery, body)] = deliver(store, "products-to-shop").sent
    assert (delivery.key, body["key"], body["data"]["name"]) == ("L-1", "L-1", "Mug")
    # a system without an xref still gets the canonical key
    [(delivery, _)] = deliver(store, "products-to-wms").sent
    assert delivery.key == "SKU-1"
    # the record itself is untouched
    assert store.get_record("product", "SKU-1").key == "SKU-1"


def test_a_partner_gets_its_item_number_and_site_in_keys_lines_and_fields(store):
    load(store)
    pipeline = Pipeline(store, SYNCMAP)
    pipeline.ingest("wms", [change("i1", "inventory", "SKU-1@DC1", on_hand=7)])
    # the marketplace's order, in its listing ids, goes to the partner in the partner's item numbers
    [out] = pipeline.ingest(
        "shop", [change("o1", "order", "SO-1", lines=[{"line_no": 1, "sku": "L-1", "quantity": 2}])]
    )
    assert out.outcome == "applied", out.reason
    assert pipeline.ingest("wms", [change("o1w", "order", "SO-1", warehouse="DC1")])[0].outcome == "applied"
    [(delivery, body)] = deliver(store, "stock-to-acme").sent
    assert (delivery.key, body["key"]) == ("ITEM-77@SITE-9", "ITEM-77@SITE-9")
    sent = deliver(store, "orders-to-acme").sent
    delivery, body = sent[-1]
    assert delivery.key == "SO-1"  # an order number is nobody's cross-reference
    assert body["data"]["warehouse"] == "SITE-9"
    assert [(x["sku"], x["received"]) for x in body["data"]["lines"]] == [("ITEM-77", {"sku": "L-1"})]
    # the golden record keeps canonical keys
    assert store.get_record("order", "SO-1").fields["lines"][0]["sku"] == "SKU-1"


def test_a_carrier_gets_its_service_code(store):
    load(store)
    Pipeline(store, SYNCMAP).ingest("wms", [change("s1", "shipment", "SH-1", service="ground")])
    [(_, body)] = deliver(store, "shipments-to-ups").sent
    assert body == {"id": "SH-1", "svc": "03"}


def test_a_key_with_no_id_is_dead_at_once_with_an_exception_and_goes_once_the_pair_is_loaded(store):
    pipeline = Pipeline(store, SYNCMAP)
    pipeline.ingest("wms", [change("i1", "inventory", "SKU-2@DC1", on_hand=3)])
    assert deliver(store, "atp-to-shop").sent == []
    [row] = store.list_outbox(route="atp-to-shop")
    assert (row.state, row.attempts) == ("dead", 1)
    [exc] = store.list_exceptions(kind="dead_delivery")
    assert exc.detail["error_kind"] == "unknown_xref"
    assert exc.reason == (
        "route 'atp-to-shop' to 'shop': permanent failure (unknown_xref: key: SKU-2 has no shop listing_id "
        "(its cross-reference table for sku maps no id to it); load one with `logisync xref load shop sku "
        "FILE.csv`, then retry)"
    )
    # loaded, retried from the inbox: sent in the marketplace's id
    XrefTable(store).load("shop", "sku", [("L-2", "SKU-2", "f:2")])
    assert OutboxQueue(store).requeue(row.id, int(1.8e15))
    [(delivery, _)] = deliver(store, "atp-to-shop").sent
    assert delivery.key == "L-2"
    assert store.list_outbox(route="atp-to-shop")[0].state == "delivered"


def test_one_unmapped_line_holds_back_only_its_own_record(store):
    load(store)
    pipeline = Pipeline(store, SYNCMAP)
    pipeline.ingest("wms", [change("a", "inventory", "SKU-1@DC1", on_hand=1)])
    pipeline.ingest("wms", [change("b", "inventory", "SKU-9@DC1", on_hand=1)])
    pipeline.ingest("wms", [change("c", "inventory", "SKU-1@DC2", on_hand=1)])  # DC2 has no acme site
    sent = deliver(store, "stock-to-acme").sent
    assert [d.key for d, _ in sent] == ["ITEM-77@SITE-9"]
    dead = {e.key: e.reason for e in store.list_exceptions(kind="dead_delivery")}
    assert set(dead) == {"SKU-9@DC1", "SKU-1@DC2"}
    assert "key's sku: SKU-9 has no acme item_number" in dead["SKU-9@DC1"]
    assert "key's location: DC2 has no acme site" in dead["SKU-1@DC2"]


def test_a_pair_learned_from_the_marketplace_is_used_to_send_to_it(store):
    pipeline = Pipeline(store, SYNCMAP)
    [out] = pipeline.ingest("shop", [change("p1", "product", "SKU-5", attributes={"listing_id": "L-5"})])
    assert out.outcome == "applied", out.reason
    pipeline.ingest("wms", [change("i1", "inventory", "SKU-5@DC1", on_hand=2)])
    [(delivery, _)] = deliver(store, "atp-to-shop").sent
    assert delivery.key == "L-5"


def test_the_newest_of_several_ids_for_one_key_is_sent(store):
    XrefTable(store).load("shop", "sku", [("L-OLD", "SKU-1", "a.csv:2")])
    XrefTable(store).load("shop", "sku", [("L-NEW", "SKU-1", "b.csv:2")])
    Pipeline(store, SYNCMAP).ingest("wms", [change("i1", "inventory", "SKU-1@DC1", on_hand=2)])
    [(delivery, _)] = deliver(store, "atp-to-shop").sent
    assert delivery.key == "L-NEW"


def test_the_dispatcher_gives_each_route_its_targets_xref(store):
    text = MAP.replace("shop: {kind: marketplace,", "shop: {kind: marketplace, url: 'https://shop.example',")
    syncmap = parse_syncmap(text, env={})
    dispatcher = Dispatcher.for_syncmap(syncmap, store)
    try:
        workers = {w.route.name: w for w in dispatcher.workers}
        assert workers["atp-to-shop"].xref == {"sku": "listing_id"}
    finally:
        for close in dispatcher.closers:
            asyncio.run(close())
