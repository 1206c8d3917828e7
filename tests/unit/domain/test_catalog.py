"""The catalogue: key formats per domain, patch validation (messages name the field path), groups."""

from __future__ import annotations

import pytest

from logisync.domain.catalog import CATALOG, spec, split_inventory_key
from logisync.domain.kinds import Domain

GOOD_KEYS = {
    Domain.product: ["SKU-1", "abc.def_1", "X", "A#1:2+3", "9" * 100],
    Domain.location: ["DC1", "store-042"],
    Domain.inventory: ["SKU-1@DC1", "a@b", "SKU.1-x@DC_2"],
    Domain.order: ["SO-1001", "100045#2"],
    Domain.shipment: ["SH-1001-1"],
    Domain.tracking: ["1Z999AA10123456784", "ABCD", "9" * 60],
    Domain.return_: ["RMA-77"],
}
BAD_KEYS = {
    Domain.product: ["", "-SKU", "SKU/1", "SKU 1", "SKU@DC1", "9" * 101, "SKÜ-1"],
    Domain.location: ["DC/1", ".DC1"],
    Domain.inventory: ["SKU-1", "SKU-1@", "@DC1", "SKU-1@DC1@X", "SKU 1@DC1", "SKU-1@DC/1"],
    Domain.order: ["SO 1001", "SO/1001"],
    Domain.shipment: ["", "SH?1"],
    Domain.tracking: ["1Z9", "1Z-999AA1", "9" * 61, "1Z 999AA"],
    Domain.return_: ["RMA/77"],
}


def test_every_domain_has_a_spec_with_a_model():
    assert set(CATALOG) == set(Domain)
    for domain, s in CATALOG.items():
        assert s.domain is domain
        assert s.fields
        assert s.check_key(s.key_example) is None  # the example in every error message is itself valid


@pytest.mark.parametrize(("domain", "key"), [(d, k) for d, keys in GOOD_KEYS.items() for k in keys])
def test_well_formed_keys(domain, key):
    assert spec(domain).check_key(key) is None


@pytest.mark.parametrize(("domain", "key"), [(d, k) for d, keys in BAD_KEYS.items() for k in keys])
def test_malformed_keys_are_explained_with_an_example(domain, key):
    problem = spec(domain).check_key(key)
    assert problem == (
        f"key {key!r} is not a valid {domain.value} key (expected like {CATALOG[domain].key_example!r})"
    )


def test_spec_accepts_a_domain_name_or_member():
    assert spec("inventory") is spec(Domain.inventory) is CATALOG[Domain.inventory]
    assert spec("return") is CATALOG[Domain.return_]
    with pytest.raises(ValueError):
        spec("invoice")


def test_split_inventory_key():
    assert split_inventory_key("SKU-1@DC1") == ("SKU-1", "DC1")
    assert split_inventory_key("a.b@c") == ("a.b", "c")


