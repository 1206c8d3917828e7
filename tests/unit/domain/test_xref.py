"""Cross-reference pairs and the CSV they load from: good rows load, bad rows come back with their line."""

from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logisync.domain.xref import BadRow, XrefFileError, XrefPair, XrefReader, pair_problem


def read(text: str | bytes, kind: str = "sku", names: tuple[str, ...] = ("listing_id",)):
    raw = text.encode() if isinstance(text, str) else text
    return list(XrefReader(io.BytesIO(raw), kind, names))  # lines end at \n, as a file reads


def test_pairs_are_read_from_the_named_columns_and_other_columns_are_ignored():
    rows = read('title,sku,listing_id\nMug,SKU-1,L-100\n"Cup, blue",SKU-2, L-200 \n')
    assert rows == [XrefPair(2, "L-100", "SKU-1"), XrefPair(3, "L-200", "SKU-2")]


def test_the_generic_column_names_work_for_any_system():
    rows = read("external_id,canonical\nFDX-GRD,ground\n", kind="service", names=())
    assert rows == [XrefPair(2, "FDX-GRD", "ground")]


def test_a_header_without_the_columns_is_refused_whole():
    with pytest.raises(XrefFileError, match=r"line 1: the header must name the external id column "):
        read("id,code\nL-1,SKU-1\n")
    with pytest.raises(XrefFileError, match="the file is empty"):
        read("")


def test_a_byte_order_mark_and_crlf_line_ends_are_fine():
    assert read(b"\xef\xbb\xbflisting_id,sku\r\nL-1,SKU-1\r\n") == [XrefPair(2, "L-1", "SKU-1")]


def test_bad_rows_are_reported_with_their_line_and_good_rows_still_come():
    text = (
        "listing_id,sku\n"  # 1
        "L-1,SKU-1\n"  # 2
        ",SKU-2\n"  # 3: no external id
        "L-3\n"  # 4: one column
        "\n"  # 5: blank, skipped
        "L-5,bad key\n"  # 6: not a valid SKU
        '"L-6\nstill L-6",SKU-6\n'  # 7-8: a quoted newline is a control character in an id
        "L-1,SKU-9\n"  # 9: mapped elsewhere on line 2
        "L-1,SKU-1\n"  # 10: the same pair again, loaded once
        "L-11,SKU-11\n"  # 11
    )
    rows = read(text)
    assert [r for r in rows if isinstance(r, XrefPair)] == [
        XrefPair(2, "L-1", "SKU-1"),
        XrefPair(11, "L-11", "SKU-11"),
    ]
    assert [(r.line, r.problem) for r in rows if isinstance(r, BadRow)] == [
        (3, "the external id is empty"),
        (4, "expected at least 2 columns, found 1"),
        (6, "'bad key' is not a valid sku (expected like 'SKU-1')"),
        (7, "the external id 'L-6\\nstill L-6' holds a control character"),
        (9, "external id 'L-1' is mapped to 'SKU-1' on line 2 already; here to 'SKU-9'"),
    ]


def test_a_line_that_is_not_utf8_is_a_bad_row():
    rows = read(b"listing_id,sku\nL-\xff,SKU-1\nL-2,SKU-2\n")
    assert rows == [BadRow(2, "not UTF-8 text"), XrefPair(3, "L-2", "SKU-2")]


def test_a_service_may_be_any_printable_code_but_a_location_must_be_a_key():
    assert pair_problem("service", "03", "UPS Ground") is None
    assert pair_problem("location", "WH 7", "DC 1") == "'DC 1' is not a valid location (expected like 'DC1')"
    assert pair_problem("sku", "x" * 201, "SKU-1") == "the external id is longer than 200 characters"
    assert pair_problem("carrier", "a", "b") == "unknown kind 'carrier' (known: sku, location, service)"


# -- properties -------------------------------------------------------------------------------------

SAFE = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-", min_size=1, max_size=12)
BAD_LINES = st.sampled_from(
    [
        ",SKU-1",  # no external id
        "L-x,",  # no SKU
        "only-one-column",
        "L-y,has space",  # not a valid SKU key
        "L-z,\x01SKU",  # a control character
        '"L-q"x,SKU-1,',  # text after a closing quote: CSV reads it on, still one column of the id
    ]
)
UNCLOSED = '"unclosed,SKU-1'  # a quote left open: the rest of the file is one field


@st.composite
def files(draw):
    """A CSV of good rows (unique ids, valid SKUs) and bad ones, one physical line each; perhaps a
    last row whose quote is never closed."""
    kinds = draw(st.lists(st.booleans(), max_size=40))
    lines, good, bad = ["listing_id,sku"], {}, []
    ids = iter(draw(st.lists(SAFE, min_size=len(kinds), max_size=len(kinds), unique=True)))
    for is_good in kinds:
        number = len(lines) + 1
        if is_good:
            ext = f"L{next(ids)}"
            lines.append(f"{ext},SKU-{ext}")
            good[number] = (ext, f"SKU-{ext}")
        else:
            lines.append(draw(BAD_LINES))
            bad.append(number)
    if draw(st.booleans()):
        lines.append(UNCLOSED)
        bad.append(len(lines))
    return "\n".join(lines) + "\n", good, bad


@given(files())
@settings(max_examples=200, deadline=None)
def test_every_good_row_loads_and_every_bad_one_is_reported_on_its_line(case):
    text, good, bad = case
    rows = read(text)
    pairs = {r.line: (r.external_id, r.canonical) for r in rows if isinstance(r, XrefPair)}
    assert pairs == good
    assert [r.line for r in rows if isinstance(r, BadRow)] == bad


@given(st.binary(max_size=400), st.sampled_from(["sku", "location", "service"]))
@settings(max_examples=300, deadline=None)
def test_no_input_crashes_the_reader_and_every_line_it_names_is_in_the_file(raw, kind):
    data = b"external_id,canonical\n" + raw
    lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    for row in XrefReader(io.BytesIO(data), kind):
        assert 2 <= row.line <= max(lines, 2)
        if isinstance(row, XrefPair):
            assert pair_problem(kind, row.external_id, row.canonical) is None
