"""The fast path reads exactly what the segment-by-segment path reads: runs of body segments,
positions worked out on demand, a set's body kept as text, changes built without pydantic's
generic constructor."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from logisync.domain.change import Change
from logisync.domain.kinds import Domain
from logisync.edi.envelope import EnvelopeReader, Event, Run, parse
from logisync.edi.interchange import Body
from logisync.edi.sets import Context, inventory_846
from logisync.edi.sets.mapped import SetReader, _change
from logisync.edi.tokenizer import Segment, Tokenizer

FIXTURES = Path(__file__).parents[2] / "fixtures" / "x12"
ALL = sorted(p for p in FIXTURES.rglob("*.x12"))


def _eager(data: bytes) -> list[tuple[list[str], int, int, int]]:
    """Every segment with its position, each found by hand from the bytes."""
    return [(s.elements, s.index, s.offset, s.line) for s in Tokenizer(data).read(strict=False)]


@pytest.mark.parametrize("path", ALL, ids=lambda p: p.name)
@pytest.mark.parametrize("chunk", [5, 64, 1 << 20])
def test_runs_hold_the_same_segments_and_problems_as_reading_one_by_one(path, chunk):
    data = path.read_bytes()
    by_one = [
        (e, v.elements, v.index, v.line) if e is Event.segment else (e, type(v).__name__)
        for e, v in EnvelopeReader(io.BytesIO(data), chunk_size=chunk)
    ]
    reader = EnvelopeReader(io.BytesIO(data), chunk_size=chunk)
    from_runs: list[tuple[object, ...]] = []
    problems = []
    for event, value in reader.events():
        if event is Event.segments:
            assert isinstance(value, Run) and value.stop > value.start
            for k in range(value.start, value.stop):
                seg = value.batch.segment(k)
                from_runs.append((Event.segment, seg.elements, seg.index, seg.line))
        else:
            from_runs.append((event, type(value).__name__))
            problems += [str(p) for p in getattr(value, "problems", [])]
    assert from_runs == by_one
    whole = parse(data)
    # the same problems, however the file is cut into chunks
    assert set(problems) == {str(p) for p in whole.all_problems() if p not in whole.problems}


def test_positions_worked_out_on_demand_are_the_bytes_and_lines_of_each_segment():
    data = (FIXTURES / "846_5010.x12").read_bytes()  # CR LF after each terminator
    for elements, index, offset, line in _eager(data):
        assert data[offset:].startswith(elements[0].encode())
        assert data[:offset].count(b"\n") + 1 == line
        assert index >= 1


def test_a_bad_id_inside_a_run_is_reported_at_its_own_place_in_the_set():
    data = (FIXTURES / "846_4010.x12").read_bytes().replace(b"\nDTM*", b"\nd7M*", 1)
    [ic] = parse(data).interchanges
    [tset] = ic.groups[0].sets
    [problem] = tset.problems
    seg = next(s for s in tset.segments if s.tag == "d7M")
    assert (problem.segment_id, problem.segment, problem.line) == ("d7M", seg.index, seg.line)
    assert problem.set_position == seg.index - tset.header.index + 1
    assert data[seg.offset :].startswith(b"d7M*")


def test_a_body_is_a_sequence_of_segments_made_when_asked_for():
    data = (FIXTURES / "846_4010.x12").read_bytes()
    [ic] = parse(io.BytesIO(data)).interchanges
    body = ic.groups[0].sets[0].segments
    eager = [s for s in Tokenizer(data) if s.index > 3][: len(body)]  # after ISA, GS, ST
    assert [s.elements for s in body] == [s.elements for s in eager] == body.rows()
    assert (body[-1].index, body[-1].line, body[-1].offset) == (
        eager[-1].index,
        eager[-1].line,
        eager[-1].offset,
    )
    assert [s.index for s in body[1:3]] == [eager[1].index, eager[2].index]
    assert body == eager and body != eager[:-1]
    body.append(Segment(["REF", "X"], 99))
    assert body.rows()[-1] == ["REF", "X"] and body[-1].index == 99
    body.clear()
    assert body == [] and body.rows() == []
    assert Body([Segment(["A", "1"])]).rows() == [["A", "1"]]


def test_a_change_is_built_as_model_construct_builds_it():
    at = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
    fast = _change("acme:846:1", Domain.inventory, "SKU-1@DC1", {"on_hand": 4}, at)
    slow = Change.model_construct(
        id="acme:846:1",
        domain=Domain.inventory,
        key="SKU-1@DC1",
        fields={"on_hand": 4},
        version=None,
        occurred_at=at,
    )
    assert fast == slow and fast.model_fields_set == slow.model_fields_set
    assert fast.model_dump() == slow.model_dump()
    assert Change.model_validate(fast.model_dump()) == fast  # a valid change, as the pipeline reads it


def test_an_846_item_error_points_at_its_segment_in_the_file():
    data = (FIXTURES / "846_4010.x12").read_bytes().replace(b"LIN**VN*SKU-1001*UP*", b"LIN**ZZ*SKU-1001*ZY*")
    [ic] = parse(data).interchanges
    tset = ic.groups[0].sets[0]
    mapped = inventory_846.read(tset, Context("acme", location="DC1"))
    [problem] = mapped.problems
    lin = next(s for s in tset.segments if s.tag == "LIN")
    assert (problem.segment_id, problem.segment, problem.line, problem.element) == (
        "LIN",
        lin.index,
        lin.line,
        2,
    )
    assert mapped.changes == []


@pytest.mark.parametrize("name", ["846_5010.x12", "850_4010.x12", "856_4010.x12"])  # CR LF, \n as terminator
def test_positions_asked_for_in_any_order_are_the_same(name):
    data = (FIXTURES / name).read_bytes()
    forward = _eager(data)
    segments = list(Tokenizer(data))
    backward = [(s.elements, s.index, s.offset, s.line) for s in reversed(segments)]  # many out of order
    assert backward[::-1] == forward
    middle = list(Tokenizer(data))
    picked = [middle[i] for i in (5, 2, 9, 0)]
    assert [(s.offset, s.line) for s in picked] == [forward[i][2:] for i in (5, 2, 9, 0)]


ISA = "ISA*00*          *00*          *ZZ*ACMESUPPLY     *ZZ*LOGISYNCHUB    *261128*0930*U*00401*000000101*0*P*>~\n"


def _846(*body: str) -> bytes:
    segments = ["ST*846*0001", "BIA*00*SI*INV1*20261128", *body]
    segments.append(f"SE*{len(segments) + 1}*0001")
    text = "GS*IB*ACMESUPPLY*LOGISYNCHUB*20261128*0930*1*X*004010~\n"
    text += "".join(f"{s}~\n" for s in segments) + "GE*1*1~\nIEA*1*000000101~\n"
    return (ISA + text).encode()


def _read_846(data: bytes, **ctx: object):
    [tset] = parse(data).interchanges[0].groups[0].sets
    return inventory_846.read(tset, Context("acme", "1", "1", **ctx))  # type: ignore[arg-type]


def test_the_846_reads_only_lin_qty_and_n1_and_all_of_their_forms():
    mapped = _read_846(
        _846(
            "N1*WH**92*DC9",  # the heading's location
            "LIN**VN*SKU-1",
            "PID*F****QTY*17*9",  # text that looks like a QTY inside another segment
            "QTY*33*5*EA",
            "QTY*17*7*EA",  # 17 wins over 33, whatever their order
            "LIN**VN*SKU-2",
            "N1*ST**92*STORE-4",  # the item's own location
            "QTY* 63*3*CA",  # a padded qualifier counts as itself
            "LINE*1",  # not a LIN
            "DTM*018*20261201",
        )
    )
    assert mapped.problems == []
    assert [(c.key, c.fields, c.id) for c in mapped.changes] == [
        ("SKU-1@DC9", {"on_hand": 7}, "acme:846:1.1.0001:1"),
        ("SKU-2@STORE-4", {"inbound": 3, "uom": "CA"}, "acme:846:1.1.0001:2"),
    ]


@pytest.mark.parametrize(
    ("body", "problems"),
    [
        (["QTY*17*1", "LIN**VN*SKU-1", "QTY*17*1"], [("segment_unexpected", "QTY", None)]),
        (["LIN", "QTY*17*1"], [("element_missing", "LIN", 2)]),
        (["LIN**VN*SKU-1", "QTY"], [("element_missing", "QTY", 1), ("element_missing", "QTY", 2)]),
        (["LIN**VN*SKU-1", "QTY*17*-2"], [("element_invalid_character", "QTY", 2)]),
        (
            ["LIN**VN*SKU 1", "QTY*17*1"],
            [("element_invalid_character", "LIN", 3)],
        ),  # a key the domain refuses
        (["LIN**VN*SKU-1", "PID*F****X"], [("segment_missing", "QTY", None)]),
    ],
)
def test_each_846_error_names_its_segment_and_element(body, problems):
    data = _846(*body)
    mapped = _read_846(data, location="DC1")
    assert [(p.code.name, p.segment_id, p.element) for p in mapped.problems] == problems
    assert mapped.changes == []
    for p in mapped.problems:  # each position is the segment's own in the file (a missing one: the LIN)
        seg_id = "LIN" if p.code.name == "segment_missing" else p.segment_id
        assert data.splitlines()[p.line - 1].startswith(seg_id.encode())
        assert data[p.offset :].startswith(seg_id.encode())


def _item_by_hand(elements: list[str], prefs: tuple[str, ...]) -> str | None:
    """The SKU as the pairs define it: each qualifier's first non-blank id, the partner's first."""
    found: dict[str, str] = {}
    for at in range(2, 12, 2):
        if at + 1 >= len(elements):
            break
        q, v = elements[at].strip(), elements[at + 1].strip()
        if q and v:
            found.setdefault(q, v)
    return next((found[q] for q in prefs if q in found), None)


@given(
    st.lists(st.sampled_from(["SK", "VN", "UP", " SK", "VN ", "", "ZZ", "A1", " ", "B2"]), max_size=14),
    st.sampled_from([("SK", "VN", "BP", "IN", "UP", "EN"), ("VN",), ("UP", "VN", "UP"), ()]),
)
def test_the_sku_of_a_lin_is_the_partners_first_qualifier_however_padded(tail, prefs):
    elements = ["LIN", "1", *tail]
    reader = SetReader(
        parse(_846("LIN**VN*X", "QTY*17*1")).interchanges[0].groups[0].sets[0],
        Context("a", item_qualifiers=prefs),
    )
    assert reader.item_of(elements, 2) == _item_by_hand(elements, prefs)
