"""The writer: valid envelopes (fixed-width ISA, counts, control numbers) that the reader accepts."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logisync.edi.ack import acknowledge, build_997, read_997
from logisync.edi.envelope import parse
from logisync.edi.errors import X12Error
from logisync.edi.tokenizer import Delimiters
from logisync.edi.writer import FUNCTIONAL_IDS, Envelope, OutboundSet, Party, serialize, write_interchange

AT = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
US = Party("ZZ", "LOGISYNCHUB")
ACME = Party("01", "123456789", group_id="ACMEGS")


class Counter:
    """An in-memory ControlNumberSource (the store's is tested in tests/integration)."""

    def __init__(self) -> None:
        self.last: dict[tuple[str, str], int] = {}

    def allocate(self, partner: str, kind: str, count: int = 1) -> list[int]:
        start = self.last.get((partner, kind), 0)
        self.last[(partner, kind)] = start + count
        return list(range(start + 1, start + count + 1))


def _846(n: int) -> OutboundSet:
    body = [["BIA", "00", "SI", f"INV{n}", "20261128"]]
    for i in range(n):
        body += [["LIN", "", "VN", f"SKU-{i}"], ["QTY", "33", str(i), "EA"]]
    return OutboundSet("846", body)


@pytest.mark.parametrize("release", ["4010", "5010"])
def test_written_interchanges_parse_clean_with_their_numbers(release):
    numbers = Counter()
    env = Envelope("acme", US, ACME, release=release)
    written = write_interchange(
        env, [_846(2), OutboundSet("856", [["BSN", "00", "S1", "20261128", "0930"]]), _846(1)], numbers, at=AT
    )
    data = written.data
    assert data[:106].count(b"*") == 16 and data[105:106] == b"~"  # the ISA is 106 characters
    parsed = parse(data)
    assert parsed.all_problems() == []
    [ic] = parsed.interchanges
    assert ic.release == release
    assert (ic.control, ic.sender, ic.receiver) == ("000000001", "LOGISYNCHUB", "123456789")
    assert [(g.functional_id, g.control, g.sender, g.receiver) for g in ic.groups] == [
        ("IB", "1", "LOGISYNCHUB", "ACMEGS"),
        ("SH", "2", "LOGISYNCHUB", "ACMEGS"),
    ]
    assert [[(s.code, s.control) for s in g.sets] for g in ic.groups] == [
        [("846", "0001"), ("846", "0002")],
        [("856", "0003")],
    ]
    assert [(g.functional_id, g.control, g.sets) for g in written.groups] == [
        ("IB", 1, [("846", "0001"), ("846", "0002")]),
        ("SH", 2, [("856", "0003")]),
    ]
    again = write_interchange(env, [_846(1)], numbers, at=AT)
    assert again.control == 2 and again.groups[0].control == 3 and again.groups[0].sets == [("846", "0004")]


def test_numbers_are_counted_per_partner():
    numbers = Counter()
    a = write_interchange(Envelope("acme", US, ACME), [_846(1)], numbers, at=AT)
    b = write_interchange(Envelope("zenith", US, ACME), [_846(1)], numbers, at=AT)
    assert a.control == b.control == 1


def test_a_value_holding_a_delimiter_is_refused_not_written():
    with pytest.raises(X12Error, match=r"BIA03 'INV\*1' contains the delimiter '\*'"):
        write_interchange(
            Envelope("acme", US, ACME), [OutboundSet("846", [["BIA", "00", "SI", "INV*1"]])], Counter(), at=AT
        )


def test_a_set_without_a_functional_id_is_refused():
    with pytest.raises(X12Error, match="'123' has no known functional id"):
        write_interchange(Envelope("acme", US, ACME), [OutboundSet("123", [["X1"]])], Counter(), at=AT)


def test_an_id_longer_than_its_isa_width_is_refused():
    with pytest.raises(X12Error, match="ISA06"):
        serialize(Envelope("acme", Party("ZZ", "X" * 16), ACME), 1, [(1, [(1, _846(1))])], AT)


def test_a_997_for_an_inbound_group_is_written_and_read_back():
    inbound = parse(
        write_interchange(
            Envelope("acme", ACME, US, release="4010"), [_846(2), _846(1)], Counter(), at=AT
        ).data
    )
    [ic] = inbound.interchanges
    [group] = ic.groups
    ack = acknowledge(ic)
    [(acked, body)] = ack.acks
    assert acked is group
    out = write_interchange(
        Envelope("acme", US, ACME, release=group.release), [OutboundSet("997", body)], Counter(), at=AT
    )
    parsed = parse(out.data)
    assert parsed.all_problems() == []
    response = read_997(parsed.interchanges[0].groups[0].sets[0])
    assert (response.functional_id, response.control, response.status) == ("IB", group.control, "A")
    assert [(s.control, s.accepted) for s in response.sets] == [("0001", True), ("0002", True)]
    assert response.problems == []


def test_reading_a_partners_997_with_a_rejected_set():
    data = (Path(__file__).parents[2] / "fixtures" / "x12" / "997_4010.x12").read_bytes()
    [tset] = parse(data).interchanges[0].groups[0].sets
    response = read_997(tset)
    assert (response.control, response.status, response.included, response.received, response.accepted) == (
        "7001",
        "P",
        2,
        2,
        1,
    )
    assert [(s.control, s.status, s.codes) for s in response.sets] == [
        ("0001", "A", []),
        ("0002", "R", ["5"]),
    ]
    [rejected] = response.rejected_sets
    assert [(e.segment_id, e.position, e.code, e.elements) for e in rejected.errors] == [
        ("QTY", 5, "8", [("2", "380", "6")])
    ]


def test_a_malformed_997_says_what_it_lacks():
    data = (
        b"ISA*00*          *00*          *ZZ*A              *ZZ*B              *261128*1010*U*00401*000000001*0*P*>~"
        b"GS*FA*A*B*20261128*1010*1*X*004010~ST*997*0001~AK2*846*0001~AK3*QTY*x**8~SE*4*0001~GE*1*1~IEA*1*000000001~"
    )
    response = read_997(parse(data).interchanges[0].groups[0].sets[0])
    assert response.problems == [
        "AK302 'x' is not a number",
        "the 997 has no AK1 naming the group it acknowledges",
        "the 997 has no AK9 with the group's response",
        "the AK2 for set '0001' has no AK5",
        "AK901 '' is not a group response code",
    ]


_text = st.text(
    alphabet=st.characters(min_codepoint=32, max_codepoint=0x24F, exclude_characters="*:^~|>{!'\\"),
    max_size=12,
)
_segment = st.tuples(
    st.sampled_from(["LIN", "QTY", "REF", "N1", "PID", "DTM"]), st.lists(_text, min_size=1, max_size=6)
).map(lambda t: [t[0], *t[1]])
_delimiters = st.sampled_from(
    [
        Delimiters(),
        Delimiters(suffix="\n"),
        Delimiters("|", ">", "^", "~", "\r\n"),
        Delimiters("*", ":", "{", "!", ""),
    ]
)


@settings(max_examples=150, deadline=None)
@given(
    bodies=st.lists(
        st.tuples(st.sampled_from(["846", "850", "856", "855", "997"]), st.lists(_segment, max_size=8)),
        min_size=1,
        max_size=5,
    ),
    delimiters=_delimiters,
    release=st.sampled_from(["4010", "5010"]),
    chunk=st.integers(min_value=1, max_value=300),
)
def test_serialize_then_parse_round_trips(bodies, delimiters, release, chunk):
    sets = [OutboundSet(code, body) for code, body in bodies]
    env = Envelope("p", US, ACME, release=release, delimiters=delimiters)
    written = write_interchange(env, sets, Counter(), at=AT)
    parsed = parse([written.data[i : i + chunk] for i in range(0, len(written.data), chunk)])
    assert parsed.all_problems() == []
    [ic] = parsed.interchanges
    read = [(s.code, [seg.elements for seg in s.segments]) for g in ic.groups for s in g.sets]
    # the writer drops trailing empty elements; the sets come back grouped by functional id
    expected_by_group: dict[str, list] = {}
    for t in sets:
        trimmed = []
        for seg in t.segments:
            seg = list(seg)
            while len(seg) > 1 and seg[-1] == "":
                seg.pop()
            trimmed.append(seg)
        expected_by_group.setdefault(FUNCTIONAL_IDS[t.code], []).append((t.code, trimmed))
    assert read == [item for group in expected_by_group.values() for item in group]
    for group in ic.groups:
        assert ["*".join(s) for s in build_997(group)][-1].startswith("AK9*A")


def test_the_answer_to_a_broken_interchange_carries_its_ta1_and_997_and_reads_back():
    data = (Path(__file__).parents[2] / "fixtures" / "x12" / "broken" / "truncated.x12").read_bytes()
    [ic] = parse(data).interchanges
    ack = acknowledge(ic)
    [(group, body)] = ack.acks
    env = Envelope("acme", US, ACME, release=group.release)
    out = write_interchange(env, [OutboundSet("997", body)], Counter(), at=AT, ta1=ack.ta1)
    lines = out.data.decode().splitlines()
    assert lines[1] == "TA1*000000101*261128*0930*R*023~"
    assert lines[2].startswith("GS*FA*")
    parsed = parse(out.data)
    assert parsed.all_problems() == []
    [back] = parsed.interchanges
    assert [seg.elements for seg in back.ta1] == [ack.ta1]
    response = read_997(back.groups[0].sets[0])
    assert (response.control, response.status, response.codes) == ("101", "R", ["3"])
    assert [(s.control, s.status, s.codes) for s in response.sets] == [("0001", "R", ["2"])]


def test_an_interchange_may_hold_only_a_ta1_but_not_nothing():
    numbers = Counter()
    out = write_interchange(
        Envelope("acme", US, ACME), [], numbers, at=AT, ta1=["TA1", "000000007", "261128", "0930", "A", "000"]
    )
    [ic] = parse(out.data).interchanges
    assert ic.groups == [] and ic.problems == [] and ic.ta1[0][4] == "A"
    assert numbers.last == {("acme", "interchange"): 1}  # no group or set number spent
    with pytest.raises(X12Error, match="at least one transaction set or a TA1"):
        write_interchange(Envelope("acme", US, ACME), [], numbers, at=AT)
