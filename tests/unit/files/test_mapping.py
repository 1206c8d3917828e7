"""An import's mapping: values read, typed, converted and keyed; a bad value names its column."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from logisync.config.files import FileImport
from logisync.files.mapping import FileShapeError, Mapped, RowError, RowMapper


def spec(**kw) -> FileImport:
    base = {"name": "stock", "domain": "inventory", "format": "csv"}
    return FileImport.model_validate({**base, **kw})


STOCK = spec(
    fields={
        "sku": "ItemNo",
        "location": {"from": "Whse", "default": "DC1"},
        "on_hand": {"from": "Qty", "type": "int"},
        "uom": {"from": "UOM", "values": {"EA": "each", "CS": "case"}, "default": "each"},
    }
)
HEADER = ["ItemNo", "Whse", "Qty", "UOM"]


def change(mapper: RowMapper, row, default_id: str = "f:2"):
    return mapper.change(mapper.read(row), default_id)


def test_a_row_becomes_a_change_keyed_by_the_template():
    c = change(RowMapper(STOCK, HEADER), ["SKU-1", "DC2", " 12 ", "CS"])
    assert (c.id, c.domain.value, c.key) == ("f:2", "inventory", "SKU-1@DC2")
    assert c.fields == {"on_hand": 12, "uom": "case"}  # sku and location are only in the key


def test_defaults_fill_empty_cells_and_optional_fields_are_left_out():
    c = change(RowMapper(STOCK, HEADER), ["SKU-1", "", "", ""])
    assert c.key == "SKU-1@DC1" and c.fields == {"uom": "each"}


def test_a_value_of_the_wrong_type_names_its_column():
    with pytest.raises(RowError) as caught:
        RowMapper(STOCK, HEADER).read(["SKU-1", "DC1", "12.5", "EA"])
    assert caught.value.column == "Qty"
    assert str(caught.value) == "column Qty: expected a whole number, got '12.5'"


def test_a_code_outside_the_table_is_bad():
    with pytest.raises(RowError, match=r"column UOM: 'PL' is not one of the codes EA, CS"):
        RowMapper(STOCK, HEADER).read(["SKU-1", "DC1", "1", "PL"])


def test_an_empty_key_part_is_bad():
    with pytest.raises(
        RowError, match=r"column ItemNo: is empty, and the key '\{sku\}@\{location\}' needs sku"
    ):
        change(RowMapper(STOCK, HEADER), ["", "DC1", "1", ""])


def test_header_columns_match_in_any_case_and_a_missing_one_is_a_file_error():
    RowMapper(STOCK, ["itemno", "WHSE", "qty", "uom"])
    with pytest.raises(FileShapeError, match=r"the header has no column 'Qty' \(fields.on_hand reads it\)"):
        RowMapper(STOCK, ["ItemNo", "Whse"])


def test_units_types_nested_fields_and_json_paths():
    products = FileImport.model_validate(
        {
            "name": "items",
            "domain": "product",
            "format": "json",
            "key": "{sku}",
            "fields": {
                "sku": "item.code",
                "name": "item.title",
                "attributes.weight_kg": {
                    "from": "item.weight_lb",
                    "type": "decimal",
                    "unit": {"from": "lb", "to": "kg"},
                },
                "attributes.hazmat": {"from": "flags.hazmat", "type": "bool"},
                "attributes.launched": {"from": "launch", "type": "date", "format": "%d/%m/%Y"},
            },
            "version": {"from": "rev", "type": "int"},
        }
    )
    row = {
        "item": {"code": "SKU-9", "title": "Mug", "weight_lb": "10"},
        "flags": {"hazmat": "no"},
        "launch": "02/03/2026",
        "rev": 7,
    }
    c = change(RowMapper(products), row)
    assert c.key == "SKU-9" and c.version == 7
    assert c.fields == {
        "name": "Mug",
        "attributes": {"weight_kg": 4.5359237, "hazmat": False, "launched": "2026-03-02"},
    }


def test_cross_referenced_values_are_left_for_the_caller():
    s = spec(
        fields={
            "sku": {"from": "Item", "xref": "sku"},
            "location": "Whse",
            "on_hand": {"from": "Qty", "type": "int"},
        }
    )
    mapped = RowMapper(s, ["Item", "Whse", "Qty"]).read(["L-1", "DC1", "3"])
    assert mapped.xrefs == [("sku", "sku", "L-1")]


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"sku": "A", "location": "B", "colour": "C"}, "'colour' is not a field of inventory"),
        ({"location": "B", "on_hand": "C"}, "the key or id uses sku, which `fields` does not read"),
        (
            {
                "sku": "A",
                "location": "B",
                "on_hand": {"from": "C", "type": "str", "unit": {"from": "lb", "to": "kg"}},
            },
            "`unit` converts numbers",
        ),
        (
            {
                "sku": "A",
                "location": "B",
                "on_hand": {"from": "C", "type": "int", "unit": {"from": "lb", "to": "m"}},
            },
            "cannot convert lb",
        ),
        ({"sku": "A", "location": "B", "on_hand": {"type": "int"}}, "give `from`"),
    ],
)
def test_a_wrong_mapping_is_refused_when_the_sync_map_loads(fields, message):
    with pytest.raises(ValidationError, match=message):
        spec(fields=fields)


def test_an_order_import_needs_a_key():
    with pytest.raises(ValidationError, match="an import of order records needs `key`"):
        FileImport.model_validate(
            {"name": "o", "domain": "order", "format": "csv", "fields": {"status": "S"}}
        )


def test_the_id_template_replaces_the_default_id():
    s = spec(
        id="erp-{ref}",
        fields={"ref": "Ref", "sku": "Item", "location": "Whse", "on_hand": {"from": "Qty", "type": "int"}},
    )
    c = change(RowMapper(s, ["Ref", "Item", "Whse", "Qty"]), ["77", "SKU-1", "DC1", "4"])
    assert c.id == "erp-77" and c.fields == {"on_hand": 4}


def test_a_row_that_sets_no_field_is_bad():
    with pytest.raises(RowError, match="sets no field"):
        RowMapper(STOCK, HEADER).change(Mapped({"sku": "S", "location": "L"}), "x")


def test_times_without_an_offset_are_utc():
    s = spec(fields={"sku": "A", "location": "B", "counted_at": {"from": "C", "type": "datetime"}})
    mapper = RowMapper(s, ["A", "B", "C"])
    assert mapper.read(["S", "L", "2026-03-01T12:00:00"]).values["counted_at"] == "2026-03-01T12:00:00+00:00"
    assert mapper.read(["S", "L", "2026-03-01T12:00:00Z"]).values["counted_at"] == "2026-03-01T12:00:00+00:00"
    assert (
        mapper.read(["S", "L", "2026-03-01T12:00:00+02:00"]).values["counted_at"]
        == "2026-03-01T12:00:00+02:00"
    )
