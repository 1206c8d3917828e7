"""The ingest transaction: one store transaction per batch, one outcome per change."""

from __future__ import annotations

import logging
import random
import time
from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from functools import partial
from typing import Any

from ..config.model import SyncMap
from ..config.ownership import Ownership, Scopes
from ..domain.change import Change, Outcome, now_us, to_us
from ..domain.inventory import available
from ..domain.kinds import Domain, OutcomeKind
from ..domain.lifecycles import LIFECYCLES
from ..domain.record import MergeResult, RecordState, describe_stale, is_newer, merge
from ..domain.stock import NegativeStock, apply_stock, is_stock_movement
from ..errors import LockOrderConflict, StoreBusy
from ..store.base import LogEntry, NewException, SeenChange, Store
from .batch import Batch
from .contention import BusyRetry
from .quality import Quality
from .routing import Router
from .rules import Rules
from .trace import committed as trace_committed
from .translate import Translator
from .verdicts import Verdict, authorize, validate

APPLIED, DUPLICATE, STALE = OutcomeKind.applied, OutcomeKind.duplicate, OutcomeKind.stale
QUARANTINED = OutcomeKind.quarantined
_DOMAINS = {d: (d.value, d.is_event) for d in Domain}  # read once per change on the hot path
_OUTCOMES = {o: o.value for o in OutcomeKind}  # enum .value is a descriptor call: too slow per change
_trace = logging.getLogger("logisync.pipeline")


