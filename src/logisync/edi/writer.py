"""Writing X12: ISA/IEA, GS/GE and ST/SE around transaction-set bodies, with fresh control numbers.

`write_interchange` takes the sets to send to one partner, allocates the interchange, group and
set control numbers from a `ControlNumberSource` (the store's allocator commits them before a
byte is written, so a crash leaves a gap, never a reuse), groups the sets by functional id and
returns the bytes with the numbers it used (for tracking the 997s that should come back).
`serialize` does the formatting alone, for numbers already allocated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol

from .errors import X12Error
from .tokenizer import Delimiters

# ST01 -> GS01: the functional group each transaction set travels in
FUNCTIONAL_IDS = {
    "214": "QM",
    "810": "IN",
    "846": "IB",
    "850": "PO",
    "855": "PR",
    "856": "SH",
    "940": "OW",
    "943": "AR",
    "944": "RE",
    "945": "SW",
    "997": "FA",
}
ISA_VERSION = {"4010": "00401", "5010": "00501"}
GS_VERSION = {"4010": "004010", "5010": "005010"}
MAX_CONTROL = 999_999_999


class ControlNumberSource(Protocol):
    """Hands out control numbers, durably: a number handed out is never handed out again."""

    def allocate(self, partner: str, kind: str, count: int = 1) -> Sequence[int]: ...


@dataclass(frozen=True)
class Party:
    """An interchange party: ISA qualifier and id, and the id used in GS02/GS03."""

    qualifier: str  # ISA05/ISA07, e.g. ZZ, 01, 12
    id: str  # ISA06/ISA08, up to 15 characters
    group_id: str = ""  # GS02/GS03 (the ISA id when empty)


@dataclass(frozen=True)
class Envelope:
    """How to envelope for one partner."""

    partner: str  # the partner's system name: control numbers are counted per partner
    sender: Party  # us
    receiver: Party  # the partner
    release: str = "5010"  # 4010 or 5010
    delimiters: Delimiters = field(default_factory=lambda: Delimiters(suffix="\n"))
    usage: str = "P"  # ISA15: P production, T test
    ack_requested: bool = False  # ISA14: ask for a TA1
    version: str = ""  # GS08 (default 004010 / 005010); 5010 guides add their X-suffix here


@dataclass
class OutboundSet:
    """A transaction set to send: its id and body (segments between ST and SE)."""

    code: str  # ST01
    segments: list[list[str]]
    convention: str = ""  # ST03 in 5010 (an implementation guide's reference), if any


@dataclass(frozen=True)
class WrittenGroup:
    functional_id: str
    control: int
    sets: list[tuple[str, str]]  # (ST01, ST02)


@dataclass(frozen=True)
class Written:
    """An interchange as bytes, with the control numbers it carries."""

    data: bytes
    control: int
    groups: list[WrittenGroup]


def _check(value: str, where: str, delimiters: Delimiters) -> str:
    forbidden = {delimiters.element, delimiters.component, delimiters.segment}
    if delimiters.repetition:
        forbidden.add(delimiters.repetition)
    clash = forbidden.intersection(value)
    if clash:
        raise X12Error(
            f"{where} {value!r} contains the delimiter {''.join(sorted(clash))!r}: change the value or "
            "the partner's delimiters",
            code="delimiter_in_data",
        )
    return value


def _segment(elements: Sequence[str], delimiters: Delimiters, where: str) -> str:
    if not elements or not elements[0]:
        raise X12Error(f"{where}: a segment without an id", code="bad_segment")
    tag = elements[0]
    checked = [_check(str(v), f"{where} {tag}{i:02d}", delimiters) for i, v in enumerate(elements)]
    while len(checked) > 1 and checked[-1] == "":
        checked.pop()  # trailing empty elements are not written
    return delimiters.element.join(checked) + delimiters.segment + delimiters.suffix


def _pad(value: str, width: int, what: str) -> str:
    if len(value) > width:
        raise X12Error(f"{what} {value!r} is longer than {width} characters", code="bad_envelope")
    return value.ljust(width)


def _control(number: int, kind: str) -> int:
    if not 1 <= number <= MAX_CONTROL:
        raise X12Error(f"the {kind} control number {number} is outside 1..{MAX_CONTROL}", code="bad_control")
    return number


def serialize(
    envelope: Envelope,
    interchange_control: int,
    groups: Sequence[tuple[int, Sequence[tuple[int, OutboundSet]]]],
    at: datetime,
    *,
    ta1: Sequence[str] | None = None,
) -> Written:
    """The interchange's bytes: `groups` is [(GS06, [(ST02, set), ...]), ...], sets of one functional id
    each; a `ta1` segment (see `ack.build_ta1`) goes right after the ISA, before any group."""
    d = envelope.delimiters
    problem = d.check()
    if problem:
        raise X12Error(f"the partner's delimiters cannot be used: {problem}", code="bad_delimiters")
    if envelope.release not in ISA_VERSION:
        raise X12Error(f"release {envelope.release!r} is not 4010 or 5010", code="bad_envelope")
    if envelope.release == "4010" and d.repetition is not None:
        d = Delimiters(d.element, d.component, None, d.segment, d.suffix)
    if envelope.release == "5010" and d.repetition is None:
        raise X12Error("a 5010 interchange needs a repetition separator (ISA11)", code="bad_delimiters")
    if envelope.usage not in ("P", "T"):
        raise X12Error(f"ISA15 {envelope.usage!r} is not P or T", code="bad_envelope")
    isa_control = _control(interchange_control, "interchange")
    s, r = envelope.sender, envelope.receiver
    isa = [
        "ISA",
        "00",
        " " * 10,
        "00",
        " " * 10,
        _pad(s.qualifier, 2, "ISA05"),
        _pad(s.id, 15, "ISA06"),
        _pad(r.qualifier, 2, "ISA07"),
        _pad(r.id, 15, "ISA08"),
        at.strftime("%y%m%d"),
        at.strftime("%H%M"),
        d.repetition if d.repetition is not None else "U",
        ISA_VERSION[envelope.release],
        f"{isa_control:09d}",
        "1" if envelope.ack_requested else "0",
        envelope.usage,
    ]
    for n in (5, 6, 7, 8):
        _check(isa[n], f"ISA{n:02d}", d)
    # the ISA keeps its blank padding: written as is, ISA16 the component separator
    parts = [d.element.join([*isa, d.component]) + d.segment + d.suffix]
    if ta1 is not None:
        if not ta1 or ta1[0] != "TA1":
            raise X12Error(f"{list(ta1)!r} is not a TA1 segment", code="bad_envelope")
        parts.append(_segment(ta1, d, "TA1"))
    if not groups and ta1 is None:
        raise X12Error("an interchange needs at least one group or a TA1", code="bad_envelope")
    version = envelope.version or GS_VERSION[envelope.release]
    written: list[WrittenGroup] = []
    for gs_control, sets in groups:
        _control(gs_control, "group")
        if not sets:
            raise X12Error("a functional group needs at least one transaction set", code="bad_envelope")
        codes = {tset.code for _, tset in sets}
        functional = {FUNCTIONAL_IDS.get(code, "") for code in codes}
        if len(functional) != 1 or "" in functional:
            raise X12Error(
                f"the sets {sorted(codes)} do not share one known functional id", code="bad_envelope"
            )
        fid = functional.pop()
        gs = [
            "GS",
            fid,
            s.group_id or s.id,
            r.group_id or r.id,
            at.strftime("%Y%m%d"),
            at.strftime("%H%M"),
            str(gs_control),
            "X",
            version,
        ]
        parts.append(_segment(gs, d, "GS"))
        done: list[tuple[str, str]] = []
        for st_control, tset in sets:
            control = f"{_control(st_control, 'set'):04d}"
            st = ["ST", tset.code, control]
            if envelope.release == "5010" and tset.convention:
                st.append(tset.convention)
            parts.append(_segment(st, d, "ST"))
            for i, body in enumerate(tset.segments, start=2):
                parts.append(_segment(body, d, f"set {tset.code} {control} segment {i}"))
            parts.append(_segment(["SE", str(len(tset.segments) + 2), control], d, "SE"))
            done.append((tset.code, control))
        parts.append(_segment(["GE", str(len(sets)), str(gs_control)], d, "GE"))
        written.append(WrittenGroup(fid, gs_control, done))
    parts.append(_segment(["IEA", str(len(groups)), f"{isa_control:09d}"], d, "IEA"))
    return Written("".join(parts).encode("utf-8"), isa_control, written)


def write_interchange(
    envelope: Envelope,
    sets: Sequence[OutboundSet],
    numbers: ControlNumberSource,
    *,
    at: datetime | None = None,
    ta1: Sequence[str] | None = None,
) -> Written:
    """One interchange for `sets` (one group per functional id, in order of first appearance),
    with control numbers allocated for `envelope.partner` before anything is formatted; `ta1`
    (see `ack.build_ta1`) is written before the groups, and may be all the interchange holds."""
    if not sets and ta1 is None:
        raise X12Error("an interchange needs at least one transaction set or a TA1", code="bad_envelope")
    by_fid: dict[str, list[OutboundSet]] = {}
    for tset in sets:
        fid = FUNCTIONAL_IDS.get(tset.code)
        if fid is None:
            raise X12Error(
                f"the transaction set {tset.code!r} has no known functional id "
                f"(known: {', '.join(sorted(FUNCTIONAL_IDS))})",
                code="bad_envelope",
            )
        by_fid.setdefault(fid, []).append(tset)
    [isa] = numbers.allocate(envelope.partner, "interchange", 1)
    groups: list[tuple[int, Sequence[tuple[int, OutboundSet]]]] = []
    if sets:
        gs_numbers = numbers.allocate(envelope.partner, "group", len(by_fid))
        st_numbers = iter(numbers.allocate(envelope.partner, "set", len(sets)))
        groups = [
            (gs, [(next(st_numbers), t) for t in group])
            for gs, group in zip(gs_numbers, by_fid.values(), strict=True)
        ]
    return serialize(envelope, isa, groups, at or datetime.now(UTC), ta1=ta1)
