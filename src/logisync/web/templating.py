"""`render(request, "page.html", **ctx)`: a Jinja2 page (autoescaped) with what every page needs.

Every template extends `base.html`, which reads `user` (the signed-in `User` or None), `csrf` (the
session's token, for forms and htmx's `X-CSRF-Token` header), `base` (where the dashboard is
mounted) and `nav` (the active section's name, from the page's context or None).
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import Any

from fastapi import Request
from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.responses import HTMLResponse

from .session import base_path

NAV = (
    ("overview", "Overview", "/"),
    ("exceptions", "Exceptions", "/exceptions"),
    ("records", "Records", "/records"),
    ("kpis", "KPIs", "/kpis"),
    ("reconcile", "Reconciliation", "/reconcile"),
    ("alerts", "Alerts", "/alerts"),
)


def when(us: int | None) -> str:
    """A time in µs as `2026-11-29 04:15:56Z` (UTC), or an em dash."""
    if not us:
        return "—"
    return datetime.fromtimestamp(us / 1e6, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def duration(seconds: float | None) -> str:
    """`0 s`, `45 s`, `12 min`, `3.5 h`, `2.0 d`."""
    if seconds is None:
        return "—"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


@cache
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("logisync.web", "templates"),
        autoescape=select_autoescape(["html", "svg"], default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["when"] = when
    env.filters["duration"] = duration
    env.globals["NAV"] = NAV
    return env


def render(request: Request, name: str, *, status_code: int = 200, **ctx: Any) -> HTMLResponse:
    """The page `name` rendered with `ctx` and the signed-in user, CSRF token and base path."""
    state = request.state
    context = {
        "request": request,
        "user": getattr(state, "user", None),
        "csrf": getattr(state, "csrf", ""),
        "base": base_path(request),
        "nav": None,
        **ctx,
    }
    html = environment().get_template(name).render(context)
    return HTMLResponse(html, status_code=status_code, headers=SECURITY_HEADERS)


# No framing (clickjacking), no sniffing, scripts only from the hub itself (the vendored files).
SECURITY_HEADERS = {
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
        "frame-ancestors 'none'; form-action 'self'"
    ),
    "Cache-Control": "no-store",
}
