"""`dashboard_router(syncmap, store)`: the operations dashboard, mounted by the API under `/ui`.

One module per page registers its routes (`add_routes(router, deps)`); this module adds sign-in,
sign-out and the static files, and `install(app)` renders the dashboard's refusals as pages.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, FastAPI, Form, Request
from fastapi.exceptions import RequestValidationError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import FileResponse, RedirectResponse, Response

from ..config.model import SyncMap
from ..domain.change import now_us
from ..store import users as sql
from ..store.base import Store
from . import accounts, overview
from .session import (
    COOKIE,
    LOGIN_CSRF_COOKIE,
    Sessions,
    WebProblem,
    base_path,
    digest,
    require,
    set_cookie,
)
from .templating import SECURITY_HEADERS, render
from .users import AddressThrottle, Role, User, authenticate

if TYPE_CHECKING:
    from ..delivery.dispatcher import Dispatcher
    from ..store.sql import SqlStore

STATIC = Path(__file__).parent / "static"
_TYPES = {".js": "text/javascript", ".css": "text/css", ".md": "text/plain", ".svg": "image/svg+xml"}


@dataclass
class Deps:
    """What the pages need: the sync map, the store, and (in `logisync serve`) the dispatcher."""

    syncmap: SyncMap
    store: Store
    dispatcher: Dispatcher | None = None
    sessions: Sessions = field(init=False)
    throttle: AddressThrottle = field(default_factory=AddressThrottle)

    def __post_init__(self) -> None:
        self.sessions = Sessions(self.sql)

    @property
    def sql(self) -> SqlStore:
        """The store as the SQL functions of `store/` take it (both stores are `SqlStore`s)."""
        return cast("SqlStore", self.store)

    def audit(self, user: User, action: str, target: str | None = None, **detail: Any) -> None:
        """A dashboard action in the audit log (exception actions go through `logisync.inbox`,
        whose own trail names the same actor)."""
        sql.audit(self.sql, now_us(), user.actor, action, target, detail or None)


def dashboard_router(syncmap: SyncMap, store: Store, *, dispatcher: Dispatcher | None = None) -> APIRouter:
    """The dashboard's routes, to be included with `prefix="/ui"` (see `install`)."""
    deps = Deps(syncmap, store, dispatcher)

    async def attach(request: Request) -> None:
        request.state.web = deps

    router = APIRouter(dependencies=[Depends(attach)], include_in_schema=False)
    _add_auth_routes(router, deps)

    @router.get("/static/{path:path}")
    async def static(path: str) -> Response:
        try:
            file = (STATIC / path).resolve()
            found = file.is_relative_to(STATIC.resolve()) and file.is_file()
        except (ValueError, OSError):  # a NUL byte, a name too long for the file system
            found = False
        if not found:
            raise WebProblem(404, f"no static file {path[:200]!r}")
        return FileResponse(
            file,
            media_type=_TYPES.get(file.suffix),
            headers={"Cache-Control": "public, max-age=3600", "X-Content-Type-Options": "nosniff"},
        )

    overview.add_routes(router, deps)
    accounts.add_routes(router, deps)
    for module in _optional_pages():
        module.add_routes(router, deps)

    @router.get("/{path:path}")
    async def unknown(path: str, user: User = Depends(require(Role.viewer))) -> Response:
        """Last: a dashboard address no page answers is a 404 page (signed in), not the API's JSON."""
        raise WebProblem(404, f"there is no dashboard page at /ui/{path}")

    return router


def _optional_pages() -> list[Any]:
    """The pages other modules add, where they exist yet (inbox, explorer, kpis, reconcile, alerts)."""
    import importlib

    found = []
    for name in ("inbox", "explorer", "kpis", "reconcile", "alerts"):
        try:
            found.append(importlib.import_module(f"{__package__}.{name}"))
        except ModuleNotFoundError as exc:
            if exc.name != f"{__package__}.{name}":
                raise
    return found


def _safe_next(base: str, target: str | None) -> str:
    """Where to go after sign-in: a path under the dashboard, never another site."""
    if not target:
        return base + "/"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith(base + "/") or "\\" in target:
        return base + "/"
    if parts.path in (base + "/login", base + "/logout"):
        return base + "/"
    return target


