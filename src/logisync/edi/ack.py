"""Functional acknowledgments: the 997 (and TA1) for an inbound group, and reading a partner's 997.

A 997 answers one functional group in the group's own version: AK1 names the group (in 5010 with
its GS08 as AK103), one AK2 per set (in 5010 with ST03 as AK203), AK3/AK4 for segment and element
errors, AK5 the set's response, AK9 the group's. The 997 keeps its AK segments in 5010 too (IK3,
IK4 and IK5 belong to the 999). Envelope errors of the interchange itself are answered in a TA1;
a rejected interchange applies nothing, so its groups' 997s reject every set (AK5 R, AK9 R) and
the TA1 says why.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from .interchange import FunctionalGroup, Interchange, TransactionSet, is_number
from .problems import Code, Level, Problem

Segments = list[list[str]]  # a set's body: one list of elements per segment, the id first

MAX_CODES = 5  # AK502-AK506, AK905-AK909


def set_status(tset: TransactionSet, *, interchange_rejected: bool = False) -> str:
    """A (accepted), E (accepted, errors noted) or R (rejected)."""
    if interchange_rejected or tset.rejected:
        return "R"
    return "E" if tset.problems else "A"


def _set_codes(tset: TransactionSet) -> list[str]:
    codes: list[str] = []
    for p in tset.problems:
        if p.code.level is Level.set:
            code = p.code.x12
        elif p.code.level in (Level.segment, Level.element):
            code = Code.set_segments_in_error.x12
        else:
            continue
        if code not in codes:
            codes.append(code)
    return codes[:MAX_CODES]


def _segment_errors(tset: TransactionSet) -> Segments:
    """AK3 (and its AK4s) for each segment in error, in the order of the set."""
    rows: Segments = []
    by_segment: dict[int, list[Problem]] = {}
    for p in tset.problems:
        if p.code.level in (Level.segment, Level.element):
            by_segment.setdefault(p.segment, []).append(p)
    for _, problems in sorted(by_segment.items()):
        first = problems[0]
        segment_codes = [p.code.x12 for p in problems if p.code.level is Level.segment]
        elements = [p for p in problems if p.code.level is Level.element]
        code = segment_codes[0] if segment_codes else "8"  # 8: segment has data element errors
        rows.append(["AK3", first.segment_id or "", str(first.set_position), "", code])
        for p in elements:
            row = ["AK4", str(p.element or 0), p.element_ref, p.code.x12]
            if p.bad_value and _plain(p.bad_value):
                row.append(p.bad_value[:99])
            rows.append(row)
    return rows


def _plain(value: str) -> bool:
    """A copy of a bad value is sent only when it cannot clash with any delimiter."""
    return all(c.isalnum() or c in " .-/#,()&@" for c in value)


def build_997(group: FunctionalGroup, *, interchange_rejected: bool = False) -> Segments:
    """The body of the 997 (AK1 to AK9) that acknowledges an inbound group and its sets.

    Problems a transaction-set map found in a set's body (appended to `TransactionSet.problems`
    before this is called) are reported as AK3/AK4 like the engine's own.
    """
    release = group.release or "4010"
    # nothing in a rejected interchange or group is applied, so none of its sets is accepted
    above = interchange_rejected or group.rejected
    ak1 = ["AK1", group.functional_id, group.control]
    if release == "5010":
        ak1.append(group.version)
    rows: Segments = [ak1]
    accepted = 0
    rejected = 0
    noted = False
    for tset in group.sets:
        ak2 = ["AK2", tset.code, tset.control]
        if release == "5010" and tset.convention:
            ak2.append(tset.convention)
        rows.append(ak2)
        rows.extend(_segment_errors(tset))
        status = set_status(tset, interchange_rejected=above)
        ak5 = ["AK5", status, *_set_codes(tset)]
        rows.append(ak5)
        if status == "R":
            rejected += 1
        else:
            accepted += 1
            noted = noted or status == "E"
    group_codes: list[str] = []
    for p in group.problems:
        if p.code.level is Level.group and p.fatal and p.code.x12 not in group_codes:
            group_codes.append(p.code.x12)
    received = len(group.sets)
    if above or (received and rejected == received):
        status = "R"
    elif rejected:
        status = "P"
    elif noted or group.problems:
        status = "E"
    else:
        status = "A"
    declared = group.trailer[1] if group.trailer is not None else ""
    included = declared if is_number(declared) else str(received)
    rows.append(["AK9", status, str(int(included)), str(received), str(accepted), *group_codes[:MAX_CODES]])
    return rows


def build_ta1(interchange: Interchange) -> list[str]:
    """The TA1 segment for an interchange: A with note 000, or R with the first envelope error's code."""
    errors = [p for p in interchange.problems if p.fatal and p.code.level is Level.interchange]
    control = interchange.control if is_number(interchange.control) else "0" * 9
    status, note = ("R", errors[0].code.x12) if errors else ("A", "000")
    date = interchange.date if len(interchange.date) == 6 and is_number(interchange.date) else "000000"
    time = interchange.time if len(interchange.time) == 4 and is_number(interchange.time) else "0000"
    return ["TA1", control.rjust(9, "0")[:9], date, time, status, note]


