"""X12 envelopes: ISA/IEA, GS/GE and ST/SE read into Interchange > FunctionalGroup > TransactionSet.

`EnvelopeReader` walks the segments once and yields events (an envelope opened, a body segment,
an envelope closed), so a mapper can stream a set of any size; `parse` collects the events into
a tree for files that fit in memory. Neither raises on bad input: every problem (counts, control
numbers, widths, qualifiers, dates, a missing trailer, a file cut short) is a `Problem` on the
envelope it belongs to, with the segment's position and the element's.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass, field
from enum import Enum
from typing import BinaryIO

from .problems import Code, Level, Problem
from .tokenizer import Delimiters, Segment, Tokenizer

# ISA01..ISA16 widths, and the codes the fixed elements may take
ISA_WIDTHS = (2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1)
AUTHORIZATION_QUALIFIERS = frozenset({"00", "01", "02", "03", "04", "05", "06"})
SECURITY_QUALIFIERS = frozenset({"00", "01"})
# ISA05/ISA07 interchange id qualifiers (X12 code list I05)
ID_QUALIFIERS = frozenset({f"{n:02d}" for n in (1, 2, 3, 4, *range(7, 39))} | {"AM", "NR", "SA", "SN", "ZZ"})
VERSIONS = {"00401": "4010", "00501": "5010"}
GROUP_VERSIONS = {"004010": "4010", "005010": "5010"}
_SEGMENT_ID = re.compile(r"[A-Z][A-Z0-9]{1,2}")
_DIGITS = re.compile(r"[0-9]+")


class Event(Enum):
    interchange = "interchange"  # an ISA was read: the Interchange, header only
    group = "group"  # a GS
    set = "set"  # an ST
    segment = "segment"  # a segment inside a set (the Segment)
    set_end = "set_end"  # the set is complete: its trailer and problems are known
    group_end = "group_end"
    interchange_end = "interchange_end"


@dataclass(eq=False)
class TransactionSet:
    header: Segment  # ST
    segments: list[Segment] = field(default_factory=list)  # between ST and SE (kept by `parse`)
    trailer: Segment | None = None  # SE
    problems: list[Problem] = field(default_factory=list)
    count: int = 0  # segments read from ST to SE inclusive

    @property
    def code(self) -> str:
        return self.header[1]  # ST01: 846, 850, ...

    @property
    def control(self) -> str:
        return self.header[2]  # ST02

    @property
    def convention(self) -> str:
        return self.header[3]  # ST03, 5010's implementation convention reference

    @property
    def rejected(self) -> bool:
        return any(p.fatal for p in self.problems)


@dataclass(eq=False)
class FunctionalGroup:
    header: Segment  # GS
    sets: list[TransactionSet] = field(default_factory=list)
    trailer: Segment | None = None  # GE
    problems: list[Problem] = field(default_factory=list)
    set_count: int = 0  # sets read (also when `parse` keeps none)

    @property
    def functional_id(self) -> str:
        return self.header[1]  # GS01: IB, PO, SH, FA, ...

    @property
    def sender(self) -> str:
        return self.header[2]

    @property
    def receiver(self) -> str:
        return self.header[3]

    @property
    def control(self) -> str:
        return self.header[6]  # GS06

    @property
    def version(self) -> str:
        return self.header[8]  # GS08: 004010, 005010X..., ...

    @property
    def release(self) -> str:
        """`4010` or `5010` (or "" for a version the engine does not read)."""
        return GROUP_VERSIONS.get(self.version[:6], "")

    @property
    def rejected(self) -> bool:
        return any(p.fatal for p in self.problems)


@dataclass(eq=False)
class Interchange:
    header: Segment  # ISA
    delimiters: Delimiters
    groups: list[FunctionalGroup] = field(default_factory=list)
    trailer: Segment | None = None  # IEA
    problems: list[Problem] = field(default_factory=list)
    group_count: int = 0

    @property
    def sender_qualifier(self) -> str:
        return self.header[5]

    @property
    def sender(self) -> str:
        return self.header[6].rstrip()

    @property
    def receiver_qualifier(self) -> str:
        return self.header[7]

    @property
    def receiver(self) -> str:
        return self.header[8].rstrip()

    @property
    def date(self) -> str:
        return self.header[9]

    @property
    def time(self) -> str:
        return self.header[10]

    @property
    def release(self) -> str:
        return VERSIONS.get(self.header[12], "")

    @property
    def control(self) -> str:
        return self.header[13]  # ISA13

    @property
    def ack_requested(self) -> bool:
        return self.header[14] == "1"  # a TA1 is asked for

    @property
    def usage(self) -> str:
        return self.header[15]  # P production, T test

    @property
    def key(self) -> tuple[str, str, str]:
        """What identifies an interchange for duplicate detection: sender qualifier, sender id, ISA13."""
        return duplicate_key(self)

    @property
    def rejected(self) -> bool:
        """An envelope error rejects the whole interchange (answered in a TA1, nothing applied)."""
        return any(p.fatal for p in self.problems)


def duplicate_key(interchange: Interchange) -> tuple[str, str, str]:
    """(ISA05, ISA06 without its padding, ISA13 as a number): the same key means the same interchange
    sent again. The control number is compared as a number, so 000000042 and 42 are one."""
    control = interchange.control.strip()
    return (
        interchange.sender_qualifier.strip(),
        interchange.sender,
        str(int(control)) if is_number(control) else control,
    )


def _problem(code: Code, seg: Segment, message: str, element: int | None = None, **extra: object) -> Problem:
    return Problem(
        code,
        message,
        seg.index,
        seg.tag,
        element,
        seg.line,
        seg.offset,
        **extra,  # type: ignore[arg-type]
    )


def is_number(text: str) -> bool:
    """ASCII digits only (`str.isdigit` also accepts ² and other digits `int` refuses)."""
    return text.isascii() and text.isdigit()


def _same_number(a: str, b: str) -> bool:
    a, b = a.strip(), b.strip()
    if is_number(a) and is_number(b):
        return int(a) == int(b)
    return a == b


def valid_date(text: str) -> bool:
    """YYMMDD or CCYYMMDD, a real calendar day."""
    if not (len(text) in (6, 8) and text.isascii() and text.isdigit()):
        return False
    year = int(text[:-4]) if len(text) == 8 else 2000 + int(text[:2])
    month, day = int(text[-4:-2]), int(text[-2:])
    if not 1 <= month <= 12 or day < 1:
        return False
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    days = (31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)[month - 1]
    return day <= days


def valid_time(text: str) -> bool:
    """HHMM, HHMMSS or HHMMSSd..d."""
    if not (len(text) in (4, 6) or 7 <= len(text) <= 8) or not (text.isascii() and text.isdigit()):
        return False
    hours, minutes = int(text[:2]), int(text[2:4])
    seconds = int(text[4:6]) if len(text) >= 6 else 0
    return hours < 24 and minutes < 60 and seconds < 60


def check_isa(seg: Segment, delimiters: Delimiters) -> list[Problem]:
    """The ISA's fixed widths and code values (each wrong element answered by its TA1 note code)."""
    found: list[Problem] = []
    if len(seg) != 16:
        found.append(_problem(Code.control_structure, seg, f"the ISA has {len(seg)} elements, not 16"))
        return found
    codes = (
        Code.isa_authorization_qualifier,
        Code.isa_authorization,
        Code.isa_security_qualifier,
        Code.isa_security,
        Code.isa_sender_qualifier,
        Code.isa_sender_id,
        Code.isa_receiver_qualifier,
        Code.isa_receiver_id,
        Code.isa_date,
        Code.isa_time,
        Code.isa_standard_unsupported,
        Code.isa_version_unsupported,
        Code.isa_control_number,
        Code.isa_ack_requested,
        Code.isa_usage,
        Code.isa_component_separator,
    )
    for n, (width, code) in enumerate(zip(ISA_WIDTHS, codes, strict=True), start=1):
        value = seg[n]
        if len(value) != width:
            found.append(
                _problem(code, seg, f"ISA{n:02d} is {len(value)} characters wide, not {width}: {value!r}", n)
            )

    def bad(n: int, code: Code, what: str) -> None:
        found.append(_problem(code, seg, f"ISA{n:02d} {seg[n]!r} {what}", n, bad_value=seg[n]))

    if seg[1] not in AUTHORIZATION_QUALIFIERS:
        bad(1, Code.isa_authorization_qualifier, "is not an authorization qualifier (00-06)")
    if seg[3] not in SECURITY_QUALIFIERS:
        bad(3, Code.isa_security_qualifier, "is not a security qualifier (00 or 01)")
    if seg[5] not in ID_QUALIFIERS:
        bad(5, Code.isa_sender_qualifier, "is not an interchange id qualifier (01-38, AM, NR, SA, SN, ZZ)")
    if not seg[6].strip():
        bad(6, Code.isa_sender_id, "is blank: the sender id is required")
    if seg[7] not in ID_QUALIFIERS:
        bad(7, Code.isa_receiver_qualifier, "is not an interchange id qualifier (01-38, AM, NR, SA, SN, ZZ)")
    if not seg[8].strip():
        bad(8, Code.isa_receiver_id, "is blank: the receiver id is required")
    if not valid_date(seg[9]) or len(seg[9]) != 6:
        bad(9, Code.isa_date, "is not a date YYMMDD")
    if not valid_time(seg[10]) or len(seg[10]) != 4:
        bad(10, Code.isa_time, "is not a time HHMM")
    version = seg[12]
    if version not in VERSIONS:
        bad(12, Code.isa_version_unsupported, "is not a version this engine reads (00401 or 00501)")
    elif version == "00401" and seg[11] != "U":
        bad(11, Code.isa_standard_unsupported, "is not U, the only standards identifier of 4010")
    elif version == "00501" and delimiters.repetition is None:
        bad(11, Code.isa_standard_unsupported, "is not a repetition separator")
    if not (len(seg[13]) == 9 and _DIGITS.fullmatch(seg[13])):
        bad(13, Code.isa_control_number, "is not a control number of 9 digits")
    if seg[14] not in ("0", "1"):
        bad(14, Code.isa_ack_requested, "is not 0 or 1")
    if seg[15] not in ("P", "T"):
        bad(15, Code.isa_usage, "is not P (production) or T (test)")
    # a width error and a value error on the same element say the same thing once
    seen: set[tuple[Code, int | None]] = set()
    unique = []
    for p in found:
        if (p.code, p.element) not in seen:
            seen.add((p.code, p.element))
            unique.append(p)
    return unique


