"""`create_app(syncmap, store)`: the API assembled explicitly from its routers; nothing happens at import."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from .. import __version__
from ..config.model import SyncMap
from ..connectors.webhooks import Receiver
from ..delivery.dispatcher import Dispatcher
from ..files.service import FileService
from ..monitor import logs
from ..monitor.alerts import alert_evaluator
from ..monitor.metrics import HubMetrics
from ..monitor.requests import RequestObserver
from ..pipeline import Pipeline
from ..reconcile.schedule import run_schedule
from ..store.base import Store
from ..web.app import dashboard_router
from ..web.app import install as install_dashboard
from . import problems
from .alerts import alerts_router
from .auth import Keyring
from .changes import changes_router
from .exceptions import exceptions_router
from .ingestor import Ingestor
from .kpi import kpi_router
from .observability import observability_router
from .reconcile import reconcile_router
from .records import records_router
from .responses import json_response
from .routes_state import routes_router
from .schemas import ChangeBatch, Health
from .webhooks import webhooks_router

DESCRIPTION = """\
The logisync hub's HTTP API. Systems send batches of changes (`POST /v1/changes`) or their own
signed webhooks (`POST /v1/webhooks/{system}`), and read golden records with per-field
provenance, their history, and their state at a past time. With the admin
key, operators read each route's state (`/v1/routes`) and work the exceptions inbox
(`/v1/exceptions`: list, group by root cause, retry, edit and replay, discard, assign).

Each system authenticates with its own API key (`Authorization: Bearer KEY` or `X-API-Key: KEY`)
and may write only the domains its scopes allow. A 200 is sent only after the batch is committed.
Every error has the same body: `{"error": {"code", "message", "errors": [{"path", "message"}]}}`.
"""


def create_app(
    syncmap: SyncMap, store: Store, *, env: Mapping[str, str] | None = None, deliver: bool = False
) -> FastAPI:
    """The API over `store`, with the systems, keys, scopes and limits of `syncmap`.

    API keys are read now from the environment (or `env`) and kept only as digests; so are the
    systems' webhook signing secrets (kept as HMAC keys, never logged). The caller
    owns the store: it stays open when the app shuts down; the ingest worker is stopped then.
    With `deliver`, the app also runs the dispatchers (`logisync serve` does), nudged after each
    commit, and stops them on shutdown.
    """
    logs.protect(logs.secrets_of(syncmap, os.environ if env is None else env), syncmap.logging.redact)
    keyring = Keyring.from_syncmap(syncmap, env)
    receivers = {
        name: Receiver.from_settings(name, system.webhooks, env)
        for name, system in syncmap.systems.items()
        if system.webhooks is not None
    }
    pipeline = Pipeline(store, syncmap)
    dispatcher = Dispatcher.for_syncmap(syncmap, store, env) if deliver else None
    ingestor = Ingestor(pipeline, on_commit=dispatcher.notify if dispatcher is not None else None)
    files = FileService.for_syncmap(syncmap, store, env) if deliver else None  # folders and SFTP
    replays = Pipeline(store, syncmap)  # the exceptions inbox's replays
    metrics = HubMetrics(  # changes are counted by the store, whichever pipeline committed them
        syncmap,
        store,
        workers=lambda: dispatcher.workers if dispatcher is not None else (),
        ingestor=ingestor,
    )
    alerting = alert_evaluator(syncmap, store, env, dispatcher) if deliver else None  # the `alerts` rules

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        stop = asyncio.Event()
        running = asyncio.create_task(dispatcher.run(stop)) if dispatcher is not None else None
        # scheduled reconciliations (the sync map's `reconcile` entries with a `schedule`)
        reconciling = (
            asyncio.create_task(run_schedule(store, syncmap, stop, env=env, on_done=dispatcher.notify))
            if dispatcher is not None
            else None
        )
        filing = asyncio.create_task(files.run(stop)) if files is not None and files.active else None
        alerts = asyncio.create_task(alerting.run(stop)) if alerting is not None else None
        try:
            yield
        finally:
            await asyncio.to_thread(ingestor.close)  # it waits for the last commit: not on the loop
            if filing is not None:
                stop.set()
                await filing
            if running is not None:
                stop.set()
                await running
            if reconciling is not None:
                stop.set()
                await reconciling
            if alerts is not None:
                stop.set()
                await alerts

    app = FastAPI(
        title="logisync",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        redoc_url=None,
    )
    app.state.ingestor = ingestor  # its queue depth, for operators and tests
    app.state.metrics = metrics
    app.state.dispatcher = dispatcher
    problems.install(app)
    app.add_middleware(RequestObserver, metrics=metrics)
    app.include_router(changes_router(keyring, ingestor, syncmap.limits))
    app.include_router(webhooks_router(receivers, ingestor, syncmap.limits, store))
    app.include_router(records_router(store, keyring, pipeline.scopes))
    app.include_router(routes_router(syncmap, store, keyring, dispatcher))
    app.include_router(exceptions_router(syncmap, store, keyring, dispatcher, replays))
    app.include_router(kpi_router(syncmap, store, keyring))
    app.include_router(reconcile_router(store, keyring))
    app.include_router(alerts_router(syncmap, store, keyring))
    install_dashboard(app, dashboard_router(syncmap, store, dispatcher=dispatcher))  # /ui, and / -> /ui/
    app.include_router(observability_router(syncmap, store, keyring, metrics, ingestor, dispatcher, env))

    @app.get("/healthz", tags=["health"], response_model=Health, summary="Liveness")
    async def healthz() -> Any:
        """`{"status": "ok"}` while the server runs; no key needed."""
        return json_response({"status": "ok"})

    app.openapi = _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> Any:
    """FastAPI's schema plus the change batch, which the route reads itself (for speed)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title, version=app.version, description=app.description, routes=app.routes
            )
            batch = ChangeBatch.model_json_schema(ref_template="#/components/schemas/{model}")
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components.update(batch.pop("$defs", {}))
            components["ChangeBatch"] = batch
            app.openapi_schema = schema
        return app.openapi_schema

    return openapi
