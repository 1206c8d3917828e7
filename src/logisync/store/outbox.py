"""The outbox as the dispatchers see it: lease what is due, coalesce, settle each delivery.

The pipeline only appends to the outbox. A route's dispatcher leases its due rows here:

- **state domains** (`coalescing` rows): of a key's pending rows only the newest is sent; the
  older ones are marked `coalesced` (the newest carries the record as it is now). The key waits
  while any of its rows waits for a retry (coalescing never skips a backoff), and lag is measured
  from the oldest change the carrier replaces. The carrier keeps its own attempt count: a newer
  version starts its retries afresh and is not made dead by an older version's failures.
- **event domains**: a key's oldest pending row only, and only when it is due: a row that waits
  for a retry holds back every later event of its key (never event N+1 before N). A `dead` row
  does not hold its key: it left the stream for the exceptions inbox (see docs/delivery.md).

A key with a row in flight is not leased again until that row settles. The scan finds each
key's head in SQL (`NOT EXISTS` an older pending or in-flight row of the key), due rows only.

Several dispatcher processes may share a PostgreSQL outbox: a route's leases are taken one
transaction at a time (an advisory lock per route), rows with `FOR UPDATE SKIP LOCKED`, and each
leased row records its owner and the end of its lease. The owner renews the lease while it works
and settles only rows it still holds; a row whose lease ran out (its process stopped) is pending
again at the next lease. Row states: `pending`, `in_flight`, `delivered`, `coalesced`,
`shadowed`, `dead`.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from ..store.base import NewException
from .sql import CHUNK, SqlStore, dumps, loads

LEASE_SECONDS = 300.0  # a lease's length; its owner renews it every third of that while it works

_RECLAIM = (
    "UPDATE outbox SET state = 'pending', lease_owner = NULL, lease_until_us = NULL "
    "WHERE route = ? AND state = 'in_flight' AND lease_until_us < ?"
)
# each key's head that is due: its oldest pending row, when no row of the key is in flight and
# (a state key) none of its rows waits for a retry. Heads come early in id order, so a large
# backlog is not scanned to its end to find them.
_DUE_HEADS = (
    "SELECT o.id, o.key, o.domain, o.change_seq, o.coalescing, o.attempts, o.first_us FROM outbox o "
    "WHERE o.route = ? AND o.state = 'pending' AND o.next_attempt_us <= ? AND NOT EXISTS ("
    "SELECT 1 FROM outbox b WHERE b.route = o.route AND b.key = o.key AND b.id <> o.id AND ("
    "b.state = 'in_flight' OR (b.state = 'pending' AND ("
    "b.id < o.id OR (o.coalescing = 1 AND b.next_attempt_us > ?)"
    ")))) ORDER BY o.id LIMIT ?"
)
# a state key's backlog from its head: the newest row (the carrier), how many, the oldest acceptance
_GROUPS = (
    "SELECT h.id, max(o.id), count(*), min(o.first_us) FROM outbox h JOIN outbox o ON o.route = h.route "
    "AND o.key = h.key AND o.state = 'pending' WHERE h.id IN ({in}) GROUP BY h.id"
)
_CARRIERS = "SELECT id, change_seq, attempts FROM outbox WHERE id IN ({in})"
_TAKE = (
    "UPDATE outbox SET state = 'in_flight', lease_owner = ?, lease_until_us = ?, updated_us = ?, "
    "first_us = ? WHERE id = ? AND state = 'pending'"
)
_COALESCE = (
    "UPDATE outbox SET state = 'coalesced', updated_us = ? "
    "WHERE route = ? AND key = ? AND state = 'pending' AND id < ?"
)
_HELD = "SELECT id FROM outbox WHERE state = 'in_flight' AND lease_owner = ? AND id IN ({in})"
_SETTLE = (
    "UPDATE outbox SET state = ?, attempts = ?, next_attempt_us = ?, updated_us = ?, last_error = ?, "
    "body = ?, diff = ?, lease_owner = NULL, lease_until_us = NULL WHERE id = ?"
)
_REMEMBER = (
    "INSERT INTO route_state (route, key, body, change_seq, updated_us) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (route, key) DO UPDATE SET body = excluded.body, change_seq = excluded.change_seq, "
    "updated_us = excluded.updated_us"
)


def new_owner() -> str:
    """A lease owner's name: the host and process, and a random part (one per queue)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(slots=True)
class Lease:
    """One delivery to make: the row that carries it and what it carries."""

    id: int  # the outbox row settled by this delivery
    route: str
    domain: str
    key: str
    change_seq: int  # the change it carries (the newest of its key, for state domains)
    attempts: int  # tries made before this one
    first_us: int  # when the oldest change it carries was accepted
    coalesced: int = 0  # older rows of the key this one replaced
    coalescing: bool = True  # False: it carries its own change (events, routes that do not coalesce)