class Pipeline:
    """Turns batches of changes from one system into golden records, log entries and deliveries.

    The caller acknowledges the sender only after `ingest` returns: by then the outcomes are
    committed. A repeated id returns `duplicate` with the first outcome attached.
    """

    def __init__(self, store: Store, syncmap: SyncMap, busy_retry: BusyRetry = BusyRetry()) -> None:
        self.store = store
        self.syncmap = syncmap
        self.ownership = Ownership(syncmap)
        self.scopes = Scopes(syncmap, self.ownership)
        self.router = Router(syncmap.routes)
        self.rules = Rules(syncmap)
        self.quality = Quality(syncmap)
        self.translator = Translator(syncmap)
        self._last_arrival = 0
        self.busy_retry = busy_retry
        self.contention: Counter[str] = Counter()  # lock_order restarts, busy retries, batches set aside
        self._sleep = time.sleep
        self._random = random.random

    def ingest(self, system: str, changes: Sequence[Change], *, source: str | None = None) -> list[Outcome]:
        """Run one batch through validate → authorize → translate → dedupe → order → apply → log → enqueue.

        A system's own ids are translated to canonical keys before the transaction (`translate.py`),
        so the keys it locks and the records it reads are the canonical ones. A batch that meets
        another writer is tried again (`contention.py`); one that still cannot commit is set aside,
        each change `quarantined` for retry.
        """
        verdicts = [self._check(system, c) for c in changes]
        changes, verdicts = self.translator.translate(self.store, system, changes, verdicts)
        policy = self.busy_retry
        lock_first: list[str] = []  # keys a lock-order conflict said to lock up front next time
        attempt = restarts = 0
        while True:
            try:
                return self._transaction(system, changes, verdicts, source, lock_first)
            except LockOrderConflict as exc:  # the next try waits for these keys, in order
                self.contention["lock_order"] += 1
                lock_first = sorted({*lock_first, *exc.keys})
                restarts += 1
                if restarts > policy.restarts:
                    return self._set_aside(system, changes, verdicts, source, exc, attempt + restarts)
            except StoreBusy as exc:  # a deadlock PostgreSQL broke: back off, then go again
                self.contention["busy"] += 1
                attempt += 1
                delay = policy.decide(attempt, self._random())
                if delay is None:
                    return self._set_aside(system, changes, verdicts, source, exc, attempt + restarts)
                if delay:
                    self._sleep(delay)

    def _set_aside(
        self,
        system: str,
        changes: Sequence[Change],
        verdicts: list[Verdict],
        source: str | None,
        error: StoreBusy,
        tries: int,
    ) -> list[Outcome]:
        """Record every change of a batch that could not commit as `quarantined`, with a `store_busy`
        exception the inbox retries: nothing acknowledged is lost. Takes only the ids' locks; a
        change already received (by another writer meanwhile) is a duplicate as usual."""
        self.contention["set_aside"] += 1
        reason = (
            f"not applied: other writers held what this batch needed through {tries} tries ({error}); "
            "kept for retry from the exceptions inbox"
        )
        with self.store.write() as tx:
            if tx.locks_keys:
                tx.lock_keys([f"i:{system}/{c.id}" for c in changes])
            received = now_us()
            seen = tx.seen(system, [c.id for c in changes])
            batch = Batch(tx, self.router, received, partial(self._arrival, received))
            outcomes: list[Outcome] = []
            first: dict[str, Outcome] = {}
            for change, verdict in zip(changes, verdicts, strict=True):
                domain = _DOMAINS[change.domain][0]
                fields = verdict.fields if verdict.fields is not None else verdict.payload or change.fields
                prior = seen.get(change.id)
                if prior is not None:
                    outcome = _duplicate(change.id, prior)
                elif change.id in first:
                    outcome = Outcome(
                        change.id, DUPLICATE, "repeated in the same batch", original=first[change.id]
                    )
                else:
                    outcome = first[change.id] = Outcome(change.id, QUARANTINED, reason, received_us=received)
                    seq = batch.next_seq()
                    stamp = self._stamp(change, fields, received)
                    batch.append(
                        LogEntry(
                            seq,
                            system,
                            change.id,
                            domain,
                            change.key,
                            stamp,
                            received,
                            "quarantined",
                            reason,
                            fields,
                            None,
                            source,
                            None,
                            change.version is not None,
                        ),
                        None,
                    )
                    batch.open_exception(
                        NewException(
                            "store_busy",
                            reason,
                            domain,
                            change.key,
                            system,
                            change.id,
                            detail={"attempts": tries, "error": error.code},
                        )
                    )
                outcomes.append(outcome)
                batch.counts[(system, domain, _OUTCOMES[outcome.outcome])] += 1
            batch.flush()
        if _trace.isEnabledFor(logging.INFO):
            trace_committed(system, source, changes, outcomes, batch, self.syncmap.logging.redact)
        return outcomes

    def _transaction(
        self,
        system: str,
        changes: Sequence[Change],
        verdicts: list[Verdict],
        source: str | None,
        lock_first: Sequence[str] = (),
    ) -> list[Outcome]:
        with self.store.write() as tx:
            if tx.locks_keys:  # stores with several writers serialize on the keys and ids in the batch
                tx.ordered_locks = True  # and on what the rules read later, in order (`contention.py`)
                tx.lock_keys(
                    [f"r:{_DOMAINS[c.domain][0]}/{c.key}" for c in changes]
                    + [f"i:{system}/{c.id}" for c in changes]
                    + list(lock_first)
                )
            # read under the locks: a key's changes are received in the order they commit
            received = now_us()
            seen = tx.seen(system, [c.id for c in changes])
            outcomes: list[Outcome] = []
            todo: list[tuple[Change, Verdict, Outcome]] = []
            first: dict[str, Outcome] = {}
            wanted: dict[str, set[str]] = {}
            for change, verdict in zip(changes, verdicts, strict=True):
                prior = seen.get(change.id)
                if prior is not None:
                    outcomes.append(_duplicate(change.id, prior))
                elif change.id in first:
                    outcomes.append(
                        Outcome(change.id, DUPLICATE, "repeated in the same batch", original=first[change.id])
                    )
                else:
                    outcome = first[change.id] = Outcome(change.id, APPLIED, received_us=received)
                    outcomes.append(outcome)
                    todo.append((change, verdict, outcome))
                    wanted.setdefault(_DOMAINS[change.domain][0], set()).add(change.key)
            batch = Batch(tx, self.router, received, partial(self._arrival, received))
            for domain, keys in wanted.items():
                batch.preload(domain, sorted(keys))
            for change, verdict, outcome in todo:
                self._apply(batch, system, change, verdict, outcome, source)
            self.rules.finish(batch)
            for change, outcome in zip(changes, outcomes, strict=True):
                batch.counts[(system, _DOMAINS[change.domain][0], _OUTCOMES[outcome.outcome])] += 1
            batch.flush()
        if _trace.isEnabledFor(logging.INFO):
            trace_committed(system, source, changes, outcomes, batch, self.syncmap.logging.redact)
        return outcomes

    def _apply(
        self,
        batch: Batch,
        system: str,
        change: Change,
        verdict: Verdict,
        outcome: Outcome,
        source: str | None,
    ) -> None:
        """Order, apply and log one change (and what the logistics rules derive from it)."""
        domain, is_event = _DOMAINS[change.domain]
        received = batch.received
        fields = verdict.fields
        stamp = self._stamp(change, fields, received)
        seq = batch.next_seq()
        versioned = change.version is not None
        applied: list[str] | None = None
        rec = batch.records.get((domain, change.key))
        refusal: Verdict | None = None
        was = 0  # an inventory position's `available` before the change
        sent = verdict.received  # what the hub translated or converted, as the system sent it
        if fields is not None and change.domain in self.quality.domains:
            verdict = self.quality.check(batch, change, system, fields)
            fields = verdict.fields
            if verdict.received:
                sent = {**(sent or {}), **verdict.received}
        if fields is None:
            refusal = verdict
            fields = verdict.payload if verdict.payload is not None else change.fields
        elif (problem := _illegal_move(rec, change, system, stamp, fields)) is not None:
            refusal = Verdict(
                None,
                OutcomeKind.rejected,
                problem,
                "illegal_transition",
                {"fields": fields, "from": rec.fields.get("status") if rec else None},
            )
        elif change.domain in self.rules.domains:
            refusal = self.rules.before(batch, change, system, rec, fields, stamp)
        if refusal is not None:
            outcome.outcome = refusal.outcome or OutcomeKind.rejected
            outcome.reason = refusal.reason
            outcome.problem = refusal.problem()
            exc = refusal.exception(change, system)
            if exc is not None:
                batch.open_exception(exc)
        else:
            if rec is None:
                rec = batch.create(domain, change.key)
            if change.domain is Domain.inventory:
                was = available(rec.fields)
            result = self._merge(rec, system, change, stamp, fields, received, seq, versioned, outcome)
            if result is None:
                batch.open_exception(
                    NewException(
                        "negative_stock",
                        outcome.reason or "",
                        domain,
                        change.key,
                        system,
                        change.id,
                        detail={"fields": fields},
                    )
                )
                if not rec.exists and not rec.fields:
                    rec = None  # nothing was kept of a record this change would have created
            else:
                applied = result.applied
                if sent:
                    _keep_received(rec, applied, sent)
                if applied:
                    if result.stale:
                        outcome.reason = describe_stale(rec, result.stale, stamp)
                elif is_event:
                    outcome.reason = "event kept in the history; the record already holds newer values"
                else:
                    outcome.outcome = STALE
                    outcome.reason = describe_stale(rec, result.stale, stamp)
                    applied = None
                if sent:
                    outcome.reason = _as_received(outcome.reason, sent)
            if outcome.outcome is APPLIED:
                outcome.applied_fields = applied
        batch.append(
            LogEntry(
                seq,
                system,
                change.id,
                domain,
                change.key,
                stamp,
                received,
                _OUTCOMES[outcome.outcome],
                outcome.reason,
                fields,
                applied,
                source,
                None,
                versioned,
            ),
            rec,
        )
        if outcome.outcome is APPLIED:
            batch.enqueue(change.domain, change.key, seq, system, applied or fields)
            if change.domain in self.rules.domains and rec is not None:
                note = self.rules.after(batch, change, system, rec, applied or [], was)
                if note is not None:
                    outcome.reason = f"{outcome.reason}; {note}" if outcome.reason else note

    def _merge(
        self,
        rec: RecordState,
        system: str,
        change: Change,
        stamp: int,
        fields: dict[str, Any],
        received: int,
        seq: int,
        versioned: bool,
        outcome: Outcome,
    ) -> MergeResult | None:
        """Take the change's fields into the record; stock movements and counts have their own rules.

        Returns None when the change was refused here (its outcome then says why).
        """
        if change.domain is not Domain.inventory or not is_stock_movement(fields):
            return merge(rec, system, change.id, stamp, fields, received, seq, versioned)
        try:
            return apply_stock(rec, system, change.id, stamp, fields, received, seq, versioned)
        except NegativeStock as exc:
            outcome.outcome = OutcomeKind.rejected
            outcome.reason = str(exc)
            return None

    def _stamp(self, change: Change, fields: dict[str, Any] | None, received: int) -> int:
        """What orders this change against others of the same fields.

        Its `version`, else its `occurred_at`, else an `occurred_at` among its fields (carrier
        events carry their time inside), else its arrival.
        """
        if change.version is not None or change.occurred_at is not None:
            return change.order_stamp(received)
        if fields is not None and isinstance(fields.get("occurred_at"), str):
            try:
                return to_us(datetime.fromisoformat(fields["occurred_at"]))
            except ValueError:
                pass
        return self._arrival(received)

    def _arrival(self, received: int) -> int:
        """The order stamp of a change with neither version nor event time: its arrival, in µs.

        Strictly rising within this process, so a later line of the same batch, or of a batch
        received in the same microsecond, is newer.
        """
        self._last_arrival = max(received, self._last_arrival + 1)
        return self._last_arrival

    def _check(self, system: str, change: Change) -> Verdict:
        verdict = validate(change)
        if verdict.fields is None:
            return verdict
        return authorize(change, system, verdict.fields, self.scopes, self.ownership)


