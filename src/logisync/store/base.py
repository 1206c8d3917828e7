"""The Store protocol the pipeline and the API see, and the rows that cross it."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol

from ..domain.record import RecordState


@dataclass(slots=True)
class LogEntry:
    """One change in the append-only change log, with its outcome."""

    seq: int
    system: str
    change_id: str
    domain: str
    key: str
    stamp: int
    received_us: int
    outcome: str
    reason: str | None
    payload: dict[str, Any]
    applied: list[str] | None
    source: str | None = None
    prev_seq: int | None = None  # the previous entry for the same record
    versioned: bool = False  # the stamp is a source version (else a time in µs)


@dataclass(slots=True)
class SeenChange:
    """What the idempotency index remembers of a change id."""

    change_id: str
    outcome: str
    reason: str | None
    applied: list[str] | None
    received_us: int


@dataclass(slots=True)
class NewDelivery:
    """An outbox row to enqueue, one per (route, applied change).

    Rows of state domains are `coalescing`: when the dispatcher leases a route's pending rows it
    sends only the latest revision of each key and marks the older rows `coalesced`.
    """

    route: str
    domain: str
    key: str
    change_seq: int
    coalescing: bool
    state: str  # pending
    at_us: int


@dataclass(slots=True)
class NewException:
    kind: str  # validation, ownership_conflict, ...
    reason: str
    domain: str | None = None
    key: str | None = None
    system: str | None = None
    change_id: str | None = None
    route: str | None = None
    detail: dict[str, Any] | None = None


@dataclass(slots=True)
class ExceptionRow:
    id: int
    kind: str
    state: str
    domain: str | None
    key: str | None
    system: str | None
    change_id: str | None
    route: str | None
    reason: str
    detail: dict[str, Any] | None
    assignee: str | None
    created_us: int
    updated_us: int


@dataclass(slots=True)
class OutboxRow:
    id: int
    route: str
    domain: str
    key: str
    change_seq: int
    coalescing: bool
    state: str
    attempts: int
    next_attempt_us: int
    first_us: int
    updated_us: int
    last_error: str | None


class WriteTx(Protocol):
    """One write transaction: everything in it commits together or not at all."""

    locks_keys: bool  # True where several writers can run at once (then the pipeline calls lock_keys)
    # True: a lock asked for below one already held is not waited for; if another writer has it,
    # `lock_keys` raises `LockOrderConflict` (the ingest pipeline, which starts over, sets this)
    ordered_locks: bool

    def lock_keys(self, keys: Sequence[str]) -> None: ...
    def seen(self, system: str, change_ids: Sequence[str]) -> dict[str, SeenChange]: ...
    def load_records(self, domain: str, keys: Sequence[str]) -> dict[str, RecordState]: ...
    def keys_with_prefix(self, domain: str, prefix: str, limit: int = 10_000) -> list[str]: ...
    def next_seqs(self, n: int) -> list[int]: ...
    def append_changes(self, entries: Sequence[LogEntry]) -> None: ...
    def save_records(self, records: Sequence[RecordState]) -> None: ...
    def enqueue(self, deliveries: Sequence[NewDelivery]) -> None: ...
    def open_exceptions(self, exceptions: Sequence[NewException], at_us: int) -> None: ...
    def count_outcomes(self, counts: dict[tuple[str, str, str], int]) -> None: ...
    def backordered(self, skus: Sequence[str]) -> list[tuple[str, str, int]]: ...
    def set_backorders(self, waiting: Sequence[tuple[str, Sequence[str], int]]) -> None: ...
    def settle_backorders(self, order_keys: Sequence[str], at_us: int) -> list[int]: ...
    def xrefs(self, system: str, kind: str, external_ids: Sequence[str]) -> dict[str, str]: ...
    def learn_xref(
        self, system: str, kind: str, external_id: str, canonical: str, source: str, at_us: int
    ) -> None: ...


class Store(Protocol):
    """Where the hub keeps everything. Two implementations: SQLite and PostgreSQL."""

    url: str

    def migrate(self) -> list[str]: ...
    def write(self) -> AbstractContextManager[WriteTx]: ...
    def get_record(self, domain: str, key: str) -> RecordState | None: ...
    def record_log(
        self, domain: str, key: str, *, until_us: int | None = None, applied_only: bool = False
    ) -> list[LogEntry]: ...
    def record_history(
        self, domain: str, key: str, *, limit: int, before: int | None = None
    ) -> list[LogEntry]: ...
    def get_change(self, system: str, change_id: str) -> LogEntry | None: ...
    def get_changes(self, seqs: Sequence[int]) -> dict[int, LogEntry]: ...
    def iter_records(self, domain: str, *, prefix: str = "", batch: int = 1000) -> Iterator[RecordState]: ...
    def pending_migrations(self) -> list[str]: ...
    def count_records(self, domain: str | None = None) -> int: ...
    def outcome_counts(self) -> dict[tuple[str, str, str], int]: ...
    def committed_outcomes(self) -> dict[tuple[str, str, str], int]: ...
    def count_changes(self) -> dict[str, int]: ...
    def count_exceptions(self) -> dict[tuple[str, str], int]: ...
    def count_outbox(self, states: Sequence[str] | None = None) -> dict[tuple[str, str], int]: ...
    def list_exceptions(
        self,
        *,
        state: str | None = "open",
        kind: str | None = None,
        limit: int = 100,
        after_id: int = 0,
    ) -> list[ExceptionRow]: ...
    def resolve_exceptions(self, ids: Sequence[int], at_us: int, actor: str = "logisync") -> None: ...
    def list_outbox(
        self, *, state: str | None = None, route: str | None = None, limit: int = 100
    ) -> list[OutboxRow]: ...
    def resolve_xrefs(self, system: str, kind: str, external_ids: Sequence[str]) -> dict[str, str]: ...
    def external_ids(self, system: str, kind: str, canonicals: Sequence[str]) -> dict[str, str]: ...
    def get_checkpoint(self, name: str) -> str | None: ...
    def set_checkpoint(self, name: str, position: str) -> None: ...
    def close(self) -> None: ...
