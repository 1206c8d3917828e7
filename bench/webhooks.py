"""Signed webhooks in: `POST /v1/webhooks/{system}` against `POST /v1/changes` with the same changes.

    python bench/webhooks.py [--changes 4000] [--rounds 2]

One `logisync serve` on loopback (SQLite, as it ships) takes the same inventory changes two ways,
one change per request, from one aiohttp client with 8 connections:

- baseline: `POST /v1/changes` with the system's API key, a batch of one change;
- webhooks: the system's own payload (`{"sku", "site", "on_hand", "seq"}`) signed with Standard
  Webhooks, verified on the raw body, mapped by a declarative mapping, then the same ingest.

The two phases alternate (`--rounds` times each, on fresh keys every time so nothing is a
duplicate) and the figure is webhooks/s over changes/s in the same run. Bodies and signatures
are built before the clock starts, so the client's HMAC is not counted; the hub's is.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from pathlib import Path

import orjson

from http_load import start_server
from logisync.delivery.signing import new_secret, signature_headers

KEY = "bench-wms-key-0123456789abcdef"
CONCURRENCY = 8

SYNCMAP = """\
store: sqlite:///{db}
systems:
  wms:
    kind: wms
    auth: {{api_key_env: BENCH_WMS_KEY}}
    webhooks:
      signing: {{scheme: standard-webhooks, secret_env: BENCH_WMS_WEBHOOK_SECRET}}
      mapping:
        domain: inventory
        key: "{{sku}}@{{site}}"
        fields: {{on_hand: "$.on_hand | int"}}
        version: "$.seq"
  shop: {{kind: marketplace}}
owners:
  inventory.quantities: wms
routes:
  - {{name: stock-to-shop, domain: inventory, to: shop}}
"""

Request = tuple[str, bytes, dict[str, str]]


def requests(kind: str, round_: int, n: int, secret: str) -> list[Request]:
    """n one-change requests of `kind` on keys of their own (`SKU-i@R{round}{kind}`)."""
    site = f"R{round_}{kind[0].upper()}"
    out: list[Request] = []
    now = int(time.time())
    for i in range(n):
        sku, on_hand = f"SKU-{i:06d}", i % 500
        if kind == "changes":
            change = {"id": f"c-{site}-{i}", "domain": "inventory", "key": f"{sku}@{site}"}
            body = orjson.dumps({"changes": [{**change, "fields": {"on_hand": on_hand}, "version": 1}]})
            headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
            out.append(("/v1/changes", body, headers))
        else:
            body = orjson.dumps({"sku": sku, "site": site, "on_hand": on_hand, "seq": 1})
            headers = {
                **signature_headers([secret], f"w-{site}-{i}", now, body),
                "Content-Type": "application/json",
            }
            out.append(("/v1/webhooks/wms", body, headers))
    return out


async def send_all(port: int, todo: list[Request]) -> float:
    """Send every request with CONCURRENCY connections; the seconds it took."""
    import aiohttp

    queue: asyncio.Queue[Request] = asyncio.Queue()
    for item in todo:
        queue.put_nowait(item)
    applied = 0

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal applied
        while not queue.empty():
            path, body, headers = queue.get_nowait()
            async with session.post(f"http://127.0.0.1:{port}{path}", data=body, headers=headers) as resp:
                payload = await resp.read()
                if resp.status != 200:
                    raise RuntimeError(f"{path}: HTTP {resp.status}: {payload[:300]!r}")
                applied += orjson.loads(payload)["counts"]["applied"]

    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as session:
        start = time.perf_counter()
        await asyncio.gather(*(worker(session) for _ in range(CONCURRENCY)))
        seconds = time.perf_counter() - start
    if applied != len(todo):
        raise RuntimeError(f"only {applied} of {len(todo)} changes were applied")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=4000, help="changes per phase and round")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    secret = new_secret()
    totals = {"changes": 0.0, "webhooks": 0.0}
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "bench.yaml"
        config.write_text(SYNCMAP.format(db=Path(tmp) / "hub.db"))
        env = {**os.environ, "BENCH_WMS_KEY": KEY, "BENCH_WMS_WEBHOOK_SECRET": secret}
        proc, port = start_server(config, env)
        try:
            asyncio.run(send_all(port, requests("changes", 0, 200, secret)))  # warm-up, both paths
            asyncio.run(send_all(port, requests("webhooks", 0, 200, secret)))
            for round_ in range(1, args.rounds + 1):
                for kind in ("changes", "webhooks"):
                    todo = requests(kind, round_, args.changes, secret)
                    totals[kind] += asyncio.run(send_all(port, todo))
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    n = args.changes * args.rounds
    changes_rate, webhook_rate = n / totals["changes"], n / totals["webhooks"]
    print(f"one change per request, {CONCURRENCY} connections, {n:,} changes per path, SQLite")
    print(f"  POST /v1/changes (API key)            {changes_rate:>9,.0f} changes/s")
    print(f"  POST /v1/webhooks/wms (signed, mapped) {webhook_rate:>8,.0f} webhooks/s")
    print(f"  webhooks / changes                    {webhook_rate / changes_rate:>9.2f}")


if __name__ == "__main__":
    main()
