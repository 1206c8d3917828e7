"""Field ownership (most specific rule wins) and write/read scopes with their defaults."""

from __future__ import annotations

from logisync.config import parse_syncmap
from logisync.config.ownership import Ownership, Scopes, parse_owner_key
from logisync.domain.kinds import Domain

MAP = """\
systems:
  wms: {kind: wms}
  erp: {kind: erp}
  shop: {kind: marketplace}
  web: {kind: storefront, writes: [order]}
  admin: {kind: erp, writes: ["*"], reads: [product]}
owners:
  product: erp
  product.pricing: {system: shop, on_conflict: propose}
  product.price: wms
  inventory.quantities: wms
  order.lines: shop
routes:
  - {name: stock-to-web, domain: inventory, to: web}
"""


def load():
    syncmap = parse_syncmap(MAP, "hub.yaml", env={})
    ownership = Ownership(syncmap)
    return syncmap, ownership, Scopes(syncmap, ownership)


def owner(ownership: Ownership, domain: Domain, field: str) -> str | None:
    entry = ownership.owner_of(domain, field)
    return entry.rule.system if entry else None


def test_the_most_specific_rule_wins():
    _, o, _ = load()
    assert owner(o, Domain.product, "name") == "erp"  # the domain rule
    assert owner(o, Domain.product, "currency") == "shop"  # the group beats the domain
    assert owner(o, Domain.product, "price") == "wms"  # the field beats the group
    assert o.owner_of(Domain.product, "price").source == "product.price"
    assert o.owner_of(Domain.product, "currency").rule.on_conflict == "propose"
    assert owner(o, Domain.inventory, "reserved") is None  # outside the owned group
    assert owner(o, Domain.location, "name") is None


def test_rule_order_in_the_file_does_not_matter():
    flipped = MAP.replace(
        "  product: erp\n  product.pricing: {system: shop, on_conflict: propose}\n  product.price: wms\n",
        "  product.price: wms\n  product.pricing: {system: shop, on_conflict: propose}\n  product: erp\n",
    )
    assert flipped != MAP
    a = Ownership(parse_syncmap(MAP, env={})).matrix()
    b = Ownership(parse_syncmap(flipped, env={})).matrix()
    assert a == b


def test_matrix_lists_each_systems_fields():
    _, o, _ = load()
    matrix = o.matrix()
    assert matrix[Domain.product]["wms"] == ["price"]
    assert matrix[Domain.product]["shop"] == ["currency"]
    assert matrix[Domain.inventory] == {"wms": ["adjust", "allocated", "counted_at", "inbound", "on_hand"]}
    assert Domain.location not in matrix


def test_conflicts_name_the_fields_another_system_owns():
    _, o, _ = load()
    found = o.conflicts(Domain.product, "erp", ["name", "price", "currency"])
    assert [(name, e.rule.system) for name, e in found] == [("price", "wms"), ("currency", "shop")]
    assert o.conflicts(Domain.product, "erp", ["name"]) == []


def test_a_system_writes_the_domains_it_owns_something_in_by_default():
    _, _, scopes = load()
    assert scopes.writes["erp"] == {Domain.product}
    assert scopes.writes["wms"] == {Domain.product, Domain.inventory}
    assert scopes.writes["shop"] == {Domain.product, Domain.order}


def test_explicit_writes_replace_the_default():
    _, _, scopes = load()
    assert scopes.writes["web"] == {Domain.order}
    assert scopes.writes["admin"] == set(Domain)
    assert scopes.can_write("admin", Domain.tracking)
    assert not scopes.can_write("erp", Domain.inventory)


def test_reads_default_to_writes_plus_routes():
    _, _, scopes = load()
    assert scopes.reads["web"] == {Domain.order, Domain.inventory}
    assert scopes.reads["erp"] == {Domain.product}
    assert scopes.reads["admin"] == {Domain.product}  # explicit
    assert scopes.can_read("web", Domain.inventory)


def test_parse_owner_key():
    assert parse_owner_key("order") == (Domain.order, None)
    assert parse_owner_key("order.fulfillment") == (Domain.order, "fulfillment")
    assert parse_owner_key("inventory.on_hand") == (Domain.inventory, "on_hand")
    assert parse_owner_key("return") == (Domain.return_, None)
    assert "unknown domain 'stock'" in parse_owner_key("stock.on_hand")
    assert "inventory has no field or field group 'colour'" in parse_owner_key("inventory.colour")
