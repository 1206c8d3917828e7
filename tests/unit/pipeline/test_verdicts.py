"""The checks before a change touches the store: validation, then scopes, then field ownership."""

from __future__ import annotations

import pytest

from logisync.config import parse_syncmap
from logisync.config.ownership import Ownership, Scopes
from logisync.domain.change import Change
from logisync.domain.kinds import OutcomeKind
from logisync.pipeline.verdicts import Verdict, authorize, validate

MAP = """\
systems:
  wms:  {kind: wms}
  erp:  {kind: erp}
  shop: {kind: marketplace}
  pim:  {kind: erp, writes: [product]}
  site: {kind: storefront}
owners:
  product: erp
  product.pricing: {system: shop, on_conflict: propose}
  product.price: pim
  inventory.quantities: wms
  order.lines: shop
  order.fulfillment: {system: wms, on_conflict: propose}
"""


@pytest.fixture(scope="module")
def rules() -> tuple[Scopes, Ownership]:
    syncmap = parse_syncmap(MAP, "hub.yaml", env={})
    ownership = Ownership(syncmap)
    return Scopes(syncmap, ownership), ownership


def change(domain: str, key: str, **fields) -> Change:
    return Change(id="c1", domain=domain, key=key, fields=fields, version=1)


def check(rules, system: str, c: Change) -> Verdict:
    verdict = validate(c)
    if verdict.fields is None:
        return verdict
    scopes, ownership = rules
    return authorize(c, system, verdict.fields, scopes, ownership)


def test_a_good_change_proceeds_with_normalised_fields(rules):
    verdict = check(
        rules, "wms", change("inventory", "SKU-1@DC1", on_hand=5, counted_at="2024-05-01T12:00:00Z")
    )
    assert verdict.outcome is None
    assert verdict.fields == {"on_hand": 5, "counted_at": "2024-05-01T12:00:00Z"}
    assert verdict.exception(change("inventory", "SKU-1@DC1", on_hand=5), "wms") is None


def test_bad_fields_are_quarantined_with_the_field_path_and_a_validation_exception():
    c = change("inventory", "SKU-1@DC1", on_hand=-3)
    verdict = validate(c)
    assert verdict.fields is None
    assert verdict.outcome is OutcomeKind.quarantined
    assert verdict.reason == "field on_hand: Input should be greater than or equal to 0 (got -3)"
    exc = verdict.exception(c, "wms")
    assert exc is not None
    assert (exc.kind, exc.domain, exc.key, exc.system, exc.change_id) == (
        "validation",
        "inventory",
        "SKU-1@DC1",
        "wms",
        "c1",
    )
    assert exc.reason == verdict.reason
    # which rule failed on which field with the value, and what was received, for the person fixing it
    assert exc.detail == {"rule": "non_negative", "field": "on_hand", "value": -3, "fields": {"on_hand": -3}}
    assert verdict.problem() == {"rule": "non_negative", "field": "on_hand", "value": -3}


def test_a_malformed_key_is_quarantined():
    verdict = validate(change("inventory", "SKU-1", on_hand=1))
    assert verdict.outcome is OutcomeKind.quarantined
    assert verdict.reason == "key 'SKU-1' is not a valid inventory key (expected like 'SKU-1@DC1')"
    assert verdict.exception_kind == "validation"


def test_a_derived_field_cannot_be_written():
    verdict = validate(change("inventory", "SKU-1@DC1", on_hand=1, available=1))
    assert verdict.outcome is OutcomeKind.quarantined
    assert verdict.reason == "field available: derived by the hub, cannot be written"


def test_fields_only_the_hub_writes_are_refused_with_their_names(rules):
    verdict = check(rules, "wms", change("inventory", "SKU-1@DC1", on_hand=3, reserved=1, variance=None))
    assert verdict.outcome is OutcomeKind.quarantined
    assert verdict.reason == "field reserved, variance: kept by the hub itself, cannot be written"


def test_validation_comes_before_scopes(rules):
    # site may not write inventory at all, but bad data is reported as bad data first
    verdict = check(rules, "site", change("inventory", "SKU-1@DC1", on_hand=-1))
    assert verdict.outcome is OutcomeKind.quarantined
    assert verdict.exception_kind == "validation"


def test_a_domain_outside_the_write_scopes_is_rejected(rules):
    verdict = check(rules, "shop", change("inventory", "SKU-1@DC1", uom="each"))
    assert verdict.outcome is OutcomeKind.rejected
    assert verdict.exception_kind == "scope"
    assert verdict.reason == "system 'shop' may not write inventory (its write scopes: order, product)"