@dataclass(slots=True)
class Settled:
    """How one delivery ended: `delivered`, `shadowed` (computed, not sent), `pending` again
    (a transient failure, due at `next_attempt_us`) or `dead` (with the exception to open)."""

    lease: Lease
    state: str
    body: Any = None  # what was sent (or would have been); kept on shadowed and dead rows
    fields: Any = None  # the canonical fields it carried: the route's state when delivered or shadowed
    error: str | None = None
    next_attempt_us: int | None = None
    exception: NewException | None = None
    state_key: str | None = None  # the key the route's state is kept under (default: the row's key)
    diff: Any = None  # shadowed: how what it would send differs from what the target has


@dataclass(frozen=True, slots=True)
class ShadowResult:
    """What a shadow route would have sent for a key, and its difference from the target."""

    id: int
    key: str
    body: Any
    diff: dict[str, Any] | None  # None: the target was not read (no `read` for the system)
    at_us: int


@dataclass(slots=True)
class Backlog:
    """A route's undelivered rows: how many, and since when."""

    pending: int
    in_flight: int
    oldest_us: int | None  # when the oldest undelivered change was accepted


class OutboxQueue:
    """Leasing and settling outbox rows (see the module's docstring)."""

    def __init__(
        self, store: SqlStore, *, lease_seconds: float = LEASE_SECONDS, owner: str | None = None
    ) -> None:
        self.store = store
        self.lease_us = int(lease_seconds * 1_000_000)
        self.owner = owner or new_owner()

    def recover(self, routes: Collection[str], now_us: int) -> int:
        """At a dispatcher's start: rows another run left in flight are pending again.

        A store one process writes (SQLite) has no live peer, so every in-flight row of `routes`
        is taken back; a shared store (PostgreSQL) only takes back rows whose lease ran out, so a
        live peer's deliveries are left alone.
        """
        sql = "UPDATE outbox SET state = 'pending', lease_owner = NULL, lease_until_us = NULL WHERE state = 'in_flight'"
        fixed: list[Any] = []
        if self.store.concurrent_writers:
            sql += " AND lease_until_us < ?"
            fixed.append(now_us)
        sql, params = self.store._in(sql + " AND route IN ({in})", fixed, list(routes))
        with self.store.write() as tx:
            tx.cur.execute(sql, params)
            return int(tx.cur.rowcount or 0)

    def lease(self, route: str, now_us: int, limit: int) -> list[Lease]:
        """Up to `limit` due deliveries of `route`, held by this queue's owner until
        `now_us` + the lease's length (older rows of a state key coalesced into the newest)."""
        store = self.store
        with store.write() as tx:
            store._lock_route(tx.cur, route)  # one leasing transaction per route at a time
            tx.cur.execute(store._sql(_RECLAIM), (route, now_us))
            rows = store._fetch(
                tx.cur, store._sql(_DUE_HEADS) + store.skip_locked, (route, now_us, now_us, limit)
            )
            if not rows:
                return []
            heads = [row[0] for row in rows if row[4]]
            groups: dict[int, tuple[int, int, int]] = {}  # head -> (carrier, rows, oldest acceptance)
            carriers: dict[int, tuple[int, int]] = {}  # carrier -> (change_seq, attempts)
            if heads:
                sql, params = store._in(_GROUPS, [], heads)
                for hid, newest, n, first in store._fetch(tx.cur, sql, params):
                    groups[hid] = (int(newest), int(n), int(first))
                sql, params = store._in(_CARRIERS, [], [g[0] for g in groups.values()])
                carriers = {cid: (seq, att) for cid, seq, att in store._fetch(tx.cur, sql, params)}
            leases: list[Lease] = []
            for oid, key, domain, seq, coalescing, attempts, first in rows:
                if not coalescing:
                    leases.append(Lease(oid, route, domain, key, seq, attempts, first, 0, False))
                    continue
                carrier, n, oldest = groups[oid]
                seq, attempts = carriers[carrier]  # the newest carries the key, with its own attempts
                leases.append(Lease(carrier, route, domain, key, seq, attempts, min(first, oldest), n - 1))
            until = now_us + self.lease_us
            store._many(
                tx.cur, _TAKE, [(self.owner, until, now_us, lease.first_us, lease.id) for lease in leases]
            )
            merged = [(now_us, route, lease.key, lease.id) for lease in leases if lease.coalesced]
            if merged:
                store._many(tx.cur, _COALESCE, merged)
        return leases

    def renew(self, leases: Sequence[Lease], now_us: int) -> int:
        """Extend the leases this owner still holds (a long round); how many it still holds."""
        held = 0
        with self.store.write() as tx:
            for start in range(0, len(leases), CHUNK):
                sql, params = self.store._in(
                    "UPDATE outbox SET lease_until_us = ? WHERE state = 'in_flight' AND lease_owner = ? "
                    "AND id IN ({in})",
                    [now_us + self.lease_us, self.owner],
                    [lease.id for lease in leases[start : start + CHUNK]],
                )
                tx.cur.execute(sql, params)
                held += int(tx.cur.rowcount or 0)
        return held

    def release(self, leases: Sequence[Lease], now_us: int) -> int:
        """Give leases back untried (the dispatcher stops): pending again, due now, no attempt counted."""
        released = 0
        with self.store.write() as tx:
            for start in range(0, len(leases), CHUNK):
                sql, params = self.store._in(
                    "UPDATE outbox SET state = 'pending', lease_owner = NULL, lease_until_us = NULL, "
                    "updated_us = ? WHERE state = 'in_flight' AND lease_owner = ? AND id IN ({in})",
                    [now_us, self.owner],
                    [lease.id for lease in leases[start : start + CHUNK]],
                )
                tx.cur.execute(sql, params)
                released += int(tx.cur.rowcount or 0)
        return released

    def settle(self, results: Sequence[Settled], now_us: int) -> int:
        """Record how deliveries ended, all in one transaction (one commit for many calls).

        Only rows this owner still holds are settled (a lease that ran out went to another
        dispatcher, which delivers it again: at least once); the number settled is returned."""
        if not results:
            return 0
        store = self.store
        with store.write() as tx:
            held: set[int] = set()
            ids = [r.lease.id for r in results]
            for start in range(0, len(ids), CHUNK):
                sql, params = store._in(_HELD, [self.owner], ids[start : start + CHUNK])
                held.update(row[0] for row in store._fetch(tx.cur, sql + store.for_update, params))
            rows = []
            remember = []
            exceptions = []
            for r in results:
                if r.lease.id not in held:
                    continue
                kept = dumps(r.body) if r.state in ("shadowed", "dead") else None
                diff = dumps(r.diff) if r.diff is not None else None
                next_us = r.next_attempt_us if r.next_attempt_us is not None else now_us
                rows.append((r.state, r.lease.attempts + 1, next_us, now_us, r.error, kept, diff, r.lease.id))
                if r.state in ("delivered", "shadowed"):
                    remember.append(
                        (
                            r.lease.route,
                            r.state_key or r.lease.key,
                            dumps(r.fields),
                            r.lease.change_seq,
                            now_us,
                        )
                    )
                if r.exception is not None:
                    exceptions.append(r.exception)
            if rows:
                store._many(tx.cur, _SETTLE, rows)
            if remember:
                store._many(tx.cur, _REMEMBER, remember)
            if exceptions:
                tx.open_exceptions(exceptions, now_us)
        return len(rows)

    def requeue(self, row_id: int, now_us: int) -> bool:
        """A dead row goes back to pending, due now (the inbox's retry). False if it was not dead."""
        with self.store.write() as tx:
            tx.cur.execute(
                self.store._sql(
                    "UPDATE outbox SET state = 'pending', next_attempt_us = ?, updated_us = ?, "
                    "lease_owner = NULL, lease_until_us = NULL WHERE id = ? AND state = 'dead'"
                ),
                (now_us, now_us, row_id),
            )
            return bool(tx.cur.rowcount)

    def last_fields(self, route: str, keys: Sequence[str]) -> dict[str, Any]:
        """The fields the route's target last received (in shadow mode: would have), per key."""
        found: dict[str, Any] = {}
        for start in range(0, len(keys), 500):
            sql, params = self.store._in(
                "SELECT key, body FROM route_state WHERE route = ? AND key IN ({in})",
                [route],
                keys[start : start + 500],
            )
            for key, body in self.store._query_raw(sql, params):
                found[key] = loads(body)
        return found

    def shadow_results(self, route: str, *, limit: int = 100, differs: bool = False) -> list[ShadowResult]:
        """A shadow route's newest results first: what it would have sent and, where the target was
        read, how that differs from what the target had (`differs`: only those that differ)."""
        sql = "SELECT id, key, body, diff, updated_us FROM outbox WHERE route = ? AND state = 'shadowed'"
        found: list[ShadowResult] = []
        before = None
        for _ in range(20):  # at most 10,000 rows looked at: the newest results are what matter
            if len(found) >= limit:
                break
            page = sql + (" AND id < ?" if before is not None else "") + " ORDER BY id DESC LIMIT ?"
            params = [route, *([before] if before is not None else []), 500]
            rows = self.store._query(page, params)
            for oid, key, body, diff, at in rows:
                result = ShadowResult(oid, key, loads(body), loads(diff), at)
                if not differs or (result.diff is not None and result.diff.get("differs")):
                    found.append(result)
            if len(rows) < 500:
                break
            before = rows[-1][0]
        return found[:limit]

    def backlog(self) -> dict[str, Backlog]:
        """Per route: rows pending and in flight, and the acceptance time of the oldest."""
        rows = self.store._query(
            "SELECT route, state, count(*), min(first_us) FROM outbox "
            "WHERE state IN ('pending', 'in_flight') GROUP BY route, state"
        )
        out: dict[str, Backlog] = {}
        for route, state, n, oldest in rows:
            b = out.setdefault(route, Backlog(0, 0, None))
            if state == "pending":
                b.pending = int(n)
            else:
                b.in_flight = int(n)
            if oldest is not None and (b.oldest_us is None or oldest < b.oldest_us):
                b.oldest_us = int(oldest)
        return out
