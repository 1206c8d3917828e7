"""The shared store: PostgreSQL through psycopg 3, safe for several hub processes at once."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg

from ..domain.change import now_us
from ..errors import LockOrderConflict, StoreBusy, StoreError
from ..redact import redact_url
from .migrate import pending
from .sql import SqlStore, SqlWriteTx

_MIGRATION_LOCK = 7_151_515_151  # advisory lock id: one migrator at a time


LOCK_BUCKETS = 256  # advisory locks per transaction at most, whatever the batch size


def _lock_bucket(key: str) -> int:
    """The advisory lock that guards a key: one of LOCK_BUCKETS, from a stable hash.

    Buckets keep a batch's locks bounded (PostgreSQL's lock table is shared and small: by default
    64 x max_connections entries), at the price of some writers of unrelated keys waiting.
    """
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return _LOCK_SPACE + int.from_bytes(digest, "big") % LOCK_BUCKETS


_LOCK_SPACE = 7_151_000_000  # logisync's range of advisory lock ids
_ROUTE_LOCK_SPACE = 7_152_000_000  # one advisory lock per route, for the outbox's leases


def _route_lock(route: str) -> int:
    digest = hashlib.blake2b(route.encode(), digest_size=8).digest()
    return _ROUTE_LOCK_SPACE + int.from_bytes(digest, "big") % 1_000_000


class PostgresStore(SqlStore):
    dialect = "postgres"
    concurrent_writers = True
    skip_locked = " FOR UPDATE OF o SKIP LOCKED"
    for_update = " FOR UPDATE"

    def __init__(self, url: str) -> None:
        try:
            conn = psycopg.connect(url, autocommit=True)
        except psycopg.OperationalError as exc:
            raise StoreError(
                f"cannot connect to PostgreSQL at {redact_url(url)}: {str(exc).strip()}"
            ) from exc
        super().__init__(conn)
        self.url = url

    @contextmanager
    def write(self) -> Iterator[SqlWriteTx]:
        """A write transaction; a deadlock between writers surfaces as `StoreBusy` (retry the batch)."""
        try:
            with super().write() as tx:
                yield tx
        except (psycopg.errors.DeadlockDetected, psycopg.errors.SerializationFailure) as exc:
            raise StoreBusy(f"another writer held what this batch needed; retry it ({exc.sqlstate})") from exc

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s")

    def _in(self, template: str, fixed: list[Any], items: Sequence[Any]) -> tuple[str, list[Any]]:
        """One array parameter (`= ANY(%s)`): one plan whatever the list's length."""
        return self._sql(template.replace("IN ({in})", "= ANY(?)")), [*fixed, list(items)]

    def _begin_write(self, cur: Any) -> None:
        cur.execute("BEGIN")

    def _cursor(self) -> Any:
        """A cursor on a live connection: one that the server closed or lost is opened anew."""
        if self.conn.closed or self.conn.broken:
            self.conn.close()
            try:
                self.conn = psycopg.connect(self.url, autocommit=True)
            except psycopg.OperationalError as exc:
                raise StoreError(
                    f"cannot reconnect to PostgreSQL at {redact_url(self.url)}: {str(exc).strip()}"
                ) from exc
        return self.conn.cursor()

    def _lock_keys(self, cur: Any, keys: Sequence[str], held: set[int], ordered: bool) -> None:
        """Take the keys' advisory locks, in ascending id order, so writers queue and never deadlock.

        A transaction waits only for locks above every lock it holds: then no cycle of waits can
        form. Locks asked for later, as rules read more records, may fall below: with `ordered`
        those are only tried (`pg_try_advisory_xact_lock`); one that another writer holds raises
        `LockOrderConflict` with its keys, and the caller starts over with them among the first
        locks. Without `ordered` (a caller that cannot start over) they are waited for, as before.
        """
        new = sorted({_lock_bucket(k) for k in keys} - held)
        if not new:
            return
        top = max(held, default=-1)
        below = [h for h in new if h < top]
        if below and ordered:
            cur.execute("SELECT h, pg_try_advisory_xact_lock(h) FROM unnest(%s::bigint[]) AS h", (below,))
            rows = cur.fetchall()
            held.update(h for h, ok in rows if ok)
            missed = {h for h, ok in rows if not ok}
            if missed:
                raise LockOrderConflict(
                    f"another writer holds a lock this batch needs below one it holds ({len(missed)} of "
                    f"{len(below)}); start over with it first",
                    sorted(k for k in keys if _lock_bucket(k) in missed),
                )
            new = [h for h in new if h > top]
        if new:
            cur.execute("SELECT count(pg_advisory_xact_lock(h)) FROM unnest(%s::bigint[]) AS h", (new,))
            held.update(new)

    def _lock_route(self, cur: Any, route: str) -> None:
        """Two dispatchers leasing one route take turns: the second sees the first's rows in flight
        (row locks alone would let it lease a key's next event while the head's lease commits)."""
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (_route_lock(route),))

    def _next_seqs(self, cur: Any, n: int) -> list[int]:
        cur.execute("SELECT nextval('changes_seq') FROM generate_series(1, %s)", (n,))
        return [row[0] for row in cur.fetchall()]

    def migrate(self) -> list[str]:
        with self.lock, self.conn.transaction():
            self.conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            self.conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations "
                "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_us BIGINT NOT NULL)"
            )
            applied = {row[0] for row in self.conn.execute("SELECT version FROM schema_migrations")}
            done = []
            for m in pending("postgres", applied):
                self.conn.execute(m.sql.encode())
                self.conn.execute(
                    "INSERT INTO schema_migrations VALUES (%s, %s, %s)",
                    (m.version, m.name, now_us()),
                )
                done.append(f"{m.version:04d}_{m.name}")
            return done
