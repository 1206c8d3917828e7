"""The dashboard's users, sessions and audit log in the store (migration 0011).

Functions over a `SqlStore`, like `reconcile_runs`: the web and CLI layers never see a cursor.
Sessions are kept by the SHA-256 of their id; passwords arrive here already hashed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from .sql import SqlStore

_USER_COLUMNS = "name, role, password_hash, disabled, failed_logins, locked_until_us, created_us, updated_us, last_login_us"


@dataclass(slots=True)
class UserRow:
    name: str
    role: str
    password_hash: str
    disabled: bool
    failed_logins: int
    locked_until_us: int
    created_us: int
    updated_us: int
    last_login_us: int | None


@dataclass(slots=True)
class SessionRow:
    id_hash: str
    user_name: str
    csrf: str
    created_us: int
    last_seen_us: int
    expires_us: int


@dataclass(slots=True)
class AuditRow:
    id: int
    at_us: int
    actor: str
    action: str
    target: str | None
    detail: dict[str, Any] | None


_AUDIT = "INSERT INTO audit_log (at_us, actor, action, target, detail) VALUES (?, ?, ?, ?, ?)"


def _audit_params(
    at_us: int, actor: str, action: str, target: str | None, detail: dict[str, Any] | None
) -> tuple[Any, ...]:
    return (at_us, actor, action, target, orjson.dumps(detail).decode() if detail is not None else None)


def _user(row: Sequence[Any]) -> UserRow:
    values = list(row)
    values[3] = bool(values[3])
    return UserRow(*values)


def get_user(store: SqlStore, name: str) -> UserRow | None:
    rows = store._query(f"SELECT {_USER_COLUMNS} FROM users WHERE name = ?", [name])
    return _user(rows[0]) if rows else None


def list_users(store: SqlStore) -> list[UserRow]:
    return [_user(r) for r in store._query(f"SELECT {_USER_COLUMNS} FROM users ORDER BY name")]


def add_user(store: SqlStore, name: str, role: str, password_hash: str, at_us: int, actor: str) -> bool:
    """A new user; False (nothing written) when the name is taken."""
    with store.write() as tx:
        tx.cur.execute(store._sql("SELECT 1 FROM users WHERE name = ?"), (name,))
        if tx.cur.fetchone() is not None:
            return False
        tx.cur.execute(
            store._sql(
                "INSERT INTO users (name, role, password_hash, disabled, failed_logins, locked_until_us, "
                "created_us, updated_us) VALUES (?, ?, ?, 0, 0, 0, ?, ?)"
            ),
            (name, role, password_hash, at_us, at_us),
        )
        tx.cur.execute(store._sql(_AUDIT), _audit_params(at_us, actor, "user_added", name, {"role": role}))
    return True


def update_user(
    store: SqlStore,
    name: str,
    at_us: int,
    actor: str,
    action: str,
    *,
    end_sessions: bool = False,
    **values: Any,
) -> bool:
    """Set some of a user's columns (role, password_hash, disabled), audited as `action`; with
    `end_sessions`, the user's sessions end in the same transaction. False: no such user."""
    allowed = {"role", "password_hash", "disabled", "failed_logins", "locked_until_us"}
    if set(values) - allowed:
        raise ValueError(f"not a settable column of a user: {sorted(set(values) - allowed)}")
    names = [*values, "updated_us"]
    params = [int(v) if isinstance(v, bool) else v for v in values.values()]
    with store.write() as tx:
        tx.cur.execute(
            store._sql(f"UPDATE users SET {', '.join(f'{n} = ?' for n in names)} WHERE name = ?"),
            (*params, at_us, name),
        )
        if tx.cur.rowcount == 0:
            return False
        if end_sessions:
            tx.cur.execute(store._sql("DELETE FROM sessions WHERE user_name = ?"), (name,))
        detail = {k: v for k, v in values.items() if k != "password_hash"}
        tx.cur.execute(store._sql(_AUDIT), _audit_params(at_us, actor, action, name, detail or None))
    return True


def remove_user(store: SqlStore, name: str, at_us: int, actor: str) -> bool:
    with store.write() as tx:
        tx.cur.execute(store._sql("DELETE FROM users WHERE name = ?"), (name,))
        if tx.cur.rowcount == 0:
            return False
        tx.cur.execute(store._sql("DELETE FROM sessions WHERE user_name = ?"), (name,))
        tx.cur.execute(store._sql(_AUDIT), _audit_params(at_us, actor, "user_removed", name, None))
    return True


