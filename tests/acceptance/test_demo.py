"""`logisync demo` as a user runs it: start it, wait for its addresses, read records and exceptions
over the API while the simulated traffic flows, stop it with SIGINT, and check that it shut down
cleanly and left a consistent store."""

from __future__ import annotations

import os
import re
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from logisync.sim import invariants
from logisync.store import open_store

API = re.compile(r"^\s+API\s+(?P<url>http://\S+)")
KEY = re.compile(r"^\s+admin key\s+(?P<key>\S+)")


def read_banner(proc: subprocess.Popen[bytes], timeout: float = 60) -> tuple[str, str]:
    """The API's address and the admin key from the demo's first lines."""
    assert proc.stdout is not None
    url = key = None
    buffer = b""
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as selector:
        selector.register(proc.stdout, selectors.EVENT_READ)
        while url is None or key is None:
            remaining = deadline - time.monotonic()
            assert remaining > 0 and selector.select(remaining), "the demo did not say where it listens"
            chunk = os.read(proc.stdout.fileno(), 4096)
            assert chunk, f"the demo ended early (exit {proc.wait()})"
            buffer += chunk
            for line in buffer.decode().splitlines():
                if m := API.match(line):
                    url = m["url"]
                if m := KEY.match(line):
                    key = m["key"]
    return url, key


def test_the_demo_runs_serves_its_api_and_stops_cleanly_on_sigint(tmp_path: Path):
    store = f"sqlite:///{tmp_path / 'demo.db'}"
    with (tmp_path / "stderr.log").open("wb") as stderr:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "logisync",
                "demo",
                "--port",
                "0",
                "--store",
                store,
                "--compression",
                "600",
            ],
            stdout=subprocess.PIPE,
            stderr=stderr,
            cwd=tmp_path,
        )
    try:
        url, key = read_banner(proc)
        auth = {"Authorization": f"Bearer {key}"}
        with httpx.Client(base_url=url, headers=auth, timeout=10) as client:
            assert client.get("/healthz").json() == {"status": "ok"}
            deadline = time.monotonic() + 60
            shipped = None
            while time.monotonic() < deadline:  # the traffic flows: stock, then orders shipped
                stock = client.get("/v1/records/inventory/SKU-001@DC1")
                routes = {r["route"]: r for r in client.get("/v1/routes").json()["routes"]}
                shipped = routes.get("shipments-to-shop", {})
                if stock.status_code == 200 and client.get("/v1/records/order/SHOP-1").status_code == 200:
                    break
                time.sleep(0.3)
            assert stock.status_code == 200, stock.text
            assert stock.json()["fields"]["on_hand"] >= 0
            assert client.get("/v1/records/order/SHOP-1").status_code == 200
            exceptions = client.get("/v1/exceptions", params={"limit": 50})
            assert exceptions.status_code == 200
            assert "exceptions" in exceptions.json()
            assert shipped is not None
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if proc.stdout is not None:
            proc.stdout.close()
    log = (tmp_path / "stderr.log").read_text()
    assert "logisync demo stopped:" in log and "Traceback" not in log, log
    hub = open_store(store)
    try:
        assert hub.count_records("order") > 0
        consistent = invariants.nothing_lost(hub, {}, {})
        assert consistent.passed, consistent.evidence  # counts balance, nothing in flight, dead = open
    finally:
        hub.close()
