"""The NDJSON reader behind `logisync ingest`: every line accounted for, whatever the bytes."""

from __future__ import annotations

import io

from hypothesis import given, settings
from hypothesis import strategies as st

from logisync.console.ndjson import parse_change, read_changes

GOOD = b'{"id": "c1", "domain": "inventory", "key": "SKU-1@DC1", "fields": {"on_hand": 1}, "version": 2}'


def lines_of(data: bytes, max_line: int = 1 << 20):
    return list(read_changes(io.BytesIO(data), max_line=max_line))


def test_a_good_line_is_a_change():
    (line,) = lines_of(GOOD + b"\n")
    assert line.change is not None and line.change.version == 2
    assert (line.number, line.offset, line.problem) == (1, len(GOOD) + 1, None)


def test_crlf_bom_and_a_missing_final_newline():
    (first, second) = lines_of(b"\xef\xbb\xbf" + GOOD + b"\r\n" + GOOD)
    assert first.change is not None and second.change is not None
    assert second.offset == len(GOOD) * 2 + 5


def test_blank_lines_are_blank():
    lines = lines_of(b"\n  \n\t\r\n")
    assert [line.blank for line in lines] == [True, True, True]


def test_what_is_wrong_with_a_line():
    assert parse_change(b"{nope")[1].startswith("not valid JSON: ")
    assert parse_change(b'"text"')[1] == "expected a JSON object (one change), got a string"
    assert parse_change(b"3")[1] == "expected a JSON object (one change), got a number"
    assert parse_change(b"{}")[1] == "not a change: missing id; missing domain; missing key; missing fields"
    problem = parse_change(GOOD[:-1] + b', "system": "wms"}')[1]
    assert problem.startswith("not a change: unknown key 'system' (a change has id, domain, key, fields,")
    problem = parse_change(GOOD.replace(b'"version": 2', b'"version": -1'))[1]
    assert problem == "not a change: version: Input should be greater than or equal to 0 (got -1)"
    assert parse_change(b"\xff\xfe")[1].startswith("not valid JSON: str is not valid UTF-8")
    assert parse_change(b'{"id": "a",')[1] == "not valid JSON: unexpected end of data: column 12"
    naive = GOOD.replace(b'"version": 2', b'"occurred_at": "2026-03-01T12:00:00"')
    assert parse_change(naive)[1].startswith(
        "not a change: occurred_at: a time needs a UTC offset: write it with Z or +hh:mm"
    )
    aware = GOOD.replace(b'"version": 2', b'"occurred_at": "2026-03-01T14:00:00+02:00"')
    assert parse_change(aware)[0].occurred_at.utcoffset().total_seconds() == 7200


def test_an_overlong_line_is_skipped_and_the_next_is_read():
    data = b'{"id": "' + b"x" * 500 + b'"}\n' + GOOD + b"\n"
    first, second = lines_of(data, max_line=100)
    assert first.problem == "longer than 100 bytes; one change per line"
    assert first.offset == 511
    assert second.change is not None and second.number == 2 and second.offset == len(data)


chunks = st.one_of(
    st.binary(max_size=40),
    st.sampled_from([GOOD, b"{}", b"[1]", b"null", b'{"id": 1}', b"\xef\xbb\xbf", b"\r", b" "]),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(chunks, max_size=12), st.integers(min_value=8, max_value=200))
def test_any_bytes_give_one_line_each_and_never_raise(parts, max_line):
    data = b"".join(p + b"\n" if i % 2 else p for i, p in enumerate(parts))
    lines = lines_of(data, max_line=max_line)
    expected = data.count(b"\n") + (0 if not data or data.endswith(b"\n") else 1)
    assert [line.number for line in lines] == list(range(1, expected + 1))
    assert (lines[-1].offset if lines else 0) == len(data)
    for line in lines:
        assert line.blank or (line.change is None) != (line.problem is None)
