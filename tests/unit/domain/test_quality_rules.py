"""The pure part of the data-quality rules: where changes name SKUs and locations, and unit conversion."""

from __future__ import annotations

from typing import Any

from logisync.domain.kinds import Domain
from logisync.domain.quality import (
    convert_inventory,
    convert_line,
    is_base,
    lines_of,
    location_refs,
    service_refs,
    sku_refs,
    writable,
)

ORDER = {"lines": [{"sku": "A", "quantity": 2, "uom": "case"}, {"sku": "B", "quantity": 1}]}
SHIPMENT = {
    "ship_from": "DC1",
    "service": "03",
    "packages": [
        {"package_id": "P1", "lines": [{"sku": "A", "quantity": 1}]},
        {"package_id": "P2", "lines": [{"sku": "C", "quantity": 4}]},
    ],
}


def paths(refs) -> list[tuple[str, str]]:
    return [(r.path, r.value) for r in refs]


def test_skus_are_found_in_keys_lines_and_package_lines():
    assert paths(sku_refs(Domain.inventory, "SKU-1@DC1", {})) == [("key", "SKU-1")]
    assert paths(sku_refs(Domain.order, "SO-1", ORDER)) == [("lines[0].sku", "A"), ("lines[1].sku", "B")]
    assert paths(sku_refs(Domain.shipment, "SH-1", SHIPMENT)) == [
        ("packages[0].lines[0].sku", "A"),
        ("packages[1].lines[0].sku", "C"),
    ]
    assert sku_refs(Domain.product, "SKU-1", {"name": "x"}) == []
    assert sku_refs(Domain.order, "SO-1", {"status": "picking"}) == []


def test_locations_are_found_in_keys_and_the_fields_that_name_one():
    assert paths(location_refs(Domain.inventory, "SKU@1@DC1", {})) == [("key", "DC1")]  # the last @ splits
    assert paths(location_refs(Domain.order, "SO-1", {"warehouse": "DC2"})) == [("warehouse", "DC2")]
    assert paths(location_refs(Domain.shipment, "SH-1", SHIPMENT)) == [("ship_from", "DC1")]
    assert paths(location_refs(Domain.return_, "RMA-1", {"location": "DC3"})) == [("location", "DC3")]
    assert location_refs(Domain.return_, "RMA-1", {"location": None}) == []
    assert paths(service_refs(Domain.shipment, SHIPMENT)) == [("service", "03")]


def test_a_key_cannot_be_rewritten_a_field_can():
    [key] = sku_refs(Domain.inventory, "SKU-1@DC1", {})
    assert key.set is None
    fields = writable(Domain.order, ORDER)
    [first, _] = sku_refs(Domain.order, "SO-1", fields)
    assert first.set is not None
    first.set("SKU-A")
    assert fields["lines"][0]["sku"] == "SKU-A"
    assert ORDER["lines"][0]["sku"] == "A"  # the original is untouched


def test_writable_copies_shipment_packages_and_inventory_adjustments():
    copy = writable(Domain.shipment, SHIPMENT)
    copy["packages"][0]["lines"][0]["sku"] = "Z"
    assert SHIPMENT["packages"][0]["lines"][0]["sku"] == "A"
    adjust = {"adjust": {"on_hand": 1, "reason": "receipt"}}
    writable(Domain.inventory, adjust)["adjust"]["on_hand"] = 9
    assert adjust["adjust"]["on_hand"] == 1


def test_the_base_unit_is_none_an_alias_of_each_or_the_products_base():
    assert is_base(None, None)
    assert is_base("EA", "each") and is_base(" pcs ", None)
    assert is_base("kg", "KG")
    assert not is_base("case", "each")


def order_line(**more: Any) -> dict[str, Any]:
    return {
        "line_no": 1,
        "sku": "A",
        "quantity": 2,
        "allocated": 1,
        "shipped": 0,
        "cancelled": 0,
        "returned": 0,
        **more,
    }


def test_a_line_is_converted_with_all_its_quantities_and_keeps_what_came():
    line = order_line(uom="case")
    assert convert_line(Domain.order, "lines[0]", line, "A", {"units": {"case": 12}}) is None
    assert (line["quantity"], line["allocated"], line["uom"]) == (24, 12, "each")
    assert line["received"] == {"quantity": 2, "allocated": 1, "uom": "case"}


def test_a_line_in_base_units_is_left_alone():
    line = order_line(uom="each")
    assert convert_line(Domain.order, "lines[0]", line, "A", None) is None
    assert line == order_line(uom="each")


def test_a_line_that_cannot_be_converted_says_the_rule_field_and_units():
    line = order_line(uom="crate")
    problem = convert_line(Domain.order, "lines[3]", line, "A", {"units": {"case": 12}})
    assert problem is not None
    assert problem.detail() == {
        "rule": "units",
        "field": "lines[3].uom",
        "value": "crate",
        "sku": "A",
        "units": {"case": 12},
    }
    assert (
        problem.reason == "lines[3].uom: A: unit 'crate' is not known for this product (its units: case=12)"
    )
    unknown = convert_line(Domain.return_, "lines[0]", {"sku": "A", "quantity": 1, "uom": "case"}, "A", None)
    assert unknown is not None and "A is not a known product" in unknown.reason


def test_inventory_quantities_and_signed_deltas_convert():
    fields = {
        "on_hand": 2,
        "allocated": 1,
        "adjust": {"on_hand": -3, "inbound": 1, "reason": "damage"},
        "uom": "case",
    }
    assert convert_inventory(fields, "A", {"units": {"case": 10}, "base_uom": "each"}) is None
    assert fields == {
        "on_hand": 20,
        "allocated": 10,
        "adjust": {"on_hand": -30, "inbound": 10, "reason": "damage"},
        "uom": "each",
    }


def test_lines_of_lists_every_line_with_its_path():
    assert [p for p, _ in lines_of(Domain.shipment, SHIPMENT)] == [
        "packages[0].lines[0]",
        "packages[1].lines[0]",
    ]
    assert lines_of(Domain.inventory, {"on_hand": 1}) == []
