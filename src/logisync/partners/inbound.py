"""Receiving X12 from a trading partner: envelope checks, duplicate detection, each set mapped and
applied through the pipeline, 997s (and TA1s) written to the partner's outbox.

For each interchange of a file:

1. the envelope is checked (`edi.envelope`), and its sender and receiver against the partner's
   `edi` ids (another sender is TA1 `006`, another receiver `008`: the interchange is rejected);
2. its duplicate key (sender + ISA13) is claimed in the store: one seen before is not applied
   again, is answered with a TA1 `R` `025` (duplicate interchange control number), and opens an
   `edi_duplicate` exception;
3. each set is mapped (`edi.sets`); a set with errors is rejected whole (its 997 says why, with
   AK3/AK4) and opens an `edi_rejected` exception with the 997 codes; a rejected interchange or
   group rejects all its sets and opens one exception;
4. the accepted sets' changes go through the pipeline as the partner (`system`), in batches,
   with `source` naming the file and envelope (`x12:FILE#ISA13/GS06/ST02`); each change gets
   its usual outcome (an ownership conflict is still the pipeline's exception);
5. only then (a 997 says "kept") the 997s are written, one interchange per group version, with
   the TA1 when one is owed, and handed to the outbox; 997s the partner sent settle our groups,
   and a TA1 it sent rejecting one of our interchanges rejects its groups (`acks.settle_ta1s`).

Decided: a set that passes the X12 checks is acknowledged `A` even when the pipeline rejects one
of its changes for a business reason (ownership, an illegal move): the 997 is about the
document, and those changes are in the exceptions inbox like any other system's.
"""

from __future__ import annotations

import pickle
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

from ..config.edi import EdiPartnerConfig
from ..config.model import SyncMap
from ..domain.change import Change
from ..edi.ack import acknowledge, build_ta1, set_status
from ..edi.envelope import EnvelopeReader, Event, assemble
from ..edi.interchange import Body, FunctionalGroup, Interchange, TransactionSet, duplicate_key
from ..edi.problems import Code, Level, Problem
from ..edi.sets import INBOUND, Context
from ..edi.writer import OutboundSet, Written, write_interchange
from ..pipeline import Pipeline
from ..store.base import NewException
from ..store.control_numbers import ControlNumbers
from ..store.edi_exchange import EdiLedger
from ..store.sql import SqlStore
from .acks import settle_997s, settle_ta1s
from .outbound import envelope_for, file_name, partner_config
from .outbox import MemoryOutbox, Outbox

BATCH = 1000  # changes per pipeline transaction


@dataclass
class SetResult:
    """What became of one transaction set."""

    code: str
    group: str  # GS06
    control: str  # ST02
    status: str  # A, E (accepted) or R (rejected), as its 997 says
    changes: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


@dataclass
class InterchangeResult:
    control: str  # ISA13
    sender: str  # "ZZ/ACMESUPPLY"
    state: str  # applied, rejected, duplicate
    sets: list[SetResult] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # of the envelope
    notes: list[str] = field(default_factory=list)  # 997s that could not be matched, ...
    acks: list[str] = field(default_factory=list)  # where the 997/TA1 files went


