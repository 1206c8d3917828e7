"""`logisync demo` as a user runs it: start it, wait for its addresses, read records, exceptions
and the KPIs (order figures from the simulated WMS's ship times, EDI acknowledgments from the
retailer trading through its folder drop) over the API while the simulated traffic flows, stop it
with SIGINT, and check that it shut down cleanly, left a consistent store, and that `logisync kpi`
reads the same figures from it."""

from __future__ import annotations

import json
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

ORDER_KPIS = (
    "order_accuracy",
    "otif",
    "order_to_ship_avg",
    "order_to_ship_p90",
    "fill_rate_units",
    "fill_rate_lines",
)
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


def record_once_there(client: httpx.Client, path: str, timeout: float = 120) -> dict:
    """A record, once the hub holds it (a file is read on the folder's schedule, not at once)."""
    deadline = time.monotonic() + timeout
    while (answer := client.get(path)).status_code == 404:
        assert time.monotonic() < deadline, f"{path} never came: {answer.text}"
        time.sleep(0.5)
    assert answer.status_code == 200, answer.text
    return answer.json()


def kpis_once_measured(client: httpx.Client, timeout: float = 120) -> dict[str, dict]:
    """The hub's KPIs (the last 7 days) once an order has shipped and a 997 has come back."""
    deadline = time.monotonic() + timeout
    while True:
        body = client.get("/v1/kpis")
        assert body.status_code == 200, body.text
        figures = {k["kpi"]: k for k in body.json()["kpis"] if k["group"] == "all"}
        if figures.get("otif", {}).get("count") and figures.get("edi_acks_on_time", {}).get("count"):
            return figures
        assert time.monotonic() < deadline, f"no order shipped or no 997 came back: {figures}"
        time.sleep(0.5)


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
            figures = kpis_once_measured(client)
            for kpi in ORDER_KPIS:  # the marketplaces' placed_at and the WMS's shipped_at reach them
                assert figures[kpi]["value"] is not None, figures
            assert 0 <= figures["otif"]["value"] <= 1 and figures["order_to_ship_avg"]["value"] > 0
            assert figures["edi_acks_on_time"]["count"] > 0  # the retailer answers the hub's X12 with 997s
            partners = client.get("/v1/kpis", params={"by": "partner"}).json()["kpis"]
            assert "retailer" in {k["group"] for k in partners if k["kpi"] == "edi_acks_on_time"}
            routes = {r["route"] for r in client.get("/v1/routes").json()["routes"]}
            assert {"stock-to-retailer", "orders-to-retailer", "shipments-to-retailer"} <= routes
            po = record_once_there(client, "/v1/records/order/BM000001")  # its first 850, from the folder
            assert po["fields"]["channel"] == "retailer", po
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
    kpi = subprocess.run(
        [sys.executable, "-m", "logisync", "kpi", "--store", store, "--json"],
        capture_output=True,
        cwd=tmp_path,
        check=True,
    )
    shown = {k["kpi"]: k for k in json.loads(kpi.stdout)["kpis"] if k["group"] == "all"}
    assert all(shown[kpi]["value"] is not None for kpi in ORDER_KPIS), shown
    hub = open_store(store)
    try:
        assert hub.count_records("order") > 0
        consistent = invariants.nothing_lost(hub, {}, {})
        assert consistent.passed, consistent.evidence  # counts balance, nothing in flight, dead = open
    finally:
        hub.close()
