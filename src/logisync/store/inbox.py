"""The exceptions inbox in the store: find, filter and group exceptions, change them, keep their audit trail.

The SQL of the inbox only; what an action means is decided in `logisync.inbox`. A change of state
or assignee and its audit entry commit together (`act`), under a lock on the exception, with the
decision made on the row as it is inside that transaction: two operators acting on one exception
at once see each other's result, never a lost update.

Grouping reads a few members of each exception's JSON `detail` in SQL (`json_extract` in SQLite,
`->>` on `json` in PostgreSQL) and counts identical rows; `logisync.inbox.root_cause` turns each
row into the root-cause label. A detail holding an escaped NUL (`\\u0000`, which PostgreSQL's
JSON operators refuse) is read as no detail, in both dialects alike.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from .base import ExceptionRow, OutboxRow
from .sql import SqlStore, dumps, loads

_COLUMNS = (
    "id, kind, state, domain, key, system, change_id, route, reason, detail, assignee, created_us, updated_us"
)
_OUTBOX_COLUMNS = (
    "id, route, domain, key, change_seq, coalescing, state, attempts, next_attempt_us, first_us, updated_us, "
    "last_error"
)
_TRAIL = "SELECT id, exception_id, at_us, actor, action, detail FROM exception_actions WHERE exception_id = ? ORDER BY id"
_AUDIT = "INSERT INTO exception_actions (exception_id, at_us, actor, action, detail) VALUES (?, ?, ?, ?, ?)"
_NUL = "\\u0000"  # JSON's escape for NUL, as it appears in the stored text

# The members of `detail` that root causes are made of: name -> JSON path.
PARTS: dict[str, tuple[str, ...]] = {
    "error_kind": ("error_kind",),
    "status": ("status",),
    "field": ("field",),
    "value": ("value",),
    "sku": ("sku",),
    "xref_kind": ("kind",),
    "owners": ("owners",),
    "conflicting": ("conflicting_fields",),
    "from": ("from",),
    "to": ("to",),
    "to_status": ("fields", "status"),
    "channel": ("channel",),
    "policy": ("policy",),
    "column": ("column",),  # a bad row of a file: the column at fault
    "import": ("import",),  # ... and the import that read it
}
_LISTS = ("owners", "conflicting")  # members that are JSON arrays (read back as JSON text in SQL)


@dataclass(frozen=True, slots=True)
class ExceptionFilter:
    """Which exceptions: every given member must match (`state=None`: any state)."""

    state: str | None = "open"
    kind: str | None = None
    route: str | None = None
    system: str | None = None
    domain: str | None = None
    key: str | None = None
    assignee: str | None = None
    since_us: int | None = None  # created at or after this moment
    before_us: int | None = None  # created before this moment (the dashboard's "older than")
    key_prefix: str | None = None  # the key starts with this (the dashboard's key search)

    def narrows(self) -> bool:
        """Whether anything beyond the state is given (bulk actions insist on it)."""
        return any(
            v is not None
            for v in (
                self.kind,
                self.route,
                self.system,
                self.domain,
                self.key,
                self.assignee,
                self.since_us,
                self.before_us,
                self.key_prefix,
            )
        )


@dataclass(slots=True)
class Listed:
    """An exception as listed: the row and the detail members root causes are made of."""

    row: ExceptionRow
    parts: dict[str, Any]


@dataclass(slots=True)
class Action:
    """One entry of an exception's audit trail."""

    id: int
    exception_id: int
    at_us: int
    actor: str
    action: str  # retry, edit, discard, assign, resolve
    detail: dict[str, Any] | None


@dataclass(slots=True)
class CauseRow:
    """Identical (kind, route, system, domain, detail members) rows, counted; the inbox names their cause."""

    kind: str
    route: str | None
    system: str | None
    domain: str | None
    reason: str | None  # kept for validation only (its field path is in the reason)
    parts: dict[str, Any]
    count: int
    first_id: int
    last_id: int
    first_us: int
    last_us: int


@dataclass(slots=True)
class Step:
    """What an action does to one exception: its audit entry, and a new state or assignee."""

    actor: str
    action: str
    detail: dict[str, Any] | None = None
    state: str | None = None  # the new state (None: unchanged)
    assign: bool = False  # set `assignee` (None clears it)
    assignee: str | None = None
    others: list[tuple[int, Step]] = field(default_factory=list)  # steps for other exceptions, if open


Decide = Callable[[ExceptionRow, list[Action]], Step]


