"""The outbox as the dispatchers see it: lease what is due, coalesce, settle each delivery.

The pipeline only appends to the outbox. A route's dispatcher leases its due rows here:

- **state domains** (`coalescing` rows): of a key's pending rows only the newest is sent; the
  older ones are marked `coalesced` (the newest carries the record as it is now). The leased row
  inherits the group's attempts, backoff and first time, so coalescing never skips a backoff
  and lag is measured from the oldest change it carries.
- **event domains**: a key's oldest pending row only, and only when it is due: a row that waits
  for a retry holds back every later event of its key (never event N+1 before N).

A key with a delivery in flight (`busy`, held by the dispatcher) is not leased again until it
settles. Row states: `pending`, `in_flight`, `delivered`, `coalesced`, `shadowed`, `dead`.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from ..store.base import NewException
from .sql import SqlStore, dumps, loads

_LEASE_SCAN = (
    "SELECT id, key, domain, change_seq, coalescing, attempts, next_attempt_us, first_us FROM outbox "
    "WHERE route = ? AND state = 'pending' ORDER BY id LIMIT ?"
)
# a key's whole pending backlog at once: its newest row (which carries it), how many, the
# greatest attempts and due time and the oldest acceptance among them
_BACKLOG_OF_KEYS = (
    "SELECT o.key, o.id, g.n, g.attempts, g.due, g.first, o.domain, o.change_seq FROM outbox o JOIN ("
    "SELECT key, max(id) AS newest, count(*) AS n, max(attempts) AS attempts, max(next_attempt_us) AS due, "
    "min(first_us) AS first FROM outbox WHERE route = ? AND state = 'pending' AND key IN ({in}) GROUP BY key"
    ") g ON o.id = g.newest"
)
_SETTLE = "UPDATE outbox SET state = ?, attempts = ?, next_attempt_us = ?, updated_us = ?, last_error = ?, body = ? WHERE id = ?"
_REMEMBER = (
    "INSERT INTO route_state (route, key, body, change_seq, updated_us) VALUES (?, ?, ?, ?, ?) "
    "ON CONFLICT (route, key) DO UPDATE SET body = excluded.body, change_seq = excluded.change_seq, "
    "updated_us = excluded.updated_us"
)


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


@dataclass(slots=True)
class Backlog:
    """A route's undelivered rows: how many, and since when."""

    pending: int
    in_flight: int
    oldest_us: int | None  # when the oldest undelivered change was accepted


class OutboxQueue:
    """Leasing and settling outbox rows (see the module's docstring)."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store

    def recover(self, routes: Collection[str] | None = None) -> int:
        """Rows left `in_flight` by a dispatcher that stopped: pending again (sent at least once)."""
        sql = "UPDATE outbox SET state = 'pending' WHERE state = 'in_flight'"
        params: list[Any] = []
        if routes is not None:
            sql, params = self.store._in(sql + " AND route IN ({in})", [], list(routes))
        else:
            sql = self.store._sql(sql)
        with self.store.write() as tx:
            tx.cur.execute(sql, params)
            return int(tx.cur.rowcount or 0)

    def lease(
        self, route: str, now_us: int, limit: int, *, busy: Collection[str] = (), scan: int | None = None
    ) -> list[Lease]:
        """Up to `limit` due deliveries of `route`, marked in flight (older rows of a key coalesced)."""
        store = self.store
        with store.write() as tx:
            rows = store._fetch(tx.cur, store._sql(_LEASE_SCAN), (route, scan or max(limit * 4, 100)))
            groups: dict[str, list[tuple[Any, ...]]] = {}
            for row in rows:
                groups.setdefault(row[1], []).append(row)
            leases: list[Lease] = []
            merging: list[str] = []  # coalescing keys: their whole backlog is read below
            for key, group in groups.items():
                if key in busy:
                    continue
                if group[0][4]:
                    merging.append(key)
                else:  # events: the oldest, in order, when it is due
                    head = group[0]
                    if head[6] > now_us:
                        continue
                    leases.append(
                        Lease(head[0], route, head[2], key, head[3], head[5], head[7], coalescing=False)
                    )
                if len(leases) + len(merging) >= limit:
                    break
            coalesced: list[tuple[str, str, int]] = []
            if merging:  # every pending row of the key, not only the scanned ones: the newest carries it
                sql, params = store._in(_BACKLOG_OF_KEYS, [route], merging)
                for key, newest, n, attempts, due, first, domain, seq in store._fetch(tx.cur, sql, params):
                    if due > now_us:
                        continue
                    leases.append(Lease(newest, route, domain, key, seq, attempts, first, n - 1))
                    if n > 1:
                        coalesced.append((route, key, newest))
            if leases:
                sql, params = store._in(
                    "UPDATE outbox SET state = 'in_flight', updated_us = ? WHERE id IN ({in})",
                    [now_us],
                    [lease.id for lease in leases],
                )
                tx.cur.execute(sql, params)
                for lease in leases:  # the carrier takes over its group's backoff and age
                    if lease.coalesced:
                        tx.cur.execute(
                            store._sql("UPDATE outbox SET attempts = ?, first_us = ? WHERE id = ?"),
                            (lease.attempts, lease.first_us, lease.id),
                        )
            if coalesced:
                store._many(
                    tx.cur,
                    "UPDATE outbox SET state = 'coalesced', updated_us = ? "
                    "WHERE route = ? AND key = ? AND state = 'pending' AND id < ?",
                    [(now_us, *c) for c in coalesced],
                )
        return leases

    def settle(self, results: Sequence[Settled], now_us: int) -> None:
        """Record how deliveries ended, all in one transaction (one commit for many calls)."""
        if not results:
            return
        store = self.store
        with store.write() as tx:
            rows = []
            remember = []
            exceptions = []
            for r in results:
                kept = dumps(r.body) if r.state in ("shadowed", "dead") else None
                next_us = r.next_attempt_us if r.next_attempt_us is not None else now_us
                rows.append((r.state, r.lease.attempts + 1, next_us, now_us, r.error, kept, r.lease.id))
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
            store._many(tx.cur, _SETTLE, rows)
            if remember:
                store._many(tx.cur, _REMEMBER, remember)
            if exceptions:
                tx.open_exceptions(exceptions, now_us)

    def requeue(self, row_id: int, now_us: int) -> bool:
        """A dead row goes back to pending, due now (the inbox's retry). False if it was not dead."""
        with self.store.write() as tx:
            tx.cur.execute(
                self.store._sql(
                    "UPDATE outbox SET state = 'pending', next_attempt_us = ?, updated_us = ? "
                    "WHERE id = ? AND state = 'dead'"
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
