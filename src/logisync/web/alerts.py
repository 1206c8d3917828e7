"""The Alerts page, `/ui/alerts`: the sync map's alert rules, the alerts firing now and those
resolved lately, each with its rule, subject, since when, when last notified and which channels
were told. Both lists are keyset pages, newest first (`monitor.alert_list`), each with its own
cursor in the URL (`firing_before`/`firing_after`, `resolved_before`/`resolved_after`), so paging
one list keeps the other where it was. Every role may read it; nothing on it acts.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ..monitor import alert_list
from ..store.alerts import AlertBook
from .inbox_view import BadFilter
from .session import require
from .templating import render
from .users import Role, User

if TYPE_CHECKING:
    from .app import Deps


@dataclass(frozen=True, slots=True)
class AlertsQuery:
    """Where each list is (0: its newest page) and the page size, as the URL carries them."""

    firing_before: int = 0
    firing_after: int = 0
    resolved_before: int = 0
    resolved_after: int = 0
    limit: int = alert_list.PAGE

    def url(self, **changes: Any) -> str:
        """This query with `changes`, defaults left out: `?resolved_before=40`."""
        q = replace(self, **changes)
        params = {f.name: getattr(q, f.name) for f in fields(q) if getattr(q, f.name) != f.default}
        return "?" + urlencode(params) if params else "?"

    def cursor(self, which: str) -> dict[str, int | None]:
        before, after = getattr(self, f"{which}_before"), getattr(self, f"{which}_after")
        return {"before": before or None, "after": after or None}


def parse_query(params: Any) -> AlertsQuery:
    """The query from a URL; a bad value raises `BadFilter` naming it."""
    values: dict[str, int] = {}
    for f in fields(AlertsQuery):
        text = (params.get(f.name) or "").strip()
        if not text:
            continue
        low, high = (1, alert_list.MAX_PAGE) if f.name == "limit" else (1, 2**63 - 1)
        if not text.isdigit() or not low <= int(text) <= high:
            raise BadFilter(f.name, f"{f.name} {text[:40]!r} is not a whole number from {low} to {high}")
        values[f.name] = int(text)
    for which in alert_list.LISTS:
        if values.get(f"{which}_before") and values.get(f"{which}_after"):
            raise BadFilter(f"{which}_after", f"give {which}_before or {which}_after, not both")
    return AlertsQuery(**values)


def page_data(deps: Deps, query: AlertsQuery) -> dict[str, Any]:
    """What the page shows: the rules, and a page of each list."""
    book = AlertBook(deps.sql)
    config = deps.syncmap.alerts
    lists = {
        which: alert_list.page(book, config, which, limit=query.limit, **query.cursor(which))
        for which in alert_list.LISTS
    }
    return {
        "rules": alert_list.rules(config),
        "channels": sorted(config.channels) if config is not None else [],
        "every": config.every if config is not None else None,
        "firing": lists["firing"],
        "resolved": lists["resolved"],
    }


def add_routes(router: APIRouter, deps: Deps) -> None:
    @router.get("/alerts")
    async def alerts(request: Request, user: User = Depends(require(Role.viewer))) -> Response:
        error, status = None, 200
        try:
            query = parse_query(request.query_params)
        except BadFilter as exc:
            query, error, status = AlertsQuery(), exc.message, 422
        data = await run_in_threadpool(page_data, deps, query)
        return render(request, "alerts.html", status_code=status, nav="alerts", q=query, error=error, **data)