class InboxTable:
    """The inbox's reads and writes (see the module docstring)."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store

    # -- reads ----------------------------------------------------------------------------------
    def get(self, exception_id: int) -> Listed | None:
        rows = self.store._query(f"SELECT {_COLUMNS} FROM exceptions WHERE id = ?", (exception_id,))
        return _listed(rows[0]) if rows else None

    def page(self, where: ExceptionFilter, *, after_id: int = 0, limit: int = 100) -> list[Listed]:
        """Exceptions matching `where`, in id order, from after `after_id`."""
        sql, params = _where(where)
        rows = self.store._query(
            f"SELECT {_COLUMNS} FROM exceptions WHERE id > ? AND {sql} ORDER BY id LIMIT ?",
            [after_id, *params, limit],
        )
        return [_listed(row) for row in rows]

    def page_before(self, where: ExceptionFilter, *, before_id: int, limit: int = 100) -> list[Listed]:
        """Exceptions matching `where` with an id below `before_id`, newest first (going back a page)."""
        sql, params = _where(where)
        rows = self.store._query(
            f"SELECT {_COLUMNS} FROM exceptions WHERE id < ? AND {sql} ORDER BY id DESC LIMIT ?",
            [before_id, *params, limit],
        )
        return [_listed(row) for row in rows]

    def count(self, where: ExceptionFilter) -> int:
        sql, params = _where(where)
        return int(self.store._query(f"SELECT count(*) FROM exceptions WHERE {sql}", params)[0][0])

    def causes(self, where: ExceptionFilter) -> list[CauseRow]:
        """The matching exceptions counted by (kind, route, system, domain, detail members)."""
        sql, params = _where(where)
        names = list(PARTS)
        detail = f"CASE WHEN {self._position('detail')} > 0 THEN NULL ELSE {self._json_doc('detail')} END"
        members = ", ".join(f"{self._json_member('d', PARTS[n])} AS p_{n}" for n in names)
        keys = ", ".join(["kind", "route", "system", "domain", "why", *(f"p_{n}" for n in names)])
        rows = self.store._query(
            f"SELECT {keys}, count(*), min(id), max(id), min(created_us), max(created_us) FROM ("
            f"SELECT id, kind, route, system, domain, created_us, "
            f"CASE WHEN kind = 'validation' THEN reason END AS why, {members} FROM ("
            f"SELECT id, kind, route, system, domain, created_us, reason, {detail} AS d "
            f"FROM exceptions WHERE {sql}) AS x) AS y GROUP BY {keys}",
            params,
        )
        out = []
        for row in rows:
            kind, route, system, domain, why = row[:5]
            values = row[5 : 5 + len(names)]
            count, first_id, last_id, first_us, last_us = row[5 + len(names) :]
            parts = {n: _part(n, v) for n, v in zip(names, values, strict=True) if v is not None}
            out.append(
                CauseRow(
                    kind, route, system, domain, why, parts, int(count), first_id, last_id, first_us, last_us
                )
            )
        return out

    def opened_by(self, system: str, change_id: str, *, after_id: int) -> list[Listed]:
        """Exceptions a change opened (itself or through what the hub derived from it), newer than `after_id`."""
        rows = self.store._query(
            f"SELECT {_COLUMNS} FROM exceptions WHERE id > ? AND system = ? AND change_id = ? ORDER BY id",
            (after_id, system, change_id),
        )
        return [_listed(row) for row in rows]

    def open_of_change(self, kind: str, system: str, change_id: str) -> list[Listed]:
        """The open exceptions of one kind about one change id of a system (on the state index)."""
        rows = self.store._query(
            f"SELECT {_COLUMNS} FROM exceptions WHERE state = 'open' AND kind = ? AND system = ? "
            "AND change_id = ? ORDER BY id",
            (kind, system, change_id),
        )
        return [_listed(row) for row in rows]

    def of_record(self, kind: str, domain: str, key: str) -> list[Listed]:
        """Every exception of one kind about one record, oldest first."""
        rows = self.store._query(
            f"SELECT {_COLUMNS} FROM exceptions WHERE domain = ? AND key = ? AND kind = ? ORDER BY id",
            (domain, key, kind),
        )
        return [_listed(row) for row in rows]

    def newest_id(self) -> int:
        return int(self.store._query("SELECT coalesce(max(id), 0) FROM exceptions")[0][0])

    def trail(self, exception_id: int) -> list[Action]:
        """The audit trail of an exception, oldest first."""
        return [_action(row) for row in self.store._query(_TRAIL, (exception_id,))]

    def outbox_row(self, row_id: int) -> OutboxRow | None:
        rows = self.store._query(f"SELECT {_OUTBOX_COLUMNS} FROM outbox WHERE id = ?", (row_id,))
        if not rows:
            return None
        oid, route, domain, key, seq, coalescing, state, attempts, next_us, first_us, updated, error = rows[0]
        return OutboxRow(
            oid, route, domain, key, seq, bool(coalescing), state, attempts, next_us, first_us, updated, error
        )

    # -- writes ---------------------------------------------------------------------------------
    def act(self, exception_id: int, decide: Decide, at_us: int) -> tuple[ExceptionRow, Action] | None:
        """Run `decide` on the exception and its trail, locked, and write the step it returns.

        Returns the exception as it is afterwards and the audit entry written; None when there is
        no such exception. Whatever `decide` raises rolls the transaction back and propagates.
        Each of the step's `others` is applied only to an exception still open.
        """
        store = self.store
        with store.write() as tx:
            if tx.locks_keys:
                tx.lock_keys([f"x:exception/{exception_id}"])
            found = store._fetch(
                tx.cur, store._sql(f"SELECT {_COLUMNS} FROM exceptions WHERE id = ?"), (exception_id,)
            )
            if not found:
                return None
            row = _listed(found[0]).row
            trail = [_action(r) for r in store._fetch(tx.cur, store._sql(_TRAIL), (exception_id,))]
            step = decide(row, trail)
            entry = self._write(tx.cur, row, step, at_us)
            for other_id, other in step.others:
                if tx.locks_keys:
                    tx.lock_keys([f"x:exception/{other_id}"])
                rows = store._fetch(
                    tx.cur,
                    store._sql(f"SELECT {_COLUMNS} FROM exceptions WHERE id = ? AND state = 'open'"),
                    (other_id,),
                )
                if rows:
                    self._write(tx.cur, _listed(rows[0]).row, other, at_us)
        return row, entry

    def _write(self, cur: Any, row: ExceptionRow, step: Step, at_us: int) -> Action:
        store = self.store
        if step.state is not None or step.assign:
            if step.state is not None:
                row.state = step.state
            if step.assign:
                row.assignee = step.assignee
            row.updated_us = at_us
            cur.execute(
                store._sql("UPDATE exceptions SET state = ?, assignee = ?, updated_us = ? WHERE id = ?"),
                (row.state, row.assignee, at_us, row.id),
            )
        detail = None if step.detail is None else dumps(step.detail)
        params = (row.id, at_us, step.actor, step.action, detail)
        if store.dialect == "postgres":
            cur.execute(store._sql(_AUDIT + " RETURNING id"), params)
            action_id = int(cur.fetchone()[0])
        else:  # SQLite: RETURNING needs 3.35; every version has lastrowid
            cur.execute(_AUDIT, params)
            action_id = int(cur.lastrowid)
        return Action(action_id, row.id, at_us, step.actor, step.action, step.detail)

    # -- dialect --------------------------------------------------------------------------------
    def _position(self, column: str) -> str:
        """Where an escaped NUL is in a column's text (0: nowhere)."""
        if self.store.dialect == "postgres":
            return f"strpos({column}, '{_NUL}')"
        return f"instr({column}, '{_NUL}')"

    def _json_doc(self, column: str) -> str:
        return f"{column}::json" if self.store.dialect == "postgres" else column

    def _json_member(self, doc: str, path: tuple[str, ...]) -> str:
        """A member of a JSON document as text (SQLite: its SQL value; arrays as JSON text)."""
        if self.store.dialect == "postgres":
            return f"{doc} #>> '{{{','.join(path)}}}'"
        return f"json_extract({doc}, '$.{'.'.join(path)}')"


