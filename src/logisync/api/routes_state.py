"""`GET /v1/routes`: each route's backlog and lag against its SLA, and, where this process runs
the dispatchers, its target's circuit breaker and the route's delivery counters."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ..config.model import SyncMap
from ..delivery.dispatcher import Dispatcher
from ..domain.change import now_us
from ..monitor.lag import route_lags
from ..store.base import Store
from ..store.outbox import OutboxQueue
from .auth import Caller, Keyring, authenticator
from .problems import ApiProblem
from .responses import json_response
from .schemas import Problem, RoutesState, ShadowResults


def routes_router(
    syncmap: SyncMap, store: Store, keyring: Keyring, dispatcher: Dispatcher | None
) -> APIRouter:
    router = APIRouter(tags=["routes"])
    caller_of = authenticator(keyring)
    workers = {w.route.name: w for w in (dispatcher.workers if dispatcher is not None else [])}
    queue = OutboxQueue(store)  # type: ignore[arg-type]

    @router.get(
        "/v1/routes",
        response_model=RoutesState,
        summary="Routes: backlog, lag against SLA, breaker",
        responses={
            401: {"model": Problem, "description": "no API key, or an unknown one"},
            403: {"model": Problem, "description": "only the admin key reads the routes"},
        },
    )
    async def routes(caller: Caller = Depends(caller_of)) -> Response:
        """Every route of the sync map: rows pending and in flight, the age of the oldest
        undelivered change (`lag_s`) against the route's `sla_s`, and, when this process runs the
        dispatchers (`logisync serve`), the target's circuit breaker (`closed`, `open`,
        `half_open`) and the route's counters since start (calls, delivered, retried, dead,
        coalesced, shadowed, last error)."""
        if not caller.admin:
            raise ApiProblem(403, "forbidden", "only the admin key reads the routes")
        lags = await run_in_threadpool(route_lags, syncmap, store, now_us())
        shown: list[dict[str, Any]] = []
        for lag in lags:
            row: dict[str, Any] = {**lag.as_dict(), "to": _route(syncmap, lag.route).to, "dispatched": False}
            worker = workers.get(lag.route)
            if worker is not None:
                s = worker.stats
                row.update(
                    dispatched=True,
                    breaker=worker.breaker.state.value,
                    breaker_opened_at=worker.breaker.opened_at,
                    calls=s.calls,
                    delivered=s.delivered,
                    retried=s.retried,
                    dead=s.dead,
                    coalesced=s.coalesced,
                    shadowed=s.shadowed,
                    shadow_compared=s.shadow_compared,
                    shadow_differed=s.shadow_differed,
                    shadow_read_failed=s.shadow_read_failed,
                    last_error=s.last_error,
                )
            shown.append(row)
        return json_response(RoutesState.model_validate({"routes": shown}).model_dump(mode="json"))

    @router.get(
        "/v1/routes/{name}/shadow",
        response_model=ShadowResults,
        summary="A shadow route's results: what it would send, and the difference from the target",
        responses={
            401: {"model": Problem, "description": "no API key, or an unknown one"},
            403: {"model": Problem, "description": "only the admin key reads the routes"},
            404: {"model": Problem, "description": "no route of that name"},
        },
    )
    async def shadow(
        name: str,
        caller: Caller = Depends(caller_of),
        limit: int = Query(100, ge=1, le=1000, description="at most this many, newest first"),
        differs: bool = Query(False, description="only results where the target had something else"),
    ) -> Response:
        """The newest results of a route (shadow mode, or a route that ran in shadow mode before):
        per key, the body it would have sent and, where its target can be read (the system's
        `read`), the field-level difference from what the target had then."""
        if not caller.admin:
            raise ApiProblem(403, "forbidden", "only the admin key reads the routes")
        if not any(r.name == name for r in syncmap.routes):
            raise ApiProblem(404, "not_found", f"no route {name!r} in the sync map")
        found = await run_in_threadpool(queue.shadow_results, name, limit=limit, differs=differs)
        results = [
            {"id": r.id, "key": r.key, "at_us": r.at_us, "body": r.body, "diff": r.diff} for r in found
        ]
        return json_response(
            ShadowResults.model_validate({"route": name, "results": results}).model_dump(mode="json")
        )

    return router


def _route(syncmap: SyncMap, name: str) -> Any:
    return next(r for r in syncmap.routes if r.name == name)
