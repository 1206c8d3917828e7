"""`GET /v1/kpis`: the logistics KPIs over a window, or bucket by bucket as a time series."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ..config.durations import parse_duration
from ..config.model import SyncMap
from ..kpi.definitions import DIMENSIONS, describe
from ..kpi.report import Window, compute, series
from ..store.base import Store
from .auth import Caller, Keyring, authenticator
from .problems import ApiProblem, invalid
from .responses import json_response
from .schemas import Problem

DESCRIPTION = (
    "The KPIs over `[since, until)`; with `bucket` (e.g. `1d`, `1h`), one set per bucket, oldest "
    "first, for charts. Each figure has its `group` (the value of `by`, or `all` where the KPI has "
    "no such dimension), `value` (null when nothing was measured), `numerator`, `denominator`, "
    "`count` (the items it is taken over) and `unit`.\n\n" + describe()
)


def kpi_router(syncmap: SyncMap, store: Store, keyring: Keyring) -> APIRouter:
    router = APIRouter(tags=["kpis"])
    caller_of = authenticator(keyring)

    @router.get(
        "/v1/kpis",
        summary="Logistics KPIs: a window or a time series",
        description=DESCRIPTION,
        responses={
            401: {"model": Problem, "description": "no API key, or an unknown one"},
            403: {"model": Problem, "description": "only the admin key reads the KPIs"},
            422: {"model": Problem, "description": "a window, bucket or grouping that cannot be read"},
        },
    )
    async def kpis(
        caller: Caller = Depends(caller_of),
        since: str = Query("7d", description="a duration ago (7d, 12h) or an ISO time"),
        until: str | None = Query(None, description="an ISO time or a duration ago (default: now)"),
        by: str | None = Query(None, description="channel, location or partner"),
        bucket: str | None = Query(None, description="a time series in buckets of this length (1h, 1d)"),
        otif_within: str = Query("48h", description="the promise OTIF judges by, from placed_at"),
    ) -> Response:
        if not caller.admin:
            raise ApiProblem(403, "forbidden", "only the admin key reads the KPIs")
        try:
            if by is not None and by not in DIMENSIONS:
                raise ValueError(f"by {by!r}: one of {', '.join(DIMENSIONS)}")
            window = Window.parse(since, until)
            promise_h = parse_duration(otif_within) / 3600
            step = parse_duration(bucket) if bucket is not None else None
        except ValueError as exc:
            raise invalid(str(exc), [{"path": "query", "message": str(exc)}]) from None
        body: dict[str, Any] = {"window": window.as_dict(), "by": by}
        try:
            if step is None:
                values = await run_in_threadpool(
                    compute, store, window, by=by, syncmap=syncmap, otif_within_h=promise_h
                )
                body["kpis"] = [v.as_dict() for v in values]
            else:
                body["bucket_s"] = step
                body["series"] = await run_in_threadpool(
                    series, store, window, step, by=by, syncmap=syncmap, otif_within_h=promise_h
                )
        except ValueError as exc:  # too many buckets, a bucket of 0
            raise invalid(str(exc), [{"path": "query.bucket", "message": str(exc)}]) from None
        return json_response(body)

    return router
