"""Envelopes: the hand-written fixtures parse, and each broken one yields its problem and 997 codes."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from logisync.edi.ack import acknowledge, build_997
from logisync.edi.envelope import EnvelopeReader, Event, parse
from logisync.edi.problems import Code, Problem

FIXTURES = Path(__file__).parents[2] / "fixtures" / "x12"


def _acks(name: str) -> tuple[list[str] | None, list[str]]:
    parsed = parse((FIXTURES / name).read_bytes())
    [ic] = parsed.interchanges
    ack = acknowledge(ic)
    return ack.ta1, ["*".join(seg) for _, body in ack.acks for seg in body]


@pytest.mark.parametrize(
    ("name", "sets", "release"),
    [
        ("846_4010.x12", [("846", "0001", 10)], "4010"),
        ("846_5010.x12", [("846", "0701", 10)], "5010"),  # CR LF after each terminator
        ("850_4010.x12", [("850", "8001", 6)], "4010"),  # a newline as the terminator
        ("850_5010.x12", [("850", "0001", 10), ("850", "0002", 3)], "5010"),
        ("856_4010.x12", [("856", "0301", 12)], "4010"),
        ("856_5010.x12", [("856", "0401", 14)], "5010"),
        ("997_4010.x12", [("997", "5001", 8)], "4010"),
        ("997_5010.x12", [("997", "6001", 4)], "5010"),
    ],
)
def test_valid_fixtures_parse_without_a_problem(name, sets, release):
    parsed = parse((FIXTURES / name).read_bytes())
    assert parsed.all_problems() == []
    assert parsed.ok
    [ic] = parsed.interchanges
    assert ic.release == release
    [group] = ic.groups
    assert group.release == release
    assert [(s.code, s.control, len(s.segments)) for s in group.sets] == sets


def test_valid_groups_are_acknowledged_in_their_own_version():
    ta1, acks = _acks("846_4010.x12")
    assert ta1 is None
    assert acks == ["AK1*IB*101", "AK2*846*0001", "AK5*A", "AK9*A*1*1*1"]
    ta1, acks = _acks("850_5010.x12")
    assert ta1 == ["TA1", "000000202", "261128", "1405", "A", "000"]  # ISA14 = 1 asks for one
    assert acks == ["AK1*PO*202*005010", "AK2*850*0001", "AK5*A", "AK2*850*0002", "AK5*A", "AK9*A*2*2*2"]
    _, acks = _acks("856_5010.x12")
    assert acks[:2] == ["AK1*SH*404*005010VICS", "AK2*856*0401*005010VICS"]  # AK103 and AK203 in 5010


def test_997s_are_not_acknowledged():
    _, acks = _acks("997_4010.x12")
    assert acks == []


REJECTED_846 = ["AK1*IB*101", "AK2*846*0001", "AK5*R", "AK9*R*1*1*0"]


@pytest.mark.parametrize(
    ("name", "code", "ta1", "acks"),
    [
        (
            "se_count.x12",
            Code.se_segment_count,
            None,
            ["AK1*IB*101", "AK2*846*0001", "AK5*R*4", "AK9*R*1*1*0"],
        ),
        (
            "se_count_not_numeric.x12",
            Code.se_segment_count,
            None,
            ["AK1*IB*101", "AK2*846*0001", "AK5*R*4", "AK9*R*1*1*0"],
        ),
        (
            "st_se_control.x12",
            Code.set_control_mismatch,
            None,
            ["AK1*IB*101", "AK2*846*0001", "AK5*R*3", "AK9*R*1*1*0"],
        ),
        ("gs_ge_control.x12", Code.group_control_mismatch, None, [*REJECTED_846[:3], "AK9*R*1*1*0*4"]),
        ("gs_version.x12", Code.group_version_unsupported, None, [*REJECTED_846[:3], "AK9*R*1*1*0*2"]),
        ("isa_iea_control.x12", Code.isa_control_mismatch, "001", REJECTED_846),
        ("isa_date.x12", Code.isa_date, "014", REJECTED_846),
        ("unknown_qualifier.x12", Code.isa_sender_qualifier, "005", REJECTED_846),
        (
            "truncated.x12",
            Code.iea_missing,
            "023",
            ["AK1*IB*101", "AK2*846*0001", "AK5*R*2", "AK9*R*1*1*0*3"],
        ),
        (
            "bad_bytes_and_id.x12",
            Code.element_invalid_character,
            None,
            [
                "AK1*IB*101",
                "AK2*846*0001",
                "AK3*PID*5**8",
                "AK4*5**6",
                "AK3*Ctt*11**1",
                "AK5*R*5",
                "AK9*R*1*1*0",
            ],
        ),
    ],
)
def test_each_broken_file_yields_its_problem_and_exact_997_codes(name, code, ta1, acks):
    parsed = parse((FIXTURES / "broken" / name).read_bytes())
    assert not parsed.ok
    assert code in {p.code for p in parsed.all_problems()}
    got_ta1, got_acks = _acks(f"broken/{name}")
    assert (got_ta1[4:] if got_ta1 else None) == (["R", ta1] if ta1 else None)
    assert got_acks == acks


def test_problems_name_the_segment_position_and_element():
    parsed = parse((FIXTURES / "broken" / "st_se_control.x12").read_bytes())
    [problem] = parsed.all_problems()
    assert (problem.segment, problem.segment_id, problem.element, problem.line) == (14, "SE", 2, 14)
    assert "SE02 '0002' is not ST02 '0001'" in problem.message
    assert str(problem).startswith("segment 14 (SE) element 02, line 14:")


def test_a_truncated_interchange_reports_each_missing_trailer():
    parsed = parse((FIXTURES / "broken" / "truncated.x12").read_bytes())
    codes = [p.code for p in parsed.all_problems()]
    assert sorted(codes, key=lambda c: c.name) == [Code.ge_missing, Code.iea_missing, Code.se_missing]
    [ic] = parsed.interchanges
    assert ic.rejected
    assert [len(s.segments) for g in ic.groups for s in g.sets] == [6]  # BIA to DTM: kept up to the cut


def test_a_problem_found_by_a_set_map_is_acknowledged_in_ak3_and_ak4():
    parsed = parse((FIXTURES / "broken" / "qty_not_numeric.x12").read_bytes())
    assert parsed.ok  # the envelopes are fine: QTY02's type is the 846 map's to check
    [group] = parsed.interchanges[0].groups
    [tset] = group.sets
    qty = tset.segments[4]
    assert qty.tag == "QTY"
    tset.problems.append(
        Problem(
            Code.element_invalid_character,
            "QTY02 '12O' is not a number",
            qty.index,
            "QTY",
            2,
            set_position=6,
            element_ref="380",
            bad_value="12O",
        )
    )
    assert ["*".join(s) for s in build_997(group)] == [
        "AK1*IB*101",
        "AK2*846*0001",
        "AK3*QTY*6**8",
        "AK4*2*380*6*12O",
        "AK5*R*5",
        "AK9*R*1*1*0",
    ]


def test_a_warning_accepts_with_errors_noted():
    parsed = parse((FIXTURES / "850_5010.x12").read_bytes())
    [group] = parsed.interchanges[0].groups
    group.sets[1].problems.append(
        Problem(Code.element_invalid_code, "unknown unit", 30, "PO1", 3, set_position=3, fatal=False)
    )
    body = ["*".join(s) for s in build_997(group)]
    assert body[-3:] == ["AK4*3**7", "AK5*E*5", "AK9*E*2*2*2"]


def test_a_partly_rejected_group_is_p():
    data = (FIXTURES / "850_5010.x12").read_bytes().replace(b"SE|5|0002~", b"SE|6|0002~")
    [group] = parse(data).interchanges[0].groups
    assert ["*".join(s) for s in build_997(group)][-3:] == ["AK2*850*0002", "AK5*R*4", "AK9*P*2*2*1"]


def test_the_reader_streams_events_in_order_without_keeping_segments():
    data = (FIXTURES / "856_4010.x12").read_bytes()
    events = [(e, getattr(v, "tag", None)) for e, v in EnvelopeReader(io.BytesIO(data), chunk_size=16)]
    kinds = [e for e, _ in events]
    assert kinds[:3] == [Event.interchange, Event.group, Event.set]
    assert kinds[-3:] == [Event.set_end, Event.group_end, Event.interchange_end]
    assert kinds.count(Event.segment) == 12
    sets = [v for e, v in EnvelopeReader(data) if e is Event.set_end]
    assert sets[0].segments == []  # only `parse` keeps a set's body
    assert sets[0].count == 14


def test_duplicate_key_is_sender_and_control_number():
    a = parse((FIXTURES / "846_4010.x12").read_bytes()).interchanges[0]
    b = parse((FIXTURES / "broken" / "se_count.x12").read_bytes()).interchanges[0]
    c = parse((FIXTURES / "856_5010.x12").read_bytes()).interchanges[0]
    assert a.key == b.key == ("ZZ", "ACMESUPPLY", "101")
    assert c.key == ("ZZ", "ACMESUPPLY", "404")


def test_unsupported_sets_are_rejected_with_code_1():
    data = (FIXTURES / "850_5010.x12").read_bytes()
    [group] = parse(data, supported={"846"}).interchanges[0].groups
    assert ["*".join(s) for s in build_997(group)][-1] == "AK9*R*2*2*0"
    assert [s.problems[0].code for s in group.sets] == [Code.set_unsupported] * 2


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", Code.control_structure),
        (b"hello world", Code.control_structure),
    ],
)
def test_data_that_is_not_x12_is_a_problem_not_a_crash(data, code):
    parsed = parse(data)
    assert parsed.interchanges == []
    assert [p.code for p in parsed.problems] == [code]


def test_digits_other_than_ascii_are_not_numbers():
    data = (FIXTURES / "846_4010.x12").read_bytes()
    data = data.replace(b"GE*1*101~", "GE*\u00b9*\uff11\uff10\uff11~".encode()).replace(
        b"IEA*1*000000101", "IEA*1*00000010\u00b9".encode()
    )
    parsed = parse(data)
    codes = {p.code for p in parsed.all_problems()}
    assert {Code.ge_set_count, Code.group_control_mismatch, Code.isa_control_mismatch} <= codes
    [ic] = parsed.interchanges
    [(_, body)] = acknowledge(ic).acks
    assert body[-1] == ["AK9", "R", "1", "1", "0", "5", "4"]


def test_several_interchanges_in_one_file_and_one_without_its_iea():
    first = (FIXTURES / "846_4010.x12").read_bytes()
    second = (FIXTURES / "broken" / "se_count.x12").read_bytes().replace(b"000000101", b"000000102")
    parsed = parse(first + second)
    assert [ic.control for ic in parsed.interchanges] == ["000000101", "000000102"]
    assert [ic.rejected for ic in parsed.interchanges] == [False, False]
    assert parsed.interchanges[1].groups[0].sets[0].rejected
    cut = first.replace(b"IEA*1*000000101~\n", b"")
    parsed = parse(cut + second)
    ic1, ic2 = parsed.interchanges
    assert [p.code for p in ic1.problems] == [Code.iea_missing]
    assert ic1.problems[0].segment_id == "ISA" and ic1.problems[0].segment == 16  # the next ISA
    assert not ic2.rejected and len(ic2.groups[0].sets[0].segments) == 10


def test_stray_segments_outside_sets_and_after_the_last_iea_are_reported():
    data = (FIXTURES / "846_4010.x12").read_bytes()
    data = data.replace(b"ST*846*0001~", b"REF*ZZ*STRAY~\nST*846*0001~") + b"GS*IB*X~\n"
    parsed = parse(data)
    [ic] = parsed.interchanges
    assert [(p.code, p.segment_id) for p in ic.problems] == [(Code.control_structure, "REF")]
    assert [(p.code, p.segment_id) for p in parsed.problems] == [(Code.control_structure, "GS")]
    assert acknowledge(ic).ta1[4:] == ["R", "022"]
