"""Reconciliation: a million inventory positions against a snapshot with 1% differences.

    python bench/reconcile.py [--positions 1000000] [--diff 0.01] [--in-flight 0.001] [--dir /tmp/...]

Setup (not timed): a SQLite store with `--positions` golden positions (`on_hand` 0..499,
`allocated` 0..6), a `--in-flight` share of them with a pending delivery on the route to the
shop, and the shop's snapshot as a CSV (`key,on_hand`) in which a `--diff` share of the positions
differ. Each phase runs in its own interpreter, so its peak memory is its own:

- **reconcile**: what `logisync reconcile` does: read the golden side from the store (records,
  keys in flight, prices), the diff in DuckDB, the summary, and every variance to Parquet;
- **floor** (the issue's baseline): a bare DuckDB full outer join of the same snapshot file
  against the same golden positions exported to a CSV file (`key,on_hand`), counting the keys
  that differ;
- **polars**: the same bare join in Polars (what chose the engine: see docs/benchmarks.md).

The ratio printed is reconcile / floor (target: at most 3, peak memory under 1 GB).
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import emit, peak_rss_mb, run_phase

SETUP_VERSION = "1"


def setup(folder: Path, positions: int, share: float, in_flight: float) -> None:
    """The store, the snapshot and the golden export, made once per size and seed."""
    import orjson

    from logisync.domain.record import RecordState
    from logisync.store import open_store
    from logisync.store.base import NewDelivery

    marker = folder / f"ready-{SETUP_VERSION}-{positions}-{share}-{in_flight}"
    if marker.exists():
        return
    for old in folder.glob("*"):
        old.unlink()
    rng = random.Random(7)
    store = open_store(f"sqlite:///{folder / 'hub.db'}?synchronous=normal")
    batch: list[RecordState] = []
    snapshot = (folder / "snapshot.csv").open("w")
    golden = (folder / "golden.csv").open("w")
    snapshot.write("key,on_hand\n")
    golden.write("key,on_hand\n")
    pending: list[NewDelivery] = []
    for i in range(positions):
        key = f"SKU-{i // 4:07d}@DC{i % 4 + 1}"
        on_hand, allocated = rng.randrange(500), rng.randrange(7)
        batch.append(RecordState("inventory", key, {"on_hand": on_hand, "allocated": allocated}, {}, 1, 1))
        golden.write(f"{key},{on_hand}\n")
        seen = on_hand + rng.randrange(1, 6) if rng.random() < share else on_hand
        snapshot.write(f"{key},{seen}\n")
        if rng.random() < in_flight:
            pending.append(NewDelivery("stock-to-shop", "inventory", key, i + 1, True, "pending", 1))
        if len(batch) == 50_000:
            with store.write() as tx:
                tx.save_records(batch)
            batch = []
    with store.write() as tx:
        tx.save_records(batch)
        tx.enqueue(pending)
    snapshot.close()
    golden.close()
    store.close()
    marker.write_text(orjson.dumps({"positions": positions}).decode())


def phase_reconcile(folder: Path) -> None:
    from logisync.reconcile.diff import DiffEngine, SnapshotInput
    from logisync.reconcile.rules import default_rule
    from logisync.store import open_store
    from logisync.store.golden import read_golden

    store = open_store(f"sqlite:///{folder / 'hub.db'}")
    t0 = time.perf_counter()
    golden = read_golden(store, "inventory", ["stock-to-shop"], 0)  # type: ignore[arg-type]
    t_read = time.perf_counter() - t0
    snapshot = SnapshotInput("snapshot.csv", path=folder / "snapshot.csv", format="csv")
    with DiffEngine(default_rule("inventory")).run(
        golden.records, snapshot, explained=golden.explained, prices=golden.prices
    ) as result:
        summary = result.summary()
        written = result.write(folder / "variances.parquet")
    seconds = time.perf_counter() - t0
    store.close()
    emit(
        {
            "seconds": seconds,
            "read_s": t_read,
            "variances": summary.variances,
            "explained": summary.explained_keys,
            "written": written,
            "peak_mb": peak_rss_mb(),
        }
    )


def phase_floor(folder: Path) -> None:
    import duckdb

    t0 = time.perf_counter()
    con = duckdb.connect()
    [(n,)] = con.execute(
        f"SELECT count(*) FROM read_csv('{folder / 'golden.csv'}') g "
        f"FULL OUTER JOIN read_csv('{folder / 'snapshot.csv'}') s ON g.key = s.key "
        "WHERE g.on_hand IS DISTINCT FROM s.on_hand"
    ).fetchall()
    emit({"seconds": time.perf_counter() - t0, "differing": n, "peak_mb": peak_rss_mb()})


def phase_polars(folder: Path) -> None:
    import polars as pl

    t0 = time.perf_counter()
    g = pl.read_csv(folder / "golden.csv")
    s = pl.read_csv(folder / "snapshot.csv")
    joined = g.join(s, on="key", how="full", suffix="_s")
    n = joined.filter(pl.col("on_hand").ne_missing(pl.col("on_hand_s"))).height
    emit({"seconds": time.perf_counter() - t0, "differing": n, "peak_mb": peak_rss_mb()})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--positions", type=int, default=1_000_000)
    parser.add_argument("--diff", type=float, default=0.01)
    parser.add_argument("--in-flight", type=float, default=0.001)
    parser.add_argument("--dir", type=Path, default=Path(tempfile.gettempdir()) / "logisync-bench-reconcile")
    parser.add_argument("--phase", choices=["reconcile", "floor", "polars"])
    args = parser.parse_args()
    if args.phase:
        {"reconcile": phase_reconcile, "floor": phase_floor, "polars": phase_polars}[args.phase](args.dir)
        return
    args.dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    setup(args.dir, args.positions, args.diff, args.in_flight)
    print(f"setup: {args.positions:,} positions, {args.diff:.1%} differing ({time.perf_counter() - t0:.1f}s)")
    script = Path(__file__)
    extra = ["--dir", str(args.dir)]
    floor = run_phase(script, "floor", extra)
    rec = run_phase(script, "reconcile", extra)
    try:
        polars = run_phase(script, "polars", extra)
    except Exception:  # polars is a bench extra: `pip install -e '.[bench]'`
        polars = None
    print(f"{'':<34}{'seconds':>9}{'of floor':>10}{'peak MB':>9}")
    print(f"{'floor: bare DuckDB join (CSV)':<34}{floor['seconds']:>9.2f}{1:>10.2f}{floor['peak_mb']:>9.0f}")
    ratio = rec["seconds"] / floor["seconds"]
    print(
        f"{'reconcile (store read included)':<34}{rec['seconds']:>9.2f}{ratio:>10.2f}{rec['peak_mb']:>9.0f}"
    )
    print(f"{'  of which: golden read':<34}{rec['read_s']:>9.2f}")
    if polars:
        p = polars["seconds"] / floor["seconds"]
        print(f"{'bare Polars join (CSV)':<34}{polars['seconds']:>9.2f}{p:>10.2f}{polars['peak_mb']:>9.0f}")
    print(
        f"variances {rec['variances']:,} (floor counts {floor['differing']:,} differing keys; "
        f"{rec['explained']:,} explained by deliveries in flight)"
    )
    ok = ratio <= 3 and rec["peak_mb"] < 1024
    print(f"target (at most 3x the floor, under 1 GB): {'met' if ok else 'NOT met'}")


if __name__ == "__main__":
    main()
