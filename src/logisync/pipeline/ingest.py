"""The ingest transaction: one store transaction per batch, one outcome per change."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from ..config.model import SyncMap
from ..config.ownership import Ownership, Scopes
from ..domain.change import Change, Outcome, now_us, to_us
from ..domain.kinds import Domain, OutcomeKind
from ..domain.lifecycles import LIFECYCLES
from ..domain.record import RecordState, describe_stale, is_newer, merge
from ..store.base import LogEntry, NewDelivery, NewException, SeenChange, Store
from .routing import Router
from .verdicts import Verdict, authorize, validate

APPLIED, DUPLICATE, STALE = OutcomeKind.applied, OutcomeKind.duplicate, OutcomeKind.stale
_DOMAINS = {d: (d.value, d.is_event) for d in Domain}  # read once per change on the hot path


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
        self._last_arrival = 0

    def ingest(self, system: str, changes: Sequence[Change], *, source: str | None = None) -> list[Outcome]:
        """Run one batch through validate → dedupe → authorize → order → apply → log → enqueue."""
        verdicts = [self._check(system, c) for c in changes]
        with self.store.write() as tx:
            if tx.locks_keys:  # stores with several writers serialize on the keys and ids in the batch
                tx.lock_keys(
                    [f"r:{c.domain.value}/{c.key}" for c in changes] + [f"i:{system}/{c.id}" for c in changes]
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
            records: dict[tuple[str, str], RecordState] = {}
            for domain, keys in wanted.items():
                for key, loaded in tx.load_records(domain, sorted(keys)).items():
                    records[(domain, key)] = loaded

            log: list[LogEntry] = []
            deliveries: list[NewDelivery] = []
            exceptions: list[NewException] = []
            touched: dict[tuple[str, str], RecordState] = {}
            targets = self.router.targets
            for (change, verdict, outcome), seq in zip(todo, tx.next_seqs(len(todo)), strict=True):
                domain, is_event = _DOMAINS[change.domain]
                fields = verdict.fields
                stamp = self._stamp(change, fields, received)
                applied: list[str] | None = None
                rk = (domain, change.key)
                rec: RecordState | None = records.get(rk)
                if fields is None:
                    outcome.outcome = verdict.outcome or OutcomeKind.rejected
                    outcome.reason = verdict.reason
                    exc = verdict.exception(change, system)
                    if exc is not None:
                        exceptions.append(exc)
                    fields = verdict.payload if verdict.payload is not None else change.fields
                elif (problem := _illegal_move(rec, change, system, stamp, fields)) is not None:
                    outcome.outcome = OutcomeKind.rejected
                    outcome.reason = problem
                    exceptions.append(
                        NewException(
                            "illegal_transition",
                            problem,
                            domain,
                            change.key,
                            system,
                            change.id,
                            detail={"fields": fields, "from": rec.fields.get("status") if rec else None},
                        )
                    )
                else:
                    if rec is None:
                        rec = records[rk] = RecordState(domain, change.key)
                    versioned = change.version is not None
                    result = merge(rec, system, change.id, stamp, fields, received, seq, versioned)
                    applied = result.applied
                    if applied:
                        if result.stale:
                            outcome.reason = describe_stale(rec, result.stale, stamp)
                    elif is_event:
                        outcome.reason = "event kept in the history; the record already holds newer values"
                    else:
                        outcome.outcome = STALE
                        outcome.reason = describe_stale(rec, result.stale, stamp)
                        applied = None
                    if outcome.outcome is APPLIED:
                        outcome.applied_fields = applied
                        coalescing = not is_event
                        for route in targets(change.domain, change.key, system):
                            deliveries.append(
                                NewDelivery(
                                    route.name, domain, change.key, seq, coalescing, "pending", received
                                )
                            )
                prev_seq = None
                if rec is not None:  # the record's history is a chain through the change log
                    prev_seq, rec.last_seq = rec.last_seq, seq
                    touched[rk] = rec
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
                        fields,
                        applied,
                        source,
                        prev_seq,
                        change.version is not None,
                    )
                )

            counts: Counter[tuple[str, Domain, OutcomeKind]] = Counter()
            for change, outcome in zip(changes, outcomes, strict=True):
                counts[(system, change.domain, outcome.outcome)] += 1
            tx.append_changes(log)
            tx.save_records(list(touched.values()))
            tx.enqueue(deliveries)
            tx.open_exceptions(exceptions, received)
            tx.count_outcomes({(s, d.value, o.value): n for (s, d, o), n in counts.items()})
        return outcomes

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


def _duplicate(change_id: str, prior: SeenChange) -> Outcome:
    original = Outcome(
        change_id, OutcomeKind(prior.outcome), prior.reason, prior.applied, None, prior.received_us
    )
    return Outcome(change_id, DUPLICATE, "this id was received before; nothing was done", original=original)