def _address(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _add_auth_routes(router: APIRouter, deps: Deps) -> None:
    def login_page(
        request: Request, *, error: str | None, next_: str, username: str, status: int
    ) -> Response:
        token = secrets.token_urlsafe(24)
        response = render(
            request,
            "login.html",
            status_code=status,
            error=error,
            next=next_,
            username=username,
            login_csrf=token,
        )
        set_cookie(response, request, LOGIN_CSRF_COOKIE, token, max_age=3600)
        return response

    @router.get("/login")
    async def login_form(request: Request, next: str = "") -> Response:
        return login_page(
            request, error=None, next_=_safe_next(base_path(request), next), username="", status=200
        )

    @router.post("/login")
    async def login(
        request: Request,
        username: str = Form(""),
        password: str = Form(""),
        csrf: str = Form(""),
        next: str = Form(""),
    ) -> Response:
        # lengths checked here rather than by Form(max_length=...), whose refusal is the API's JSON
        base = base_path(request)
        target = _safe_next(base, next[:2000])
        expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
        if (
            not csrf
            or len(csrf) > 200
            or not expected
            or not secrets.compare_digest(csrf.encode(), expected.encode())
        ):
            raise WebProblem(403, "the sign-in form's security token is missing or stale: reload the page")
        too_long = [
            f"{label}: at most {n} characters"
            for label, value, n in (("user name", username, 200), ("password", password, 1000))
            if len(value) > n
        ]
        if too_long:
            return login_page(
                request, error="; ".join(too_long), next_=target, username=username[:200], status=422
            )
        now = now_us()
        await run_in_threadpool(sql.purge_sessions, deps.sql, now)  # forget the sessions that ended
        token, session = deps.sessions.new(username, now)
        old = request.cookies.get(COOKIE)
        outcome = await run_in_threadpool(
            authenticate,
            deps.sql,
            username,
            password,
            now,
            _address(request),
            deps.throttle,
            new_session=session,
            old_session_hash=digest(old) if old else None,
        )
        if outcome.user is None:
            # one message for an unknown name, a wrong password and a locked user, so that the page
            # does not tell which names exist; only an address over its limit is told so
            message = (
                "Too many failed attempts from this address: try again in 15 minutes."
                if outcome.reason == "throttled"
                else "Wrong user name or password (after 5 failures in a row a user is locked for 15 minutes)."
            )
            return login_page(request, error=message, next_=target, username=username, status=401)
        response = RedirectResponse(target, status_code=303, headers=SECURITY_HEADERS)
        set_cookie(response, request, COOKIE, token)
        response.delete_cookie(LOGIN_CSRF_COOKIE, path=base)
        return response

    @router.post("/logout")
    async def logout(request: Request, user: User = Depends(require(Role.viewer))) -> Response:
        token = request.cookies.get(COOKIE, "")
        await run_in_threadpool(sql.end_session, deps.sql, digest(token), now_us(), user.actor)
        base = base_path(request)
        response = RedirectResponse(base + "/login", status_code=303, headers=SECURITY_HEADERS)
        response.delete_cookie(COOKIE, path=base, httponly=True, samesite="strict")
        return response


_TITLES = {
    400: "Bad request",
    401: "Sign in",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed",
    422: "Cannot read the request",
    500: "Internal error",
    503: "Try again",
}


async def _problem_page(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, WebProblem)
    if exc.status == 303 and exc.location:
        return RedirectResponse(exc.location, status_code=303, headers=SECURITY_HEADERS)
    headers = {"HX-Redirect": exc.location} if exc.status == 401 and exc.location else {}
    title = _TITLES.get(exc.status, "Refused")
    response = render(request, "error.html", status_code=exc.status, title=title, message=exc.message)
    response.headers.update(headers)
    return response


def _in_dashboard(request: Request) -> bool:
    base = base_path(request)
    return request.url.path == base or request.url.path.startswith(base + "/")


def _fields(exc: RequestValidationError) -> str:
    """FastAPI's checks of a page's parameters in words: `before: Input should be a valid integer`."""
    said = []
    for error in exc.errors()[:10]:
        where = ".".join(str(part) for part in error["loc"][1:]) or "the request"
        said.append(f"{where}: {error['msg']}")
    return "; ".join(said)


def _as_pages(app: FastAPI) -> None:
    """The API's error handlers, answering a page instead of JSON for a dashboard address: a
    parameter FastAPI refuses (a path id that is not a number), a method a page does not take, a
    fault. The API's own addresses keep the API's JSON (`api/problems.py`)."""
    api = dict(app.exception_handlers)

    async def validation(request: Request, exc: Exception) -> Response:
        if not _in_dashboard(request):
            return await api[RequestValidationError](request, exc)
        assert isinstance(exc, RequestValidationError)
        message = f"the request has a value this page cannot read: {_fields(exc)}"
        return await _problem_page(request, WebProblem(422, message))

    async def http(request: Request, exc: Exception) -> Response:
        if not _in_dashboard(request):
            return await api[StarletteHTTPException](request, exc)
        assert isinstance(exc, StarletteHTTPException)
        if exc.status_code == 405:
            message = f"{request.method} is not something {request.url.path} does (follow the page's links and forms)"
        else:
            message = str(exc.detail)
        page = await _problem_page(request, WebProblem(exc.status_code, message))
        for name, value in (exc.headers or {}).items():  # a 405's Allow, for one
            page.headers.setdefault(name, value)
        return page

    async def fault(request: Request, exc: Exception) -> Response:
        answer = await api[Exception](request, exc)
        if not _in_dashboard(request):
            return answer
        message = (
            "the store is busy: nothing was changed; try again in a moment"
            if answer.status_code == 503
            else "something went wrong in the hub (it is in the server's log): try again, or tell the hub's admin"
        )
        return await _problem_page(request, WebProblem(answer.status_code, message))

    app.add_exception_handler(RequestValidationError, validation)
    app.add_exception_handler(StarletteHTTPException, http)
    if Exception in api:
        app.add_exception_handler(Exception, fault)


def install(app: FastAPI, router: APIRouter) -> None:
    """Mount the dashboard under `/ui`, send `/` there, and render its refusals as pages (after
    `api.problems.install`, whose JSON handlers it keeps for every address outside `/ui`)."""
    app.include_router(router, prefix="/ui")
    app.add_exception_handler(WebProblem, _problem_page)
    _as_pages(app)

    @app.get("/", include_in_schema=False)
    async def root(request: Request) -> Response:
        return RedirectResponse(request.scope.get("root_path", "") + "/ui/", status_code=307)
