"""X12 envelopes: ISA/IEA, GS/GE and ST/SE read into Interchange > FunctionalGroup > TransactionSet.

`EnvelopeReader` walks the segments once and yields events (an envelope opened, a body segment,
an envelope closed), so a mapper can stream a set of any size; `parse` collects the events into
a tree for files that fit in memory. Neither raises on bad input: every problem (counts, control
numbers, widths, qualifiers, dates, a missing trailer, a file cut short) is a `Problem` on the
envelope it belongs to, with the segment's position and the element's.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from enum import Enum
from typing import BinaryIO

from .checks import (
    SEGMENT_ID,
    check_body,
    check_ge,
    check_gs,
    check_iea,
    check_isa,
    check_se,
    check_st,
    problem,
)
from .interchange import FunctionalGroup, Interchange, Parsed, TransactionSet
from .problems import Code, Level, Problem
from .tokenizer import Segment, Tokenizer

__all__ = ["EnvelopeReader", "Event", "FunctionalGroup", "Interchange", "Parsed", "TransactionSet", "parse"]

_ENVELOPE = frozenset({"ISA", "IEA", "GS", "GE", "ST", "SE"})


class Event(Enum):
    interchange = "interchange"  # an ISA was read: the Interchange, header only
    group = "group"  # a GS
    set = "set"  # an ST
    segment = "segment"  # a segment inside a set (the Segment)
    set_end = "set_end"  # the set is complete: its trailer and problems are known
    group_end = "group_end"
    interchange_end = "interchange_end"


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
                    if SEGMENT_ID.fullmatch(tag) and not seg.unreadable:
                        good_ids.add(tag)
                    else:
                        check_body(tset, seg)
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
                        problem(
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
                    problem(
                        Code.control_structure, seg, f"a {tag or 'empty'} segment outside any interchange"
                    )
                )
            elif tag == "IEA":
                yield from self._close(ic, group, tset, seg, "IEA")
                check_iea(ic, seg)
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
            elif tag == "TA1" and group is None:
                ic.ta1.append(seg)  # an interchange acknowledgment travels before any group
            elif group is None:
                ic.problems.append(
                    problem(
                        Code.control_structure,
                        seg,
                        f"a {tag or 'empty'} segment outside any functional group",
                    )
                )
            elif tag == "GE":
                if tset is not None:
                    yield from self._close_set(tset, seg, "GE")
                    tset = None
                check_ge(group, seg)
                group.trailer = seg
                yield Event.group_end, group
                group = None
            elif tag == "ST":
                if tset is not None:
                    yield from self._close_set(tset, seg, "another ST")
                tset = TransactionSet(seg, count=1)
                group.set_count += 1
                check_st(tset, group, controls, self.supported)
                yield Event.set, tset
            elif tag == "SE":
                if tset is None:
                    ic.problems.append(problem(Code.control_structure, seg, "an SE without its ST"))
                    continue
                tset.count += 1
                tset.trailer = seg
                check_se(tset, seg)
                yield Event.set_end, tset
                tset = None
            else:
                ic.problems.append(
                    problem(
                        Code.control_structure,
                        seg,
                        f"a {tag or 'empty'} segment between sets: every segment of a group belongs in an ST/SE",
                    )
                )
        exc = self.tokenizer.error
        if exc is not None:
            where = Segment([""], exc.index, exc.offset, exc.line)
            if ic is None:
                self.problems.append(problem(Code.control_structure, where, exc.message))
            else:
                ic.problems.append(problem(Code.iea_missing, where, exc.message))
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
                problem(Code.iea_missing, seg, f"the interchange {ic.control!r} has no IEA before {by}")
            )


@dataclass
class Position:
    """Where a reader is in the tree it builds: the interchange, group and set now open."""

    ic: Interchange | None = None
    group: FunctionalGroup | None = None
    tset: TransactionSet | None = None


def assemble(reader: EnvelopeReader) -> Iterator[tuple[Event, Position]]:
    """Each event of `reader` once placed in its tree: a body segment on its set, a set on its
    group, a group on its interchange. The position is the same object each time; a set is
    closed after its `set_end`, everything after its `interchange_end`."""
    at = Position()
    for event, value in reader:
        if event is Event.segment:
            assert at.tset is not None
            at.tset.segments.append(value)  # type: ignore[arg-type]
        elif event is Event.set:
            at.tset = value  # type: ignore[assignment]
            if at.group is not None:
                at.group.sets.append(at.tset)  # type: ignore[arg-type]
        elif event is Event.group:
            at.group = value  # type: ignore[assignment]
            if at.ic is not None:
                at.ic.groups.append(at.group)  # type: ignore[arg-type]
        elif event is Event.interchange:
            at.ic = value  # type: ignore[assignment]
        yield event, at
        if event is Event.set_end:
            at.tset = None
        elif event is Event.interchange_end:
            at.ic = at.group = at.tset = None


def parse(source: bytes | BinaryIO | Iterable[bytes], *, supported: Collection[str] | None = None) -> Parsed:
    """Read X12 data into interchanges, groups and sets (body segments kept). Never raises on bad data."""
    reader = EnvelopeReader(source, supported=supported)
    interchanges: list[Interchange] = []
    for event, at in assemble(reader):
        if event is Event.interchange:
            assert at.ic is not None
            interchanges.append(at.ic)
    return Parsed(interchanges, reader.problems)
