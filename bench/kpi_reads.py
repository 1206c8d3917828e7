"""The KPI reads of a window over a large store, without and with migration 0013's indexes.

    python bench/kpi_reads.py [--records 1000000] [-n 3] [--dir /tmp/...] [--windows 24h,7d,30d]

Setup (not timed, cached in `--dir`; the same store bench/dashboard.py builds, so a copy of its
folder saves the build): the store of `bench/dashboard_data.py` (a million records, 2 M
change-log entries, the outbox of the last 7 days, 10,000 exceptions). The store is a private
copy for this bench: it drops and recreates the indexes of migration 0013 (`outbox_delivered`,
`exceptions_created`, `exceptions_mismatched`, `edi_outbound_groups_sent`,
`reconcile_runs_started`), so point `--dir` at a folder no other run uses.

For each window: `store.kpi_reads.read_kpi_tables` (what the KPIs page and `logisync kpis`
read, through ADBC) once to warm the page cache, then `-n` times; the median of each read, first
without the indexes (the schema before 0013), then with them, in the same run. Also printed:
SQLite's plan for each read, and how long building the indexes took.
"""

from __future__ import annotations

import argparse
import json
import re
import sqlite3
import statistics
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from dashboard_data import DAY_US, HOUR_US, build

WINDOWS = {"24h": 24 * HOUR_US, "7d": 7 * DAY_US, "30d": 30 * DAY_US}
MIGRATION = Path(__file__).parent.parent / "src/logisync/store/migrations/sqlite/0013_kpi_windows.sql"


def index_statements() -> dict[str, str]:
    """Migration 0013's indexes: name -> its CREATE statement, as shipped."""
    sql = re.sub(r"--[^\n]*", "", MIGRATION.read_text(encoding="utf-8"))
    found = {}
    for statement in (s.strip() for s in sql.split(";")):
        match = re.match(r"CREATE INDEX (\w+)", statement)
        if match:
            found[match.group(1)] = statement
    return found


def plans(store: Any, since: int, until: int) -> dict[str, str]:
    """SQLite's query plan of each KPI read, one line each."""
    from logisync.store.kpi_reads import QUERIES

    out = {}
    for name, sql in QUERIES.items():
        params = ([0] if name in ("orders", "counts") else []) + [since, until]
        rows = store._query("EXPLAIN QUERY PLAN " + sql, params[: sql.count("?")])
        out[name] = "; ".join(r[3] for r in rows)
    return out


def timed(store: Any, since: int, until: int, n: int) -> dict[str, float]:
    """Median seconds of each read (and `total`) over `n` runs after one warm-up."""
    from logisync.store.kpi_reads import read_kpi_tables

    runs: list[dict[str, float]] = []
    for i in range(n + 1):
        timings: dict[str, float] = {}
        started = time.perf_counter()
        read_kpi_tables(store, since, until, timings=timings)
        timings["total"] = time.perf_counter() - started
        if i:
            runs.append(timings)
    return {name: statistics.median(r[name] for r in runs) for name in runs[0]}


def measure(db: Path, windows: list[str], until: int, n: int, schema: str) -> dict[str, dict[str, float]]:
    """In a process of its own (`--measure`): the plans, then each window's timed reads."""
    out = subprocess.run(
        [
            *(sys.executable, __file__, "--measure", str(db), "-n", str(n), "--windows", ",".join(windows)),
            *("--until", str(until), "--schema", schema),
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    *lines, last = out.stdout.rstrip().splitlines()
    print("\n".join(lines))
    return json.loads(last)


def child(db: Path, windows: list[str], until: int, n: int, schema: str) -> None:
    from logisync.store import open_store

    store = open_store(f"sqlite:///{db}")
    results = {}
    for window in windows:
        since = until - WINDOWS[window]
        if window == windows[0]:
            for name, plan in plans(store, since, until).items():
                print(f"  plan {schema:7} {name:11} {plan}")
        results[window] = timed(store, since, until, n)
    store.close()
    print(json.dumps(results))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--exceptions", type=int, default=10_000)
    parser.add_argument("-n", type=int, default=3, help="timed reads per window and schema")
    parser.add_argument("--dir", type=Path, default=Path("/tmp/logisync-bench-kpi-reads"))
    parser.add_argument("--windows", default="24h,7d,30d")
    parser.add_argument("--measure", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--until", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--schema", help=argparse.SUPPRESS)
    args = parser.parse_args()
    windows = [w.strip() for w in args.windows.split(",") if w.strip()]
    if args.measure is not None:
        child(args.measure, windows, args.until, args.n, args.schema)
        return

    from logisync.domain.change import now_us
    from logisync.store import open_store

    db = build(args.dir, records=args.records, exceptions=args.exceptions)
    open_store(f"sqlite:///{db}").close()  # applies 0013 to a store built before it
    indexes = index_statements()
    until = now_us()
    print(f"KPI reads: {args.records:,} records, {db} ({db.stat().st_size / 1e9:.1f} GB); median of {args.n}")
    results: dict[str, dict[str, dict[str, float]]] = {}
    # The indexes are dropped and built here, with no other connection to the file in this process
    # (the reads run in a child process: two SQLite libraries in one process, Python's and ADBC's,
    # do not share their file locks).
    for schema in ("without", "with"):
        with closing(sqlite3.connect(db, isolation_level=None)) as conn:
            started = time.perf_counter()
            for name, statement in indexes.items():
                conn.execute(f"DROP INDEX IF EXISTS {name}")
                if schema == "with":
                    conn.execute(statement)
            if schema == "with":
                print(f"building the 0013 indexes: {time.perf_counter() - started:.1f} s")
        for window, timings in measure(db, windows, until, args.n, schema).items():
            results.setdefault(window, {})[schema] = timings
    names = list(next(iter(results.values()))["with"])
    print(f"{'window':6} {'read':11} {'without ms':>11} {'with ms':>10} {'ratio':>7}")
    for window, by in results.items():
        for name in names:
            before, after = by["without"][name], by["with"][name]
            ratio = before / after if after else float("inf")
            print(f"{window:6} {name:11} {before * 1000:11.2f} {after * 1000:10.2f} {ratio:7.1f}")


if __name__ == "__main__":
    main()
