"""The X12 envelope tree: Interchange > FunctionalGroup > TransactionSet, as read from a file."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import repeat
from typing import overload

from .problems import Problem
from .tokenizer import Batch, Delimiters, Segment

VERSIONS = {"00401": "4010", "00501": "5010"}  # ISA12
GROUP_VERSIONS = {"004010": "4010", "005010": "5010"}  # the start of GS08


def is_number(text: str) -> bool:
    """ASCII digits only (`str.isdigit` also accepts ² and other digits `int` refuses)."""
    return text.isascii() and text.isdigit()


_SEP = "\x1d"  # joins the elements of segments a body was given one by one (no file's text)


class Body(Sequence[Segment]):
    """A set's segments between ST and SE, kept as the text the tokenizer read (runs of a chunk's
    segments); a `Segment` is made only for the one asked for. `rows()` gives every segment's
    elements at once, the way a map reads a large set."""

    __slots__ = ("_given", "_items", "_runs", "_sep", "_starts")

    def __init__(self, segments: Iterable[Segment] = ()) -> None:
        self._items: list[str | Segment] = list(segments)
        self._given = len(self._items)  # segments given one by one (not text)
        self._starts: list[int] = []  # where each run starts in `_items`
        self._runs: list[tuple[Batch, int]] = []  # its chunk, and its first segment there
        self._sep: str | None = None

    def append(self, segment: Segment) -> None:
        self._items.append(segment)
        self._given += 1

    def extend_run(self, batch: Batch, start: int, stop: int) -> None:
        """Keep segments `start` to `stop` (excluded) of a chunk."""
        self._starts.append(len(self._items))
        self._runs.append((batch, start))
        self._items += batch.texts[start:stop]
        self._sep = batch.sep

    def clear(self) -> None:
        self._items, self._starts, self._runs, self._given = [], [], [], 0

    def __len__(self) -> int:
        return len(self._items)

    @overload
    def __getitem__(self, i: int) -> Segment: ...

    @overload
    def __getitem__(self, i: slice) -> list[Segment]: ...

    def __getitem__(self, i: int | slice) -> Segment | list[Segment]:
        if isinstance(i, slice):
            return [self[j] for j in range(*i.indices(len(self._items)))]
        item = self._items[i]
        if isinstance(item, Segment):
            return item
        i %= len(self._items)
        n = bisect_right(self._starts, i) - 1
        batch, first = self._runs[n]
        return batch.segment(first + i - self._starts[n])

    def __iter__(self) -> Iterator[Segment]:
        return map(self.__getitem__, range(len(self._items)))

    def __eq__(self, other: object) -> bool:
        """Equal to a sequence of segments (or element lists) with the same elements."""
        if not isinstance(other, Sequence):
            return NotImplemented
        return [s.elements for s in self] == [getattr(o, "elements", o) for o in other]

    __hash__ = None  # type: ignore[assignment]

    @property
    def sep(self) -> str:
        """The element separator of the text `texts` gives."""
        return self._sep or _SEP

    def texts(self) -> list[str]:
        """Every segment's text (its elements joined by `sep`), as read: nothing split."""
        if not self._given:
            return self._items  # type: ignore[return-value]  # (only texts: not to be changed)
        sep = self.sep
        return [sep.join(x.elements) if isinstance(x, Segment) else x for x in self._items]

    def rows(self) -> list[list[str]]:
        """Every segment's elements (`row[0]` the segment id), split in one pass."""
        sep = self._sep
        if sep is not None:
            try:
                return list(map(str.split, self._items, repeat(sep)))  # type: ignore[arg-type]
            except TypeError:
                pass  # a Segment appended among the texts
        return [x.elements if isinstance(x, Segment) else x.split(sep) for x in self._items]


@dataclass(eq=False)
class TransactionSet:
    header: Segment  # ST
    segments: Body = field(default_factory=Body)  # between ST and SE (kept by `parse`)
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
    ta1: list[Segment] = field(default_factory=list)  # TA1s the partner sent us (before any GS)

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
