"""Alerts in the store: each firing of a rule for a subject, and the outbox of its notifications.

`AlertBook.evaluate` reads the live alerts (pending or firing) and applies what the evaluator
decided about them in one transaction, under a lock every evaluator takes, with a unique index
on the live (rule, subject): two hub processes evaluating at once fire one alert, not two.
Notifications are rows sent from here: `due` lists those to try, `claim` leases one (its
`next_us` moves on by the lease, so a process that stops mid-send leaves it due again later),
`settle` records how the attempt went.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from .sql import dumps, loads

if TYPE_CHECKING:
    from .sql import SqlStore

_ALERT_COLUMNS = "id, rule, subject, severity, state, summary, detail, since_us, fired_us, seen_us, notified_us, resolved_us"
_NOTE_COLUMNS = "id, alert_id, channel, event, state, message, attempts, next_us, created_us, updated_us, sent_us, last_error"
_LOCK = "logisync:alerts"
LIVE = ("pending", "firing")


@dataclass(frozen=True, slots=True)
class AlertRow:
    id: int
    rule: str
    subject: str
    severity: str
    state: str  # pending, firing, resolved
    summary: str
    detail: dict[str, Any] | None
    since_us: int
    fired_us: int | None
    seen_us: int
    notified_us: int | None
    resolved_us: int | None


@dataclass(frozen=True, slots=True)
class NotificationRow:
    id: int
    alert_id: int | None
    channel: str
    event: str  # firing, renotify, resolved, test
    state: str  # pending, sent, failed
    message: dict[str, Any]
    attempts: int
    next_us: int
    created_us: int
    updated_us: int
    sent_us: int | None
    last_error: str | None


@dataclass(frozen=True, slots=True)
class NewNotification:
    channel: str
    event: str
    message: dict[str, Any]


@dataclass(slots=True)
class NewAlert:
    rule: str
    subject: str
    severity: str
    state: str
    summary: str
    detail: dict[str, Any] | None
    since_us: int
    fired_us: int | None
    notified_us: int | None
    notifications: list[NewNotification] = field(default_factory=list)


@dataclass(slots=True)
class AlertChange:
    """Columns to set on a live alert (`summary`, `state`, `seen_us`, ...) and notifications to queue."""

    id: int
    values: dict[str, Any]
    notifications: list[NewNotification] = field(default_factory=list)


@dataclass(slots=True)
class AlertPlan:
    """What one evaluation does to the alerts: new ones, changes, and pending ones to forget."""

    new: list[NewAlert] = field(default_factory=list)
    changes: list[AlertChange] = field(default_factory=list)
    forget: list[int] = field(default_factory=list)  # pending alerts whose condition cleared before firing


_SETTABLE = {"severity", "state", "summary", "detail", "fired_us", "seen_us", "notified_us", "resolved_us"}


def _alert(row: Sequence[Any]) -> AlertRow:
    values = list(row)
    values[6] = loads(values[6])
    return AlertRow(*values)


def _note(row: Sequence[Any]) -> NotificationRow:
    values = list(row)
    values[5] = loads(values[5])
    return NotificationRow(*values)


class AlertBook:
    """The alerts and alert_notifications tables of one store (see the module docstring)."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store

    # -- evaluation ----------------------------------------------------------------------------
    def evaluate(self, decide: Callable[[list[AlertRow]], AlertPlan], now_us: int) -> AlertPlan:
        """Read the live alerts, let `decide` plan, and apply the plan, in one transaction."""
        s = self.store
        with s.write() as tx:
            tx.lock_keys([_LOCK])
            rows = s._fetch(
                tx.cur,
                s._sql(
                    f"SELECT {_ALERT_COLUMNS} FROM alerts WHERE state IN ('pending', 'firing') ORDER BY id"
                ),
            )
            plan = decide([_alert(r) for r in rows])
            for alert_id in plan.forget:
                tx.cur.execute(s._sql("DELETE FROM alerts WHERE id = ? AND state = 'pending'"), (alert_id,))
            for change in plan.changes:
                unknown = set(change.values) - _SETTABLE
                if unknown:
                    raise ValueError(f"not a column an evaluation sets: {sorted(unknown)}")
                values = {
                    k: dumps(v) if k == "detail" and v is not None else v for k, v in change.values.items()
                }
                if values:
                    tx.cur.execute(
                        s._sql(f"UPDATE alerts SET {', '.join(f'{k} = ?' for k in values)} WHERE id = ?"),
                        (*values.values(), change.id),
                    )
                self._queue(tx.cur, change.id, change.notifications, now_us)
            for new in plan.new:
                [(alert_id,)] = s._fetch(
                    tx.cur,
                    s._sql(
                        f"INSERT INTO alerts ({_ALERT_COLUMNS.removeprefix('id, ')}) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id"
                    ),
                    (
                        new.rule,
                        new.subject,
                        new.severity,
                        new.state,
                        new.summary,
                        None if new.detail is None else dumps(new.detail),
                        new.since_us,
                        new.fired_us,
                        now_us,
                        new.notified_us,
                        None,
                    ),
                )
                self._queue(tx.cur, int(alert_id), new.notifications, now_us)
        return plan

    def _queue(
        self, cur: Any, alert_id: int | None, notes: Sequence[NewNotification], now_us: int
    ) -> list[int]:
        s = self.store
        ids = []
        for note in notes:
            [(note_id,)] = s._fetch(
                cur,
                s._sql(
                    "INSERT INTO alert_notifications (alert_id, channel, event, state, message, attempts, next_us, "
                    "created_us, updated_us) VALUES (?, ?, ?, 'pending', ?, 0, ?, ?, ?) RETURNING id"
                ),
                (alert_id, note.channel, note.event, dumps(note.message), now_us, now_us, now_us),
            )
            ids.append(int(note_id))
        return ids

    def queue_tests(self, notes: Sequence[NewNotification], now_us: int) -> list[int]:
        """Notifications that belong to no alert (`logisync alerts test`); their ids."""
        with self.store.write() as tx:
            return self._queue(tx.cur, None, notes, now_us)

    # -- the notification outbox ---------------------------------------------------------------
    def due(self, now_us: int, limit: int = 100) -> list[NotificationRow]:
        """Pending notifications to try now: per alert and channel only the oldest, so a firing
        notice always goes before its resolved notice."""
        rows = self.store._query(
            f"SELECT {_NOTE_COLUMNS} FROM alert_notifications WHERE state = 'pending' ORDER BY id LIMIT ?",
            (10 * limit,),
        )
        first: dict[tuple[int | None, str], NotificationRow] = {}
        for row in map(_note, rows):
            key = (row.alert_id if row.alert_id is not None else -row.id, row.channel)
            first.setdefault(key, row)
        return [n for n in first.values() if n.next_us <= now_us][:limit]

    def claim(self, note_id: int, now_us: int, lease_us: int) -> NotificationRow | None:
        """Lease a due notification for one attempt (None: another process took it, or it was settled)."""
        s = self.store
        with s.write() as tx:
            rows = s._fetch(
                tx.cur,
                s._sql(
                    "UPDATE alert_notifications SET attempts = attempts + 1, next_us = ?, updated_us = ? "
                    f"WHERE id = ? AND state = 'pending' AND next_us <= ? RETURNING {_NOTE_COLUMNS}"
                ),
                (now_us + lease_us, now_us, note_id, now_us),
            )
        return _note(rows[0]) if rows else None

    def settle(
        self, note_id: int, now_us: int, *, error: str | None = None, retry_us: int | None = None
    ) -> None:
        """An attempt's outcome: sent (no `error`), to be tried again at `retry_us`, or failed for good."""
        params: tuple[object, ...]
        if error is None:
            sql, params = (
                "UPDATE alert_notifications SET state = 'sent', sent_us = ?, updated_us = ?, last_error = NULL "
                "WHERE id = ?",
                (now_us, now_us, note_id),
            )
        elif retry_us is not None:
            sql, params = (
                "UPDATE alert_notifications SET next_us = ?, updated_us = ?, last_error = ? WHERE id = ?",
                (retry_us, now_us, error, note_id),
            )
        else:
            sql, params = (
                "UPDATE alert_notifications SET state = 'failed', updated_us = ?, last_error = ? WHERE id = ?",
                (now_us, error, note_id),
            )
        with self.store.write() as tx:
            tx.cur.execute(self.store._sql(sql), params)

    # -- reads ---------------------------------------------------------------------------------
    def alerts(self, *, states: Sequence[str] | None = None, limit: int = 50) -> list[AlertRow]:
        """Alerts newest first (of those `states`, when given)."""
        sql = f"SELECT {_ALERT_COLUMNS} FROM alerts"
        params: list[Any] = []
        if states:
            sql += f" WHERE state IN ({', '.join('?' * len(states))})"
            params.extend(states)
        return [_alert(r) for r in self.store._query(f"{sql} ORDER BY id DESC LIMIT ?", (*params, limit))]

    def notifications(
        self, *, alert_ids: Sequence[int] | None = None, ids: Sequence[int] | None = None, limit: int = 200
    ) -> list[NotificationRow]:
        """Notifications oldest first: of some alerts, or by id, or the newest `limit` of all."""
        if alert_ids is not None or ids is not None:
            column, wanted = ("alert_id", alert_ids) if alert_ids is not None else ("id", ids)
            if not wanted:
                return []
            sql, params = self.store._in(
                f"SELECT {_NOTE_COLUMNS} FROM alert_notifications WHERE {column} IN ({{in}}) ORDER BY id",
                [],
                list(wanted),
            )
            return [_note(r) for r in self.store._query_raw(sql, params)]
        rows = self.store._query(
            f"SELECT {_NOTE_COLUMNS} FROM alert_notifications ORDER BY id DESC LIMIT ?", (limit,)
        )
        return [_note(r) for r in reversed(rows)]

    def page(
        self, states: Sequence[str], *, before: int | None = None, after: int | None = None, limit: int = 50
    ) -> AlertPage:
        """One keyset page of the alerts in `states`, newest first: the `limit` older than id
        `before`, or (with `after`, for going back) the `limit` just newer than id `after`, or the
        newest. Index `alerts_recent (state, id)` answers each read; nothing reads the table whole."""
        if before is not None and after is not None:
            raise ValueError("give before or after, not both")
        marks = ", ".join("?" * len(states))
        base = f"SELECT {_ALERT_COLUMNS} FROM alerts WHERE state IN ({marks})"
        if after is not None:
            rows = self.store._query(f"{base} AND id > ? ORDER BY id LIMIT ?", (*states, after, limit + 1))
            newer_left = len(rows) > limit
            found = [_alert(r) for r in reversed(rows[:limit])]
        else:
            cut, params = ("", ()) if before is None else (" AND id < ?", (before,))
            rows = self.store._query(f"{base}{cut} ORDER BY id DESC LIMIT ?", (*states, *params, limit + 1))
            found = [_alert(r) for r in rows[:limit]]
            older_left = len(rows) > limit
        if not found:
            return AlertPage([], None, None)
        if after is not None:
            older_left = self._exists(states, "<", found[-1].id)
        else:
            newer_left = self._exists(states, ">", found[0].id)
        return AlertPage(found, found[-1].id if older_left else None, found[0].id if newer_left else None)

    def _exists(self, states: Sequence[str], op: str, alert_id: int) -> bool:
        """Whether an alert in `states` has an id `op` (`<` or `>`) `alert_id`."""
        assert op in ("<", ">")
        marks = ", ".join("?" * len(states))
        sql = f"SELECT 1 FROM alerts WHERE state IN ({marks}) AND id {op} ? LIMIT 1"
        return bool(self.store._query(sql, (*states, alert_id)))

    def count(self, states: Sequence[str]) -> int:
        """How many alerts are in `states` (by the index; firing ones are few)."""
        marks = ", ".join("?" * len(states))
        rows = self.store._query(f"SELECT count(*) FROM alerts WHERE state IN ({marks})", tuple(states))
        return int(rows[0][0])


@dataclass(frozen=True, slots=True)
class AlertPage:
    """Alerts newest first, with the cursors of the neighbouring pages (None: there is none):
    `older` is the `before` of the next page, `newer` the `after` of the previous one."""

    alerts: list[AlertRow]
    older: int | None
    newer: int | None
