"""HTTP client choice for outbound deliveries: one aiohttp client against one httpx client.

    python bench/http_client.py [--requests 5000] [--concurrency 1 8]

A FastAPI endpoint (uvicorn, uvloop, httptools: the hub's own server stack) runs in its own
process on loopback and answers each POST with 204. Each client then runs in a fresh interpreter:
one `aiohttp.ClientSession` and one `httpx.AsyncClient`, each over keep-alive connections, post
`--requests` signed-size JSON bodies (after a warm-up) with 1 and with 8 requests in flight, and
time every request. Printed: requests/s, p50 and p99 latency, and aiohttp / httpx.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import emit, run_phase

WARMUP = 300
BODY = (
    b'{"type":"inventory.updated","key":"SKU-0000042@DC1","revision":17,'
    b'"data":{"sku":"SKU-0000042","location":"DC1","on_hand":120,"allocated":7,"available":113}}'
)
HEADERS = {
    "content-type": "application/json",
    "webhook-id": "stock-to-shop-123456",
    "webhook-timestamp": "1800000000",
    "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    "idempotency-key": "stock-to-shop-123456",
}

SERVER = """
import socket, sys
import uvicorn
from fastapi import FastAPI, Request, Response

app = FastAPI()

@app.post("/hook")
async def hook(request: Request) -> Response:
    await request.body()
    return Response(status_code=204)

sock = socket.socket(fileno=int(sys.argv[1]))
uvicorn.Server(uvicorn.Config(app, loop="uvloop", http="httptools", log_level="warning",
                              access_log=False)).run(sockets=[sock])
"""


def start_server() -> tuple[subprocess.Popen[bytes], int]:
    """The endpoint in its own process, on a loopback socket bound here (port 0: a free one)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(1024)
    sock.set_inheritable(True)
    port = sock.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-c", SERVER, str(sock.fileno())], pass_fds=[sock.fileno()])
    sock.close()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return proc, port
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError("the endpoint did not start")


async def _drive(send, requests: int, concurrency: int) -> dict:
    """Run `requests` sends with `concurrency` in flight; per-request latencies in seconds."""
    latencies: list[float] = []
    remaining = requests

    async def worker() -> None:
        nonlocal remaining
        while remaining > 0:
            remaining -= 1
            start = time.perf_counter()
            status = await send()
            latencies.append(time.perf_counter() - start)
            if status != 204:
                raise RuntimeError(f"HTTP {status}")

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    seconds = time.perf_counter() - start
    latencies.sort()
    return {
        "rate": requests / seconds,
        "p50_ms": latencies[len(latencies) // 2] * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99)] * 1000,
    }


async def _aiohttp(url: str, requests: int, concurrency: int) -> dict:
    import aiohttp

    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def send() -> int:
            async with session.post(url, data=BODY, headers=HEADERS, allow_redirects=False) as resp:
                await resp.read()
                return resp.status

        await _drive(send, WARMUP, concurrency)
        return await _drive(send, requests, concurrency)


async def _httpx(url: str, requests: int, concurrency: int) -> dict:
    import httpx

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(limits=limits, follow_redirects=False) as client:

        async def send() -> int:
            resp = await client.post(url, content=BODY, headers=HEADERS)
            return resp.status_code

        await _drive(send, WARMUP, concurrency)
        return await _drive(send, requests, concurrency)


CLIENTS = {"aiohttp": _aiohttp, "httpx": _httpx}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--phase", choices=sorted(CLIENTS), help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        url = f"http://127.0.0.1:{args.port}/hook"
        run = CLIENTS[args.phase](url, args.requests, args.concurrency[0])
        try:
            import uvloop  # the loop the hub runs on (uvicorn's)
        except ImportError:
            emit(asyncio.run(run))
        else:
            emit(uvloop.run(run))
        return

    proc, port = start_server()
    try:
        print(f"{args.requests} POSTs per run, keep-alive, loopback FastAPI endpoint (uvicorn)")
        print(f"{'client':<9} {'in flight':>9} {'requests/s':>11} {'p50 ms':>7} {'p99 ms':>7}")
        for concurrency in args.concurrency:
            results = {}
            for name in CLIENTS:
                extra = [
                    "--port",
                    str(port),
                    "--requests",
                    str(args.requests),
                    "--concurrency",
                    str(concurrency),
                ]
                results[name] = r = run_phase(Path(__file__), name, extra)
                print(
                    f"{name:<9} {concurrency:>9} {r['rate']:>11,.0f} {r['p50_ms']:>7.2f} {r['p99_ms']:>7.2f}"
                )
            ratio = results["aiohttp"]["rate"] / results["httpx"]["rate"]
            print(f"aiohttp / httpx, {concurrency} in flight: {ratio:.2f}x the requests/s")
    finally:
        proc.terminate()
        proc.wait(timeout=30)


if __name__ == "__main__":
    main()
