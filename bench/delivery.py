"""Delivery: inventory changes through the pipeline and the dispatchers to a loopback target.

    python bench/delivery.py [--changes 100000] [--skus 1000] [--rate 500] [--seconds 20]

The target is an aiohttp server in its own process that counts calls and notes when each
(key, value) arrived. The hub (pipeline, SQLite store, dispatcher, signed HTTP calls through the
connector) runs in this process, as `logisync serve` runs them. Phases:

- baseline: one bare aiohttp client posting the same small JSON bodies to the same target with
  the same concurrency: the most any dispatcher could reach here;
- without coalescing (`coalesce: false`): the changes are fed as fast as the pipeline takes them
  while the dispatcher drains; every change is one call: deliveries per second;
- with coalescing: the same feed; a burst to one SKU becomes one call: calls made;
- steady: `--rate` changes per second for `--seconds` on a realtime route with coalescing:
  propagation latency (change committed -> target received) p50 and p99.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

SECRET = "whsec_YmVuY2gtZGVsaXZlcnktc2VjcmV0LTAwMDAwMDAwMA=="
CONCURRENCY = 16


# -- the target (its own process) ---------------------------------------------------------------
def run_target(port: int) -> None:
    calls = 0
    arrivals: dict[str, float] = {}

    async def hook(request: web.Request) -> web.Response:
        nonlocal calls
        body = await request.json()
        calls += 1
        if isinstance(body, dict) and "k" in body:
            arrivals.setdefault(f"{body['k']}={body['v']}", time.time())
        return web.Response(status=204)

    async def stats(request: web.Request) -> web.Response:
        return web.json_response({"calls": calls, "arrivals": arrivals if request.query.get("full") else {}})

    async def reset(request: web.Request) -> web.Response:
        nonlocal calls
        calls = 0
        arrivals.clear()
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/hook", hook)
    app.router.add_get("/stats", stats)
    app.router.add_post("/reset", reset)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


class TargetProcess:
    def __init__(self) -> None:
        import socket

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.proc = subprocess.Popen([sys.executable, __file__, "--target", str(self.port)])
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.time() + 15
        while time.time() < deadline:
            try:
                asyncio.run(self.get("/stats"))
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("the target did not start")

    async def get(self, path: str) -> Any:
        async with aiohttp.ClientSession() as s, s.get(self.base + path) as r:
            return await r.json()

    async def post(self, path: str) -> None:
        async with aiohttp.ClientSession() as s, s.post(self.base + path) as r:
            await r.read()

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


# -- phases --------------------------------------------------------------------------------------
async def baseline(target: TargetProcess, n: int) -> dict[str, float]:
    """A bare aiohttp client: n posts with CONCURRENCY in flight."""
    latencies: list[float] = []
    queue = list(range(n))
    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def worker() -> None:
            while queue:
                i = queue.pop()
                t = time.perf_counter()
                async with session.post(target.base + "/hook", json={"sku": f"SKU-{i}", "qty": i}) as r:
                    await r.read()
                latencies.append(time.perf_counter() - t)

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        seconds = time.perf_counter() - start
    latencies.sort()
    return {"rate": n / seconds, "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000}


def syncmap(db: str, port: int, coalesce: bool) -> Any:
    from logisync.config import parse_syncmap

    text = f"""\
store: sqlite:///{db}
systems:
  wms: {{kind: wms}}
  shop:
    kind: marketplace
    url: http://127.0.0.1:{port}/hook
    signing: {{secret_env: BENCH_SECRET}}
    transport: {{allow_private_network: true, concurrency: {CONCURRENCY}, rate: 100000, burst: 1000}}
owners:
  inventory.quantities: wms
routes:
  - name: stock-to-shop
    domain: inventory
    to: shop
    coalesce: {str(coalesce).lower()}
    mapping: {{k: key, v: fields.on_hand}}