def check_gs(seg: Segment) -> list[Problem]:
    found: list[Problem] = []
    if len(seg) < 8:
        found.append(_problem(Code.gs_invalid, seg, f"the GS has {len(seg)} elements, not 8"))
        return found
    if not seg[1].isalpha() or len(seg[1]) != 2:
        found.append(_problem(Code.group_unsupported, seg, f"GS01 {seg[1]!r} is not a functional id code", 1))
    for n in (2, 3):
        if not 2 <= len(seg[n]) <= 15:
            found.append(
                _problem(Code.gs_invalid, seg, f"GS{n:02d} {seg[n]!r} is not an id of 2-15 characters", n)
            )
    if len(seg[4]) != 8 or not valid_date(seg[4]):
        found.append(_problem(Code.gs_invalid, seg, f"GS04 {seg[4]!r} is not a date CCYYMMDD", 4))
    if not valid_time(seg[5]):
        found.append(_problem(Code.gs_invalid, seg, f"GS05 {seg[5]!r} is not a time HHMM[SS[dd]]", 5))
    if not (1 <= len(seg[6]) <= 9 and _DIGITS.fullmatch(seg[6])):
        found.append(
            _problem(
                Code.group_control_number, seg, f"GS06 {seg[6]!r} is not a control number of 1-9 digits", 6
            )
        )
    if seg[7] not in ("X", "T"):
        found.append(
            _problem(
                Code.group_unsupported,
                seg,
                f"GS07 {seg[7]!r} is not X (Accredited Standards Committee X12)",
                7,
            )
        )
    if seg[8][:6] not in GROUP_VERSIONS:
        found.append(
            _problem(
                Code.group_version_unsupported, seg, f"GS08 {seg[8]!r} is not a 004010 or 005010 version", 8
            )
        )
    return found


