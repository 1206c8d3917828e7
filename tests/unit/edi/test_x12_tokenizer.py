"""The tokenizer: delimiters from the ISA, layout between segments, positions, streaming chunks."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from logisync.edi.errors import X12Error
from logisync.edi.tokenizer import Delimiters, delimiters_of, tokenize

FIXTURES = Path(__file__).parents[2] / "fixtures" / "x12"
ISA_4010 = b"ISA*00*          *00*          *ZZ*ACMESUPPLY     *ZZ*LOGISYNCHUB    *261128*0930*U*00401*000000101*0*P*>~"
ISA_5010 = b"ISA|00|          |00|          |12|5551234567     |ZZ|LOGISYNCHUB    |261128|1405|^|00501|000000202|1|T|:'"


def test_delimiters_come_from_the_isa_4010_has_no_repetition_separator():
    assert delimiters_of(ISA_4010) == Delimiters("*", ">", None, "~")
    assert delimiters_of(ISA_5010) == Delimiters("|", ":", "^", "'")


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"GS*IB*X~", "no_isa"),
        (ISA_4010[:60], "bad_isa"),
        (ISA_4010[:105], "truncated_isa"),
        (ISA_4010.replace(b"*>~", b"*>*"), "bad_delimiters"),  # terminator = element separator
        (ISA_4010.replace(b"*>~", b"*A~"), "bad_delimiters"),  # a letter as component separator
    ],
)
def test_an_isa_that_names_no_usable_delimiters_is_an_x12_error(data, code):
    with pytest.raises(X12Error) as err:
        delimiters_of(data)
    assert err.value.code == code


@pytest.mark.parametrize("layout", [b"", b"\n", b"\r\n", b"\r\n\r\n"])
@pytest.mark.parametrize("name", [b"X", "Caf\xc3\xa9 cr\xc3\xa8me".encode("latin-1")])  # ASCII, and UTF-8
def test_segments_are_the_same_with_or_without_line_breaks(layout, name):
    body = [b"GS*IB*A*B*20261128*0930*1*X*004010", b"ST*846*0001", b"BIA*00*SI*" + name, b"SE*3*0001"]
    data = ISA_4010 + layout + layout.join(s + b"~" for s in body) + layout
    segments = list(tokenize(data))
    assert [s.elements for s in segments[1:]] == [s.decode("utf-8").split("*") for s in body]
    assert [s.index for s in segments] == [1, 2, 3, 4, 5]
    assert [s.line for s in segments] == [1 + i * layout.count(b"\n") for i in range(5)]
    # the offset points at the segment's first byte
    for s in segments:
        assert data[s.offset : s.offset + len(s.tag)] == s.tag.encode()


def test_a_newline_can_be_the_segment_terminator():
    data = ISA_4010[:-1] + b"\nGS*IB*A*B*20261128*0930*1*X*004010\nGE*0*1\n"
    segments = list(tokenize(data))
    assert [s.tag for s in segments] == ["ISA", "GS", "GE"]
    assert [s.line for s in segments] == [1, 2, 3]


@pytest.mark.parametrize("chunk", [1, 7, 106, 107, 4096])
def test_any_chunking_yields_the_same_segments_with_the_same_positions(chunk):
    data = (FIXTURES / "856_4010.x12").read_bytes()
    whole = [(s.elements, s.index, s.offset, s.line) for s in tokenize(data)]
    streamed = [(s.elements, s.index, s.offset, s.line) for s in tokenize(io.BytesIO(data), chunk_size=chunk)]
    assert streamed == whole
    assert len(whole) == 18
    assert whole[-1][0] == ["IEA", "1", "000000303"]
    assert whole[-1][3] == 18


def test_elements_are_numbered_as_x12_numbers_them_and_split_into_components_and_repeats():
    data = (FIXTURES / "856_5010.x12").read_bytes()
    segments = {s.tag: s for s in tokenize(data)}
    ref = segments["REF"]
    assert ref[1] == "BM"
    assert ref[9] == ""  # past the end
    assert ref.repeats(2, Delimiters("*", ":", "{", "!")) == ["BOL-99121", "BOL-99122"]
    assert len(segments["TD1"]) == 8


def test_a_file_cut_inside_a_segment_names_where():
    data = ISA_4010 + b"\nGS*IB*A*B*20261128*0930*1*X*004010~\nST*846*00"
    it = tokenize(data)
    assert next(it).tag == "ISA"
    assert next(it).tag == "GS"
    with pytest.raises(X12Error) as err:
        next(it)
    assert err.value.code == "truncated"
    assert err.value.line == 3
    assert err.value.index == 3
    assert data[err.value.offset :].startswith(b"ST*846")


def test_bytes_that_are_not_utf8_are_kept_and_their_element_flagged():
    data = ISA_4010 + b"PID*F****caf\xe9~"
    pid = list(tokenize(data))[1]
    assert pid[5] == "café"
    assert pid.unreadable == [5]


@pytest.mark.parametrize("before", [b"\xef\xbb\xbf", b"\r\n  ", b"\xef\xbb\xbf\n"])
def test_a_byte_order_mark_and_blank_lines_before_the_isa_are_skipped(before):
    data = before + ISA_4010 + b"\nGS*IB*A*B*20261128*0930*1*X*004010~"
    isa, gs = tokenize(data)
    assert isa[13] == "000000101"
    assert data[isa.offset : isa.offset + 3] == b"ISA"
    assert gs.line == isa.line + 1 == 2 + before.count(b"\n")
