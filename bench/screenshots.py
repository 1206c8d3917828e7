"""`make screenshots`: docs/screenshots/PAGE.png of every dashboard page, from a hub with data.

    python bench/screenshots.py [--out docs/screenshots] [--records 20000]

The hub is the one `logisync serve` runs (without delivering), under uvicorn on a loopback port,
over a store made by `bench/dashboard_data.py` at a small size (products, stock, orders,
shipments, tracking, returns with their history, exceptions of every kind, reconciliation runs)
and the sync map of examples/logisync.yaml (with its commented-out alerts section, and alerts
of its rules in the store). Playwright signs in through the form as an admin and
drives Debian's chromium (`/usr/bin/chromium`, headless; no browser is downloaded). A page the
dashboard does not have (404) is skipped and said so.

It lives in bench/ beside the data generator it shares; it measures nothing.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from dashboard_data import add_alerts, bench_env, build, example_syncmap

ROOT = Path(__file__).parent.parent
CHROMIUM = "/usr/bin/chromium"
PASSWORD = "screenshot-password"


class Server:
    """uvicorn serving `app` on 127.0.0.1 in a thread, on a free port."""

    def __init__(self, app: Any) -> None:
        import uvicorn

        config = uvicorn.Config(
            app, host="127.0.0.1", port=0, log_level="warning", access_log=False, ws="none"
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        while not self.server.started:
            if not self.thread.is_alive():
                raise RuntimeError("the hub did not start")
            threading.Event().wait(0.05)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)


def targets(db: Path) -> list[tuple[str, str, str | None]]:
    """(file name, path, a selector to wait for) of every page, with ids and keys from the store."""
    conn = sqlite3.connect(db)
    exception = conn.execute(
        "SELECT max(id) FROM exceptions WHERE state = 'open' AND kind = 'ownership_conflict'"
    ).fetchone()[0]
    order = conn.execute(
        "SELECT key FROM records WHERE domain = 'order' ORDER BY updated_us DESC LIMIT 1"
    ).fetchone()[0]
    position = conn.execute(
        "SELECT key FROM records WHERE domain = 'inventory' AND fields LIKE '%variance%' LIMIT 1"
    ).fetchone()[0]
    run = conn.execute("SELECT max(id) FROM reconcile_runs WHERE state = 'done'").fetchone()[0]
    conn.close()
    return [
        ("overview", "/ui/", None),
        ("exceptions", "/ui/exceptions", None),
        ("exceptions-grouped", "/ui/exceptions?view=groups", None),
        ("exception", f"/ui/exceptions/{exception}", None),
        ("records", f"/ui/records?q={position.split('@')[0]}", None),
        ("record", f"/ui/records/order/{order}", None),
        ("record-inventory", f"/ui/records/inventory/{position}", None),
        ("kpis", "/ui/kpis?window=30d", "#kpi-table"),
        ("reconcile", "/ui/reconcile", None),
        ("reconcile-run", f"/ui/reconcile/runs/{run}", None),
        ("alerts", "/ui/alerts", None),
        ("users", "/ui/users", None),
    ]


def shoot(url: str, db: Path, out: Path) -> None:
    from playwright.sync_api import sync_playwright

    out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        page.goto(f"{url}/ui/login")
        page.screenshot(path=str(out / "login.png"))
        page.get_by_label("User name").fill("admin")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"{url}/ui/")
        written = ["login"]
        for name, path, wait_for in targets(db):
            answer = page.goto(url + path)
            if answer is None or answer.status == 404:
                print(f"  {name}: not in the dashboard yet ({path})")
                continue
            if wait_for:
                page.wait_for_selector(wait_for, timeout=120_000)  # the KPIs are computed off the request
            page.wait_for_load_state("networkidle")
            page.wait_for_timeout(300)  # the charts draw after the page settles
            page.screenshot(path=str(out / f"{name}.png"), full_page=True)
            written.append(name)
        browser.close()
    print(f"  wrote {', '.join(f'{n}.png' for n in written)} to {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--exceptions", type=int, default=400)
    args = parser.parse_args()

    from logisync.api import create_app
    from logisync.domain.change import now_us
    from logisync.store import open_store
    from logisync.web import users

    with tempfile.TemporaryDirectory(prefix="logisync-screenshots-") as folder:
        db = build(Path(folder), records=args.records, exceptions=args.exceptions)
        env = bench_env()
        syncmap = example_syncmap(env)  # with its alerts section, commented out in the file
        store = open_store(f"sqlite:///{db}")
        add_alerts(db, 40)
        for name, role in (("admin", users.Role.admin), ("ops", users.Role.operator)):
            users.add(store, name, role, PASSWORD, now_us(), "screenshots")
        try:
            with Server(create_app(syncmap, store, env=env)) as url:
                shoot(url, db, args.out)
        finally:
            store.close()


if __name__ == "__main__":
    main()