class EnvelopeReader:
    """Walks X12 data once, checking the envelopes; iterate it for `(Event, value)` pairs.

    `problems` holds what belongs to no interchange (no ISA at all, data after the last IEA).
    `supported`, when given, lists the transaction sets the receiver accepts (ST01 values);
    any other set is rejected with AK5 code 1.
    """

    def __init__(
        self,
        source: bytes | BinaryIO | Iterable[bytes],
        *,
        supported: Collection[str] | None = None,
        chunk_size: int = 1 << 20,
    ) -> None:
        self.tokenizer = Tokenizer(source, chunk_size)
        self.supported = supported
        self.problems: list[Problem] = []

    def __iter__(self) -> Iterator[tuple[Event, object]]:
        ic: Interchange | None = None
        group: FunctionalGroup | None = None
        tset: TransactionSet | None = None
        controls: set[str] = set()  # ST02s of the open group
        last: Segment | None = None
        good_ids: set[str] = set()  # body segment ids already checked
        for seg in self.tokenizer.read(strict=False):
            last = seg
            tag = seg.elements[0]
            if tset is not None and tag not in _ENVELOPE:
                tset.count += 1
                if tag not in good_ids or seg.unreadable:
                    if _SEGMENT_ID.fullmatch(tag) and not seg.unreadable:
                        good_ids.add(tag)
                    else:
                        _check_body(tset, seg)
                yield Event.segment, seg
                continue
            if tag == "ISA":
                if ic is not None:
                    yield from self._close(ic, group, tset, seg, "ISA")
                    yield Event.interchange_end, ic
                    group = tset = None
                assert self.tokenizer.delimiters is not None
                ic = Interchange(seg, self.tokenizer.delimiters)
                ic.problems.extend(check_isa(seg, ic.delimiters))
                if seg.index > 1 and seg[16] != ic.delimiters.component:
                    ic.problems.append(
                        _problem(
                            Code.isa_component_separator,
                            seg,
                            "this ISA declares other delimiters than the file's first ISA: "
                            "send interchanges with other delimiters in files of their own",
                            16,
                        )
                    )
                yield Event.interchange, ic
            elif ic is None:
                self.problems.append(
                    _problem(
                        Code.control_structure, seg, f"a {tag or 'empty'} segment outside any interchange"
                    )
                )
            elif tag == "IEA":
                yield from self._close(ic, group, tset, seg, "IEA")
                _check_iea(ic, seg)
                ic.trailer = seg
                yield Event.interchange_end, ic
                ic = group = tset = None
            elif tag == "GS":
                if group is not None:
                    yield from self._close_group(group, tset, seg, "GS")
                    tset = None
                group = FunctionalGroup(seg)
                controls = set()
                ic.group_count += 1
                group.problems.extend(check_gs(seg))
                for p in list(group.problems):
                    if p.code.level is Level.interchange:
                        ic.problems.append(p)
                yield Event.group, group
            elif group is None:
                ic.problems.append(
                    _problem(
                        Code.control_structure,
                        seg,
                        f"a {tag or 'empty'} segment outside any functional group",
                    )
                )
            elif tag == "GE":
                if tset is not None:
                    yield from self._close_set(tset, seg, "GE")
                    tset = None
                _check_ge(group, seg)
                group.trailer = seg
                yield Event.group_end, group
                group = None
            elif tag == "ST":
                if tset is not None:
                    yield from self._close_set(tset, seg, "another ST")
                tset = TransactionSet(seg, count=1)
                group.set_count += 1
                _check_st(tset, group, controls, self.supported)
                yield Event.set, tset
            elif tag == "SE":
                if tset is None:
                    ic.problems.append(_problem(Code.control_structure, seg, "an SE without its ST"))
                    continue
                tset.count += 1
                tset.trailer = seg
                _check_se(tset, seg)
                yield Event.set_end, tset
                tset = None
            else:
                ic.problems.append(
                    _problem(
                        Code.control_structure,
                        seg,
                        f"a {tag or 'empty'} segment between sets: every segment of a group belongs in an ST/SE",
                    )
                )
        exc = self.tokenizer.error
        if exc is not None:
            where = Segment([""], exc.index, exc.offset, exc.line)
            if ic is None:
                self.problems.append(_problem(Code.control_structure, where, exc.message))
            else:
                ic.problems.append(_problem(Code.iea_missing, where, exc.message))
        if ic is not None:
            end = last or Segment([""])
            yield from self._close(ic, group, tset, end, "the end of the file")
            yield Event.interchange_end, ic

    def _close_set(self, tset: TransactionSet, seg: Segment, by: str) -> Iterator[tuple[Event, object]]:
        tset.problems.append(
            Problem(
                Code.se_missing,
                f"the set {tset.code} {tset.control!r} (from segment {tset.header.index}) has no SE before {by}",
                seg.index,
                seg.tag,
                None,
                seg.line,
                seg.offset,
            )
        )
        yield Event.set_end, tset

    def _close_group(
        self, group: FunctionalGroup, tset: TransactionSet | None, seg: Segment, by: str
    ) -> Iterator[tuple[Event, object]]:
        if tset is not None:
            yield from self._close_set(tset, seg, by)
        group.problems.append(
            Problem(
                Code.ge_missing,
                f"the group {group.control!r} (from segment {group.header.index}) has no GE before {by}",
                seg.index,
                seg.tag,
                None,
                seg.line,
                seg.offset,
            )
        )
        yield Event.group_end, group

    def _close(
        self,
        ic: Interchange,
        group: FunctionalGroup | None,
        tset: TransactionSet | None,
        seg: Segment,
        by: str,
    ) -> Iterator[tuple[Event, object]]:
        if group is not None:
            yield from self._close_group(group, tset, seg, by)
        if by != "IEA" and not any(p.code is Code.iea_missing for p in ic.problems):
            ic.problems.append(
                _problem(Code.iea_missing, seg, f"the interchange {ic.control!r} has no IEA before {by}")
            )


