"""`GET /v1/reconcile/runs`: the reconciliation runs, newest first, so drift shows run after run."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ..store.base import Store
from ..store.reconcile_runs import list_runs
from .auth import Caller, Keyring, authenticator
from .problems import ApiProblem
from .responses import json_response
from .schemas import Problem


def reconcile_router(store: Store, keyring: Keyring) -> APIRouter:
    router = APIRouter(tags=["reconciliation"])
    caller_of = authenticator(keyring)

    @router.get(
        "/v1/reconcile/runs",
        summary="Reconciliation runs: counts, units and value at stake, newest first",
        responses={
            401: {"model": Problem, "description": "no API key, or an unknown one"},
            403: {"model": Problem, "description": "only the admin key reads the runs"},
        },
    )
    async def runs(
        caller: Caller = Depends(caller_of),
        name: str | None = Query(None, description="one reconciliation (SYSTEM-DOMAIN unless named)"),
        limit: int = Query(20, ge=1, le=1000),
    ) -> Response:
        """Each run: when, the source and the snapshot's time, its state (`running`, `done`,
        `failed` with its `error`), keys in the hub and the system, keys with a variance and
        explained by deliveries in flight, variances, units and value at stake, the whole summary
        (by kind, worst SKUs and locations), the report file, and what its corrections did
        (docs/reconcile.md)."""
        if not caller.admin:
            raise ApiProblem(403, "forbidden", "only the admin key reads the reconciliation runs")
        found = await run_in_threadpool(list_runs, store, name=name, limit=limit)  # type: ignore[arg-type]
        return json_response({"runs": [r.as_dict() for r in found]})

    return router
