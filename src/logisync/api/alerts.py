"""`GET /v1/alerts` and `GET /v1/alerts/rules`: the alerts firing now or resolved lately, a keyset
page at a time, and the sync map's alert rules; read-only, the admin key (as the dashboard's
Alerts page shows them, from `monitor.alert_list`)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ..config.model import SyncMap
from ..monitor import alert_list
from ..store.alerts import AlertBook
from ..store.base import Store
from .auth import Caller, Keyring, authenticator
from .problems import ApiProblem, guarded
from .responses import json_response
from .schemas import Problem

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Problem, "description": "no API key, or an unknown one"},
    403: {"model": Problem, "description": "only the admin key reads the alerts"},
    422: {"model": Problem, "description": "a bad parameter; `errors` names it"},
    503: {"model": Problem, "description": "the store is busy or unreachable: retry the same request"},
}


def alerts_router(syncmap: SyncMap, store: Store, keyring: Keyring) -> APIRouter:
    router = APIRouter(tags=["alerts"])
    caller_of = authenticator(keyring)
    book = AlertBook(store)  # type: ignore[arg-type]

    def admin_only(caller: Caller) -> None:
        if not caller.admin:
            raise ApiProblem(403, "forbidden", "only the admin key reads the alerts")

    @router.get(
        "/v1/alerts", summary="Alerts firing now, or resolved lately, newest first", responses=_ERRORS
    )
    async def alerts(
        caller: Caller = Depends(caller_of),
        state: Literal["firing", "resolved"] = Query(
            "firing",
            description="`firing` (with `pending`: holding, not yet for the rule's time) or `resolved`",
        ),
        before: int | None = Query(
            None, ge=1, le=2**63 - 1, description="the page older than this alert id (`next_before`)"
        ),
        after: int | None = Query(
            None,
            ge=1,
            le=2**63 - 1,
            description="the page newer than this alert id (`prev_after`: going back)",
        ),
        limit: int = Query(alert_list.PAGE, ge=1, le=alert_list.MAX_PAGE),
    ) -> Response:
        """Each alert: its rule, subject (and what the subject is: route, exception kind, target,
        trading partner), severity, state, summary and figures, since when its condition held,
        when it fired, was last seen and last notified, when it resolved, and per channel the
        latest notification (event, state, attempts, last error). `next_before` and `prev_after`
        are the cursors of the neighbouring pages (null: none). See docs/alerts.md."""
        admin_only(caller)
        if before is not None and after is not None:
            raise ApiProblem(
                422,
                "invalid_request",
                "give before or after, not both",
                [{"path": "after", "message": "not with before"}],
            )
        found = await guarded(
            run_in_threadpool(
                alert_list.page, book, syncmap.alerts, state, before=before, after=after, limit=limit
            )
        )
        return json_response(
            {
                "state": state,
                "alerts": [i.as_json() for i in found.items],
                "next_before": found.older,
                "prev_after": found.newer,
            }
        )

    @router.get("/v1/alerts/rules", summary="The sync map's alert rules", responses=_ERRORS)
    async def rules(caller: Caller = Depends(caller_of)) -> Response:
        """Each rule: its name, condition in words, what one alert is about, severity, the channels
        it notifies, how often a firing alert is sent again, and whether a resolved notice goes."""
        admin_only(caller)
        config = syncmap.alerts
        return json_response(
            {
                "every_s": config.every if config is not None else None,
                "channels": sorted(config.channels) if config is not None else [],
                "rules": [r.as_json() for r in alert_list.rules(config)],
            }
        )

    return router