_ENVELOPE = frozenset({"ISA", "IEA", "GS", "GE", "ST", "SE"})


def _check_body(tset: TransactionSet, seg: Segment) -> None:
    position = tset.count
    if not _SEGMENT_ID.fullmatch(seg.tag):
        tset.problems.append(
            _problem(
                Code.segment_unrecognized,
                seg,
                f"{seg.tag!r} is not a segment id (2-3 capital letters and digits)",
                set_position=position,
            )
        )
        return
    for n in seg.unreadable:
        tset.problems.append(
            _problem(
                Code.element_invalid_character,
                seg,
                f"{seg.tag}{n:02d} holds bytes that are not UTF-8 text",
                n,
                set_position=position,
            )
        )


def _check_st(
    tset: TransactionSet, group: FunctionalGroup, controls: set[str], supported: Collection[str] | None
) -> None:
    seg = tset.header
    if not (len(seg[1]) == 3 and _DIGITS.fullmatch(seg[1])):
        tset.problems.append(
            _problem(Code.set_id_invalid, seg, f"ST01 {seg[1]!r} is not a transaction set id", 1)
        )
    elif supported is not None and seg[1] not in supported:
        tset.problems.append(
            _problem(Code.set_unsupported, seg, f"the set {seg[1]} is not one this partner sends us", 1)
        )
    if not 4 <= len(seg[2]) <= 9 or not seg[2].strip():
        tset.problems.append(
            _problem(
                Code.set_control_number, seg, f"ST02 {seg[2]!r} is not a control number of 4-9 characters", 2
            )
        )
    elif seg[2] in controls:
        tset.problems.append(
            _problem(
                Code.set_control_duplicate,
                seg,
                f"ST02 {seg[2]!r} is used twice in the group {group.control!r}",
                2,
            )
        )
    controls.add(seg[2])


