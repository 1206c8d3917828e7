"""How long `logisync demo` takes to be up, from the command to a working hub.

    python bench/demo_startup.py [--runs 5]

Each run starts `python -m logisync demo --port 0` in a fresh interpreter with a fresh store and
times, from the spawn: the banner (the hub listens), `GET /healthz` answering 200, and the first
inventory record readable over the API (the simulated WMS's opening stock went through the
webhook endpoint and the pipeline). Then SIGINT, and the time to exit. The same-run baseline is
`python -m logisync --help` (the interpreter and the CLI's imports), so the figures read as
"the demo's own cost over starting the command at all". Printed: median and max of each.
"""

from __future__ import annotations

import argparse
import os
import re
import selectors
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

API = re.compile(rb"^\s+API\s+(?P<url>http://\S+)", re.M)
KEY = re.compile(rb"^\s+admin key\s+(?P<key>\S+)", re.M)


def one_run(folder: Path) -> dict[str, float]:
    start = time.perf_counter()
    store = f"sqlite:///{folder / 'demo.db'}"
    proc = subprocess.Popen(
        [sys.executable, "-m", "logisync", "demo", "--port", "0", "--store", store],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=folder,
    )
    assert proc.stdout is not None
    out = b""
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        while not (API.search(out) and KEY.search(out)):
            selector.select(30)
            chunk = os.read(proc.stdout.fileno(), 4096)
            if not chunk:
                raise RuntimeError("the demo ended before its banner")
            out += chunk
    banner = time.perf_counter() - start
    url, key = API.search(out)["url"].decode(), KEY.search(out)["key"].decode()  # type: ignore[index]
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=5) as client:
        while client.get("/healthz").status_code != 200:
            time.sleep(0.01)
        healthy = time.perf_counter() - start
        while client.get("/v1/records/inventory/SKU-001@DC1").status_code != 200:
            time.sleep(0.01)
        first_record = time.perf_counter() - start
    stop = time.perf_counter()
    proc.send_signal(signal.SIGINT)
    code = proc.wait(timeout=60)
    if code != 0:
        raise RuntimeError(f"the demo exited {code} on SIGINT")
    return {
        "banner": banner,
        "healthz": healthy,
        "first_record": first_record,
        "shutdown": time.perf_counter() - stop,
    }


def baseline() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "logisync", "--help"], check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    runs, bases = [], []
    for _ in range(args.runs):
        bases.append(baseline())
        with tempfile.TemporaryDirectory() as folder:
            runs.append(one_run(Path(folder)))
    base = statistics.median(bases)
    print(f"baseline `logisync --help`: median {base:.2f} s over {args.runs} runs")
    print(f"{'from spawn to':<16} {'median s':>9} {'max s':>7} {'x baseline':>11}")
    for name in ("banner", "healthz", "first_record", "shutdown"):
        values = [r[name] for r in runs]
        median = statistics.median(values)
        print(f"{name:<16} {median:>9.2f} {max(values):>7.2f} {median / base:>11.1f}")


if __name__ == "__main__":
    main()
