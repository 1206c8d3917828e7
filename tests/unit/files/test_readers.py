"""CSV, JSON and NDJSON readers: rows placed by line (or item), bad rows named, constant memory."""

from __future__ import annotations

import csv
import io

from hypothesis import given, settings
from hypothesis import strategies as st

from logisync.config.files import CsvOptions, FileImport
from logisync.files.mapping import RowError, RowMapper
from logisync.files.readers import CsvReader, JsonReader, NdjsonReader, Row, Unreadable


def csv_rows(data: bytes, **options):
    reader = CsvReader(io.BytesIO(data), CsvOptions(**options))
    header = reader.read_header()
    return header, list(reader)


def test_csv_rows_start_on_their_own_line_even_across_quoted_newlines():
    header, rows = csv_rows(b'a,b\n1,"two\nlines"\n\n3,4\n5\n"x,6\n')
    assert header == ["a", "b"]
    assert rows[0] == Row(2, ["1", "two\nlines"])
    assert rows[1] == Row(5, ["3", "4"])  # the blank line 4 is skipped
    assert rows[2] == Unreadable(6, "has 1 columns; the header has 2")
    assert isinstance(rows[3], Unreadable) and rows[3].number == 7


def test_csv_bom_crlf_semicolons_and_bad_bytes():
    header, rows = csv_rows(b"\xef\xbb\xbfa;b\r\n1;2\r\n\xff;3\r\n", delimiter=";")
    assert header == ["a", "b"]
    assert rows == [Row(2, ["1", "2"]), Unreadable(3, "not UTF-8 text")]
    _, rows = csv_rows(b"a;b\n\xe9;3\n", delimiter=";", encoding="latin-1")
    assert rows == [Row(2, ["\xe9", "3"])]


def test_ndjson_lines_and_what_is_wrong_with_them():
    data = b'{"a": 1}\n\n[1]\n{nope\n' + b'{"b": "' + b"x" * 200 + b'"}\n{"c": 3}'
    rows = list(NdjsonReader(io.BytesIO(data), max_line=100))
    assert rows[0] == Row(1, {"a": 1})
    assert rows[1] == Unreadable(3, "expected a JSON object")
    assert isinstance(rows[2], Unreadable) and rows[2].problem.startswith("not valid JSON")
    assert rows[3] == Unreadable(5, "longer than 100 bytes")
    assert rows[4] == Row(6, {"c": 3})


def test_json_items_are_numbered_and_a_cut_document_ends_with_a_bad_item():
    rows = list(JsonReader(io.BytesIO(b'[{"a": 1.5}, 2, {"b": 2}, {"c"'), "item"))
    assert rows[:3] == [Row(1, {"a": 1.5}), Unreadable(2, "expected a JSON object"), Row(3, {"b": 2})]
    assert isinstance(rows[3], Unreadable) and rows[3].problem.startswith("the JSON breaks off after item 3")
    nested = list(JsonReader(io.BytesIO(b'\xef\xbb\xbf{"data": {"items": [{"x": 1}]}}'), "data.items.item"))
    assert nested == [Row(1, {"x": 1})]


# -- the property: every row that violates a type names its line and its column -----------------

TYPED = FileImport.model_validate(
    {
        "name": "t",
        "domain": "inventory",
        "format": "csv",
        "fields": {
            "sku": "Item",
            "location": "Site",
            "on_hand": {"from": "Qty", "type": "int"},
            "allocated": {"from": "Alloc", "type": "decimal"},
            "counted_at": {"from": "At", "type": "datetime"},
        },
    }
)
COLUMNS = ["Item", "Site", "Qty", "Alloc", "At"]
TYPED_COLUMNS = {"Qty": "int", "Alloc": "decimal", "At": "datetime"}

text = st.text(st.characters(blacklist_categories=["Cs"], blacklist_characters="\x00\r"), max_size=12)
good = {
    "int": st.integers(-(10**12), 10**12).map(str),
    "decimal": st.decimals(allow_nan=False, allow_infinity=False, places=3).map(str),
    "datetime": st.datetimes().map(lambda d: d.isoformat()),
}
bad = {  # text that is not of the type (after the mapping strips it)
    "int": st.sampled_from(["1.5", "x", "1e3", "--1", "12 3", "1_0x", "½"]),
    "decimal": st.sampled_from(["x", "1,5", "1.2.3", "NaN", "Infinity", "e"]),
    "datetime": st.sampled_from(["yesterday", "2026-13-01", "2026-02-30T00:00", "12:00", "1/2/2026"]),
}


@st.composite
def cell(draw, column: str):
    kind = TYPED_COLUMNS.get(column)
    if kind is None:
        return draw(text.filter(lambda t: t.strip() != "") | st.just("SKU-1")), True
    if draw(st.booleans()):
        return draw(good[kind]), True
    return draw(bad[kind]), False


@st.composite
def table(draw):
    rows = []
    for _ in range(draw(st.integers(1, 12))):
        rows.append([draw(cell(c)) for c in COLUMNS])
    return rows


@settings(max_examples=150, deadline=None)
@given(table())
def test_a_row_that_violates_a_type_names_its_line_and_column(rows):
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    starts = []
    for row in rows:
        starts.append(buffer.getvalue().count("\n") + 1)
        writer.writerow([value for value, _ in row])
    header, read = csv_rows(buffer.getvalue().encode())
    mapper = RowMapper(TYPED, header)
    assert [r.number for r in read] == starts
    for row, got in zip(rows, read, strict=True):
        assert isinstance(got, Row)
        first_bad = next((c for c, (_, ok) in zip(COLUMNS, row, strict=True) if not ok), None)
        try:
            mapped = mapper.read(got.data)
        except RowError as exc:
            assert exc.column == first_bad, (row, exc)
            assert str(exc).startswith(f"column {first_bad}: expected ")
        else:
            assert first_bad is None, row
            assert isinstance(mapped.values["on_hand"], int)
