"""Prometheus metrics for one hub: counters kept where things happen, gauges read from the store.

Everything is registered in a `CollectorRegistry` of the hub's own (never the process-global one),
so several apps in one process, and tests, each see only their own numbers. Three sources:

- **counters the hot paths already keep**, read at scrape time: the outcomes committed through the
  store (one dict update per transaction that counts outcomes, after its commit: every change
  whatever its source, the API, a file, an EDI partner, a reconciliation's correction or a replay,
  counted once) and each route worker's `RouteStats` (its delivery latencies are bucketed as they
  are settled: a bisect per delivered row).
- **gauges read from the store** (route lag and SLA, outbox rows, open exceptions) by
  `StoreGauges`, cached for `api.metrics.cache` seconds so frequent scrapes of a big store cost
  one set of grouped counts per period. If the store does not answer, `logisync_store_up` is 0 and
  the store gauges are left out; the scrape still succeeds.
- **request latencies** from `requests.RequestObserver`, an ASGI middleware labelled by the matched route's
  path *template* (`/v1/records/{domain}/{key}`), never the raw path, so the series stay bounded.

docs/observability.md lists every metric with its labels.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    InfoMetricFamily,
)
from prometheus_client.registry import Collector

from .. import __version__
from ..config.model import SyncMap
from ..delivery.breaker import BreakerState
from ..store.base import Store
from .lag import route_lags

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
BREAKER_VALUES = {BreakerState.closed: 0, BreakerState.half_open: 1, BreakerState.open: 2}
# RouteStats field -> the `result` label of logisync_deliveries_total
DELIVERY_RESULTS = {
    "delivered": "delivered",
    "retried": "retried",
    "dead": "dead",
    "shadowed": "shadowed",
    "coalesced": "coalesced",
}
OUTBOX_STATES = ("pending", "in_flight", "dead")
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class Tallying(Protocol):
    def committed_outcomes(self) -> dict[tuple[str, str, str], int]: ...


class Ingesting(Protocol):
    @property
    def waiting(self) -> int: ...


@dataclass(frozen=True)
class _Snapshot:
    at: float
    up: bool
    lags: list[Any]
    outbox: dict[tuple[str, str], int]
    exceptions: dict[str, int]
    seconds: float


class StoreGauges(Collector):
    """Route lag and SLA, outbox rows and open exceptions, read from the store at most once per
    `cache` seconds (concurrent scrapes wait for one read, not one each)."""

    def __init__(
        self, syncmap: SyncMap, store: Store, cache: float, clock: Callable[[], float] = time.time
    ) -> None:
        self.syncmap = syncmap
        self.store = store
        self.cache = cache
        self.clock = clock
        self._lock = threading.Lock()
        self._snapshot: _Snapshot | None = None

    def snapshot(self) -> _Snapshot:
        with self._lock:
            now = self.clock()
            if self._snapshot is not None and now - self._snapshot.at < self.cache:
                return self._snapshot
            started = time.perf_counter()
            try:
                lags = route_lags(self.syncmap, self.store, int(now * 1_000_000))
                outbox = self.store.count_outbox(states=OUTBOX_STATES)
                exceptions = {
                    kind: n for (kind, state), n in self.store.count_exceptions().items() if state == "open"
                }
                snap = _Snapshot(now, True, lags, outbox, exceptions, time.perf_counter() - started)
            except Exception:  # a closed or busy store: say so, keep the rest of the scrape
                snap = _Snapshot(now, False, [], {}, {}, time.perf_counter() - started)
            self._snapshot = snap
            return snap

    def collect(self) -> Iterator[Any]:
        snap = self.snapshot()
        yield GaugeMetricFamily(
            "logisync_store_up", "1 when the store answered the last read of the gauges, else 0", int(snap.up)
        )
        yield GaugeMetricFamily(
            "logisync_store_read_seconds",
            "how long the last read of the store-backed gauges took",
            snap.seconds,
        )
        if not snap.up:
            return
        lag = GaugeMetricFamily(
            "logisync_route_lag_seconds",
            "age of the route's oldest undelivered change (0 when nothing waits)",
            labels=["route"],
        )
        sla = GaugeMetricFamily(
            "logisync_route_sla_seconds", "the route's SLA (routes with one)", labels=["route"]
        )
        breached = GaugeMetricFamily(
            "logisync_route_sla_breached", "1 while the route's lag is over its SLA", labels=["route"]
        )
        for r in snap.lags:
            lag.add_metric([r.route], r.lag_s)
            if r.sla_s is not None:
                sla.add_metric([r.route], r.sla_s)
                breached.add_metric([r.route], int(r.breached))
        yield from (lag, sla, breached)
        rows = GaugeMetricFamily(
            "logisync_outbox_rows",
            "outbox rows by route and state (pending, in_flight, dead)",
            labels=["route", "state"],
        )
        for route in self.syncmap.routes:
            for state in OUTBOX_STATES:
                rows.add_metric([route.name, state], snap.outbox.get((route.name, state), 0))
        yield rows
        opened = GaugeMetricFamily("logisync_exceptions_open", "open exceptions by kind", labels=["kind"])
        for kind, n in sorted(snap.exceptions.items()):
            opened.add_metric([kind], n)
        yield opened


class HubCounters(Collector):
    """The counters the pipelines and route workers keep, read as they are at scrape time."""

    def __init__(
        self,
        outcomes: Tallying | None,
        workers: Callable[[], Iterable[Any]],
        ingestor: Ingesting | None,
    ) -> None:
        self.outcomes = outcomes
        self.workers = workers
        self.ingestor = ingestor

    def collect(self) -> Iterator[Any]:
        yield InfoMetricFamily("logisync", "the hub's version", value={"version": __version__})
        changes = CounterMetricFamily(
            "logisync_changes",
            "changes committed by this process, by sending system, domain and outcome",
            labels=["system", "domain", "outcome"],
        )
        total = self.outcomes.committed_outcomes() if self.outcomes is not None else {}
        for key, n in sorted(total.items()):
            changes.add_metric(list(key), n)
        yield changes
        if self.ingestor is not None:
            yield GaugeMetricFamily(
                "logisync_ingest_queue_batches",
                "batches waiting for the ingest worker",
                self.ingestor.waiting,
            )
        deliveries = CounterMetricFamily(
            "logisync_deliveries",
            "deliveries by route and result: delivered, retried (a failed attempt, tried again), "
            "dead, shadowed, coalesced (replaced by a newer version of the key)",
            labels=["route", "result"],
        )
        calls = CounterMetricFamily(
            "logisync_delivery_calls", "calls made to the route's target", labels=["route"]
        )
        failed = CounterMetricFamily(
            "logisync_delivery_rounds_failed", "dispatcher rounds that failed as a whole", labels=["route"]
        )
        breaker = GaugeMetricFamily(
            "logisync_breaker_state",
            "the target's circuit breaker: 0 closed, 1 half-open, 2 open",
            labels=["target"],
        )
        latency = HistogramMetricFamily(
            "logisync_delivery_latency_seconds",
            "delivered outbox rows by route, and how long from accepting the oldest change a row "
            "carries to the target acknowledging it",
            labels=["route"],
        )
        seen: set[str] = set()
        for worker in self.workers():
            route, stats = worker.route.name, worker.stats
            latency.add_metric([route], stats.latency.cumulative(), stats.latency.total)
            for field, result in DELIVERY_RESULTS.items():
                deliveries.add_metric([route, result], getattr(stats, field))
            calls.add_metric([route], stats.calls)
            failed.add_metric([route], stats.failed_rounds)
            if worker.route.to not in seen:
                seen.add(worker.route.to)
                breaker.add_metric([worker.route.to], BREAKER_VALUES[worker.breaker.state])
        yield from (deliveries, calls, failed, breaker, latency)


class HubMetrics:
    """One hub's registry: its counters, its store gauges and its request latencies."""

    def __init__(
        self,
        syncmap: SyncMap,
        store: Store,
        *,
        workers: Callable[[], Iterable[Any]] = tuple,
        ingestor: Ingesting | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.store_gauges = StoreGauges(syncmap, store, syncmap.api.metrics.cache, clock)
        self.registry.register(HubCounters(store, workers, ingestor))
        self.registry.register(self.store_gauges)
        self.requests = Histogram(
            "logisync_http_request_duration_seconds",
            "HTTP requests by method, handler (the route's path template) and status, and how long they took",
            ["method", "handler", "status"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._children: dict[tuple[str, str, str], Any] = {}

    def observe(self, method: str, handler: str, status: int, seconds: float) -> None:
        key = (method, handler, str(status))
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = self.requests.labels(*key)
        child.observe(seconds)

    def exposition(self) -> bytes:
        """The registry in Prometheus' text format (reads the store: call it off the event loop)."""
        return generate_latest(self.registry)
