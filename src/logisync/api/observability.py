"""`/metrics` (Prometheus text format, behind a bearer token) and `/readyz` (for orchestrators)."""

from __future__ import annotations

import asyncio
import hmac
import os
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request, Response

from ..config.model import SyncMap
from ..monitor.metrics import CONTENT_TYPE, HubMetrics
from ..monitor.readiness import Readiness, Running, Worker, check_ready
from ..store.base import Store
from .auth import Keyring, digest, unauthorized
from .responses import json_response

HOW = "scrape with `Authorization: Bearer TOKEN`: the token in api.metrics.token_env, or the admin key"


def observability_router(
    syncmap: SyncMap,
    store: Store,
    keyring: Keyring,
    metrics: HubMetrics,
    ingestor: Worker,
    dispatcher: Running | None,
    env: Mapping[str, str] | None = None,
) -> APIRouter:
    """`/metrics` answers 401 unless the request carries the metrics token or the admin key; with
    neither configured, every scrape is refused (secure by default). `/readyz` needs no key."""
    router = APIRouter(tags=["health"])
    env = os.environ if env is None else env
    name = syncmap.api.metrics.token_env
    token = env.get(name) or None if name else None
    token_digest = digest(token) if token else None

    def allowed(request: Request) -> bool:
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            return False
        key = key.strip()
        if token_digest is not None and hmac.compare_digest(digest(key), token_digest):
            return True
        caller = keyring.identify(key)
        return caller is not None and caller.admin

    @router.get(
        "/metrics",
        summary="Prometheus metrics",
        response_class=Response,
        responses={200: {"content": {CONTENT_TYPE: {}}}, 401: {"description": "no or wrong token"}},
    )
    async def scrape(request: Request) -> Any:
        """The hub's metrics in Prometheus' text format (docs/observability.md lists them)."""
        if not allowed(request):
            raise unauthorized(f"no valid metrics token: {HOW}")
        body = await asyncio.to_thread(metrics.exposition)
        return Response(body, media_type=CONTENT_TYPE)

    @router.get(
        "/readyz",
        summary="Readiness",
        responses={503: {"description": "not ready; `reasons` says why"}},
    )
    async def readyz() -> Any:
        """200 `{"status": "ready"}` when the store answers with its schema current, the ingest
        worker takes batches and (when the hub delivers) the dispatcher runs; otherwise 503 with
        every reason. No key needed."""
        found: Readiness = await check_ready(
            store, ingestor, dispatcher, max_queue=syncmap.limits.max_ingest_queue
        )
        if found.ready:
            return json_response({"status": "ready", "checks": found.checks})
        return json_response(
            {"status": "not_ready", "checks": found.checks, "reasons": found.reasons}, status=503
        )

    return router