def _check_se(tset: TransactionSet, seg: Segment) -> None:
    declared = seg[1]
    if not _DIGITS.fullmatch(declared):
        tset.problems.append(
            _problem(Code.se_segment_count, seg, f"SE01 {declared!r} is not a number of segments", 1)
        )
    elif int(declared) != tset.count:
        tset.problems.append(
            _problem(
                Code.se_segment_count,
                seg,
                f"SE01 says {int(declared)} segments, the set has {tset.count} from ST to SE",
                1,
            )
        )
    if seg[2] != tset.control:
        tset.problems.append(
            _problem(Code.set_control_mismatch, seg, f"SE02 {seg[2]!r} is not ST02 {tset.control!r}", 2)
        )


def _check_ge(group: FunctionalGroup, seg: Segment) -> None:
    declared = seg[1]
    if not _DIGITS.fullmatch(declared):
        group.problems.append(
            _problem(Code.ge_set_count, seg, f"GE01 {declared!r} is not a number of sets", 1)
        )
    elif int(declared) != group.set_count:
        group.problems.append(
            _problem(
                Code.ge_set_count, seg, f"GE01 says {int(declared)} sets, the group has {group.set_count}", 1
            )
        )
    if not _same_number(seg[2], group.control):
        group.problems.append(
            _problem(Code.group_control_mismatch, seg, f"GE02 {seg[2]!r} is not GS06 {group.control!r}", 2)
        )


