"""The ASGI middleware every HTTP request passes: its request id, its latency metric, its log line.

- **request id**: the caller's `X-Request-ID` when it is a plain token (letters, digits, `.-_:`, at
  most 64), else a new one; bound to the log context for everything the request logs, and sent
  back as `X-Request-ID`.
- **latency**: `logisync_http_request_duration_seconds{method, handler, status}`, where `handler`
  is the matched route's path *template* (`/v1/records/{domain}/{key}`), never the raw path, so the
  series stay bounded; a request no route matched is `<unmatched>`.
- **log line**: `request` at info, with method, handler (the path template), status and `duration_ms` (never
  the headers, never the query string).
"""

from __future__ import annotations

import logging
import re
import time
from typing import Any

from .logs import bound, new_id
from .metrics import HubMetrics

UNMATCHED = "<unmatched>"
HEADER = b"x-request-id"
_TOKEN = re.compile(rb"^[A-Za-z0-9._:-]{1,64}$")
log = logging.getLogger("logisync.http")


class RequestObserver:
    """See the module docstring."""

    def __init__(self, app: Any, metrics: HubMetrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        status = 500  # what the client sees if the app raises before answering
        started = time.perf_counter()

        async def sending(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [*message.get("headers", ()), (HEADER, request_id.encode())]
            await send(message)

        with bound(request_id=request_id):
            try:
                await self.app(scope, receive, sending)
            finally:
                seconds = time.perf_counter() - started
                route = scope.get("route")
                template = getattr(route, "path_format", None) or getattr(route, "path", None) or UNMATCHED
                self.metrics.observe(scope["method"], template, status, seconds)
                if log.isEnabledFor(logging.INFO):
                    log.info(
                        "request",
                        extra={
                            "method": scope["method"],
                            "handler": template,
                            "status": status,
                            "duration_ms": round(seconds * 1000, 2),
                        },
                    )


def _request_id(scope: dict[str, Any]) -> str:
    for name, value in scope.get("headers", ()):
        if name == HEADER:
            return value.decode("ascii") if _TOKEN.match(value) else new_id()
    return new_id()