def record_login(
    store: SqlStore,
    name: str,
    ok: bool,
    at_us: int,
    actor: str,
    *,
    count_failure: bool = False,
    max_failures: int = 5,
    lock_until_us: int = 0,
    detail: dict[str, Any] | None = None,
    new_session: SessionRow | None = None,
    old_session_hash: str | None = None,
) -> bool:
    """A sign-in attempt of a known user: its counters, the audit entry, and on success the new
    session (the one the browser came with, if any, ends: the id is rotated at sign-in).

    The counters change in one statement each, so attempts sent in parallel cannot all read the
    same count and never lock the user. A failure with `count_failure` adds one and, at
    `max_failures`, locks the user until `lock_until_us`: it returns True when this failure locked
    the user. A success counts only if the user is neither disabled nor locked at commit (a
    parallel failure may just have locked it): it returns False, and nothing is written, if not.
    """
    with store.write() as tx:
        if ok:
            tx.cur.execute(
                store._sql(
                    "UPDATE users SET failed_logins = 0, locked_until_us = 0, last_login_us = ? "
                    "WHERE name = ? AND disabled = ? AND locked_until_us <= ?"
                ),
                (at_us, name, 0, at_us),
            )
            if tx.cur.rowcount != 1:
                return False
            result = True
        elif count_failure:
            tx.cur.execute(
                store._sql(
                    "UPDATE users SET "
                    "locked_until_us = CASE WHEN failed_logins + 1 >= ? THEN ? ELSE locked_until_us END, "
                    "failed_logins = CASE WHEN failed_logins + 1 >= ? THEN 0 ELSE failed_logins + 1 END "
                    "WHERE name = ? RETURNING locked_until_us"
                ),
                (max_failures, lock_until_us, max_failures, name),
            )
            row = tx.cur.fetchone()
            result = row is not None and row[0] == lock_until_us
            if result:
                detail = {**(detail or {}), "reason": "locked"}
        else:
            result = False
        if old_session_hash is not None:
            tx.cur.execute(store._sql("DELETE FROM sessions WHERE id_hash = ?"), (old_session_hash,))
        if new_session is not None:
            s = new_session
            tx.cur.execute(
                store._sql(
                    "INSERT INTO sessions (id_hash, user_name, csrf, created_us, last_seen_us, expires_us) "
                    "VALUES (?, ?, ?, ?, ?, ?)"
                ),
                (s.id_hash, s.user_name, s.csrf, s.created_us, s.last_seen_us, s.expires_us),
            )
        action = "login" if ok else "login_failed"
        tx.cur.execute(store._sql(_AUDIT), _audit_params(at_us, actor, action, name, detail))
    return result


def get_session(store: SqlStore, id_hash: str) -> SessionRow | None:
    rows = store._query(
        "SELECT id_hash, user_name, csrf, created_us, last_seen_us, expires_us FROM sessions WHERE id_hash = ?",
        [id_hash],
    )
    return SessionRow(*rows[0]) if rows else None


def touch_session(store: SqlStore, id_hash: str, at_us: int) -> None:
    store._execute("UPDATE sessions SET last_seen_us = ? WHERE id_hash = ?", [at_us, id_hash])


def end_session(store: SqlStore, id_hash: str, at_us: int, actor: str | None = None) -> None:
    """Delete a session; with `actor`, a `logout` audit entry in the same transaction."""
    with store.write() as tx:
        tx.cur.execute(store._sql("DELETE FROM sessions WHERE id_hash = ?"), (id_hash,))
        if actor is not None:
            tx.cur.execute(store._sql(_AUDIT), _audit_params(at_us, actor, "logout", None, None))


def purge_sessions(store: SqlStore, before_us: int) -> None:
    """Forget sessions that ended (absolute expiry) before `before_us`."""
    store._execute("DELETE FROM sessions WHERE expires_us < ?", [before_us])


def audit(
    store: SqlStore,
    at_us: int,
    actor: str,
    action: str,
    target: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    store._execute(_AUDIT, _audit_params(at_us, actor, action, target, detail))


def list_audit(store: SqlStore, *, limit: int = 100, before_id: int | None = None) -> list[AuditRow]:
    """The newest entries first, a page of `limit` below `before_id` (keyset)."""
    sql = "SELECT id, at_us, actor, action, target, detail FROM audit_log"
    params: list[Any] = []
    if before_id is not None:
        sql += " WHERE id < ?"
        params.append(before_id)
    rows = store._query(sql + " ORDER BY id DESC LIMIT ?", [*params, limit])
    return [AuditRow(r[0], r[1], r[2], r[3], r[4], orjson.loads(r[5]) if r[5] else None) for r in rows]
