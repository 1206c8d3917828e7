"""Dashboard users: roles, argon2 password hashes, sign-in with lockout, and user management.

Roles are ordered `viewer < operator < admin`: a viewer reads every page, an operator also acts
on exceptions, an admin also manages users. Passwords are hashed with argon2id (argon2-cffi's
defaults, RFC 9106's low-memory profile); a sign-in with an unknown name verifies against a dummy
hash so it takes as long as a wrong password (no user enumeration by timing).

Lockout: after `MAX_FAILURES` consecutive wrong passwords a user cannot sign in for
`LOCKOUT_S` seconds (the right password is refused too, with the same message); a client address
that fails `MAX_FAILURES_PER_ADDRESS` times within `LOCKOUT_S` is refused for any name.
"""

from __future__ import annotations

import enum
import re
import threading
from collections import deque
from dataclasses import dataclass
from functools import total_ordering
from typing import TYPE_CHECKING

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from ..errors import LogisyncError
from ..store import users as sql

if TYPE_CHECKING:
    from ..store.sql import SqlStore

MAX_FAILURES = 5
MAX_FAILURES_PER_ADDRESS = 20
LOCKOUT_S = 15 * 60
MIN_PASSWORD = 10
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")

_hasher = PasswordHasher()
_DUMMY = _hasher.hash("logisync: no such user")


@total_ordering
class Role(enum.Enum):
    viewer = 1  # reads every page
    operator = 2  # also retries, edits, discards and assigns exceptions
    admin = 3  # also manages users

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Role):
            return NotImplemented
        return self.value < other.value

    @classmethod
    def parse(cls, text: str) -> Role:
        try:
            return cls[text.strip().lower()]
        except KeyError:
            raise UserError(f"unknown role {text!r} (roles: viewer, operator, admin)") from None


@dataclass(frozen=True, slots=True)
class User:
    """The signed-in user a page sees."""

    name: str
    role: Role

    @property
    def actor(self) -> str:
        """How the audit trail names this user."""
        return f"user:{self.name}"

    def can(self, role: Role) -> bool:
        return self.role >= role


class UserError(LogisyncError):
    """A refused user change: bad name, short password, unknown role, no such user."""

    code = "user_error"


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise UserError(f"the password is too short: at least {MIN_PASSWORD} characters")
    return _hasher.hash(password)


def check_name(name: str) -> str:
    if not NAME.match(name):
        raise UserError(
            f"bad user name {name[:80]!r}: 1-64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit"
        )
    return name


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


class AddressThrottle:
    """Failed sign-ins per client address in the last `window_s` (in memory, per process)."""

    def __init__(self, limit: int = MAX_FAILURES_PER_ADDRESS, window_s: float = LOCKOUT_S) -> None:
        self.limit = limit
        self.window_us = int(window_s * 1e6)
        self._fails: dict[str, deque[int]] = {}
        self._lock = threading.Lock()

    def blocked(self, address: str, now_us: int) -> bool:
        with self._lock:
            fails = self._fails.get(address)
            if not fails:
                return False
            while fails and fails[0] < now_us - self.window_us:
                fails.popleft()
            return len(fails) >= self.limit

    def failed(self, address: str, now_us: int) -> None:
        with self._lock:
            if len(self._fails) > 10_000:  # bounded: forget the quiet addresses
                self._fails = {a: f for a, f in self._fails.items() if f and f[-1] >= now_us - self.window_us}
            self._fails.setdefault(address, deque()).append(now_us)


@dataclass(frozen=True, slots=True)
class SignIn:
    """What a sign-in attempt came to: the user, or why not (one message for every refusal)."""

    user: User | None
    reason: str  # ok, bad_password, unknown_user, locked, disabled, throttled


def authenticate(
    store: SqlStore,
    name: str,
    password: str,
    now_us: int,
    address: str,
    throttle: AddressThrottle,
    *,
    new_session: sql.SessionRow | None = None,
    old_session_hash: str | None = None,
) -> SignIn:
    """Check a name and password; count failures, lock out, audit; on success store `new_session`
    (with the user's name filled in by the caller) and end `old_session_hash`."""
    actor = f"anonymous:{address}"
    if throttle.blocked(address, now_us):
        # no hashing and no audit row: a flood from one address costs neither CPU nor store space
        # (its first failures are in the audit log already)
        return SignIn(None, "throttled")
    row = sql.get_user(store, name) if NAME.match(name) else None
    if row is None:
        _verify(_DUMMY, password)
        throttle.failed(address, now_us)
        sql.audit(store, now_us, actor, "login_failed", name[:64], {"reason": "unknown_user"})
        return SignIn(None, "unknown_user")
    good = _verify(row.password_hash, password)
    if row.disabled or row.locked_until_us > now_us or not good:
        reason = "disabled" if row.disabled else "locked" if row.locked_until_us > now_us else "bad_password"
        if not good:
            throttle.failed(address, now_us)
        locked = sql.record_login(
            store, row.name, False, now_us, actor, count_failure=reason == "bad_password",
            max_failures=MAX_FAILURES, lock_until_us=now_us + LOCKOUT_S * 1_000_000,
            detail={"reason": reason},
        )  # fmt: skip
        return SignIn(None, "locked" if locked else reason)
    if not sql.record_login(
        store, row.name, True, now_us, f"user:{row.name}",
        new_session=new_session, old_session_hash=old_session_hash,
    ):  # fmt: skip
        return SignIn(
            None, "locked"
        )  # a parallel failure locked the user (or an admin disabled it) meanwhile
    return SignIn(User(row.name, Role[row.role]), "ok")


# -- user management (the `logisync users` command; admins in the dashboard later) ------------------


def add(store: SqlStore, name: str, role: Role, password: str, now_us: int, actor: str) -> None:
    check_name(name)
    if not sql.add_user(store, name, role.name, hash_password(password), now_us, actor):
        raise UserError(f"a user {name!r} exists already (change it with `logisync users set-role`)")


def set_role(store: SqlStore, name: str, role: Role, now_us: int, actor: str) -> None:
    if not sql.update_user(store, name, now_us, actor, "role_set", role=role.name, end_sessions=True):
        raise UserError(f"no user {name!r}")


def set_password(store: SqlStore, name: str, password: str, now_us: int, actor: str) -> None:
    hashed = hash_password(password)
    if not sql.update_user(
        store, name, now_us, actor, "password_set", password_hash=hashed, failed_logins=0,
        locked_until_us=0, end_sessions=True,
    ):  # fmt: skip
        raise UserError(f"no user {name!r}")


def set_disabled(store: SqlStore, name: str, disabled: bool, now_us: int, actor: str) -> None:
    action = "user_disabled" if disabled else "user_enabled"
    if not sql.update_user(store, name, now_us, actor, action, disabled=disabled, end_sessions=disabled):
        raise UserError(f"no user {name!r}")


def remove(store: SqlStore, name: str, now_us: int, actor: str) -> None:
    if not sql.remove_user(store, name, now_us, actor):
        raise UserError(f"no user {name!r}")
