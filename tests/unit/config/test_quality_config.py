"""The sync map's `quality` section and the systems' `xref`: defaults, and what the loader refuses."""

from __future__ import annotations

import pytest

from logisync.config import parse_syncmap
from logisync.domain.kinds import Domain
from logisync.errors import ConfigError
from logisync.pipeline.quality import Quality

SYSTEMS = """\
systems:
  wms:  {kind: wms}
  shop: {kind: marketplace, writes: [order, product], xref: {sku: listing_id}}
owners:
  inventory: wms
"""


def test_the_defaults_accept_everything_and_check_no_domain():
    syncmap = parse_syncmap("systems:\n  wms: {kind: wms}\n", env={})
    assert syncmap.quality.model_dump() == {
        "unknown_sku": "accept",
        "unknown_location": "accept",
        "units": "accept",
    }
    assert Quality(syncmap).domains == frozenset()


def test_each_rule_checks_only_the_domains_it_concerns():
    quarantine = parse_syncmap("quality: {unknown_location: quarantine}\n", env={})
    assert Quality(quarantine).domains == {Domain.inventory, Domain.order, Domain.shipment, Domain.return_}
    # a cross-reference is translated before the transaction (pipeline/translate.py); in it, only
    # the product and location changes that teach a system's ids are the quality rules' concern
    xref = parse_syncmap(SYSTEMS, env={})
    assert Quality(xref).domains == {Domain.product}
    service = parse_syncmap(
        "systems:\n  ups: {kind: carrier, writes: [shipment], xref: {service: code}}\n", env={}
    )
    assert Quality(service).domains == frozenset()


def test_an_unknown_policy_or_kind_is_named_with_its_line():
    text = (
        SYSTEMS.replace("{sku: listing_id}", "{sku: listing_id, carrier: scac}") + "quality: {units: guess}\n"
    )
    with pytest.raises(ConfigError) as caught:
        parse_syncmap(text, "hub.yaml", env={})
    assert str(caught.value).splitlines() == [
        "hub.yaml:3: systems.shop.xref.carrier[key]: Input should be 'sku', 'location' or 'service'",
        "hub.yaml:6: quality.units: Input should be 'accept' or 'convert'",
    ]


def test_an_xref_a_system_can_never_use_is_an_error():
    text = "systems:\n  wms: {kind: wms}\n  ups: {kind: carrier, xref: {service: code}}\n"
    with pytest.raises(ConfigError) as caught:
        parse_syncmap(text, "hub.yaml", env={})
    assert str(caught.value) == (
        "hub.yaml:3: systems.ups.xref.service: ups may write none of shipment, so it never sends a service "
        "to translate, and no route sends it one (give it `writes:`, an owner rule or a route)"
    )


def test_an_xref_of_a_system_that_only_receives_is_of_use_when_a_route_sends_it_such_keys():
    text = "systems:\n  wms: {kind: wms}\n  acme: {kind: edi_partner, writes: [], xref: {sku: item}}\n"
    with pytest.raises(ConfigError):
        parse_syncmap(text, "hub.yaml", env={})
    routed = text + "routes:\n  - {name: stock-to-acme, domain: inventory, to: acme}\n"
    assert parse_syncmap(routed, "hub.yaml", env={}).systems["acme"].xref == {"sku": "item"}
    tracking = text + "routes:\n  - {name: tracking-to-acme, domain: tracking, to: acme}\n"
    with pytest.raises(ConfigError):
        parse_syncmap(tracking, "hub.yaml", env={})  # tracking events name no SKU


def test_an_xref_name_is_a_plain_identifier():
    with pytest.raises(ConfigError, match=r"systems.shop.xref.sku: String should match pattern"):
        parse_syncmap(SYSTEMS.replace("listing_id", "'listing id'"), "hub.yaml", env={})