_LIFECYCLES = {lifecycle.name: lifecycle for lifecycle in LIFECYCLES}


def _illegal_move(
    record: RecordState | None, change: Change, system: str, stamp: int, fields: dict[str, Any]
) -> str | None:
    """Why a change's `status` may not follow the record's, if it may not (None: it may).

    Only a status that would win on ordering is checked (an older one is merely stale), and only
    against a status the record holds: the first status the hub hears of is taken as it comes.
    """
    if record is None or "status" not in fields:
        return None
    lifecycle = _LIFECYCLES.get(change.domain.value)
    current = record.fields.get("status")
    if lifecycle is None or current is None:
        return None
    if not is_newer(record.prov.get("status"), stamp, change.id, system, change.version is not None):
        return None
    return lifecycle.check(current, fields["status"])


def _keep_received(record: RecordState, applied: list[str], received: dict[str, Any]) -> None:
    """The provenance of each applied field the hub translated or converted keeps what was sent
    (`r`), as a translated line keeps it in its `received`."""
    for name in applied:
        prov = record.prov.get(name)
        if name in received and prov is not None:
            prov["r"] = received[name]


def _as_received(reason: str | None, received: dict[str, Any]) -> str:
    """The outcome's reason, noting what the hub translated or converted on the way in."""
    note = "as received: " + ", ".join(f"{name} {value!r}" for name, value in sorted(received.items()))
    return f"{reason}; {note}" if reason else note


def _duplicate(change_id: str, prior: SeenChange) -> Outcome:
    original = Outcome(
        change_id, OutcomeKind(prior.outcome), prior.reason, prior.applied, None, prior.received_us
    )
    return Outcome(change_id, DUPLICATE, "this id was received before; nothing was done", original=original)
