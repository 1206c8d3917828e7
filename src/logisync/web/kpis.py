"""The KPIs page: the logistics KPIs of `kpi/` over a chosen window, as charts over time and a table.

The window is one of `WINDOWS` (the last 24 hours, 7, 30 or 90 days), each cut into buckets for the
charts. The store is read once per computation (`store.kpi_reads`, one read transaction) and every
bucket, and the whole window, computed by the same `KpiEngine` `GET /v1/kpis` uses, so the page
and the API agree figure for figure. The table can be grouped by channel, location or partner
(the charts show the whole hub).

Computing a window reads every order, count and delivery in it: with a large store that takes
seconds (docs/benchmarks.md), too long for a page. So the figures are computed off the request, one
window at a time, and kept (`KpiCache`): a page shows the newest figures of its window, with the
time they were computed, and asks for new ones once they are older than `FRESH_S`. The first
request for a window waits up to `WAIT_S` for them, then shows that they are being computed and
reloads itself.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from itertools import pairwise
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ..domain.change import now_us
from ..kpi.definitions import BY_NAME, DIMENSIONS, KPIS
from ..kpi.engine import HOUR_US, KpiEngine, KpiValue
from ..store.kpi_reads import read_kpi_tables
from .session import WebProblem, require
from .templating import render
from .users import Role, User

if TYPE_CHECKING:
    from .app import Deps


@dataclass(frozen=True, slots=True)
class WindowChoice:
    key: str
    label: str
    seconds: int
    bucket_s: int
    bucket_label: str


WINDOWS = {
    w.key: w
    for w in (
        WindowChoice("24h", "last 24 hours", 86_400, 3_600, "per hour"),
        WindowChoice("7d", "last 7 days", 7 * 86_400, 6 * 3_600, "per 6 hours"),
        WindowChoice("30d", "last 30 days", 30 * 86_400, 86_400, "per day"),
        WindowChoice("90d", "last 90 days", 90 * 86_400, 7 * 86_400, "per week"),
    )
}
DEFAULT_WINDOW = "7d"
FRESH_S = 60.0  # figures older than this are computed again (and shown meanwhile)
WAIT_S = 2.0  # how long the first request for a window waits for its figures

# The charts: a title, the unit on the axis, and which KPIs (ratios shown as %).
CHARTS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    (
        "Orders shipped: accuracy, fill rate, OTIF",
        "%",
        ("order_accuracy", "fill_rate_units", "fill_rate_lines", "otif"),
    ),
    ("Order to ship", "hours", ("order_to_ship_avg", "order_to_ship_p90")),
    (
        "Inventory and reconciliation variance",
        "%",
        ("inventory_variance_positions", "inventory_variance_units", "reconciliation_variance_units"),
    ),
    ("EDI acknowledgments on time", "%", ("edi_acks_on_time",)),
)


@dataclass(slots=True)
class Row:
    """One figure of the table."""

    kpi: str
    group: str
    value: str
    detail: str  # numerator / denominator, or what it was taken over
    count: int
    definition: str


def _align(now: int, bucket_us: int) -> int:
    """The end of the current bucket, so buckets fall on whole hours and days (UTC)."""
    return now - now % bucket_us + bucket_us


def display(v: KpiValue) -> str:
    """A figure as people read it: ratios in %, hours and seconds with their unit."""
    if v.value is None:
        return "—"
    if v.unit == "ratio":
        return f"{v.value * 100:.1f} %"
    if v.unit == "hours":
        return f"{v.value:.1f} h"
    if v.unit == "seconds":
        return f"{v.value:.2f} s"
    return f"{v.value:,.0f}"


def _number(x: float | None) -> str:
    if x is None:
        return "—"
    return f"{x:,.0f}" if float(x).is_integer() else f"{x:,.2f}"


def detail(v: KpiValue) -> str:
    if v.numerator is not None and v.denominator:
        return f"{_number(v.numerator)} / {_number(v.denominator)}"
    return ""


def definition(kpi: str) -> str:
    base = kpi.split(".", 1)[0]
    found = BY_NAME.get(base)
    return found.definition.replace("`", "") if found else ""


def _chart_value(v: KpiValue | None) -> float | None:
    if v is None or v.value is None:
        return None
    return round(v.value * 100, 3) if v.unit == "ratio" else round(v.value, 3)


def page_data(deps: Deps, window_key: str, by: str | None, *, now: int | None = None) -> dict[str, Any]:
    """Everything the page shows for a window: the table (grouped by `by`) and the charts."""
    choice = WINDOWS[window_key]
    bucket_us = choice.bucket_s * 1_000_000
    until = _align(now_us() if now is None else now, bucket_us)
    since = until - choice.seconds * 1_000_000
    tables = read_kpi_tables(deps.sql, since, until)
    targets = {r.name: r.to for r in deps.syncmap.routes}
    edges = list(range(since, until + 1, bucket_us))
    with KpiEngine(tables, route_targets=targets, otif_within_us=48 * HOUR_US) as engine:
        totals = engine.compute(since, until, by)
        buckets = [engine.compute(start, end) for start, end in pairwise(edges)]
    x = [start // 1_000_000 for start in edges[:-1]]
    charts = []
    for n, (title, unit, names) in enumerate(CHARTS):
        series = []
        for name in names:
            values = [_chart_value(_find(b, name, "all")) for b in buckets]
            if any(v is not None for v in values):
                series.append({"label": name.replace("_", " "), "values": values})
        charts.append(_chart(f"kpi-chart-{n}", title, unit, x, series))
    routes = sorted({v.group for b in buckets for v in b if v.kpi == "sync_lag_p99"})
    charts.append(
        _chart(
            "kpi-chart-lag",
            "Sync lag p99 per route",
            "seconds",
            x,
            [
                {"label": r, "values": [_chart_value(_find(b, "sync_lag_p99", r)) for b in buckets]}
                for r in routes
            ],
        )
    )
    kinds = sorted({v.kpi.split(".", 1)[1] for b in buckets for v in b if v.kpi.startswith("exceptions.")})
    charts.append(
        _chart(
            "kpi-chart-exceptions",
            "Exceptions opened, by kind",
            "count",
            x,
            [
                {
                    "label": k.replace("_", " "),
                    "values": [sum(v.value or 0 for v in b if v.kpi == f"exceptions.{k}") for b in buckets],
                }
                for k in kinds
            ],
        )
    )
    rows = [Row(v.kpi, v.group, display(v), detail(v), v.count, definition(v.kpi)) for v in totals]
    order = {k.name: i for i, k in enumerate(KPIS)}
    rows.sort(key=lambda r: (order.get(r.kpi.split(".", 1)[0], 99), r.kpi, r.group))
    return {"since_us": since, "until_us": until, "rows": rows, "charts": charts}


def _find(values: list[KpiValue], kpi: str, group: str) -> KpiValue | None:
    return next((v for v in values if v.kpi == kpi and v.group == group), None)


def _chart(ident: str, title: str, unit: str, x: list[int], series: list[dict[str, Any]]) -> dict[str, Any]:
    """A chart as `dashboard.js` draws it, and a short text for those who cannot see it."""
    latest = [
        f"{s['label']} {next((v for v in reversed(s['values']) if v is not None), '—')}" for s in series
    ]
    return {
        "id": ident,
        "title": title,
        "data": {"x": x, "series": series, "unit": unit},
        "empty": not series,
        "summary": f"{title} ({unit}), latest: " + ("; ".join(latest) if latest else "no data"),
    }


class KpiCache:
    """The newest figures of each (window, grouping), computed in one background thread at a time.

    `get` returns what is there (None the first time) and starts a computation when there is
    none yet or it is older than `fresh_s`; a computation that fails is kept as its error."""

    def __init__(
        self, compute: Callable[[str, str | None], dict[str, Any]], fresh_s: float = FRESH_S
    ) -> None:
        self.compute = compute
        self.fresh_s = fresh_s
        self.entries: dict[tuple[str, str | None], tuple[float, dict[str, Any]]] = {}
        self.pending: dict[tuple[str, str | None], threading.Event] = {}
        self.lock = threading.Lock()
        self.one_at_a_time = threading.Lock()  # DuckDB and the reads use both cores already

    def get(self, window: str, by: str | None, wait_s: float = 0.0) -> dict[str, Any] | None:
        key = (window, by)
        with self.lock:
            entry = self.entries.get(key)
            stale = entry is None or time.monotonic() - entry[0] > self.fresh_s
            done = self.pending.get(key)
            if stale and done is None:
                done = self.pending[key] = threading.Event()
                threading.Thread(
                    target=self._run, args=(key, done), name=f"kpis-{window}", daemon=True
                ).start()
        if entry is None and done is not None and wait_s > 0:
            done.wait(wait_s)
            with self.lock:
                entry = self.entries.get(key)
        return entry[1] if entry is not None else None

    def _run(self, key: tuple[str, str | None], done: threading.Event) -> None:
        try:
            with self.one_at_a_time:
                started = time.monotonic()
                try:
                    data = self.compute(*key)
                except Exception as exc:  # kept and shown: the page says what failed
                    data = {"error": f"{type(exc).__name__}: {exc}"}
                data["computed_us"] = now_us()
                data["took_s"] = time.monotonic() - started
            with self.lock:
                self.entries[key] = (time.monotonic(), data)
        finally:
            with self.lock:
                self.pending.pop(key, None)
            done.set()


def add_routes(router: APIRouter, deps: Deps) -> None:
    cache = KpiCache(lambda window, by: page_data(deps, window, by))

    @router.get("/kpis")
    async def kpis(
        request: Request,
        window: str = DEFAULT_WINDOW,
        by: str = "",
        user: User = Depends(require(Role.viewer)),
    ) -> Response:
        if window not in WINDOWS:
            raise WebProblem(422, f"window {window!r}: choose one of {', '.join(WINDOWS)}")
        if by and by not in DIMENSIONS:
            raise WebProblem(422, f"group by {by!r}: choose one of {', '.join(DIMENSIONS)}, or nothing")
        data = await run_in_threadpool(cache.get, window, by or None, WAIT_S)
        return render(
            request,
            "kpis.html",
            nav="kpis",
            windows=WINDOWS.values(),
            dimensions=DIMENSIONS,
            choice=WINDOWS[window],
            by=by or None,
            data=data,
        )
