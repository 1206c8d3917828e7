"""The SQL both stores share: one class, with the few dialect differences as overridable hooks.

Every statement is written once with `?` placeholders; PostgreSQL's subclass turns them into
`%s`. Rows cross the Store boundary as the dataclasses of `store.base`, never as cursors.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from typing import Any

import orjson

from ..domain.record import RecordState
from ..errors import LockOrderConflict
from . import xrefs as xref_sql
from .base import ExceptionRow, LogEntry, NewDelivery, NewException, OutboxRow, SeenChange
from .migrate import pending

CHUNK = 500  # ids per IN list


def dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


def loads(text: str | bytes | None) -> Any:
    return None if text is None else orjson.loads(text)


_LOG_COLUMNS = (
    "seq, system, change_id, domain, key, stamp, received_us, outcome, reason, payload, applied, source, prev_seq, "
    "versioned"
)
_EXC_COLUMNS = (
    "id, kind, state, domain, key, system, change_id, route, reason, detail, assignee, created_us, updated_us"
)
_OUTBOX_COLUMNS = (
    "id, route, domain, key, change_seq, coalescing, state, attempts, next_attempt_us, first_us, updated_us, "
    "last_error"
)

SQL_SEEN = (
    "SELECT change_id, outcome, reason, applied, received_us, payload FROM changes "
    "WHERE system = ? AND change_id IN ({in})"
)
SQL_LOAD = (
    "SELECT key, fields, prov, revision, updated_us, last_seq FROM records WHERE domain = ? AND key IN ({in})"
)
SQL_APPEND = f"INSERT INTO changes ({_LOG_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
SQL_INSERT_RECORD = (
    "INSERT INTO records (domain, key, fields, prov, revision, created_us, updated_us, last_seq) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
SQL_UPDATE_RECORD = "UPDATE records SET fields = ?, prov = ?, revision = ?, updated_us = ?, last_seq = ? WHERE domain = ? AND key = ?"
# A record's history: the chain of change log entries from its newest back to its first.
SQL_CHAIN = (
    "WITH RECURSIVE chain(seq) AS ("
    " SELECT last_seq FROM records WHERE domain = ? AND key = ?"
    " UNION ALL SELECT changes.prev_seq FROM changes JOIN chain ON changes.seq = chain.seq"
    " WHERE changes.prev_seq IS NOT NULL"
    f") SELECT {_LOG_COLUMNS} FROM changes WHERE seq IN (SELECT seq FROM chain)"
)
# One page of a record's history, newest first: the newest `limit` entries whose log position is
# below `before`. The walk starts at the record's newest entry; `n` counts only entries that
# qualify, and the walk stops once it has `limit` of them.
SQL_CHAIN_PAGE = (
    "WITH RECURSIVE chain(seq, n) AS ("
    " SELECT last_seq, CASE WHEN last_seq < ? THEN 1 ELSE 0 END FROM records"
    " WHERE domain = ? AND key = ? AND last_seq IS NOT NULL"
    " UNION ALL SELECT changes.prev_seq, chain.n + CASE WHEN changes.prev_seq < ? THEN 1 ELSE 0 END"
    " FROM changes JOIN chain ON changes.seq = chain.seq"
    " WHERE changes.prev_seq IS NOT NULL AND chain.n < ?"
    f") SELECT {_LOG_COLUMNS} FROM changes WHERE seq IN (SELECT seq FROM chain) AND seq < ? ORDER BY seq DESC"
)
SQL_ENQUEUE = (
    "INSERT INTO outbox (route, domain, key, change_seq, coalescing, state, attempts, next_attempt_us, "
    "first_us, updated_us) VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?)"
)
SQL_OPEN_EXCEPTION = (
    "INSERT INTO exceptions (kind, state, domain, key, system, change_id, route, reason, detail, "
    "created_us, updated_us) VALUES (?, 'open', ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
SQL_COUNT = (
    "INSERT INTO outcome_counts (system, domain, outcome, n) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (system, domain, outcome) DO UPDATE SET n = outcome_counts.n + excluded.n"
)
# the backorder queue (see migrations/*/0006_backorders.sql)
SQL_BACKORDERED = "SELECT sku, order_key, queued FROM backorders WHERE sku IN ({in})"
SQL_QUEUE = (
    "INSERT INTO backorders (order_key, sku, queued) VALUES (?, ?, ?) ON CONFLICT (order_key, sku) DO NOTHING"
)
SQL_UNQUEUE = "DELETE FROM backorders WHERE order_key = ?"
SQL_BACKORDER_EXCEPTIONS = (
    "SELECT id, detail FROM exceptions WHERE domain = 'order' AND key IN ({in}) "
    "AND kind = 'insufficient_stock' AND state = 'open'"
)
SQL_RESOLVE_OPEN = (
    "UPDATE exceptions SET state = 'resolved', updated_us = ? WHERE state = 'open' AND id IN ({in})"
)
SQL_TRAIL_ACTION = (
    "INSERT INTO exception_actions (exception_id, at_us, actor, action, detail) VALUES (?, ?, ?, ?, ?)"
)
SQL_UNQUEUE_OTHERS = "DELETE FROM backorders WHERE order_key = ? AND NOT (sku IN ({in}))"


class SqlWriteTx:
    """The statements of one ingest transaction (see `store.base.WriteTx`)."""

    def __init__(self, store: SqlStore, cur: Any) -> None:
        self.store = store
        self.cur = cur
        self.locks_keys = store.concurrent_writers
        self.ordered_locks = False  # see `store.base.WriteTx.ordered_locks`
        self.held: set[int] = set()  # the locks this transaction holds (the store's lock ids)
        self.asked: set[str] = set()  # the keys it asked to lock
        self.counted: Counter[tuple[str, str, str]] = Counter()  # outcomes, for the store's tally at commit

    def lock_keys(self, keys: Sequence[str]) -> None:
        try:
            self.store._lock_keys(self.cur, keys, self.held, self.ordered_locks)
        except LockOrderConflict as exc:  # the next try takes every key this one needed, up front
            exc.keys = sorted({*self.asked, *keys})
            raise
        self.asked.update(keys)

    def seen(self, system: str, change_ids: Sequence[str]) -> dict[str, SeenChange]:
        found: dict[str, SeenChange] = {}
        for chunk in _chunks(list(dict.fromkeys(change_ids))):
            sql, params = self.store._in(SQL_SEEN, [system], chunk)
            for cid, outcome, reason, applied, received, payload in self.store._fetch(self.cur, sql, params):
                if applied is not None:
                    applied_fields = loads(applied)
                else:
                    applied_fields = list(loads(payload)) if outcome == "applied" else None
                found[cid] = SeenChange(cid, outcome, reason, applied_fields, received)
        return found

    def load_records(self, domain: str, keys: Sequence[str]) -> dict[str, RecordState]:
        found: dict[str, RecordState] = {}
        for chunk in _chunks(list(dict.fromkeys(keys))):
            sql, params = self.store._in(SQL_LOAD, [domain], chunk)
            for key, fields, prov, revision, updated, last in self.store._fetch(self.cur, sql, params):
                found[key] = RecordState(
                    domain, key, loads(fields), loads(prov), revision, updated, True, last
                )
        return found

    def keys_with_prefix(self, domain: str, prefix: str, limit: int = 10_000) -> list[str]:
        """The keys of a domain that start with `prefix` (a SKU's positions: `SKU-1@`), in key order."""
        rows = self.store._fetch(
            self.cur,
            self.store._sql(
                "SELECT key FROM records WHERE domain = ? AND key >= ? AND key < ? ORDER BY key LIMIT ?"
            ),
            (domain, prefix, _prefix_end(prefix), limit),
        )
        return [row[0] for row in rows]

    def next_seqs(self, n: int) -> list[int]:
        return self.store._next_seqs(self.cur, n)

    def append_changes(self, entries: Sequence[LogEntry]) -> None:
        rows = [
            (
                e.seq,
                e.system,
                e.change_id,
                e.domain,
                e.key,
                e.stamp,
                e.received_us,
                e.outcome,
                _text(e.reason),
                dumps(e.payload),
                _applied_column(e),
                e.source,
                e.prev_seq,
                int(e.versioned),
            )
            for e in entries
        ]
        self.store._many(self.cur, SQL_APPEND, rows)

    def save_records(self, records: Sequence[RecordState]) -> None:
        inserts = [
            (
                r.domain,
                r.key,
                dumps(r.fields),
                dumps(r.prov),
                r.revision,
                r.updated_us,
                r.updated_us,
                r.last_seq,
            )
            for r in records
            if not r.exists
        ]
        updates = [
            (dumps(r.fields), dumps(r.prov), r.revision, r.updated_us, r.last_seq, r.domain, r.key)
            for r in records
            if r.exists
        ]
        if inserts:
            self.store._many(self.cur, SQL_INSERT_RECORD, inserts)
        if updates:
            self.store._many(self.cur, SQL_UPDATE_RECORD, updates)
        for r in records:
            r.exists = True

    def enqueue(self, deliveries: Sequence[NewDelivery]) -> None:
        rows = [
            (d.route, d.domain, d.key, d.change_seq, int(d.coalescing), d.state, d.at_us, d.at_us, d.at_us)
            for d in deliveries
        ]
        if rows:
            self.store._many(self.cur, SQL_ENQUEUE, rows)

    def open_exceptions(self, exceptions: Sequence[NewException], at_us: int) -> None:
        rows = [
            (
                x.kind,
                x.domain,
                x.key,
                x.system,
                x.change_id,
                x.route,
                _text(x.reason),
                None if x.detail is None else dumps(x.detail),
                at_us,
                at_us,
            )
            for x in exceptions
        ]
        if rows:
            self.store._many(self.cur, SQL_OPEN_EXCEPTION, rows)

    def count_outcomes(self, counts: dict[tuple[str, str, str], int]) -> None:
        rows = [(s, d, o, n) for (s, d, o), n in sorted(counts.items()) if n]
        if rows:
            self.store._many(self.cur, SQL_COUNT, rows)
            self.counted.update({(s, d, o): n for s, d, o, n in rows})

    def backordered(self, skus: Sequence[str]) -> list[tuple[str, str, int]]:
        """The backorder queue of some SKUs: (sku, order key, queued), oldest first."""
        found: list[tuple[str, str, int]] = []
        for chunk in _chunks(sorted(set(skus))):
            sql, params = self.store._in(SQL_BACKORDERED, [], chunk)
            found.extend((sku, key, queued) for sku, key, queued in self.store._fetch(self.cur, sql, params))
        found.sort(key=lambda row: (row[2], row[1], row[0]))
        return found

    def set_backorders(self, waiting: Sequence[tuple[str, Sequence[str], int]]) -> None:
        """For each (order key, skus, queued): the order now waits for exactly these SKUs; a SKU it
        already waited for keeps its place in the queue, a new one is queued at `queued`."""
        for order_key, skus, queued in sorted(waiting, key=lambda w: w[0]):  # row locks in key order
            if skus:
                sql, params = self.store._in(SQL_UNQUEUE_OTHERS, [order_key], sorted(skus))
                self.store._fetch_none(self.cur, sql, params)
                self.store._many(self.cur, SQL_QUEUE, [(order_key, sku, queued) for sku in sorted(skus)])
            else:
                self.store._fetch_none(self.cur, self.store._sql(SQL_UNQUEUE), (order_key,))

    def settle_backorders(self, order_keys: Sequence[str], at_us: int) -> list[int]:
        """Resolve the open `insufficient_stock` exceptions that backordered these orders (policy
        `backorder`): nothing of them is backordered any more (filled, or cancelled). A refused change's exception (policy `reject`)
        stays open: that change was never applied. Returns the ids resolved, in the audit trail."""
        ids: list[int] = []
        for chunk in _chunks(sorted(set(order_keys))):
            sql, params = self.store._in(SQL_BACKORDER_EXCEPTIONS, [], chunk)
            for xid, detail in self.store._fetch(self.cur, sql, params):
                if (loads(detail) or {}).get("policy") == "backorder":
                    ids.append(xid)
        if ids:
            ids.sort()  # row locks in id order
            sql, params = self.store._in(SQL_RESOLVE_OPEN, [at_us], ids)
            self.store._fetch_none(self.cur, sql, params)
            why = dumps({"why": "the order has nothing backordered any more"})
            self.store._many(
                self.cur, SQL_TRAIL_ACTION, [(i, at_us, "logisync", "resolve", why) for i in ids]
            )
        return ids

    def xrefs(self, system: str, kind: str, external_ids: Sequence[str]) -> dict[str, str]:
        """The canonical keys a system's external ids of one kind stand for (see `store/xrefs.py`)."""
        return xref_sql.lookup(self.store, self.cur, system, kind, external_ids)

    def learn_xref(
        self, system: str, kind: str, external_id: str, canonical: str, source: str, at_us: int
    ) -> None:
        """Record a pair seen in an inbound record, with the change it came from as its source."""
        xref_sql.upsert(self.store, self.cur, system, kind, [(external_id, canonical, source)], at_us)


class SqlStore:
    """Shared implementation of `store.base.Store`; subclasses supply the connection and dialect."""

    dialect = "sql"
    concurrent_writers = False  # several processes may write at once (PostgreSQL)
    skip_locked = ""  # appended to the outbox's lease scan: rows another transaction holds are passed over
    for_update = ""  # appended to a read whose rows the transaction then changes
    url: str

    def __init__(self, conn: Any) -> None:
        self.conn = conn
        self.lock = threading.RLock()  # the writer's connection: one transaction at a time
        self.read_lock = self.lock  # reads share it unless the store has a reader of its own
        # outcomes committed through this store object, by (system, domain, outcome), for /metrics:
        # every change's outcome is counted in `count_outcomes`, whatever sent it (the API, a file,
        # an EDI partner, a reconciliation's correction, a replay), so it is tallied once, here
        self._committed: Counter[tuple[str, str, str]] = Counter()
        self._committed_lock = threading.Lock()

    # -- dialect hooks -------------------------------------------------------------------------
    def _sql(self, sql: str) -> str:
        return sql

    def _in(self, template: str, fixed: list[Any], items: Sequence[Any]) -> tuple[str, list[Any]]:
        """`template` with its `IN ({in})` list bound to `items`, after the `fixed` parameters."""
        return self._sql(template.replace("{in}", ", ".join("?" * len(items)))), [*fixed, *items]

    def _fetch(self, cur: Any, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        cur.execute(sql, params)
        return cur.fetchall()

    def _many(self, cur: Any, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        cur.executemany(self._sql(sql), rows)

    def _fetch_none(self, cur: Any, sql: str, params: Sequence[Any] = ()) -> None:
        """A statement that returns no rows (`sql` already in this dialect)."""
        cur.execute(sql, params)

    def _lock_keys(self, cur: Any, keys: Sequence[str], held: set[int], ordered: bool) -> None:
        """Serialize writers of the same keys (a no-op where the store has one writer at a time)."""

    def _lock_route(self, cur: Any, route: str) -> None:
        """Serialize the outbox leases of one route (a no-op where one writer runs at a time)."""

    def _next_seqs(self, cur: Any, n: int) -> list[int]:
        raise NotImplementedError

    def _begin_write(self, cur: Any) -> None:
        raise NotImplementedError

    def _cursor(self) -> Any:
        return self.conn.cursor()

    # -- transactions -------------------------------------------------------------------------
    @contextmanager
    def write(self) -> Iterator[SqlWriteTx]:
        with self.lock:
            cur = self._cursor()
            self._begin_write(cur)
            tx = SqlWriteTx(self, cur)
            try:
                yield tx
            except BaseException:
                with suppress(Exception):  # a dead connection: the fault that brought us here is raised
                    cur.execute("ROLLBACK")
                raise
            else:
                cur.execute("COMMIT")
                if tx.counted:
                    self._tally(tx.counted)
            finally:
                cur.close()

    def _read_cursor(self) -> Any:
        return self._cursor()

    def _query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self._query_raw(self._sql(sql), params)

    def _query_raw(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """A read, in this dialect's SQL, on the reading connection."""
        with self.read_lock:
            cur = self._read_cursor()
            try:
                return self._fetch(cur, sql, params)
            finally:
                cur.close()

    def _execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        with self.lock:
            cur = self._cursor()
            try:
                cur.execute(self._sql(sql), params)
            finally:
                cur.close()

    # -- reads --------------------------------------------------------------------------------
    def get_record(self, domain: str, key: str) -> RecordState | None:
        rows = self._query(
            "SELECT fields, prov, revision, updated_us, last_seq FROM records WHERE domain = ? AND key = ?",
            (domain, key),
        )
        if not rows:
            return None
        fields, prov, revision, updated, last = rows[0]
        return RecordState(domain, key, loads(fields), loads(prov), revision, updated, True, last)

    def record_log(
        self, domain: str, key: str, *, until_us: int | None = None, applied_only: bool = False
    ) -> list[LogEntry]:
        """A record's history, oldest first: every change received since the record was created."""
        sql = SQL_CHAIN
        params: list[Any] = [domain, key]
        if until_us is not None:
            sql += " AND received_us <= ?"
            params.append(until_us)
        if applied_only:
            sql += " AND outcome = 'applied'"
        return [_log_entry(row) for row in self._query(sql + " ORDER BY seq", params)]

    def record_history(
        self, domain: str, key: str, *, limit: int, before: int | None = None
    ) -> list[LogEntry]:
        """A page of a record's history, newest first: `limit` entries older than position `before`."""
        bound = 2**63 - 1 if before is None else before
        rows = self._query(SQL_CHAIN_PAGE, [bound, domain, key, bound, limit, bound])
        return [_log_entry(row) for row in rows]

    def get_changes(self, seqs: Sequence[int]) -> dict[int, LogEntry]:
        """Change log entries by position (provenance points at them)."""
        found: dict[int, LogEntry] = {}
        wanted = sorted(set(seqs))
        for i in range(0, len(wanted), CHUNK):
            chunk = wanted[i : i + CHUNK]
            sql, params = self._in(f"SELECT {_LOG_COLUMNS} FROM changes WHERE seq IN ({{in}})", [], chunk)
            for row in self._query_raw(sql, params):
                found[row[0]] = _log_entry(row)
        return found

    def get_change(self, system: str, change_id: str) -> LogEntry | None:
        rows = self._query(
            f"SELECT {_LOG_COLUMNS} FROM changes WHERE system = ? AND change_id = ?",
            (system, change_id),
        )
        return _log_entry(rows[0]) if rows else None

    def iter_records(self, domain: str, *, prefix: str = "", batch: int = 1000) -> Iterator[RecordState]:
        """Every record of a domain (whose key starts with `prefix`), in key order, a page at a time."""
        bound, op = prefix, ">="
        while True:
            rows = self._query(
                f"SELECT key, fields, prov, revision, updated_us, last_seq FROM records WHERE domain = ? AND key {op} ? "
                "ORDER BY key LIMIT ?",
                (domain, bound, batch),
            )
            for key, fields, prov, revision, updated, last in rows:
                if not key.startswith(prefix):
                    return
                yield RecordState(domain, key, loads(fields), loads(prov), revision, updated, True, last)
            if len(rows) < batch:
                return
            bound, op = rows[-1][0], ">"

    def pending_migrations(self) -> list[str]:
        """The migrations this code ships that the store has not applied (for `/readyz`); a store
        newer than the code raises `MigrationError`, one that does not answer raises its fault."""
        applied = {int(row[0]) for row in self._query("SELECT version FROM schema_migrations")}
        return [f"{m.version:04d}_{m.name}" for m in pending(self.dialect, applied)]

    def count_records(self, domain: str | None = None) -> int:
        if domain is None:
            return int(self._query("SELECT count(*) FROM records")[0][0])
        return int(self._query("SELECT count(*) FROM records WHERE domain = ?", (domain,))[0][0])

    def outcome_counts(self) -> dict[tuple[str, str, str], int]:
        rows = self._query("SELECT system, domain, outcome, n FROM outcome_counts")
        return {(s, d, o): int(n) for s, d, o, n in rows}

    def _tally(self, counted: Counter[tuple[str, str, str]]) -> None:
        with self._committed_lock:
            self._committed.update(counted)

    def committed_outcomes(self) -> dict[tuple[str, str, str], int]:
        """Outcomes committed through this store object since it was opened, by (system, domain,
        outcome): this process's share of `outcome_counts` (what `logisync_changes_total` counts)."""
        with self._committed_lock:
            return dict(self._committed)

    def count_changes(self) -> dict[str, int]:
        """The change log's entries by outcome (duplicates are counted in `outcome_counts` only)."""
        return {o: int(n) for o, n in self._query("SELECT outcome, count(*) FROM changes GROUP BY outcome")}

    def count_exceptions(self) -> dict[tuple[str, str], int]:
        """Exceptions by (kind, state)."""
        rows = self._query("SELECT kind, state, count(*) FROM exceptions GROUP BY kind, state")
        return {(kind, state): int(n) for kind, state, n in rows}

    def count_outbox(self, states: Sequence[str] | None = None) -> dict[tuple[str, str], int]:
        """Outbox rows by (route, state); only rows in `states` when given (delivered rows pile up)."""
        if states is None:
            rows = self._query("SELECT route, state, count(*) FROM outbox GROUP BY route, state")
        else:
            sql, params = self._in(
                "SELECT route, state, count(*) FROM outbox WHERE state IN ({in}) GROUP BY route, state",
                [],
                list(states),
            )
            rows = self._query_raw(sql, params)
        return {(route, state): int(n) for route, state, n in rows}

    def list_exceptions(
        self,
        *,
        state: str | None = "open",
        kind: str | None = None,
        limit: int = 100,
        after_id: int = 0,
    ) -> list[ExceptionRow]:
        sql = f"SELECT {_EXC_COLUMNS} FROM exceptions WHERE id > ?"
        params: list[Any] = [after_id]
        if state is not None:
            sql += " AND state = ?"
            params.append(state)
        if kind is not None:
            sql += " AND kind = ?"
            params.append(kind)
        rows = self._query(sql + " ORDER BY id LIMIT ?", [*params, limit])
        return [_exception_row(row) for row in rows]

    def resolve_exceptions(self, ids: Sequence[int], at_us: int, actor: str = "logisync") -> None:
        """Mark open exceptions resolved (the condition that opened them is gone), in the audit trail."""
        if not ids:
            return
        with self.write() as tx:
            sql, params = self._in(
                "UPDATE exceptions SET state = 'resolved', updated_us = ? WHERE state = 'open' AND id IN ({in})",
                [at_us],
                list(ids),
            )
            tx.cur.execute(sql, params)
            self._many(
                tx.cur,
                "INSERT INTO exception_actions (exception_id, at_us, actor, action, detail) VALUES (?, ?, ?, ?, ?)",
                [(i, at_us, actor, "resolve", None) for i in ids],
            )

    def list_outbox(
        self, *, state: str | None = None, route: str | None = None, limit: int = 100
    ) -> list[OutboxRow]:
        sql = f"SELECT {_OUTBOX_COLUMNS} FROM outbox WHERE 1 = 1"
        params: list[Any] = []
        if state is not None:
            sql += " AND state = ?"
            params.append(state)
        if route is not None:
            sql += " AND route = ?"
            params.append(route)
        rows = self._query(sql + " ORDER BY id LIMIT ?", [*params, limit])
        return [_outbox_row(row) for row in rows]

    def resolve_xrefs(self, system: str, kind: str, external_ids: Sequence[str]) -> dict[str, str]:
        """The canonical key of each of a system's own ids that has one (see `store/xrefs.py`)."""
        return xref_sql.XrefTable(self).resolve(system, kind, external_ids)

    def external_ids(self, system: str, kind: str, canonicals: Sequence[str]) -> dict[str, str]:
        """A system's own id for each canonical key that has one (see `store/xrefs.py`)."""
        return xref_sql.XrefTable(self).external_ids(system, kind, canonicals)

    def get_checkpoint(self, name: str) -> str | None:
        rows = self._query("SELECT position FROM checkpoints WHERE name = ?", (name,))
        return rows[0][0] if rows else None

    def set_checkpoint(self, name: str, position: str) -> None:
        from ..domain.change import now_us

        with self.write() as tx:
            tx.cur.execute(
                self._sql(
                    "INSERT INTO checkpoints (name, position, updated_us) VALUES (?, ?, ?) "
                    "ON CONFLICT (name) DO UPDATE SET position = excluded.position, updated_us = excluded.updated_us"
                ),
                (name, position, now_us()),
            )

    def close(self) -> None:
        with self.lock:
            self.conn.close()


def _exception_row(row: Sequence[Any]) -> ExceptionRow:
    xid, kind, state, domain, key, system, cid, route, reason, detail, assignee, created, updated = row
    return ExceptionRow(
        xid, kind, state, domain, key, system, cid, route, reason, loads(detail), assignee, created, updated
    )


def _outbox_row(row: Sequence[Any]) -> OutboxRow:
    oid, route, domain, key, seq, coalescing, state, attempts, next_us, first_us, updated, error = row
    return OutboxRow(
        oid, route, domain, key, seq, bool(coalescing), state, attempts, next_us, first_us, updated, error
    )


def _text(value: str | None) -> str | None:
    """Text for a TEXT column: PostgreSQL refuses NUL, so it is written as an escape."""
    return value.replace("\x00", "\\x00") if value and "\x00" in value else value


def _applied_column(e: LogEntry) -> str | None:
    """The `applied` column: NULL when not applied at all, or when exactly the received fields were
    (an adjustment or a count applies fields it was not sent: those are always written out)."""
    if e.applied is None or e.applied == list(e.payload):
        return None
    return dumps(e.applied)


def _log_entry(row: Sequence[Any]) -> LogEntry:
    """A change log row (in `_LOG_COLUMNS` order) as a LogEntry."""
    fields = loads(row[9])
    applied, outcome = row[10], row[7]
    if applied is not None:
        applied_fields = loads(applied)
    else:  # NULL: every field, if applied at all
        applied_fields = list(fields) if outcome == "applied" else None
    return LogEntry(*row[:9], fields, applied_fields, row[11], row[12], bool(row[13]))  # type: ignore[call-arg]


def _prefix_end(prefix: str) -> str:
    """The smallest string above every string that starts with `prefix` (keys are compared bytewise)."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1) if prefix else "\U0010ffff"


def _chunks(items: list[str]) -> Iterator[list[str]]:
    for i in range(0, len(items), CHUNK):
        yield items[i : i + CHUNK]
