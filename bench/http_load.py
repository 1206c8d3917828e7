"""The HTTP phase of the ingest benchmark: `logisync serve` on loopback, batches of 100 posted."""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

from ingest import SYNCMAP, batches, stream

KEY = "bench-wms-key-0123456789abcdef"
CONCURRENCY = 8  # requests in flight: a sender with a few connections, as WMS middleware does


def start_server(config: Path, env: dict[str, str]) -> tuple[subprocess.Popen[str], int]:
    """Start `logisync serve --port 0` and read the port from its listening line."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "logisync", "serve", "--config", str(config), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        match = re.search(r"listening on http://[^:]+:(\d+)", line)
        if match:
            return proc, int(match.group(1))
    proc.kill()
    raise RuntimeError("logisync serve did not start")


def peak_rss_of(pid: int) -> float:
    """Another process's peak resident memory in MiB (VmHWM)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def _post_all(port: int, bodies: list[bytes]) -> int:
    import aiohttp

    url = f"http://127.0.0.1:{port}/v1/changes"
    headers = {"Authorization": f"Bearer {KEY}", "Content-Type": "application/json"}
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    applied = 0

    async def worker(session: aiohttp.ClientSession) -> None:
        nonlocal applied
        while not queue.empty():
            body = queue.get_nowait()
            async with session.post(url, data=body, headers=headers) as resp:
                payload = await resp.read()
                if resp.status != 200:
                    raise RuntimeError(f"HTTP {resp.status}: {payload[:200]!r}")
                applied += orjson.loads(payload)["counts"].get("applied", 0)

    connector = aiohttp.TCPConnector(limit=CONCURRENCY)
    async with aiohttp.ClientSession(connector=connector) as session:
        await asyncio.gather(*(worker(session) for _ in range(CONCURRENCY)))
    return applied


def post_changes(args: argparse.Namespace, db: str) -> dict:
    """Post `args.changes` inventory changes in batches of 100; return the rate and memory."""
    with tempfile.TemporaryDirectory() as tmp:
        config = Path(tmp) / "bench.yaml"
        config.write_text(SYNCMAP.format(db=db))
        env = {**os.environ, "BENCH_WMS_KEY": KEY}
        bodies = [
            orjson.dumps(
                {
                    "changes": [
                        {"id": cid, "domain": "inventory", "key": key, "version": v, "fields": {"on_hand": q}}
                        for cid, key, v, q in batch
                    ]
                }
            )
            for batch in batches(stream(args.changes, args.keys), 100)
        ]
        proc, port = start_server(config, env)
        try:
            start = time.perf_counter()
            applied = asyncio.run(_post_all(port, bodies))
            seconds = time.perf_counter() - start
            peak = peak_rss_of(proc.pid)
        finally:
            proc.terminate()
            proc.wait(timeout=30)
    if applied != args.changes:
        raise RuntimeError(f"only {applied} of {args.changes} changes were applied")
    return {"seconds": seconds, "rate": args.changes / seconds, "peak_mb": peak}
