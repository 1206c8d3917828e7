"""Mappings: declarative field paths and the Python escape hatch; errors that name the path."""

from __future__ import annotations

from typing import Any

import pytest

from logisync.delivery.errors import MappingError
from logisync.delivery.mapping import MappingContext, compile_mapping, default_body

FIELDS = {
    "sku": "SKU-1",
    "location": "DC1",
    "on_hand": 9,
    "allocated": 2,
    "available": 7,
    "lines": [{"n": 1}],
}
CONTEXT = MappingContext(
    id="stock-to-shop-42",
    route="stock-to-shop",
    target="shop",
    domain="inventory",
    key="SKU-1@DC1",
    event="inventory.updated",
    revision=3,
    previous={"available": 5},
)


def cas_body(fields: dict[str, Any], context: MappingContext) -> dict[str, Any]:
    """A mapping function, as an integration engineer would write one (named in a test below)."""
    body = {"inventoryItemId": fields["sku"], "quantity": fields["available"]}
    if context.previous is not None:
        body["compareQuantity"] = context.previous["available"]
    return body


def broken(fields: dict[str, Any], context: MappingContext) -> dict[str, Any]:
    return {"x": fields["no_such_field"]}


def test_the_declarative_form():
    mapper = compile_mapping(
        {
            "sku": "$.fields.sku",
            "qty": "fields.available",
            "location.code": "fields.location",
            "meta.source": "'logisync'",
            "meta.version": 2,
            "meta.final": True,
            "meta.id": "id",
            "meta.revision": "revision | str",
            "first_line": "fields.lines.0.n",
        }
    )
    assert mapper(FIELDS, CONTEXT) == {
        "sku": "SKU-1",
        "qty": 7,
        "location": {"code": "DC1"},
        "meta": {
            "source": "logisync",
            "version": 2,
            "final": True,
            "id": "stock-to-shop-42",
            "revision": "3",
        },
        "first_line": 1,
    }


def test_nested_objects_are_the_same_as_dotted_keys():
    nested = compile_mapping({"location": {"code": "fields.location"}, "qty": "fields.on_hand"})
    dotted = compile_mapping({"location.code": "fields.location", "qty": "fields.on_hand"})
    assert nested(FIELDS, CONTEXT) == dotted(FIELDS, CONTEXT) == {"location": {"code": "DC1"}, "qty": 9}


def test_compare_and_set_reads_what_was_last_delivered():
    mapper = compile_mapping({"value": "fields.available", "expected": "previous.available?"})
    assert mapper(FIELDS, CONTEXT) == {"value": 7, "expected": 5}
    first = MappingContext("i", "r", "t", "inventory", "k", "inventory.updated", 1, previous=None)
    assert mapper(FIELDS, first) == {"value": 7}  # the first delivery carries no expectation


def test_an_optional_path_leaves_the_field_out():
    mapper = compile_mapping({"sku": "fields.sku", "gtin": "fields.gtin?", "n": "fields.lines.5.n?"})
    assert mapper(FIELDS, CONTEXT) == {"sku": "SKU-1"}


def test_a_missing_path_names_the_target_and_the_path():
    mapper = compile_mapping({"product.gtin": "fields.gtin"})
    with pytest.raises(MappingError) as raised:
        mapper(FIELDS, CONTEXT)
    assert raised.value.path == "product.gtin"
    assert "'fields.gtin'" in str(raised.value) and "fields has no 'gtin'" in str(raised.value)
    assert "'?'" in str(raised.value)


def test_a_path_through_a_value_says_where_it_stopped():
    with pytest.raises(MappingError, match=r"fields\.sku has no 'code'"):
        compile_mapping({"x": "fields.sku.code"})(FIELDS, CONTEXT)


def test_a_failed_conversion_is_a_mapping_error():
    with pytest.raises(MappingError, match=r"int\('SKU-1'\) failed"):
        compile_mapping({"x": "fields.sku | int"})(FIELDS, CONTEXT)


def test_conversions_chain():
    assert compile_mapping({"x": "fields.available | float | str"})(FIELDS, CONTEXT) == {"x": "7.0"}


def test_the_function_form():
    mapper = compile_mapping("test_delivery_mapping:cas_body")
    assert mapper(FIELDS, CONTEXT) == {"inventoryItemId": "SKU-1", "quantity": 7, "compareQuantity": 5}


def test_what_a_function_raises_is_a_mapping_error_naming_it():
    mapper = compile_mapping("test_delivery_mapping:broken")
    with pytest.raises(MappingError, match=r"test_delivery_mapping:broken.*KeyError.*no_such_field"):
        mapper(FIELDS, CONTEXT)


def test_no_mapping_sends_the_whole_record():
    assert compile_mapping(None) is default_body
    assert default_body(FIELDS, CONTEXT) == {
        "type": "inventory.updated",
        "key": "SKU-1@DC1",
        "revision": 3,
        "data": FIELDS,
    }


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"x": "sku"}, "starts with 'sku'"),
        ({"x": "fields..sku"}, "is not a path"),
        ({"x": ""}, "is not a path"),
        ({"x": "fields.sku | upper"}, "unknown conversion 'upper'"),
        ({"a": "fields.sku", "a.b": "fields.sku"}, "both a value and an object"),
        ({"a.b": "fields.sku", "a": "fields.sku"}, "given twice"),
        ({"a..b": "fields.sku"}, "empty segment"),
        ({"x": {1, 2}}, "neither a path nor a constant"),
        ("not a function", "is not written"),
        ("no_such_module_here:f", "cannot import"),
        ("test_delivery_mapping:nothing", "has no function 'nothing'"),
        (42, "not int"),
    ],
)
def test_a_bad_mapping_is_refused_when_compiled(spec, message):
    with pytest.raises(ValueError, match=message):
        compile_mapping(spec)