def _check_iea(ic: Interchange, seg: Segment) -> None:
    declared = seg[1]
    if not _DIGITS.fullmatch(declared):
        ic.problems.append(
            _problem(Code.iea_group_count, seg, f"IEA01 {declared!r} is not a number of groups", 1)
        )
    elif int(declared) != ic.group_count:
        ic.problems.append(
            _problem(
                Code.iea_group_count,
                seg,
                f"IEA01 says {int(declared)} groups, the interchange has {ic.group_count}",
                1,
            )
        )
    if not _same_number(seg[2], ic.control):
        ic.problems.append(
            _problem(Code.isa_control_mismatch, seg, f"IEA02 {seg[2]!r} is not ISA13 {ic.control!r}", 2)
        )


@dataclass
class Parsed:
    """A whole file read into memory: its interchanges, and problems that belong to none."""

    interchanges: list[Interchange]
    problems: list[Problem]

    @property
    def ok(self) -> bool:
        return not self.problems and not any(
            ic.rejected or any(g.rejected or any(s.rejected for s in g.sets) for g in ic.groups)
            for ic in self.interchanges
        )

    def all_problems(self) -> list[Problem]:
        found = list(self.problems)
        for ic in self.interchanges:
            found.extend(ic.problems)
            for g in ic.groups:
                found.extend(g.problems)
                for s in g.sets:
                    found.extend(s.problems)
        return sorted(found, key=lambda p: p.segment)


def parse(source: bytes | BinaryIO | Iterable[bytes], *, supported: Collection[str] | None = None) -> Parsed:
    """Read X12 data into interchanges, groups and sets (body segments kept). Never raises on bad data."""
    reader = EnvelopeReader(source, supported=supported)
    interchanges: list[Interchange] = []
    ic: Interchange | None = None
    group: FunctionalGroup | None = None
    tset: TransactionSet | None = None
    for event, value in reader:
        if event is Event.segment:
            assert tset is not None
            tset.segments.append(value)  # type: ignore[arg-type]
        elif event is Event.set:
            tset = value  # type: ignore[assignment]
            if group is not None:
                group.sets.append(tset)  # type: ignore[arg-type]
        elif event is Event.group:
            group = value  # type: ignore[assignment]
            if ic is not None:
                ic.groups.append(group)  # type: ignore[arg-type]
        elif event is Event.interchange:
            ic = value  # type: ignore[assignment]
            interchanges.append(ic)  # type: ignore[arg-type]
    return Parsed(interchanges, reader.problems)
