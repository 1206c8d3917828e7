"""The Overview page: systems and routes as a diagram, each route's state, throughput and lag charts.

The route figures are those of `GET /v1/routes` (`monitor.lag.route_lags` for the backlog and lag,
the dispatcher's workers for the breaker when this process delivers), plus dead deliveries per
route and open exceptions by kind. The live part refreshes itself with htmx every `REFRESH_S`.

Charts: changes received and deliveries queued per minute over the last hour, counted by binary
search over the log positions (`store.dashboard_reads.arrivals`), and each route's lag as sampled
by this process while someone has the page open (kept in memory for `LAG_HISTORY_S`; not stored).
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ..domain.change import now_us
from ..monitor.lag import RouteLag, route_lags
from ..store import dashboard_reads as reads
from ..store.alerts import AlertBook
from .diagram import diagram
from .session import require
from .templating import render
from .users import Role, User

if TYPE_CHECKING:
    from .app import Deps

REFRESH_S = 10
CHART_BUCKET_S = 60
CHART_BUCKETS = 60
LAG_HISTORY_S = 2 * 3600
LAG_SAMPLE_EVERY_S = 10


@dataclass(frozen=True, slots=True)
class RouteView:
    """One route as the overview shows it."""

    name: str
    domain: str
    to: str
    mode: str
    pending: int
    in_flight: int
    dead: int
    lag_s: float
    sla_s: float | None
    breached: bool
    breaker: str | None  # closed, open, half_open; None when this process does not deliver
    last_error: str | None

    @property
    def health(self) -> str:
        """ok, warn or bad: what the badge and the diagram's edge say."""
        if self.breached or self.breaker == "open":
            return "bad"
        if self.dead or self.breaker == "half_open":
            return "warn"
        return "ok"


class LagHistory:
    """Route lags sampled by this process, newest last, for the lag chart."""

    def __init__(self) -> None:
        self._samples: deque[tuple[int, dict[str, float]]] = deque()
        self._lock = threading.Lock()

    def add(self, at_us: int, lags: list[RouteLag]) -> None:
        with self._lock:
            if self._samples and at_us - self._samples[-1][0] < LAG_SAMPLE_EVERY_S * 1_000_000:
                return
            self._samples.append((at_us, {lag.route: lag.lag_s for lag in lags}))
            while self._samples and self._samples[0][0] < at_us - LAG_HISTORY_S * 1_000_000:
                self._samples.popleft()

    def series(self, routes: list[str]) -> dict[str, Any]:
        with self._lock:
            samples = list(self._samples)
        return {
            "x": [at // 1_000_000 for at, _ in samples],
            "series": [{"label": r, "values": [s.get(r) for _, s in samples]} for r in routes],
            "unit": "lag (s)",
        }


def route_views(deps: Deps, lags: list[RouteLag]) -> list[RouteView]:
    workers = {w.route.name: w for w in (deps.dispatcher.workers if deps.dispatcher is not None else [])}
    dead = reads.dead_by_route(deps.sql, [lag.route for lag in lags])
    routes = {r.name: r for r in deps.syncmap.routes}
    views = []
    for lag in lags:
        worker = workers.get(lag.route)
        route = routes[lag.route]
        views.append(
            RouteView(
                lag.route,
                route.domain,
                route.to,
                lag.mode,
                lag.pending,
                lag.in_flight,
                dead.get(lag.route, 0),
                lag.lag_s,
                lag.sla_s,
                lag.breached,
                worker.breaker.state.value if worker is not None else None,
                worker.stats.last_error if worker is not None else None,
            )
        )
    return views


def live_state(deps: Deps, history: LagHistory) -> dict[str, Any]:
    """Everything the live part of the page shows, read now."""
    now = now_us()
    lags = route_lags(deps.syncmap, deps.store, now)
    history.add(now, lags)
    routes = route_views(deps, lags)
    exceptions = reads.open_exceptions_by_kind(deps.sql)
    return {
        "routes": routes,
        "exceptions": exceptions,
        "open_total": sum(exceptions.values()),
        "pending_total": sum(r.pending + r.in_flight for r in routes),
        "dead_total": sum(r.dead for r in routes),
        "breached": [r.name for r in routes if r.breached],
        "alerts_firing": AlertBook(deps.sql).count(("firing",)),  # by the (state, id) index: few rows
        "diagram": diagram(deps.syncmap, routes),
        "now_us": now,
        "refresh_s": REFRESH_S,
        "delivering": deps.dispatcher is not None,
    }


def throughput(deps: Deps) -> dict[str, Any]:
    """Changes received and deliveries queued per minute over the last hour."""
    now = now_us()
    step = CHART_BUCKET_S * 1_000_000
    end = now - now % step + step
    edges = [end - step * (CHART_BUCKETS - i) for i in range(CHART_BUCKETS + 1)]
    changes = reads.arrivals(deps.sql, "changes", edges)
    queued = reads.arrivals(deps.sql, "outbox", edges)
    return {
        "x": [e // 1_000_000 for e in edges[:-1]],
        "series": [
            {"label": "changes received", "values": changes},
            {"label": "deliveries queued", "values": queued},
        ],
        "unit": "per minute",
    }


def add_routes(router: APIRouter, deps: Deps) -> None:
    history = LagHistory()

    async def charts_context() -> dict[str, Any]:
        flow = await run_in_threadpool(throughput, deps)
        lag = history.series([r.name for r in deps.syncmap.routes])
        return {"flow": flow, "lag": lag}

    @router.get("/")
    async def overview(request: Request, user: User = Depends(require(Role.viewer))) -> Response:
        state = await run_in_threadpool(live_state, deps, history)
        return render(request, "overview.html", nav="overview", **state, **(await charts_context()))

    @router.get("/overview/live")
    async def live(request: Request, user: User = Depends(require(Role.viewer))) -> Response:
        state = await run_in_threadpool(live_state, deps, history)
        return render(request, "overview_live.html", **state)

    @router.get("/overview/charts")
    async def charts(request: Request, user: User = Depends(require(Role.viewer))) -> Response:
        return render(request, "overview_charts.html", **(await charts_context()))
