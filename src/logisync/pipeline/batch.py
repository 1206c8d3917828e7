"""One ingest transaction in progress: the records it read and changed, and what it will write.

The pipeline applies the changes it received; the logistics rules (`pipeline/rules.py`) read
other records through `record` and change them through `derive`, in the same transaction. A
derived change is logged like any other, by the system `logisync`, with the change that caused
it as its source, so a reservation or a status the hub worked out has provenance and history.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Collection, Iterable, Sequence
from typing import Any

from ..config.loader import HUB_SYSTEM
from ..domain.catalog import split_inventory_key
from ..domain.kinds import Domain, OutcomeKind
from ..domain.record import RecordState, merge
from ..domain.stock import apply_deltas
from ..errors import HubWriteLost
from ..store.base import LogEntry, NewDelivery, NewException, WriteTx
from .routing import Router

_DOMAINS = {d: (d.value, d.is_event) for d in Domain}
_LATE = 1 << 62  # sorts a backorder queued in this batch after every stored one
HUB = HUB_SYSTEM  # the system name of changes the hub itself derives; no configured system may take it


class Batch:
    """What one transaction has read and will write; `flush` writes it all."""

    def __init__(self, tx: WriteTx, router: Router, received: int, arrival: Callable[[], int]) -> None:
        self.tx = tx
        self.router = router
        self.received = received
        self.arrival = arrival  # a fresh, strictly rising arrival stamp
        self.records: dict[tuple[str, str], RecordState | None] = {}
        self.touched: dict[tuple[str, str], RecordState] = {}
        self.log: list[LogEntry] = []
        self.deliveries: list[NewDelivery] = []
        self.exceptions: list[NewException] = []
        self.counts: Counter[tuple[str, str, str]] = Counter()
        self.freed: dict[str, tuple[str, str]] = {}  # SKU -> the change that last freed some of its stock
        self.waiting: dict[str, tuple[frozenset[str], int]] = {}  # order -> SKUs it waits for, queued at
        self._drafts = 0  # log positions handed out so far, as drafts -1, -2, ... (see `next_seq`)
        self._derived_ids: Counter[str] = Counter()

    # -- reading ------------------------------------------------------------------------------
    def preload(self, domain: str, keys: Sequence[str]) -> None:
        """Load many records at once (the keys of the batch, already locked by the caller)."""
        found = self.tx.load_records(domain, keys)
        for key in keys:
            self.records[(domain, key)] = found.get(key)

    def record(self, domain: str, key: str) -> RecordState | None:
        """A record, read once per transaction (and locked first where several writers run)."""
        rk = (domain, key)
        if rk not in self.records:
            if self.tx.locks_keys:
                self.tx.lock_keys([f"r:{domain}/{key}"])
            self.records[rk] = self.tx.load_records(domain, [key]).get(key)
        return self.records[rk]

    def records_with_prefix(self, domain: str, prefix: str) -> list[RecordState]:
        """Every record whose key starts with `prefix` (a SKU's positions), locked and read."""
        keys = self.tx.keys_with_prefix(domain, prefix)
        known = {k for (d, k), rec in self.records.items() if d == domain and rec is not None}
        keys = sorted(set(keys) | {k for k in known if k.startswith(prefix)})
        unread = [k for k in keys if (domain, k) not in self.records]
        if unread:  # locked together, in the store's order, then read together
            if self.tx.locks_keys:
                self.tx.lock_keys([f"r:{domain}/{k}" for k in unread])
            found = self.tx.load_records(domain, unread)
            for key in unread:
                self.records[(domain, key)] = found.get(key)
        return [rec for key in keys if (rec := self.records[(domain, key)]) is not None]

    def create(self, domain: str, key: str) -> RecordState:
        rec = RecordState(domain, key)
        self.records[(domain, key)] = rec
        return rec

    def backorder_queue(self, skus: Sequence[str]) -> list[tuple[str, str]]:
        """(sku, order) waiting for units of these SKUs, oldest backorder first, as this transaction
        left them: the store's queue, with the orders this batch backordered or filled applied."""
        rows = [
            (queued, key, sku)
            for sku, key, queued in self.tx.backordered(skus)
            if key not in self.waiting or sku in self.waiting[key][0]
        ]
        stored = {(key, sku) for _, key, sku in rows}
        for key, (waits, queued) in self.waiting.items():
            # queued in this batch: after every stored entry, in processing order (drafts are -1, -2, ...)
            rows.extend(
                (_LATE - queued, key, sku) for sku in waits if sku in skus and (key, sku) not in stored
            )
        rows.sort()
        return [(sku, key) for _, key, sku in rows]

    # -- writing ------------------------------------------------------------------------------
    def lock_queue(self, sku: str) -> None:
        """Serialize with writers of the SKU's backorder queue (where several writers run): an order
        backordering the SKU and a change freeing its stock see each other's result, whichever is first."""
        if self.tx.locks_keys:
            self.tx.lock_keys([f"q:{sku}"])

    def free(self, sku: str, cause: tuple[str, str]) -> None:
        """Some of the SKU's stock became available (more stock, a hold released): its backorders
        are tried again before this transaction commits (`OversellGuard.refill`)."""
        self.freed[sku] = cause

    def wait(self, order: str, skus: frozenset[str], queued: int) -> None:
        """The order now waits for exactly these SKUs (a new one queued at log position `queued`)."""
        self.waiting[order] = (skus, queued)

    def next_seq(self) -> int:
        """The next change-log position, as a draft (-1, -2, ...) that `flush` makes real.

        Real positions are taken from the store only at `flush`, after every lock this
        transaction takes (some are taken lazily, as the rules read records): a concurrent batch
        that wrote a record first then always has the lower positions, so a record's history
        chain rises. Drafts are in the order changes are processed, and so are the real ones.
        """
        self._drafts += 1
        return -self._drafts

    def append(self, entry: LogEntry, record: RecordState | None) -> None:
        """Log a change; when it concerns a record, chain it into the record's history."""
        if record is not None:
            entry.prev_seq, record.last_seq = record.last_seq, entry.seq
            self.touched[(record.domain, record.key)] = record
        self.log.append(entry)

    def enqueue(self, domain: Domain, key: str, seq: int, origin: str, applied: Collection[str]) -> None:
        """An outbox row for every route that carries this applied change (of the fields `applied`;
        not back to its origin unless the route asks for the echo)."""
        routes = self.router.targets(domain, key, origin, applied)
        if routes:
            name, is_event = _DOMAINS[domain]
            for route in routes:
                self.deliveries.append(
                    NewDelivery(
                        route.name, name, key, seq, route.coalesce and not is_event, "pending", self.received
                    )
                )

    def open_exception(self, exception: NewException) -> None:
        self.exceptions.append(exception)

    def derive(
        self,
        domain: Domain,
        key: str,
        fields: dict[str, Any],
        *,
        why: str,
        cause: tuple[str, str],
        deliver: bool = True,
    ) -> RecordState:
        """Apply values the hub worked out, as a change of its own caused by `cause` (system, id).

        The fields it writes are the hub's alone (reservations) or follow from the cause, worked
        out from the record as it stands under this transaction's locks: so they always win. The
        stamp is this process's arrival clock, raised above the stamp each written field holds
        (another process's clock may be ahead of this one). Raises `HubWriteLost` if a field was
        still not taken: the batch fails rather than lose a hold.
        `deliver=False` keeps it off the routes: the hub's bookkeeping on an event domain's record
        (a tracking number's digest of events) is not a carrier event to send anyone.
        """
        rec = self.record(domain.value, key) or self.create(domain.value, key)
        change_id, seq, stamp = self._derived(domain, key, cause, rec, fields)
        result = merge(rec, HUB, change_id, stamp, fields, self.received, seq)
        if result.stale:
            raise HubWriteLost(f"{why}: {domain.value} {key} kept newer {', '.join(result.stale)}")
        self._log_derived(seq, change_id, domain, key, stamp, why, fields, result.applied, cause, rec)
        if result.applied and deliver:
            self.enqueue(domain, key, seq, HUB, result.applied)
        return rec

    def adjust(
        self, key: str, deltas: dict[str, int], *, reason: str, why: str, cause: tuple[str, str]
    ) -> RecordState:
        """Move stock as the hub (a restock): an adjustment of the inventory position `key`,
        applied by `stock.apply_deltas` exactly as one a system sends, logged and routed like one.

        Raises `stock.NegativeStock` (changing nothing) when a delta would take a quantity below zero.
        """
        domain = Domain.inventory
        rec = self.record(domain.value, key) or self.create(domain.value, key)
        change_id, seq, stamp = self._derived(domain, key, cause, rec, deltas)
        result = apply_deltas(rec, HUB, change_id, stamp, deltas, self.received, seq, False)
        if result.stale:
            raise HubWriteLost(f"{why}: {domain.value} {key} kept newer {', '.join(result.stale)}")
        payload = {"adjust": {"on_hand": None, "inbound": None, **deltas, "reason": reason}}
        applied = [*result.applied, "adjust"] if result.applied else []
        self._log_derived(seq, change_id, domain, key, stamp, why, payload, applied, cause, rec)
        if "on_hand" in result.applied and deltas.get("on_hand", 0) > 0:
            self.free(split_inventory_key(key)[0], cause)
        if applied:
            self.enqueue(domain, key, seq, HUB, applied)
        return rec

    def _derived(
        self, domain: Domain, key: str, cause: tuple[str, str], rec: RecordState, names: Iterable[str]
    ) -> tuple[str, int, int]:
        """A derived change's id (unique in the batch), log position and stamp.

        stamp = max(arrival, 1 + the stamp of every written field that holds a time stamp): newer
        than what the record holds whatever clock wrote it. (A field holding a source version is a
        stamp of the other kind: a time stamp is taken over it anyway, see `record.merge`.)
        """
        base = f"{cause[0]}/{cause[1]}>{domain.value}/{key}"
        self._derived_ids[base] += 1
        change_id = base if self._derived_ids[base] == 1 else f"{base}#{self._derived_ids[base]}"
        stamp = self.arrival()
        for name in names:
            old = rec.prov.get(name)
            if old is not None and "k" not in old and old["v"] >= stamp:
                stamp = old["v"] + 1
        return change_id, self.next_seq(), stamp

    def _log_derived(
        self,
        seq: int,
        change_id: str,
        domain: Domain,
        key: str,
        stamp: int,
        why: str,
        payload: dict[str, Any],
        applied: list[str],
        cause: tuple[str, str],
        rec: RecordState,
    ) -> None:
        self.append(
            LogEntry(
                seq,
                HUB,
                change_id,
                domain.value,
                key,
                stamp,
                self.received,
                OutcomeKind.applied.value,
                why,
                payload,
                applied,
                f"{cause[0]}/{cause[1]}",
            ),
            rec,
        )
        self.counts[(HUB, domain.value, OutcomeKind.applied.value)] += 1

    def flush(self) -> None:
        """Write everything this transaction did, in one go (drafted log positions made real)."""
        seqs = self.tx.next_seqs(self._drafts) if self._drafts else []
        if seqs:
            self._assign_seqs(seqs)
        self.tx.append_changes(self.log)
        self.tx.save_records(sorted(self.touched.values(), key=lambda r: (r.domain, r.key)))  # row lock order
        if self.waiting:
            self.tx.set_backorders(
                [(key, sorted(skus), real_seq(queued, seqs)) for key, (skus, queued) in self.waiting.items()]
            )
        self.tx.enqueue(self.deliveries)
        self.tx.open_exceptions(self.exceptions, self.received)
        filled = [key for key, (skus, _) in self.waiting.items() if not skus]
        if filled:  # their insufficient_stock exceptions (policy backorder) are settled
            self.tx.settle_backorders(filled, self.received)
        self.tx.count_outcomes(dict(self.counts))

    def _assign_seqs(self, seqs: list[int]) -> None:
        """Replace every draft position (-n is `seqs[n - 1]`) in the log, records and outbox rows."""

        def real(q: int | None) -> int | None:
            return None if q is None else real_seq(q, seqs)

        for entry in self.log:
            entry.seq = seqs[-entry.seq - 1]
            entry.prev_seq = real(entry.prev_seq)
        for record in self.touched.values():
            record.last_seq = real(record.last_seq)
            for p in record.prov.values():
                if p["q"] < 0:
                    p["q"] = seqs[-p["q"] - 1]
                if p["p"] is not None and p["p"] < 0:
                    p["p"] = seqs[-p["p"] - 1]
        for delivery in self.deliveries:
            delivery.change_seq = seqs[-delivery.change_seq - 1]


def real_seq(q: int, seqs: list[int]) -> int:
    """A log position made real: a draft (-n) is `seqs[n - 1]`, a real one stays."""
    return seqs[-q - 1] if q < 0 else q