def test_an_unknown_system_has_no_scopes(rules):
    verdict = check(rules, "ghost", change("inventory", "SKU-1@DC1", on_hand=1))
    assert verdict.outcome is OutcomeKind.rejected
    assert verdict.reason == "system 'ghost' may not write inventory (its write scopes: none)"


def test_a_non_owner_is_rejected_under_a_reject_rule(rules):
    verdict = check(rules, "wms", change("order", "SO-1", status="allocated", channel="web"))
    assert verdict.outcome is OutcomeKind.rejected
    assert verdict.exception_kind == "ownership_conflict"
    assert verdict.reason == "ownership: 'wms' does not own channel (order.lines is owned by shop)"
    assert verdict.detail == {
        "fields": {"channel": "web", "status": "allocated"},
        "conflicting_fields": ["channel"],
        "owners": ["shop"],
        "policy": "reject",
    }
    exc = verdict.exception(change("order", "SO-1", channel="web"), "wms")
    assert exc is not None
    assert (exc.kind, exc.system, exc.key) == ("ownership_conflict", "wms", "SO-1")


def test_a_non_owner_is_held_as_a_proposal_under_a_propose_rule(rules):
    fulfillment = check(rules, "shop", change("order", "SO-1", warehouse="DC1"))
    assert fulfillment.outcome is OutcomeKind.quarantined
    assert fulfillment.detail is not None
    assert fulfillment.detail["policy"] == "propose"
    verdict = check(rules, "erp", change("product", "SKU-1", currency="EUR"))
    assert verdict.outcome is OutcomeKind.quarantined
    assert verdict.exception_kind == "ownership_conflict"
    assert verdict.reason == (
        "ownership: 'erp' does not own currency (product.pricing is owned by shop); "
        "held as a proposal for the owner to approve"
    )
    assert verdict.detail == {
        "fields": {"currency": "EUR"},
        "conflicting_fields": ["currency"],
        "owners": ["shop"],
        "policy": "propose",
    }


def test_any_reject_rule_among_the_conflicts_rejects(rules):
    verdict = check(rules, "wms", change("product", "SKU-1", currency="EUR", name="Mug"))
    # wms cannot write product at all: scopes come first
    assert verdict.exception_kind == "scope"
    verdict = check(rules, "shop", change("product", "SKU-1", currency="EUR", name="Mug"))
    assert verdict.outcome is OutcomeKind.rejected
    assert verdict.reason == "ownership: 'shop' does not own name (product is owned by erp)"
    verdict = check(rules, "pim", change("product", "SKU-1", currency="EUR", name="Mug"))
    assert verdict.outcome is OutcomeKind.rejected  # currency is a proposal, name a rejection: reject wins
    assert verdict.detail is not None
    assert verdict.detail["policy"] == "reject"
    assert verdict.detail["owners"] == ["erp", "shop"]
    assert sorted(verdict.detail["conflicting_fields"]) == ["currency", "name"]


def test_the_most_specific_owner_rule_decides(rules):
    # product (erp) < product.pricing (shop, propose) < product.price (pim, reject)
    assert check(rules, "pim", change("product", "SKU-1", price="9.90")).outcome is None
    shop = check(rules, "shop", change("product", "SKU-1", price="9.90"))
    assert shop.outcome is OutcomeKind.rejected
    assert shop.reason == "ownership: 'shop' does not own price (product.price is owned by pim)"
    assert check(rules, "shop", change("product", "SKU-1", currency="USD")).outcome is None
    erp = check(rules, "erp", change("product", "SKU-1", name="Mug", price="9.90"))
    assert erp.outcome is OutcomeKind.rejected
    assert erp.detail is not None
    assert erp.detail["owners"] == ["pim"]


def test_unowned_fields_are_open_to_any_system_allowed_the_domain(rules):
    assert check(rules, "wms", change("inventory", "SKU-1@DC1", uom="each")).outcome is None
    assert check(rules, "wms", change("order", "SO-1", status="allocated")).outcome is None


def test_fields_nested_too_deep_are_quarantined_and_kept_as_text():
    deep: dict = {"leaf": 1}
    for _ in range(300):  # past what the store's JSON encoder accepts
        deep = {"x": deep}
    verdict = validate(Change(id="c", domain="product", key="SKU-1", fields={"attributes": deep}))
    assert verdict.outcome is OutcomeKind.quarantined
    assert "nested deeper than" in verdict.reason
    assert verdict.payload is not None and '"leaf": 1' in verdict.payload["text"]


def test_moderate_nesting_passes_the_depth_check():
    lines = [{"line_no": 1, "sku": "A", "quantity": 1}]
    assert validate(Change(id="c", domain="order", key="SO-1", fields={"lines": lines})).fields is not None