@dataclass
class InboundReport:
    """What became of one file from a partner."""

    partner: str
    name: str
    interchanges: list[InterchangeResult] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # data that belongs to no interchange

    @property
    def outcomes(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for ic in self.interchanges:
            for s in ic.sets:
                total.update(s.outcomes)
        return total


def receive(
    source: bytes | BinaryIO | Iterable[bytes],
    *,
    partner: str,
    syncmap: SyncMap,
    pipeline: Pipeline,
    store: SqlStore,
    outbox: Outbox | None = None,
    name: str = "",
    clock: Callable[[], float] = time.time,
    batch: int = BATCH,
) -> InboundReport:
    """Run one X12 file from `partner` through the pipeline (see the module docstring).

    `outbox` takes the 997s and TA1s (the partner's `edi.outbox` folder when none is given; with
    neither, they are kept in memory and listed in the report as `memory:NAME`). Bad data never
    raises: it ends in the 997, the report and the exceptions inbox.
    """
    cfg = partner_config(syncmap, partner)
    if outbox is None:
        from .outbox import FolderOutbox

        outbox = FolderOutbox(cfg.outbox) if cfg.outbox else MemoryOutbox()
    receiver = _Receiver(partner, cfg, pipeline, store, outbox, name, clock, batch)
    reader = EnvelopeReader(source, supported=[*cfg.sends, "997"])
    report = InboundReport(partner, name)
    spool = _Spool()
    try:
        for event, at in assemble(reader):
            if event is Event.set_end:
                if at.ic is not None and at.group is not None and at.tset is not None:
                    receiver.map_set(at.ic, at.group, at.tset, spool)  # and its segments are let go
            elif event is Event.interchange_end:
                assert at.ic is not None
                report.interchanges.append(receiver.interchange(at.ic, spool))
                spool.close()
                spool = _Spool()
    finally:
        spool.close()
    report.problems = [str(p) for p in reader.problems]
    if reader.problems and not report.interchanges:
        receiver.ledger.open_exceptions(
            [
                NewException(
                    "edi_rejected",
                    f"{name or 'a file'} from {partner} is not X12: {reader.problems[0]}; nothing was applied",
                    system=partner,
                    detail={"file": name, "problems": report.problems[:20]},
                )
            ],
            receiver.now(),
        )
    return report


class _Spool:
    """The changes of an interchange's mapped sets, kept on disk until the interchange is known to
    be whole (an error at its IEA rejects it all), so a file of any size is read in bounded memory."""

    CHUNK = 5000

    def __init__(self) -> None:
        self.file = tempfile.TemporaryFile()  # noqa: SIM115 (the spool owns it: `close`)
        self.index: dict[int, list[tuple[int, int]]] = {}  # id(set) -> [(offset, changes)]
        self.notes: list[str] = []

    def put(self, tset: TransactionSet, changes: list[Change]) -> None:
        for i in range(0, len(changes), self.CHUNK):
            part = changes[i : i + self.CHUNK]
            offset = self.file.seek(0, 2)
            pickle.dump(part, self.file, protocol=pickle.HIGHEST_PROTOCOL)
            self.index.setdefault(id(tset), []).append((offset, len(part)))

    def count(self, tset: TransactionSet) -> int:
        return sum(n for _, n in self.index.get(id(tset), []))

    def changes(self, tset: TransactionSet) -> Iterator[list[Change]]:
        for offset, _ in self.index.get(id(tset), []):
            self.file.seek(offset)
            yield pickle.load(self.file)  # our own file, written above

    def close(self) -> None:
        self.file.close()


def receive_path(
    path: str | Path,
    *,
    partner: str,
    pipeline: Pipeline,
    store: SqlStore,
    outbox: Outbox | None = None,
    name: str | None = None,
    clock: Callable[[], float] = time.time,
) -> InboundReport:
    """`receive` for a file on disk, with the pipeline's own sync map: the one call a file
    transport or `logisync ingest` needs for an `.x12`/`.edi` file from `partner`."""
    path = Path(path)
    with path.open("rb") as stream:
        return receive(
            stream,
            partner=partner,
            syncmap=pipeline.syncmap,
            pipeline=pipeline,
            store=store,
            outbox=outbox,
            name=name or path.name,
            clock=clock,
        )


class _Receiver:
    def __init__(
        self,
        partner: str,
        cfg: EdiPartnerConfig,
        pipeline: Pipeline,
        store: SqlStore,
        outbox: Outbox,
        name: str,
        clock: Callable[[], float],
        batch: int,
    ) -> None:
        self.partner, self.cfg, self.pipeline, self.store = partner, cfg, pipeline, store
        self.outbox, self.name, self.clock, self.batch = outbox, name, clock, batch
        self.ledger = EdiLedger(store)

    def now(self) -> int:
        return int(self.clock() * 1_000_000)

    def map_set(self, ic: Interchange, group: FunctionalGroup, tset: TransactionSet, spool: _Spool) -> None:
        """Map one set as soon as it ends (streaming); its changes go to the spool, its segments
        are let go. A partner's 997s keep theirs: they are read once the interchange is whole."""
        if group.functional_id == "FA":
            return
        try:
            if tset.rejected:
                return
            reader = INBOUND.get(tset.code)
            if reader is None:  # a set the partner may send but no map reads: refused, not dropped
                tset.problems.append(_unsupported(tset))
                return
            out = reader(tset, self._context(ic, group))
            tset.problems.extend(out.problems)
            spool.notes += out.notes
            if out.changes and not out.rejected:
                spool.put(tset, out.changes)
        finally:
            tset.segments = Body()

    def interchange(self, ic: Interchange, spool: _Spool) -> InterchangeResult:
        self._check_parties(ic)
        qualifier, sender_id, control = duplicate_key(ic)
        sender = f"{qualifier}/{sender_id}"
        result = InterchangeResult(ic.control, sender, "applied")
        earlier = self.ledger.claim(sender, control, self.partner, self.now())
        if earlier is not None:
            return self._duplicate(ic, result, earlier.state, earlier.received_us)
        exceptions: list[NewException] = []
        result.notes += spool.notes
        if ic.ta1 and not ic.rejected:
            result.notes += settle_ta1s(self.ledger, self.partner, [s.elements for s in ic.ta1], self.now())
        for group in ic.groups:
            if group.functional_id == "FA" and not ic.rejected and not group.rejected:
                result.notes += settle_997s(self.ledger, self.partner, group, self.now())
        ack = acknowledge(ic)  # every problem is attached now: the 997s say what the sets became
        bodies = {id(group): body for group, body in ack.acks}
        if ic.rejected:
            result.state = "rejected"
            result.problems = [str(p) for p in ic.problems if p.fatal]
            exceptions.append(self._rejected_interchange(ic))
        for group in ic.groups:
            if group.functional_id == "FA":
                continue
            for tset in group.sets:
                status = set_status(tset, interchange_rejected=ic.rejected or group.rejected)
                outcome = SetResult(tset.code, group.control, tset.control, status)
                outcome.problems = [str(p) for p in tset.problems + group.problems if p.fatal]
                result.sets.append(outcome)
                if status == "R":
                    if not ic.rejected:
                        exceptions.append(self._rejected_set(ic, group, tset, bodies.get(id(group), [])))
                    continue
                outcome.changes = spool.count(tset)
                src = f"x12:{self.name or '-'}#{ic.control}/{group.control}/{tset.control}"
                for changes in spool.changes(tset):
                    for i in range(0, len(changes), self.batch):
                        for o in self.pipeline.ingest(self.partner, changes[i : i + self.batch], source=src):
                            outcome.outcomes[o.outcome.value] += 1
        result.acks = self._answer(ic, ack.ta1, ack.acks)
        detail = {
            "file": self.name,
            "sets": [[s.code, s.group, s.control, s.status] for s in result.sets],
            "acks": result.acks,
        }
        self.ledger.finish(sender, control, result.state, detail, self.now(), exceptions)
        return result

    # -- envelope ------------------------------------------------------------------------------
    def _check_parties(self, ic: Interchange) -> None:
        cfg, head = self.cfg, ic.header
        if (ic.sender_qualifier, ic.sender) != (cfg.partner.qualifier, cfg.partner.id):
            ic.problems.append(
                Problem(
                    Code.isa_sender_id,
                    f"the interchange is from {ic.sender_qualifier}/{ic.sender}, not from {self.partner} "
                    f"({cfg.partner.qualifier}/{cfg.partner.id})",
                    head.index,
                    "ISA",
                    6,
                    head.line,
                    head.offset,
                )
            )
        if (ic.receiver_qualifier, ic.receiver) != (cfg.us.qualifier, cfg.us.id):
            ic.problems.append(
                Problem(
                    Code.isa_receiver_id,
                    f"the interchange is for {ic.receiver_qualifier}/{ic.receiver}, not for us as "
                    f"{self.partner} knows us ({cfg.us.qualifier}/{cfg.us.id})",
                    head.index,
                    "ISA",
                    8,
                    head.line,
                    head.offset,
                )
            )

    def _context(self, ic: Interchange, group: FunctionalGroup) -> Context:
        cfg = self.cfg
        return Context(
            self.partner,
            duplicate_key(ic)[2],
            group.control,
            location=cfg.location,
            item_qualifiers=tuple(cfg.item_qualifiers),
            timezone=cfg.timezone,
        )

    # -- answers -------------------------------------------------------------------------------
    def _answer(
        self, ic: Interchange, ta1: list[str] | None, acks: list[tuple[FunctionalGroup, list[list[str]]]]
    ) -> list[str]:
        """Write the 997s (one interchange per group version) and the TA1; return where they went."""
        by_release: dict[str, list[OutboundSet]] = {}
        d = self.cfg.delimiters
        ours = {d.element, d.component, d.repetition, d.segment}
        for group, body in acks:
            # a 997 echoes the partner's control numbers and ids: one holding our delimiters (a
            # broken file's) is echoed without them, rather than the 997 not being written at all
            clean = [
                [("".join(c for c in v if c not in ours) if ours & set(v) else v) for v in row]
                for row in body
            ]
            by_release.setdefault(group.release or self.cfg.version, []).append(OutboundSet("997", clean))
        usage = ic.usage if ic.usage in ("P", "T") else None
        at = datetime.fromtimestamp(self.clock(), UTC)
        where: list[str] = []
        first = True
        for release, sets in by_release.items() or [(ic.release or self.cfg.version, [])]:
            if not sets and ta1 is None:
                continue
            written = write_interchange(
                envelope_for(self.partner, self.cfg, release, usage),
                sets,
                ControlNumbers(self.store),
                at=at,
                ta1=ta1 if first else None,
            )
            first = False
            where.append(self.outbox.send(file_name(self.partner, "997", written), written.data))
        return where

    def _duplicate(
        self, ic: Interchange, result: InterchangeResult, state: str, received_us: int
    ) -> InterchangeResult:
        result.state = "duplicate"
        when = datetime.fromtimestamp(received_us / 1e6, UTC).isoformat(timespec="seconds")
        reason = (
            f"interchange {ic.control} from {result.sender} ({self.partner}) was received before, at {when} "
            f"({state}); it was not applied again"
        )
        result.problems.append(reason)
        ta1 = build_ta1(ic)
        ta1[4:6] = ["R", "025"]  # TA105 025: duplicate interchange control number
        written = self._write(ic, ta1)
        result.acks = [self.outbox.send(file_name(self.partner, "ta1", written), written.data)]
        self.ledger.open_exceptions(
            [
                NewException(
                    "edi_duplicate",
                    reason,
                    system=self.partner,
                    detail={
                        "file": self.name,
                        "sender": result.sender,
                        "control": ic.control,
                        "first": state,
                    },
                )
            ],
            self.now(),
        )
        return result

    def _write(self, ic: Interchange, ta1: list[str]) -> Written:
        usage = ic.usage if ic.usage in ("P", "T") else None
        return write_interchange(
            envelope_for(self.partner, self.cfg, ic.release or self.cfg.version, usage),
            [],
            ControlNumbers(self.store),
            at=datetime.fromtimestamp(self.clock(), UTC),
            ta1=ta1,
        )

    # -- exceptions ----------------------------------------------------------------------------
    def _rejected_interchange(self, ic: Interchange) -> NewException:
        errors = [p for p in ic.problems if p.fatal and p.code.level is Level.interchange]
        ta1 = build_ta1(ic)
        first = str(errors[0]) if errors else "the envelope is wrong"
        return NewException(
            "edi_rejected",
            f"interchange {ic.control} from {self.partner} was rejected (TA1 {ta1[4]} {ta1[5]}): {first}; "
            f"none of its {sum(len(g.sets) for g in ic.groups)} sets was applied",
            system=self.partner,
            detail={
                "file": self.name,
                "interchange": ic.control,
                "ta1": ta1,
                "problems": [str(p) for p in ic.problems][:20],
            },
        )

    def _rejected_set(
        self, ic: Interchange, group: FunctionalGroup, tset: TransactionSet, body: list[list[str]]
    ) -> NewException:
        rows = _rows_for(body, tset)
        problems = [p for p in tset.problems + group.problems if p.fatal]
        first = str(problems[0]) if problems else "rejected"
        return NewException(
            "edi_rejected",
            f"{tset.code} {tset.control} (group {group.control}, interchange {ic.control}) from {self.partner} "
            f"was rejected and not applied: {first}",
            system=self.partner,
            detail={
                "file": self.name,
                "interchange": ic.control,
                "group": group.control,
                "set": [tset.code, tset.control],
                "ack": rows,
                "problems": [str(p) for p in problems][:20],
            },
        )


def _unsupported(tset: TransactionSet) -> Problem:
    head = tset.header
    return Problem(
        Code.set_unsupported, f"no map reads {tset.code} sets", head.index, "ST", 1, head.line, head.offset
    )


def _rows_for(ack: list[list[str]], tset: TransactionSet) -> list[list[str]]:
    """The 997 rows about one set: its AK2, AK3/AK4s and AK5."""
    rows: list[list[str]] = []
    inside = False
    for row in ack:
        if row[0] == "AK2":
            inside = row[1:3] == [tset.code, tset.control]
        if inside:
            rows.append(row)
        if row[0] == "AK5" and inside:
            break
    return rows
