"""The envelope checks: each ISA, GS, ST, SE, GE and IEA element against the standard, as problems."""

from __future__ import annotations

import re
from collections.abc import Collection

from .interchange import GROUP_VERSIONS, VERSIONS, FunctionalGroup, Interchange, TransactionSet, is_number
from .problems import Code, Problem
from .tokenizer import Delimiters, Segment

ISA_WIDTHS = (2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1)
AUTHORIZATION_QUALIFIERS = frozenset({"00", "01", "02", "03", "04", "05", "06"})
SECURITY_QUALIFIERS = frozenset({"00", "01"})
# ISA05/ISA07 interchange id qualifiers (X12 code list I05)
ID_QUALIFIERS = frozenset({f"{n:02d}" for n in (1, 2, 3, 4, *range(7, 39))} | {"AM", "NR", "SA", "SN", "ZZ"})
SEGMENT_ID = re.compile(r"[A-Z][A-Z0-9]{1,2}")
_DIGITS = re.compile(r"[0-9]+")


def problem(code: Code, seg: Segment, message: str, element: int | None = None, **extra: object) -> Problem:
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
        found.append(problem(Code.control_structure, seg, f"the ISA has {len(seg)} elements, not 16"))
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
                problem(code, seg, f"ISA{n:02d} is {len(value)} characters wide, not {width}: {value!r}", n)
            )

    def bad(n: int, code: Code, what: str) -> None:
        found.append(problem(code, seg, f"ISA{n:02d} {seg[n]!r} {what}", n, bad_value=seg[n]))

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
        found.append(problem(Code.gs_invalid, seg, f"the GS has {len(seg)} elements, not 8"))
        return found
    if not seg[1].isalpha() or len(seg[1]) != 2:
        found.append(problem(Code.group_unsupported, seg, f"GS01 {seg[1]!r} is not a functional id code", 1))
    for n in (2, 3):
        if not 2 <= len(seg[n]) <= 15:
            found.append(
                problem(Code.gs_invalid, seg, f"GS{n:02d} {seg[n]!r} is not an id of 2-15 characters", n)
            )
    if len(seg[4]) != 8 or not valid_date(seg[4]):
        found.append(problem(Code.gs_invalid, seg, f"GS04 {seg[4]!r} is not a date CCYYMMDD", 4))
    if not valid_time(seg[5]):
        found.append(problem(Code.gs_invalid, seg, f"GS05 {seg[5]!r} is not a time HHMM[SS[dd]]", 5))
    if not (1 <= len(seg[6]) <= 9 and _DIGITS.fullmatch(seg[6])):
        found.append(
            problem(
                Code.group_control_number, seg, f"GS06 {seg[6]!r} is not a control number of 1-9 digits", 6
            )
        )
    if seg[7] != "X":
        found.append(
            problem(
                Code.group_unsupported,
                seg,
                f"GS07 {seg[7]!r} is not X (Accredited Standards Committee X12)",
                7,
            )
        )
    if seg[8][:6] not in GROUP_VERSIONS:
        found.append(
            problem(
                Code.group_version_unsupported, seg, f"GS08 {seg[8]!r} is not a 004010 or 005010 version", 8
            )
        )
    return found


def check_body(tset: TransactionSet, seg: Segment) -> None:
    position = tset.count
    if not SEGMENT_ID.fullmatch(seg.tag):
        tset.problems.append(
            problem(
                Code.segment_unrecognized,
                seg,
                f"{seg.tag!r} is not a segment id (2-3 capital letters and digits)",
                set_position=position,
            )
        )
        return
    for n in seg.unreadable:
        tset.problems.append(
            problem(
                Code.element_invalid_character,
                seg,
                f"{seg.tag}{n:02d} holds bytes that are not UTF-8 text",
                n,
                set_position=position,
            )
        )


def check_st(
    tset: TransactionSet, group: FunctionalGroup, controls: set[str], supported: Collection[str] | None
) -> None:
    seg = tset.header
    if not (len(seg[1]) == 3 and _DIGITS.fullmatch(seg[1])):
        tset.problems.append(
            problem(Code.set_id_invalid, seg, f"ST01 {seg[1]!r} is not a transaction set id", 1)
        )
    elif supported is not None and seg[1] not in supported:
        tset.problems.append(
            problem(Code.set_unsupported, seg, f"the set {seg[1]} is not one this partner sends us", 1)
        )
    if not 4 <= len(seg[2]) <= 9 or not seg[2].strip():
        tset.problems.append(
            problem(
                Code.set_control_number, seg, f"ST02 {seg[2]!r} is not a control number of 4-9 characters", 2
            )
        )
    elif seg[2] in controls:
        tset.problems.append(
            problem(
                Code.set_control_duplicate,
                seg,
                f"ST02 {seg[2]!r} is used twice in the group {group.control!r}",
                2,
            )
        )
    controls.add(seg[2])


def check_se(tset: TransactionSet, seg: Segment) -> None:
    declared = seg[1]
    if not _DIGITS.fullmatch(declared):
        tset.problems.append(
            problem(Code.se_segment_count, seg, f"SE01 {declared!r} is not a number of segments", 1)
        )
    elif int(declared) != tset.count:
        tset.problems.append(
            problem(
                Code.se_segment_count,
                seg,
                f"SE01 says {int(declared)} segments, the set has {tset.count} from ST to SE",
                1,
            )
        )
    if seg[2] != tset.control:
        tset.problems.append(
            problem(Code.set_control_mismatch, seg, f"SE02 {seg[2]!r} is not ST02 {tset.control!r}", 2)
        )


def check_ge(group: FunctionalGroup, seg: Segment) -> None:
    declared = seg[1]
    if not _DIGITS.fullmatch(declared):
        group.problems.append(
            problem(Code.ge_set_count, seg, f"GE01 {declared!r} is not a number of sets", 1)
        )
    elif int(declared) != group.set_count:
        group.problems.append(
            problem(
                Code.ge_set_count, seg, f"GE01 says {int(declared)} sets, the group has {group.set_count}", 1
            )
        )
    if not _same_number(seg[2], group.control):
        group.problems.append(
            problem(Code.group_control_mismatch, seg, f"GE02 {seg[2]!r} is not GS06 {group.control!r}", 2)
        )


def check_iea(ic: Interchange, seg: Segment) -> None:
    declared = seg[1]
    if not _DIGITS.fullmatch(declared):
        ic.problems.append(
            problem(Code.iea_group_count, seg, f"IEA01 {declared!r} is not a number of groups", 1)
        )
    elif int(declared) != ic.group_count:
        ic.problems.append(
            problem(
                Code.iea_group_count,
                seg,
                f"IEA01 says {int(declared)} groups, the interchange has {ic.group_count}",
                1,
            )
        )
    if not _same_number(seg[2], ic.control):
        ic.problems.append(
            problem(Code.isa_control_mismatch, seg, f"IEA02 {seg[2]!r} is not ISA13 {ic.control!r}", 2)
        )
