"""Errors as the API answers them: one JSON shape for every 4xx and 5xx, and the handlers that use it.

Every error body is `{"error": {"code": ..., "message": ..., "errors": [{"path": ..., "message": ...}]}}`:
`code` is stable (clients may branch on it), `message` says what to do, `errors` names each bad field.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Awaitable, Mapping, Sequence
from typing import Any, TypeVar

import psycopg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..errors import LogisyncError
from .responses import JSONBody, json_response

log = logging.getLogger("logisync.api")
T = TypeVar("T")

MAX_LISTED = 50  # errors listed in one response; the message says how many there were
_STATUS_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
}


class ApiProblem(Exception):
    """An answer other than 2xx, raised by a route and rendered by `install`'s handler."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        errors: Sequence[Mapping[str, str]] = (),
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.errors = list(errors)
        self.headers = dict(headers or {})

    def body(self) -> dict[str, Any]:
        errors = self.errors[:MAX_LISTED]
        return {"error": {"code": self.code, "message": self.message, "errors": errors}}

    def response(self) -> JSONBody:
        return json_response(self.body(), self.status, self.headers)


def invalid(message: str, errors: Sequence[Mapping[str, str]], code: str = "invalid_request") -> ApiProblem:
    """A 422 whose message ends with how many problems there are (the first MAX_LISTED are listed)."""
    if len(errors) > MAX_LISTED:
        message += f" ({len(errors)} problems; the first {MAX_LISTED} are listed)"
    return ApiProblem(422, code, message, errors)


def render_path(loc: Sequence[str | int]) -> str:
    """`("changes", 3, "id")` -> `changes[3].id`; the empty path is the whole body."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(body)"


def store_unavailable(exc: BaseException) -> ApiProblem | None:
    """A 503 for store faults a client should retry later (busy, locked, connection lost), else None."""
    transient = isinstance(exc, sqlite3.OperationalError | psycopg.OperationalError) or (
        isinstance(exc, LogisyncError) and exc.transient
    )
    if not transient:
        return None
    log.warning("store unavailable: %s", exc)
    return ApiProblem(
        503,
        "store_unavailable",
        "the store cannot take this request right now; nothing was applied: retry the same request later",
        headers={"Retry-After": "1"},
    )


async def guarded(pending: Awaitable[T]) -> T:
    """Await a store call; a store fault a client should retry answers 503 (`store_unavailable`)."""
    try:
        return await pending
    except Exception as exc:
        problem = store_unavailable(exc)
        if problem is None:
            raise
        raise problem from None


async def _problem(request: Request, exc: Exception) -> JSONBody:
    assert isinstance(exc, ApiProblem)
    return exc.response()


async def _request_validation(request: Request, exc: Exception) -> JSONBody:
    """FastAPI's own parameter checks (path, query, headers), in our shape; `loc[0]` is where."""
    assert isinstance(exc, RequestValidationError)
    errors = [{"path": render_path(e["loc"][1:]), "message": e["msg"]} for e in exc.errors()]
    names = ", ".join(dict.fromkeys(e["path"] for e in errors))
    return invalid(f"invalid request parameters: {names}", errors).response()


async def _http(request: Request, exc: Exception) -> JSONBody:
    assert isinstance(exc, StarletteHTTPException)
    code = _STATUS_CODES.get(exc.status_code, "http_error")
    if exc.status_code == 404:
        message = f"no such route: {request.method} {request.url.path} (the routes are listed at /docs)"
    elif exc.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path} (the routes are listed at /docs)"
    else:
        message = str(exc.detail)
    return ApiProblem(exc.status_code, code, message, headers=exc.headers).response()


async def _fault(request: Request, exc: Exception) -> JSONBody:
    """Anything unexpected: a 503 for a transient store fault, else a 500 (the server logs it)."""
    problem = store_unavailable(exc)
    if problem is not None:
        return problem.response()
    return ApiProblem(
        500,
        "internal_error",
        "internal error (the hub logged it): send the same request again later; "
        "changes already applied come back as duplicates",
    ).response()


def install(app: FastAPI) -> None:
    """Register the handlers that give every error the same JSON shape."""
    app.add_exception_handler(ApiProblem, _problem)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(Exception, _fault)