@dataclass
class Acknowledgment:
    """What to send back for one inbound interchange: a TA1 when it is asked for or the envelope is
    wrong, and a 997 body per functional group (each goes in a group of its own, in the group's
    version)."""

    interchange: Interchange
    ta1: list[str] | None
    acks: list[tuple[FunctionalGroup, Segments]] = field(default_factory=list)


def acknowledge(interchange: Interchange) -> Acknowledgment:
    """The TA1 and 997s for an inbound interchange. 997s are not sent for 997s (they are answers)."""
    rejected = interchange.rejected
    ta1 = build_ta1(interchange) if (rejected or interchange.ack_requested) else None
    acks = [
        (group, build_997(group, interchange_rejected=rejected))
        for group in interchange.groups
        if group.functional_id != "FA"
    ]
    return Acknowledgment(interchange, ta1, acks)


# -- reading a partner's 997 -------------------------------------------------------------------


@dataclass
class SegmentError:
    """An AK3 with its AK4s: where in our set the partner found an error."""

    segment_id: str
    position: int
    code: str
    elements: list[tuple[str, str, str]] = field(default_factory=list)  # (position, reference, code)


@dataclass
class SetResponse:
    """One AK2/AK5: how the partner answered one of our sets."""

    code: str  # ST01 of our set
    control: str  # ST02 of our set
    status: str  # A, E, R (also M, W, X: rejected)
    codes: list[str] = field(default_factory=list)
    errors: list[SegmentError] = field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return self.status in ("A", "E")


@dataclass
class GroupResponse:
    """A partner's 997 for one of our groups: which of its sets were accepted or rejected."""

    functional_id: str  # AK101
    control: str  # AK102: our GS06
    version: str  # AK103 (5010)
    status: str  # AK901: A, E, P, R
    included: int
    received: int
    accepted: int
    codes: list[str]
    sets: list[SetResponse]
    problems: list[str] = field(default_factory=list)  # what in the 997 itself could not be read

    @property
    def rejected_sets(self) -> list[SetResponse]:
        return [s for s in self.sets if not s.accepted]


def _int(value: str, what: str, problems: list[str]) -> int:
    if is_number(value):
        return int(value)
    problems.append(f"{what} {value!r} is not a number")
    return 0


def read_997(tset: TransactionSet) -> GroupResponse:
    """What an inbound 997 says about our group. A malformed 997 is read as far as it goes; what
    could not be read is listed in `problems` (and the group counts as not acknowledged)."""
    problems: list[str] = []
    if tset.code != "997":
        problems.append(f"the set is a {tset.code}, not a 997")
    response = GroupResponse("", "", "", "", 0, 0, 0, [], [], problems)
    current: SetResponse | None = None
    seen_ak9 = False
    for seg in tset.segments:
        tag = seg.tag
        if tag == "AK1":
            response.functional_id, response.control, response.version = seg[1], seg[2], seg[3]
        elif tag == "AK2":
            current = SetResponse(seg[1], seg[2], "")
            response.sets.append(current)
        elif tag == "AK3":
            if current is None:
                problems.append(f"an AK3 outside any AK2 at segment {seg.index}")
                continue
            current.errors.append(SegmentError(seg[1], _int(seg[2] or "0", "AK302", problems), seg[4]))
        elif tag == "AK4":
            if current is None or not current.errors:
                problems.append(f"an AK4 without its AK3 at segment {seg.index}")
                continue
            current.errors[-1].elements.append((seg[1], seg[2], seg[3]))
        elif tag == "AK5":
            if current is None:
                problems.append(f"an AK5 outside any AK2 at segment {seg.index}")
                continue
            current.status = seg[1]
            current.codes = [c for c in seg.elements[2:7] if c]
            current = None
        elif tag == "AK9":
            seen_ak9 = True
            response.status = seg[1]
            response.included = _int(seg[2], "AK902", problems)
            response.received = _int(seg[3], "AK903", problems)
            response.accepted = _int(seg[4], "AK904", problems)
            response.codes = [c for c in seg.elements[5:10] if c]
    if not response.control:
        problems.append("the 997 has no AK1 naming the group it acknowledges")
    if not seen_ak9:
        problems.append("the 997 has no AK9 with the group's response")
    for s in response.sets:
        if not s.status:
            problems.append(f"the AK2 for set {s.control!r} has no AK5")
    if response.status not in ("A", "E", "P", "R", "M", "W", "X"):
        problems.append(f"AK901 {response.status!r} is not a group response code")
    return response
