"""Ingest throughput: the whole pipeline on SQLite against bare sqlite3 upserts of the same rows.

    python bench/ingest.py [--changes 1000000] [--keys 100000] [--batch 1000] [--http 200000]

Each phase runs in a child process (its own time and peak memory). The changes are inventory
counts for `--keys` positions in shuffled order, each key's versions rising, so every change is
applied. The raw phase upserts the same rows, in the same order and batches, into a table of the
same shape with the store's PRAGMAs (WAL, synchronous=FULL). The HTTP phase posts batches of 100
to `logisync serve` over loopback.
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import Timer, emit, peak_rss_mb, run_phase  # noqa: E402

SYNCMAP = """\
store: sqlite:///{db}
systems:
  wms:  {{kind: wms, auth: {{api_key_env: BENCH_WMS_KEY}}}}
  shop: {{kind: marketplace}}
owners:
  inventory.quantities: wms
routes:
  - {{name: stock-to-shop, domain: inventory, to: shop}}
"""


def keys(n: int) -> list[str]:
    return [f"SKU-{i // 10:07d}@DC{i % 10}" for i in range(n)]


def stream(changes: int, nkeys: int, seed: int = 7) -> Iterator[tuple[str, str, int, int]]:
    """(change id, key, version, on_hand) in a shuffled key order with rising versions per key."""
    rng = random.Random(seed)
    all_keys = keys(nkeys)
    versions = [0] * nkeys
    for i in range(changes):
        k = rng.randrange(nkeys)
        versions[k] += 1
        yield f"c{i:08d}", all_keys[k], versions[k], rng.randrange(0, 500)


def batches(it: Iterator, size: int) -> Iterator[list]:
    batch = []
    for item in it:
        batch.append(item)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def phase_pipeline(args: argparse.Namespace, db: str) -> dict:
    from logisync.config import parse_syncmap
    from logisync.domain.change import Change
    from logisync.pipeline import Pipeline
    from logisync.store import open_store

    syncmap = parse_syncmap(SYNCMAP.format(db=db), env={})
    store = open_store(syncmap.store)
    pipeline = Pipeline(store, syncmap)
    validate = Change.model_validate
    counts: dict[str, int] = {}
    with Timer() as t:
        for batch in batches(stream(args.changes, args.keys), args.batch):
            changes = [
                validate({"id": cid, "domain": "inventory", "key": key, "version": v, "fields": {"on_hand": q}})
                for cid, key, v, q in batch
            ]
            for o in pipeline.ingest("wms", changes):
                counts[o.outcome.value] = counts.get(o.outcome.value, 0) + 1
    store.close()
    return {"seconds": t.seconds, "rate": args.changes / t.seconds, "peak_mb": peak_rss_mb(), "outcomes": counts}


def phase_raw(args: argparse.Namespace, db: str) -> dict:
    from logisync.store.sqlite import PRAGMAS

    conn = sqlite3.connect(db, isolation_level=None)
    for name, value in PRAGMAS.items():
        conn.execute(f"PRAGMA {name} = {value}")
    conn.execute(
        "CREATE TABLE records (domain TEXT NOT NULL, key TEXT NOT NULL, fields TEXT NOT NULL, "
        "PRIMARY KEY (domain, key)) WITHOUT ROWID"
    )
    sql = (
        "INSERT INTO records (domain, key, fields) VALUES ('inventory', ?, ?) "
        "ON CONFLICT (domain, key) DO UPDATE SET fields = excluded.fields"
    )
    with Timer() as t:
        for batch in batches(stream(args.changes, args.keys), args.batch):
            rows = [(key, f'{{"on_hand":{q}}}') for _, key, _, q in batch]
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(sql, rows)
            conn.execute("COMMIT")
    conn.close()
    return {"seconds": t.seconds, "rate": args.changes / t.seconds, "peak_mb": peak_rss_mb()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=1_000_000)
    parser.add_argument("--keys", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--http", type=int, default=200_000, help="changes to post over HTTP (0: skip)")
    parser.add_argument("--phase", choices=["pipeline", "raw"], help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        emit({"pipeline": phase_pipeline, "raw": phase_raw}[args.phase](args, args.db))
        return

    common = ["--changes", str(args.changes), "--keys", str(args.keys), "--batch", str(args.batch)]
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{args.changes:,} inventory changes over {args.keys:,} positions, batches of {args.batch:,}")
        raw = run_phase(Path(__file__), "raw", [*common, "--db", os.path.join(tmp, "raw.db")])
        pipe = run_phase(Path(__file__), "pipeline", [*common, "--db", os.path.join(tmp, "hub.db")])
    print(f"raw sqlite3 upserts   {raw['rate']:>10,.0f} changes/s  {raw['seconds']:7.1f} s  peak {raw['peak_mb']:6.0f} MB")
    print(f"pipeline (SQLite)     {pipe['rate']:>10,.0f} changes/s  {pipe['seconds']:7.1f} s  peak {pipe['peak_mb']:6.0f} MB")
    print(f"ratio pipeline / raw  {pipe['rate'] / raw['rate']:10.2f}   (target >= 0.40; peak memory target < 500 MB)")
    print(f"outcomes              {pipe['outcomes']}")


if __name__ == "__main__":
    main()
