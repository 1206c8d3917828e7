"""Which routes an applied change goes out on: domain, filters (rollout waves), echo suppression."""

from __future__ import annotations

import pytest

from logisync.config import parse_syncmap
from logisync.config.model import RouteConfig
from logisync.domain.kinds import Domain
from logisync.pipeline.routing import Router

MAP = """\
systems:
  wms:  {kind: wms}
  erp:  {kind: erp}
  shop: {kind: marketplace}
  acme: {kind: edi_partner}
routes:
  - {name: all-stock-to-erp, domain: inventory, to: erp}
  - {name: abc-to-shop, domain: inventory, to: shop, filter: {sku_prefix: [ABC-, XYZ-]}}
  - {name: one-sku-to-acme, domain: inventory, to: acme, filter: {sku: [ABC-1]}}
  - {name: dc1-to-wms, domain: inventory, to: wms, filter: {location: [DC1]}}
  - {name: wave-to-acme, domain: inventory, to: acme, filter: {key_prefix: [ABC-1@], location: [DC1, DC2]}}
  - {name: products-to-shop, domain: product, to: shop, filter: {sku_prefix: [ABC-]}}
  - {name: dcs-to-shop, domain: location, to: shop, filter: {location: [DC1]}}
  - {name: orders-to-wms, domain: order, to: wms}
  - {name: tracking-to-shop, domain: tracking, to: shop}
  - {name: acks-to-acme, domain: order, to: acme, echo: true, filter: {fields: [lines, backordered_by_line]}}
"""


@pytest.fixture(scope="module")
def router() -> Router:
    return Router(parse_syncmap(MAP, "hub.yaml", env={}).routes)


def names(router: Router, domain: str, key: str, origin: str = "nobody") -> list[str]:
    return [r.name for r in router.targets(Domain(domain), key, origin)]


def test_unfiltered_routes_take_every_key_of_their_domain(router):
    assert names(router, "inventory", "QQQ-9@DC9") == ["all-stock-to-erp"]
    assert names(router, "tracking", "1Z999") == ["tracking-to-shop"]
    assert names(router, "shipment", "SH-1") == []  # no route for the domain


def test_sku_prefix(router):
    assert "abc-to-shop" in names(router, "inventory", "ABC-7@DC9")
    assert "abc-to-shop" in names(router, "inventory", "XYZ-7@DC9")
    assert "abc-to-shop" not in names(router, "inventory", "ABD-7@DC9")
    assert "abc-to-shop" not in names(
        router, "inventory", "DC9@ABC-7"
    )  # the prefix is the SKU's, not the key's


def test_exact_sku(router):
    assert "one-sku-to-acme" in names(router, "inventory", "ABC-1@DC7")
    assert "one-sku-to-acme" not in names(router, "inventory", "ABC-10@DC7")


def test_location(router):
    assert "dc1-to-wms" in names(router, "inventory", "QQQ-1@DC1")
    assert "dc1-to-wms" not in names(router, "inventory", "QQQ-1@DC10")
    assert names(router, "location", "DC1") == ["dcs-to-shop"]
    assert names(router, "location", "DC2") == []


def test_every_filter_of_a_route_must_match(router):
    assert "wave-to-acme" in names(router, "inventory", "ABC-1@DC2")
    assert "wave-to-acme" not in names(router, "inventory", "ABC-1@DC3")  # location fails
    assert "wave-to-acme" not in names(router, "inventory", "ABC-2@DC1")  # key prefix fails


def test_product_keys_are_skus(router):
    assert names(router, "product", "ABC-1") == ["products-to-shop"]
    assert names(router, "product", "QQQ-1") == []


def test_a_sku_filter_on_a_domain_whose_key_has_no_sku_matches_nothing():
    # the sync map refuses such a route (config/loader.py); the router, given one, matches nothing
    route = RouteConfig(
        name="skus-of-orders", domain=Domain.order, to="acme", filter={"sku_prefix": ["ABC-"]}
    )
    assert Router([route]).targets(Domain.order, "ABC-1001", "nobody") == []


def test_order_of_routes_is_the_order_of_the_sync_map(router):
    assert names(router, "inventory", "ABC-1@DC1") == [
        "all-stock-to-erp",
        "abc-to-shop",
        "one-sku-to-acme",
        "dc1-to-wms",
        "wave-to-acme",
    ]


def test_a_change_is_never_echoed_back_to_its_origin(router):
    assert names(router, "inventory", "ABC-1@DC1", origin="erp") == [
        "abc-to-shop",
        "one-sku-to-acme",
        "dc1-to-wms",
        "wave-to-acme",
    ]
    assert names(router, "inventory", "ABC-1@DC1", origin="acme") == [
        "all-stock-to-erp",
        "abc-to-shop",
        "dc1-to-wms",
    ]
    assert names(router, "order", "SO-1", origin="wms") == []
    assert names(router, "order", "SO-1", origin="shop") == ["orders-to-wms"]
    assert names(router, "tracking", "1Z999", origin="shop") == []


def test_answers_do_not_leak_between_origins_or_keys(router):
    # the router caches per (domain, origin); a cached answer must not depend on the first key asked
    assert names(router, "inventory", "QQQ-1@DC5", origin="wms") == ["all-stock-to-erp"]
    assert names(router, "inventory", "ABC-1@DC1", origin="wms") == [
        "all-stock-to-erp",
        "abc-to-shop",
        "one-sku-to-acme",
        "wave-to-acme",
    ]
    assert names(router, "inventory", "QQQ-1@DC5", origin="wms") == ["all-stock-to-erp"]


def test_a_fields_filter_takes_the_changes_that_applied_one_of_them(router):
    def acks(origin: str, applied: list[str]) -> bool:
        return "acks-to-acme" in [r.name for r in router.targets(Domain.order, "PO-1", origin, applied)]

    assert acks("wms", ["backordered_by_line", "status"])
    assert not acks("wms", ["status", "warehouse"])  # a status step alone: no new 855
    assert not acks("wms", [])


def test_echo_sends_a_change_back_to_the_system_it_came_from(router):
    from_acme = [r.name for r in router.targets(Domain.order, "PO-1", "acme", ["lines"])]
    assert from_acme == ["orders-to-wms", "acks-to-acme"]  # its own PO, acknowledged back to it
    from_wms = [r.name for r in router.targets(Domain.order, "PO-1", "wms", ["lines"])]
    assert from_wms == ["acks-to-acme"]  # orders-to-wms has no echo


def test_without_applied_fields_a_fields_filter_judges_the_record_only(router):
    route = next(r for r in router.by_domain[Domain.order] if r.name == "acks-to-acme")
    from logisync.pipeline.routing import _matches

    assert route.filter is not None and _matches(route.filter, Domain.order, "PO-1")
