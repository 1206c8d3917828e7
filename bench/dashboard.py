"""Dashboard pages with a large store: every page's server-side time, as a ratio to GET /healthz.

    python bench/dashboard.py [--records 1000000] [--exceptions 10000] [-n 20] [--dir /tmp/...]

Setup (not timed, cached in `--dir` between runs): the store of `bench/dashboard_data.py` (a
million records, ten thousand exceptions, their history, deliveries and reconciliation runs;
ten thousand resolved alerts and three firing, with their notifications, added on first use),
the sync map of examples/logisync.yaml (its commented-out alerts section included), and a
signed-in admin. The app is the one `logisync
serve` runs, called in this process through httpx's ASGI transport (no socket): what is timed is
the routing, the session check, the reads and the rendering of each page.

Each page is asked for twice to warm up, then `-n` times; the table gives its median and 95th
percentile, and both as a ratio to the median of GET /healthz measured the same way in the same
run. The issue's target is under 300 ms per page. A page that is not there yet (404) is listed
as missing.

The KPIs page shows figures computed off the request (web/kpis.py): its rows time the page once
they are there; the time the computation itself took (cold, once per window) is printed after
the table, as the page reports it.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sqlite3
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from dashboard_data import add_alerts, bench_env, build, example_syncmap

TARGET_MS = 300.0
PASSWORD = "bench-password-0123"


ALERTS = 10_000  # resolved alerts in the store (`dashboard_data.add_alerts`; three more firing)


def pages(db: Path) -> list[tuple[str, str]]:
    """(name, path) of every page, with ids and keys taken from the store."""
    conn = sqlite3.connect(db)
    open_id = conn.execute("SELECT max(id) FROM exceptions WHERE state = 'open'").fetchone()[0]
    order = conn.execute(
        "SELECT key FROM records WHERE domain = 'order' AND key > 'SHOP-0100000' LIMIT 1"
    ).fetchone()[0]
    first, last = conn.execute(
        "SELECT min(received_us), max(received_us) FROM changes WHERE domain = 'order' AND key = ?", (order,)
    ).fetchone()
    run = conn.execute("SELECT max(id) FROM reconcile_runs WHERE state = 'done'").fetchone()[0]
    rows = conn.execute("SELECT variance_keys FROM reconcile_runs WHERE id = ?", (run,)).fetchone()[0]
    conn.close()
    as_of = datetime.fromtimestamp((first + last) / 2e6, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return [
        ("overview", "/ui/"),
        ("exceptions", "/ui/exceptions"),
        ("exceptions filtered", "/ui/exceptions?kind=dead_delivery&system=shop"),
        ("exceptions grouped", "/ui/exceptions?view=groups"),
        ("exception detail", f"/ui/exceptions/{open_id}"),
        ("records search", "/ui/records?q=SKU-012345"),
        ("record", f"/ui/records/order/{order}"),
        ("record time travel", f"/ui/records/order/{order}?as_of={as_of}"),
        ("kpis 24h", "/ui/kpis?window=24h"),
        ("kpis 7d", "/ui/kpis?window=7d"),
        ("kpis 30d", "/ui/kpis?window=30d"),
        ("reconciliation", "/ui/reconcile"),
        ("reconciliation run", f"/ui/reconcile/runs/{run}"),
        ("run differences, late page", f"/ui/reconcile/runs/{run}?kind=differs&after={max(rows - 60, 0)}"),
        ("run differences, back a page", f"/ui/reconcile/runs/{run}?kind=differs&before={max(rows - 60, 0)}"),
        ("exceptions, back a page", f"/ui/exceptions?before={open_id}"),
        ("alerts", "/ui/alerts"),
        ("alerts, resolved late page", f"/ui/alerts?resolved_before={ALERTS // 10}"),
        ("alerts, resolved back a page", f"/ui/alerts?resolved_after={ALERTS // 10}"),
    ]


async def ready(client: Any, path: str) -> float | None:
    """Wait until a KPIs page has its figures; the seconds their computation took (as it says)."""
    if "/kpis" not in path:
        return None
    while True:
        answer = await client.get(path)
        if answer.status_code != 200 or 'id="kpi-computing"' not in answer.text:
            found = re.search(r"Computed at [^<]*? in ([0-9.]+) s", answer.text)
            return float(found.group(1)) if found else None
        await asyncio.sleep(0.5)


async def measure(client: Any, path: str, n: int) -> tuple[int, list[float]]:
    times = []
    status = 0
    for i in range(n + 2):
        started = time.perf_counter()
        answer = await client.get(path)
        elapsed = (time.perf_counter() - started) * 1000
        status = answer.status_code
        if status != 200:
            return status, []
        if i >= 2:
            times.append(elapsed)
    return status, times


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


async def run(db: Path, n: int, only: str | None) -> None:
    import httpx

    from logisync.api import create_app
    from logisync.domain.change import now_us
    from logisync.store import open_store
    from logisync.store import users as user_sql
    from logisync.web import users

    env = bench_env()
    syncmap = example_syncmap(env)  # with its alerts section, commented out in the file
    store = open_store(f"sqlite:///{db}")
    add_alerts(db, ALERTS)
    if user_sql.get_user(store, "bench") is None:
        users.add(store, "bench", users.Role.admin, PASSWORD, now_us(), "bench")
    app = create_app(syncmap, store, env=env)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1", timeout=600) as client:
        form = await client.get("/ui/login")
        token = re.search(r'name="csrf" value="([^"]+)"', form.text)
        assert token, form.text
        signed = await client.post(
            "/ui/login",
            data={"username": "bench", "password": PASSWORD, "csrf": token.group(1), "next": "/ui/"},
        )
        assert signed.status_code in (200, 303), signed.text
        _, base = await measure(client, "/healthz", n)
        floor = statistics.median(base)
        print(f"baseline GET /healthz: median {floor:.2f} ms over {n} requests")
        print(f"{'page':30} {'median ms':>10} {'p95 ms':>9} {'x healthz':>10} {'p95 x':>8}  target")
        computed: list[str] = []
        for name, path in pages(db):
            if only and only not in name:
                continue
            took = await ready(client, path)
            if took is not None:
                computed.append(f"{name}: {took:.1f} s")
            status, times = await measure(client, path, n)
            if not times:
                print(f"{name:30} {'missing' if status == 404 else f'HTTP {status}':>10}   {path}")
                continue
            med, high = statistics.median(times), p95(times)
            verdict = "ok" if high < TARGET_MS else "SLOW"
            print(f"{name:30} {med:10.1f} {high:9.1f} {med / floor:10.0f} {high / floor:8.0f}  {verdict}")
        if computed:
            print("KPI figures computed off the request, once per window and minute: " + "; ".join(computed))
    store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--exceptions", type=int, default=10_000)
    parser.add_argument("-n", type=int, default=20, help="timed requests per page")
    parser.add_argument("--dir", type=Path, default=Path("/tmp/logisync-bench-dashboard"))
    parser.add_argument("--only", help="only the pages whose name holds this")
    args = parser.parse_args()
    started = time.perf_counter()
    db = build(args.dir, records=args.records, exceptions=args.exceptions)
    print(
        f"dashboard pages: {args.records:,} records, {args.exceptions:,} exceptions "
        f"(store ready in {time.perf_counter() - started:.0f} s: {db})"
    )
    asyncio.run(run(db, args.n, args.only))


if __name__ == "__main__":
    main()