@pytest.mark.parametrize(
    ("domain", "fields", "reason", "rule"),
    [
        (
            "inventory",
            {"on_hand": -1},
            "field on_hand: Input should be greater than or equal to 0 (got -1)",
            "non_negative",
        ),
        ("inventory", {"colour": "red"}, "field colour: unknown field (got 'red')", "unknown_field"),
        ("inventory", {"available": 3}, "field available: unknown field (got 3)", "unknown_field"),
        (
            "order",
            {"lines": [{"line_no": 0, "sku": "A", "quantity": 1}]},
            "field lines[0].line_no: Input should be greater than or equal to 1 (got 0)",
            "schema",
        ),
        (
            "order",
            {"lines": [{"line_no": 1, "sku": "A", "quantity": 1}, {"line_no": 2, "sku": "B", "qty": 1}]},
            "field lines[1].quantity: Field required (got dict); field lines[1].qty: unknown field (got 1)",
            "schema",
        ),
        (
            "order",
            {"ship_to": {"country": "usa"}},
            "field ship_to.country: 'usa' is not an ISO 3166-1 alpha-2 country code (two capital letters, "
            "e.g. DE) (got 'usa')",
            "iso_country",
        ),
        (
            "shipment",
            {"packages": [{"package_id": "P1", "lines": [{"sku": "A", "quantity": -2}]}]},
            "field packages[0].lines[0].quantity: Input should be greater than or equal to 0 (got -2)",
            "non_negative",
        ),
        (
            "product",
            {"gtin": "123"},
            "field gtin: GTIN '123' has 3 digits (a GTIN has 8, 12, 13 or 14) (got '123')",
            "gtin",
        ),
        (
            "product",
            {"units": {"case": 0}},
            "field units: unit 'case' is 0 base units; a unit holds at least 1",
            "units",
        ),
        (
            "order",
            {"placed_at": "2026-03-01T12:00:00"},
            "field placed_at: a time needs a UTC offset: write it with Z or +hh:mm",
            "iso_date",
        ),
        ("order", {"placed_at": "01/03/2026 12:00"}, "field placed_at: not an ISO 8601 time", "iso_date"),
        (
            "order",
            {"currency": "eur"},
            "field currency: 'eur' is not an ISO 4217 currency code",
            "iso_currency",
        ),
        ("tracking", {"status": "teleported"}, "field status: Input should be ", "schema"),
        ("location", {}, "the change has no fields", "schema"),
    ],
)
def test_patch_validation_names_the_rule_the_field_path_and_the_value(domain, fields, reason, rule):
    normalised, problem = spec(domain).validate_fields(fields)
    assert normalised is None
    assert problem is not None
    assert problem.startswith(reason)
    _, problems = spec(domain).check_fields(fields)
    assert problems[0].rule == rule
    assert problems[0].reason.startswith(reason.split("; ")[0])
    assert problems[0].field == (
        reason.split(":")[0].removeprefix("field ") if reason.startswith("field ") else "fields"
    )


def test_every_problem_of_a_patch_is_reported():
    _, problem = spec("inventory").validate_fields({"on_hand": "lots", "allocated": -1, "colour": 1})
    assert problem is not None
    assert [p.split(":")[0] for p in problem.split("; ")] == [
        "field on_hand",
        "field allocated",
        "field colour",
    ]


def test_a_long_bad_value_is_cut_short_in_the_message():
    _, problem = spec("product").validate_fields({"gtin": "1" * 5000})
    assert problem is not None
    assert len(problem) < 200
    assert problem.startswith("field gtin: ")


def test_a_patch_is_normalised_to_json_and_never_gains_defaults():
    fields, problem = spec("product").validate_fields({"price": "9.90", "name": "Mug"})
    assert problem is None
    assert fields == {"price": "9.90", "name": "Mug"}  # no base_uom/status defaults slipped in
    fields, _ = spec("location").validate_fields({"name": "Main DC"})
    assert fields == {"name": "Main DC"}  # kind and active keep whatever the record has
    fields, _ = spec("order").validate_fields(
        {"placed_at": "2024-01-02T03:04:05Z", "lines": [{"line_no": 1, "sku": " A ", "quantity": 2}]}
    )
    assert fields is not None
    assert fields["placed_at"] == "2024-01-02T03:04:05Z"
    assert fields["lines"][0]["sku"] == "A"  # codes are stripped
    assert fields["lines"][0]["quantity"] == 2


def test_a_field_may_be_cleared_with_null():
    assert spec("inventory").validate_fields({"on_hand": None}) == ({"on_hand": None}, None)


def test_field_groups_and_owner_scopes():
    inventory = spec("inventory")
    quantities = ("on_hand", "allocated", "inbound", "adjust", "counted_at")
    assert inventory.groups == {"quantities": quantities}
    assert inventory.derived == frozenset({"available"})
    assert inventory.hub_fields == frozenset({"reserved", "reserved_by", "variance"})
    scopes = inventory.owner_scopes()
    assert scopes["quantities"] == quantities
    assert "available" not in scopes
    assert "reserved" not in scopes  # only the hub writes it: nobody owns it
    order = spec("order")
    assert set(order.groups) == {"lines", "fulfillment"}
    assert "status" in order.groups["fulfillment"]
    assert "lines" in order.groups["lines"]
    # every field of a group exists in the model
    for s in CATALOG.values():
        for names in s.groups.values():
            assert set(names) <= s.fields