"""
    return parse_syncmap(text, env={"BENCH_SECRET": SECRET})


async def feed_and_drain(
    target: TargetProcess, changes: int, skus: int, coalesce: bool, live: bool = True
) -> dict[str, Any]:
    """Feed `changes` as fast as the pipeline takes them while the dispatcher drains (or, not
    `live`, before it starts: a backlog, as after an outage or on a scheduled route); until all sent."""
    from logisync.delivery.dispatcher import Dispatcher
    from logisync.domain.change import Change
    from logisync.pipeline import Pipeline
    from logisync.store import open_store

    await target.post("/reset")
    db = os.path.join(tempfile.mkdtemp(), "hub.db")
    hub = syncmap(db, target.port, coalesce)
    store = open_store(hub.store)
    pipeline = Pipeline(store, hub)
    dispatcher = Dispatcher.for_syncmap(hub, store, {"BENCH_SECRET": SECRET}, poll=0.01)
    rng = random.Random(7)
    keys = [f"SKU-{i:05d}@DC1" for i in range(skus)]

    def feed() -> None:
        for start in range(0, changes, 100):
            batch = [
                Change(id=f"c{i}", domain="inventory", key=rng.choice(keys), fields={"on_hand": i})
                for i in range(start, min(start + 100, changes))
            ]
            pipeline.ingest("wms", batch)
            dispatcher.notify()

    stop = asyncio.Event()
    if not live:
        await asyncio.to_thread(feed)
    began = time.perf_counter()
    running = asyncio.create_task(dispatcher.run(stop))
    if live:
        await asyncio.to_thread(feed)
    fed = time.perf_counter() - began
    while True:
        backlog = store.count_outbox()
        if not any(state in ("pending", "in_flight") for (_, state) in backlog):
            break
        await asyncio.sleep(0.02)
    seconds = time.perf_counter() - began
    stop.set()
    await running
    stats = await target.get("/stats")
    worker = dispatcher.workers[0].stats
    store.close()
    return {
        "changes": changes,
        "calls": stats["calls"],
        "seconds": seconds,
        "fed_seconds": fed,
        "deliveries_per_s": worker.delivered / seconds,
        "calls_per_s": stats["calls"] / seconds,
        "dead": worker.dead,
    }


async def steady(target: TargetProcess, rate: int, seconds: int, skus: int) -> dict[str, Any]:
    """`rate` changes per second in batches of 10, realtime route with coalescing; latency per value."""
    from logisync.delivery.dispatcher import Dispatcher
    from logisync.domain.change import Change
    from logisync.pipeline import Pipeline
    from logisync.store import open_store

    await target.post("/reset")
    db = os.path.join(tempfile.mkdtemp(), "hub.db")
    hub = syncmap(db, target.port, True)
    store = open_store(hub.store)
    pipeline = Pipeline(store, hub)
    dispatcher = Dispatcher.for_syncmap(hub, store, {"BENCH_SECRET": SECRET}, poll=0.05)
    rng = random.Random(11)
    keys = [f"SKU-{i:05d}@DC1" for i in range(skus)]
    committed: dict[str, float] = {}
    lock = threading.Lock()

    def feed() -> None:
        per_batch = 10
        interval = per_batch / rate
        next_at = time.perf_counter()
        for start in range(0, rate * seconds, per_batch):
            batch = []
            for i in range(start, start + per_batch):
                batch.append(
                    Change(id=f"c{i}", domain="inventory", key=rng.choice(keys), fields={"on_hand": i})
                )
            pipeline.ingest("wms", batch)
            now = time.time()
            with lock:
                for c in batch:
                    committed[f"{c.key}={c.fields['on_hand']}"] = now
            dispatcher.notify()
            next_at += interval
            delay = next_at - time.perf_counter()
            if delay > 0:
                time.sleep(delay)

    stop = asyncio.Event()
    running = asyncio.create_task(dispatcher.run(stop))
    await asyncio.to_thread(feed)
    await asyncio.sleep(1.0)
    stop.set()
    await running
    stats = await target.get("/stats?full=1")
    store.close()
    latencies = sorted(
        (arrived - committed[kv]) * 1000 for kv, arrived in stats["arrivals"].items() if kv in committed
    )
    return {
        "changes": rate * seconds,
        "calls": stats["calls"],
        "p50_ms": latencies[len(latencies) // 2],
        "p99_ms": latencies[int(len(latencies) * 0.99)],
        "max_ms": latencies[-1],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=100_000)
    parser.add_argument("--skus", type=int, default=1000)
    parser.add_argument("--rate", type=int, default=500)
    parser.add_argument("--seconds", type=int, default=20)
    parser.add_argument("--target", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.target:
        run_target(args.target)
        return
    target = TargetProcess()
    try:
        base = asyncio.run(baseline(target, 20_000))
        plain = asyncio.run(feed_and_drain(target, args.changes, args.skus, coalesce=False))
        merged = asyncio.run(feed_and_drain(target, args.changes, args.skus, coalesce=True))
        backlog = asyncio.run(feed_and_drain(target, args.changes, args.skus, coalesce=True, live=False))
        calm = asyncio.run(steady(target, args.rate, args.seconds, args.skus))
    finally:
        target.close()
    print(
        f"{args.changes:,} inventory changes over {args.skus:,} SKUs into a loopback target, {CONCURRENCY} in flight"
    )
    print(
        f"baseline: bare aiohttp client          {base['rate']:9,.0f} requests/s   p99 {base['p99_ms']:.1f} ms"
    )
    print(
        f"without coalescing                     {plain['deliveries_per_s']:9,.0f} deliveries/s "
        f"({plain['calls']:,} calls in {plain['seconds']:.1f} s; fed in {plain['fed_seconds']:.1f} s; dead {plain['dead']})"
    )
    print(
        f"  ratio to the bare client             {plain['deliveries_per_s'] / base['rate']:9.2f}   (target >= 1,500 deliveries/s)"
    )
    print(
        f"with coalescing                        {merged['calls']:9,} calls for {merged['changes']:,} changes "
        f"in {merged['seconds']:.1f} s"
    )
    print(f"  calls cut by                         {plain['calls'] / max(1, merged['calls']):9.1f} x")
    print(
        f"with coalescing, from a backlog        {backlog['calls']:9,} calls for {backlog['changes']:,} changes "
        f"in {backlog['seconds']:.1f} s (after an outage, or a scheduled route)"
    )
    print(
        f"  calls cut by                         {plain['calls'] / max(1, backlog['calls']):9.1f} x (target >= 10 x)"
    )
    print(
        f"steady {args.rate}/s for {args.seconds} s, coalescing    p50 {calm['p50_ms']:.1f} ms  p99 {calm['p99_ms']:.1f} ms  "
        f"max {calm['max_ms']:.1f} ms  ({calm['calls']:,} calls for {calm['changes']:,} changes; target p99 < 50 ms)"
    )
    print(f"  p99 against the bare client's p99   {calm['p99_ms'] / base['p99_ms']:9.1f} x")
    print(
        json.dumps({"baseline": base, "without": plain, "with": merged, "backlog": backlog, "steady": calm})
    )


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).parent))
    main()
