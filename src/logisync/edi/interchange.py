"""The X12 envelope tree: Interchange > FunctionalGroup > TransactionSet, as read from a file."""

from __future__ import annotations

from dataclasses import dataclass, field

from .problems import Problem
from .tokenizer import Delimiters, Segment

VERSIONS = {"00401": "4010", "00501": "5010"}  # ISA12
GROUP_VERSIONS = {"004010": "4010", "005010": "5010"}  # the start of GS08


def is_number(text: str) -> bool:
    """ASCII digits only (`str.isdigit` also accepts ² and other digits `int` refuses)."""
    return text.isascii() and text.isdigit()


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
