"""Dashboard sessions: server-side, behind an HttpOnly cookie; `require(role)`; CSRF on every POST.

The cookie holds 32 random bytes; the store keeps only their SHA-256, with the user, the CSRF
token, and the times. A session ends `SESSION_S` after sign-in, or after `IDLE_S` without a
request, at logout, or when the user's role, password or status changes. Sign-in always makes a
new session (the id is rotated) and ends the one the browser came with.

Cookie attributes: `HttpOnly`, `SameSite=Strict`, `Path=/ui`, and `Secure` unless the dashboard is
reached over plain http at a loopback address (127.0.0.0/8, ::1, localhost): a browser keeps no
Secure cookie from such a page, and loopback traffic never leaves the machine. Anywhere else the
cookie is Secure, so the dashboard needs https (directly or behind a TLS-terminating proxy).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import quote

from fastapi import Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ..domain.change import now_us
from ..store import users as sql
from .users import Role, User

if TYPE_CHECKING:
    from ..store.sql import SqlStore

COOKIE = "logisync_session"
LOGIN_CSRF_COOKIE = "logisync_login_csrf"
SESSION_S = 12 * 3600
IDLE_S = 2 * 3600
TOUCH_EVERY_S = 60  # last_seen is written at most this often (htmx polls every few seconds)
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class WebProblem(Exception):
    """A dashboard request refused: rendered as a page (or a redirect to sign in) by `web.app`."""

    def __init__(self, status: int, message: str, *, location: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.location = location


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(slots=True)
class Sessions:
    """Sessions in the store, with the lifetimes above."""

    store: SqlStore
    session_s: int = SESSION_S
    idle_s: int = IDLE_S

    def new(self, user_name: str, now: int) -> tuple[str, sql.SessionRow]:
        """A fresh session id (the cookie's value) and the row to keep (by its digest)."""
        token = secrets.token_urlsafe(32)
        row = sql.SessionRow(
            digest(token), user_name, secrets.token_urlsafe(32), now, now, now + self.session_s * 1_000_000
        )
        return token, row

    def lookup(self, token: str | None, now: int) -> tuple[User, sql.SessionRow] | None:
        """The signed-in user of a cookie value, or None (no session, ended, idle, user disabled)."""
        if not token or len(token) > 128:
            return None
        row = sql.get_session(self.store, digest(token))
        if row is None:
            return None
        if row.expires_us <= now or row.last_seen_us + self.idle_s * 1_000_000 <= now:
            sql.end_session(self.store, row.id_hash, now)
            return None
        user = sql.get_user(self.store, row.user_name)
        if user is None or user.disabled:
            sql.end_session(self.store, row.id_hash, now)
            return None
        if now - row.last_seen_us > TOUCH_EVERY_S * 1_000_000:
            sql.touch_session(self.store, row.id_hash, now)
        return User(user.name, Role[user.role]), row


def is_loopback_http(request: Request) -> bool:
    """Plain http to a loopback host: the one case the session cookie is not marked Secure."""
    if request.url.scheme != "http":
        return False
    host = request.url.hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def set_cookie(
    response: Response, request: Request, name: str, value: str, max_age: int | None = None
) -> None:
    """A dashboard cookie: HttpOnly, SameSite=Strict, under the dashboard's path, Secure (see above)."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        httponly=True,
        samesite="strict",
        secure=not is_loopback_http(request),
        path=base_path(request),
    )


def base_path(request: Request) -> str:
    """Where the dashboard is mounted (`/ui`, under the app's root path)."""
    return request.scope.get("root_path", "") + "/ui"


def _is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


async def _submitted_csrf(request: Request) -> str | None:
    token = request.headers.get("x-csrf-token")
    if token:
        return token
    ctype = request.headers.get("content-type", "")
    if ctype.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        value = (await request.form()).get("csrf")
        return value if isinstance(value, str) else None
    return None


def require(role: Role | str = Role.viewer) -> Callable[[Request], Awaitable[User]]:
    """A FastAPI dependency: the signed-in `User`, at least `role`.

    Not signed in: a page is redirected to sign-in (303, with `next`), an htmx call gets 401 (with
    `HX-Redirect`, so htmx goes to sign-in). A POST (any unsafe method) must carry the session's
    CSRF token (form field `csrf` or header `X-CSRF-Token`): missing or wrong is 403. A role
    below `role` is 403. The user and token are left on `request.state` for `render`.
    """
    need = role if isinstance(role, Role) else Role.parse(role)

    async def dependency(request: Request) -> User:
        sessions: Sessions = request.state.web.sessions
        found = await run_in_threadpool(sessions.lookup, request.cookies.get(COOKIE), now_us())
        base = base_path(request)
        if found is None:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            login = f"{base}/login?next={quote(target, safe='')}"
            if _is_htmx(request) or request.method not in SAFE_METHODS:
                raise WebProblem(401, "sign in first (the session ended)", location=login)
            raise WebProblem(303, "sign in first", location=login)
        user, session = found
        request.state.user = user
        request.state.csrf = session.csrf
        if request.method not in SAFE_METHODS:
            submitted = await _submitted_csrf(request)
            if not submitted or not hmac.compare_digest(submitted.encode(), session.csrf.encode()):
                raise WebProblem(
                    403, "the form's security token is missing or stale: reload the page and try again"
                )
        if not user.can(need):
            raise WebProblem(403, f"this needs the {need.name} role; you are signed in as {user.role.name}")
        return user

    return dependency