def _where(where: ExceptionFilter) -> tuple[str, list[Any]]:
    clauses = ["1 = 1"]
    params: list[Any] = []
    for column, value in (
        ("state", where.state),
        ("kind", where.kind),
        ("route", where.route),
        ("system", where.system),
        ("domain", where.domain),
        ("key", where.key),
        ("assignee", where.assignee),
    ):
        if value is not None:
            clauses.append(f"{column} = ?")
            params.append(value)
    if where.since_us is not None:
        clauses.append("created_us >= ?")
        params.append(where.since_us)
    if where.before_us is not None:
        clauses.append("created_us < ?")
        params.append(where.before_us)
    if where.key_prefix:  # substr, not LIKE: exact and case-sensitive in both dialects, no escaping
        clauses.append("substr(key, 1, ?) = ?")
        params += [len(where.key_prefix), where.key_prefix]
    return " AND ".join(clauses), params


def _listed(row: Sequence[Any]) -> Listed:
    xid, kind, state, domain, key, system, cid, route, reason, detail, assignee, created, updated = row
    parsed = loads(detail)
    parts: dict[str, Any] = {}
    if isinstance(parsed, dict) and _NUL not in detail:
        for name, path in PARTS.items():
            value: Any = parsed
            for step in path:
                value = value.get(step) if isinstance(value, dict) else None
            if value is not None:
                parts[name] = value
    return Listed(
        ExceptionRow(
            xid, kind, state, domain, key, system, cid, route, reason, parsed, assignee, created, updated
        ),
        parts,
    )


def _part(name: str, value: Any) -> Any:
    """A detail member read in SQL, as `_listed` reads it from the parsed detail."""
    if name in _LISTS and isinstance(value, str):
        return loads(value)
    return value


def _action(row: Sequence[Any]) -> Action:
    aid, xid, at_us, actor, action, detail = row
    return Action(aid, xid, at_us, actor, action, loads(detail))
