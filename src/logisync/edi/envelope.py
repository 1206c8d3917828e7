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
from itertools import compress, count
from operator import itemgetter
from typing import BinaryIO, NamedTuple

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
from .tokenizer import Batch, Segment, Tokenizer

__all__ = ["EnvelopeReader", "Event", "FunctionalGroup", "Interchange", "Parsed", "TransactionSet", "parse"]

_ENVELOPE = frozenset({"ISA", "IEA", "GS", "GE", "ST", "SE"})
_HEAD = itemgetter(slice(0, 4))  # a segment's first 4 characters: its id and the separator after it


def _is_special(head: str, sep: str) -> bool:
    """Whether a segment that starts with `head` is read on its own: an envelope segment, or an id
    that is not a segment id (so every such segment gets its problem, with its position)."""
    tag, has_sep, _ = head.partition(sep)
    if not has_sep and len(head) == 4:
        return True  # an id of 4 characters or more
    return tag in _ENVELOPE or SEGMENT_ID.fullmatch(tag) is None


class Run(NamedTuple):
    """Body segments `start` to `stop` (excluded) of a chunk, all in the set now open."""

    batch: Batch
    start: int
    stop: int


class Event(Enum):
    interchange = "interchange"  # an ISA was read: the Interchange, header only
    group = "group"  # a GS
    set = "set"  # an ST
    segment = "segment"  # a segment inside a set (the Segment), from iterating the reader
    segments = "segments"  # a run of segments inside a set (a `Run`), from `events()`
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
        """The events with each body segment on its own (`Event.segment`, a `Segment`)."""
        for event, value in self.events():
            if event is Event.segments:
                assert isinstance(value, Run)
                batch = value.batch
                for k in range(value.start, value.stop):
                    yield Event.segment, batch.segment(k)
            else:
                yield event, value

    def events(self) -> Iterator[tuple[Event, object]]:
        """The events with body segments in runs (`Event.segments`, a `Run`): the fast way.

        A chunk's segments are looked at by the first four characters of their text (which
        hold the segment id and its separator): only envelope segments, segments with an id
        that is not one, segments with bytes that are not UTF-8 and segments outside any set
        are read one by one; every run of body segments between them is counted as a whole.
        """
        self._ic: Interchange | None = None
        self._group: FunctionalGroup | None = None
        self._tset: TransactionSet | None = None
        self._controls: set[str] = set()  # ST02s of the open group
        special: dict[str, bool] = {}  # a head (first 4 characters) -> read one by one?
        last: Batch | None = None
        for batch in self.tokenizer.batches(strict=False):
            texts = batch.texts
            n = len(texts)
            if not n:
                continue
            last = batch
            heads = list(map(_HEAD, texts))
            found = set(heads)
            new = found - special.keys()
            for head in new:
                special[head] = _is_special(head, batch.sep)
            singles: list[int] = []
            if any(special[head] for head in found):
                singles = list(compress(count(), map(special.__getitem__, heads)))
            if batch.unreadable:
                singles = sorted(set(singles).union(batch.unreadable))
            pos = 0
            singles.append(n)
            for k in singles:
                if k > pos:
                    tset = self._tset
                    if tset is not None:
                        tset.count += k - pos
                        yield Event.segments, Run(batch, pos, k)
                    else:
                        for j in range(pos, k):
                            yield from self._one(batch, j)
                if k < n:
                    yield from self._one(batch, k)
                pos = k + 1
        ic = self._ic
        exc = self.tokenizer.error
        if exc is not None:
            where = Segment([""], exc.index, exc.offset, exc.line)
            if ic is None:
                self.problems.append(problem(Code.control_structure, where, exc.message))
            else:
                ic.problems.append(problem(Code.iea_missing, where, exc.message))
        if ic is not None:
            end = last.segment(len(last.texts) - 1) if last is not None else Segment([""])
            yield from self._close(ic, self._group, self._tset, end, "the end of the file")
            yield Event.interchange_end, ic

    def _one(self, batch: Batch, k: int) -> Iterator[tuple[Event, object]]:
        """Read segment `k` of `batch` on its own: an envelope, or one that needs a closer look."""
        seg = batch.segment(k).pin()  # envelope segments stay in the tree: not their chunk
        ic, group, tset = self._ic, self._group, self._tset
        tag = seg.elements[0]
        if tset is not None and tag not in _ENVELOPE:
            tset.count += 1
            if seg.unreadable or not SEGMENT_ID.fullmatch(tag):
                check_body(tset, seg)
            yield Event.segments, Run(batch, k, k + 1)
            return
        if tag == "ISA":
            if ic is not None:
                yield from self._close(ic, group, tset, seg, "ISA")
                yield Event.interchange_end, ic
                self._group = self._tset = None
            assert self.tokenizer.delimiters is not None
            ic = self._ic = Interchange(seg, self.tokenizer.delimiters)
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
                problem(Code.control_structure, seg, f"a {tag or 'empty'} segment outside any interchange")
            )
        elif tag == "IEA":
            yield from self._close(ic, group, tset, seg, "IEA")
            check_iea(ic, seg)
            ic.trailer = seg
            yield Event.interchange_end, ic
            self._ic = self._group = self._tset = None
        elif tag == "GS":
            if group is not None:
                yield from self._close_group(group, tset, seg, "GS")
                self._tset = None
            group = self._group = FunctionalGroup(seg)
            self._controls = set()
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
                    Code.control_structure, seg, f"a {tag or 'empty'} segment outside any functional group"
                )
            )
        elif tag == "GE":
            if tset is not None:
                yield from self._close_set(tset, seg, "GE")
                self._tset = None
            check_ge(group, seg)
            group.trailer = seg
            yield Event.group_end, group
            self._group = None
        elif tag == "ST":
            if tset is not None:
                yield from self._close_set(tset, seg, "another ST")
            tset = self._tset = TransactionSet(seg, count=1)
            group.set_count += 1
            check_st(tset, group, self._controls, self.supported)
            yield Event.set, tset
        elif tag == "SE":
            if tset is None:
                ic.problems.append(problem(Code.control_structure, seg, "an SE without its ST"))
                return
            tset.count += 1
            tset.trailer = seg
            check_se(tset, seg)
            yield Event.set_end, tset
            self._tset = None
        else:
            ic.problems.append(
                problem(
                    Code.control_structure,
                    seg,
                    f"a {tag or 'empty'} segment between sets: every segment of a group belongs in an ST/SE",
                )
            )

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
    for event, value in reader.events():
        if event is Event.segments:
            assert at.tset is not None
            at.tset.segments.extend_run(*value)  # type: ignore[misc]
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
