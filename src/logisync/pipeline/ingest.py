"""The ingest transaction: one store transaction per batch, one outcome per change."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from ..config.model import SyncMap
from ..config.ownership import Ownership, Scopes
from ..domain.change import Change, Outcome, now_us
from ..domain.kinds import OutcomeKind
from ..domain.record import RecordState, describe_stale, merge
from ..store.base import LogEntry, NewDelivery, NewException, SeenChange, Store
from .routing import Router
from .verdicts import Verdict, authorize, validate


@dataclass(slots=True)
class _Pending:
    """A change that passed the checks, waiting for its turn in the transaction."""

    index: int
    change: Change
    verdict: Verdict


class Pipeline:
    """Turns batches of changes from one system into golden records, log entries and deliveries.

    The caller acknowledges the sender only after `ingest` returns: by then the outcomes are
    committed. A repeated id returns `duplicate` with the first outcome attached.
    """

    def __init__(self, store: Store, syncmap: SyncMap) -> None:
        self.store = store
        self.syncmap = syncmap
        self.ownership = Ownership(syncmap)
        self.scopes = Scopes(syncmap, self.ownership)
        self.router = Router(syncmap.routes)

    def ingest(self, system: str, changes: Sequence[Change], *, source: str | None = None) -> list[Outcome]:
        received = now_us()
        verdicts = [self._check(system, c) for c in changes]
        lock_keys = [f"r:{c.domain.value}/{c.key}" for c in changes] + [f"i:{system}/{c.id}" for c in changes]
        with self.store.write() as tx:
            tx.lock_keys(lock_keys)
            seen = tx.seen(system, [c.id for c in changes])
            outcomes: list[Outcome | None] = [None] * len(changes)
            first: dict[str, Outcome] = {}
            todo: list[_Pending] = []
            for i, change in enumerate(changes):
                prior = seen.get(change.id)
                if prior is not None:
                    outcomes[i] = _duplicate(change.id, prior)
                elif change.id in first:
                    outcomes[i] = Outcome(
                        change.id,
                        OutcomeKind.duplicate,
                        "repeated in the same batch",
                        original=first[change.id],
                    )
                else:
                    first[change.id] = placeholder = Outcome(change.id, OutcomeKind.applied)
                    outcomes[i] = placeholder
                    todo.append(_Pending(i, change, verdicts[i]))

            by_domain: dict[str, set[str]] = {}
            for p in todo:
                if p.verdict.fields is not None:
                    by_domain.setdefault(p.change.domain.value, set()).add(p.change.key)
            records: dict[tuple[str, str], RecordState] = {}
            for domain, keys in by_domain.items():
                for key, rec in tx.load_records(domain, sorted(keys)).items():
                    records[(domain, key)] = rec

            seqs = tx.next_seqs(len(todo))
            log: list[LogEntry] = []
            deliveries: list[NewDelivery] = []
            exceptions: list[NewException] = []
            touched: dict[tuple[str, str], RecordState] = {}
            for p, seq in zip(todo, seqs, strict=True):
                change, verdict = p.change, p.verdict
                domain = change.domain.value
                stamp = change.order_stamp(received)
                outcome = outcomes[p.index]
                assert outcome is not None
                applied: list[str] | None = None
                if verdict.fields is None:
                    outcome.outcome = verdict.outcome or OutcomeKind.rejected
                    outcome.reason = verdict.reason
                    exc = verdict.exception(change, system)
                    if exc is not None:
                        exceptions.append(exc)
                    payload = change.fields
                else:
                    payload = verdict.fields
                    rk = (domain, change.key)
                    rec = records.get(rk)
                    if rec is None:
                        rec = records[rk] = RecordState(domain, change.key)
                    result = merge(
                        rec,
                        system=system,
                        change_id=change.id,
                        stamp=stamp,
                        fields=payload,
                        at_us=received,
                    )
                    applied = result.applied
                    if result.applied:
                        touched[rk] = rec
                        if result.stale:
                            outcome.reason = describe_stale(rec, result.stale, stamp)
                    elif change.domain.is_event:
                        outcome.reason = "event kept in the history; the record already holds newer values"
                    else:
                        outcome.outcome = OutcomeKind.stale
                        outcome.reason = describe_stale(rec, result.stale, stamp)
                    if outcome.outcome is OutcomeKind.applied:
                        outcome.applied_fields = applied
                        coalescing = not change.domain.is_event
                        for route in self.router.targets(change.domain, change.key, system):
                            deliveries.append(
                                NewDelivery(
                                    route.name,
                                    route.to,
                                    domain,
                                    change.key,
                                    seq,
                                    rec.revision,
                                    coalescing,
                                    "pending",
                                    received,
                                )
                            )
                outcome.received_us = received
                log.append(
                    LogEntry(
                        seq,
                        system,
                        change.id,
                        domain,
                        change.key,
                        stamp,
                        received,
                        outcome.outcome.value,
                        outcome.reason,
                        payload,
                        applied,
                        source,
                    )
                )

            counts: Counter[tuple[str, str, str]] = Counter()
            for change, outcome in zip(changes, outcomes, strict=True):
                assert outcome is not None
                counts[(system, change.domain.value, outcome.outcome.value)] += 1
            tx.append_changes(log)
            tx.save_records(list(touched.values()))
            tx.enqueue(deliveries)
            tx.open_exceptions(exceptions, received)
            tx.count_outcomes(dict(counts))
        return [o for o in outcomes if o is not None]

    def _check(self, system: str, change: Change) -> Verdict:
        verdict = validate(change)
        if verdict.fields is None:
            return verdict
        return authorize(change, system, verdict.fields, self.scopes, self.ownership)


def _duplicate(change_id: str, prior: SeenChange) -> Outcome:
    original = Outcome(
        change_id, OutcomeKind(prior.outcome), prior.reason, prior.applied, None, prior.received_us
    )
    return Outcome(
        change_id,
        OutcomeKind.duplicate,
        "this id was received before; nothing was done",
        original=original,
    )
