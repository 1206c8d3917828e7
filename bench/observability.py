"""What observability adds to the hot paths, against the work it rides on, measured in one run.

    python bench/observability.py [--batches 30] [--batch 1000] [--requests 3000]

- **pipeline**: batches of inventory changes (each updating the same positions, so every batch
  does the same work) through `Pipeline.ingest` on SQLite. Around each batch, the code this issue
  added is timed on its own, on that batch's real data: the outcome tally for `/metrics` (the
  store's, per committed transaction), and the batch's log lines at `info` (one JSON line per batch, what `serve` prints by
  default) and at `debug` (a line per change and per queued delivery). Reported per batch and as a
  ratio to the median batch (1.000 = free). A whole-batch A/B on a shared machine drowns a cost
  this small in the store's own variance (WAL checkpoints, fsync), so the parts are timed directly.
- **delivery latency**: the histogram's `observe`, per delivered row, on its own.
- **http**: the request middleware (request id, latency histogram, log context, `X-Request-ID`)
  around a trivial ASGI app, against the same app alone, interleaved: its own cost per request;
  then whole requests through the real app in process (`GET /healthz`, the worst case, and
  `POST /v1/changes` with 100 changes), with the middleware and without, interleaved.
"""

from __future__ import annotations

import argparse
import asyncio
import io
import logging
import statistics
import tempfile
import time
from collections import Counter
from typing import Any

from ingest import SYNCMAP  # the same hub as the ingest bench (one WMS, one shop, a stock route)

ENV = {"BENCH_WMS_KEY": "bench-wms-key-0123456789"}


def bench_pipeline(tmp: str, batches: int, size: int) -> dict[str, float]:
    import logisync.pipeline.ingest as ingest
    from logisync.config import parse_syncmap
    from logisync.domain.change import Change
    from logisync.monitor import logs
    from logisync.pipeline import Pipeline
    from logisync.pipeline.trace import committed
    from logisync.store import open_store

    syncmap = parse_syncmap(SYNCMAP.format(db=f"{tmp}/pipe.db"), env={})
    store = open_store(syncmap.store)
    sink = io.StringIO()
    logs.configure("json", "warning", stream=sink)
    logger = logging.getLogger("logisync")
    pipeline = Pipeline(store, syncmap)
    seen: list[Any] = []  # the last batch's (changes, outcomes, batch), caught from the pipeline

    def catch(system: str, source: Any, changes: Any, outcomes: Any, batch: Any, redact: Any) -> None:
        seen[:] = [system, source, changes, outcomes, batch]

    ingest.trace_committed = catch  # type: ignore[assignment]

    def changes(n: int) -> list[Change]:
        return [
            Change.model_validate(
                {
                    "id": f"c{n}-{i}",
                    "domain": "inventory",
                    "key": f"SKU-{i:05d}@DC1",
                    "version": n,
                    "fields": {"on_hand": (i + n) % 500},
                }
            )
            for i in range(size)
        ]

    pipeline.ingest("wms", changes(0))  # the positions exist before the first timed batch
    batch_s: list[float] = []
    tally_s: list[float] = []
    info_s: list[float] = []
    debug_s: list[float] = []
    for n in range(1, batches + 1):
        work = changes(n)
        logger.setLevel(logging.INFO)  # so the pipeline hands its batch over (caught above)
        started = time.perf_counter()
        pipeline.ingest("wms", work)
        batch_s.append(time.perf_counter() - started)
        system, source, chs, outcomes, batch = seen
        for level, into in ((logging.INFO, info_s), (logging.DEBUG, debug_s)):
            logger.setLevel(level)
            started = time.perf_counter()
            committed(system, source, chs, outcomes, batch, [])
            into.append(time.perf_counter() - started)
            sink.seek(0)
            sink.truncate()
        started = time.perf_counter()
        for _ in range(100):  # what the store adds per transaction: count_outcomes' and the commit's
            counted: Counter[tuple[str, str, str]] = Counter()
            counted.update(dict(batch.counts))
            store._tally(counted)
        tally_s.append((time.perf_counter() - started) / 100)
    store.close()
    med = statistics.median(batch_s)
    return {
        "batch_ms": med * 1000,
        "tally_us": statistics.median(tally_s) * 1e6,
        "info_us": statistics.median(info_s) * 1e6,
        "debug_us": statistics.median(debug_s) * 1e6,
        "tally": 1 + statistics.median(tally_s) / med,
        "info": 1 + statistics.median(info_s) / med,
        "debug": 1 + statistics.median(debug_s) / med,
    }


def bench_latency(rows: int = 200_000) -> float:
    """What the delivery latency histogram adds per delivered row (`LatencyHistogram.observe`), µs."""
    from logisync.delivery.latency import LatencyHistogram

    h = LatencyHistogram()
    values = [(i % 5000) / 100 for i in range(rows)]
    started = time.perf_counter()
    for v in values:
        h.observe(v)
    return (time.perf_counter() - started) / rows * 1e6


def bench_middleware(requests: int) -> dict[str, float]:
    from logisync.monitor.metrics import HubMetrics
    from logisync.monitor.requests import RequestObserver

    class _Syncmap:  # what HubMetrics reads of a sync map
        class api:
            class metrics:
                cache = 5.0

        routes: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

    observed = RequestObserver(app, HubMetrics(_Syncmap(), None))  # type: ignore[arg-type]

    async def send(message: Any) -> None:
        pass

    async def receive() -> Any:
        return {"type": "http.request", "body": b""}

    scope = {"type": "http", "method": "GET", "path": "/healthz", "headers": []}

    async def main() -> dict[str, float]:
        times: dict[str, list[float]] = {"bare": [], "observed": []}
        for r in range(requests):
            for name, target in (
                (("bare", app), ("observed", observed)) if r % 2 else (("observed", observed), ("bare", app))
            ):
                started = time.perf_counter()
                for _ in range(20):
                    await target(dict(scope), receive, send)
                times[name].append((time.perf_counter() - started) / 20)
        bare, obs = statistics.median(times["bare"]), statistics.median(times["observed"])
        return {"middleware_us": (obs - bare) * 1e6}

    return asyncio.run(main())


def bench_http(tmp: str, requests: int) -> dict[str, float]:
    import httpx

    from logisync.api.app import create_app
    from logisync.config import parse_syncmap
    from logisync.monitor import logs
    from logisync.monitor.requests import RequestObserver
    from logisync.store import open_store

    syncmap = parse_syncmap(SYNCMAP.format(db=f"{tmp}/http.db"), env=ENV)
    store = open_store(syncmap.store)
    logs.configure("json", "warning", stream=io.StringIO())
    with_mw = create_app(syncmap, store, env=ENV)
    without = create_app(syncmap, store, env=ENV)
    without.user_middleware = [m for m in without.user_middleware if m.cls is not RequestObserver]
    headers = {"Authorization": f"Bearer {ENV['BENCH_WMS_KEY']}"}

    async def main() -> dict[str, float]:
        clients = {
            name: httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub")
            for name, app in (("observed", with_mw), ("bare", without))
        }
        n = [0]
        out: dict[str, float] = {}
        try:
            for what, count in (("healthz", requests), ("changes", requests // 10)):
                times: dict[str, list[float]] = {"observed": [], "bare": []}
                for r in range(count):
                    for name in ("observed", "bare") if r % 2 else ("bare", "observed"):
                        client = clients[name]
                        body = None
                        if what == "changes":
                            n[0] += 1
                            body = {
                                "changes": [
                                    {
                                        "id": f"h{n[0]}-{i}",
                                        "domain": "inventory",
                                        "key": f"SKU-{i:05d}@DC1",
                                        "version": n[0],
                                        "fields": {"on_hand": i},
                                    }
                                    for i in range(100)
                                ]
                            }
                        started = time.perf_counter()
                        if body is None:
                            resp = await client.get("/healthz")
                        else:
                            resp = await client.post("/v1/changes", json=body, headers=headers)
                        times[name].append(time.perf_counter() - started)
                        assert resp.status_code == 200, resp.text
                out[f"{what}_us"] = statistics.median(times["bare"]) * 1e6
                out[what] = statistics.median(times["observed"]) / statistics.median(times["bare"])
        finally:
            for c in clients.values():
                await c.aclose()
        return out

    result = asyncio.run(main())
    for app in (with_mw, without):  # their ingest workers
        app.state.ingestor.close()
    store.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=30)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=3000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        pipe = bench_pipeline(tmp, args.batches, args.batch)
        mw = bench_middleware(args.requests)
        latency_us = bench_latency()
        http = bench_http(tmp, args.requests)
    print(
        f"pipeline, {args.batches} batches of {args.batch:,} on SQLite: median batch {pipe['batch_ms']:.1f} ms"
    )
    for key, what in (
        ("tally", "outcome tally (/metrics)"),
        ("info", "log at info"),
        ("debug", "log at debug"),
    ):
        print(f"  {what:<28}{pipe[key + '_us']:10.1f} us/batch   batch with it / without {pipe[key]:7.4f}")
    print(f"delivery latency histogram      {latency_us:10.2f} us/delivered row")
    print(f"request middleware alone        {mw['middleware_us']:10.1f} us/request")
    print(f"http in process, with the middleware / without ({args.requests} pairs, interleaved)")
    print(f"  GET /healthz ({http['healthz_us']:.0f} us)         {http['healthz']:7.3f}")
    print(f"  POST /v1/changes x100 ({http['changes_us'] / 1000:.1f} ms) {http['changes']:7.3f}")


if __name__ == "__main__":
    main()
