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
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import Timer, emit, peak_rss_mb, run_phase

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
                validate(
                    {"id": cid, "domain": "inventory", "key": key, "version": v, "fields": {"on_hand": q}}
                )
                for cid, key, v, q in batch
            ]
            for o in pipeline.ingest("wms", changes):
                counts[o.outcome.value] = counts.get(o.outcome.value, 0) + 1
    store.close()
    return {
        "seconds": t.seconds,
        "rate": args.changes / t.seconds,
        "peak_mb": peak_rss_mb(),
        "outcomes": counts,
    }


def phase_raw(args: argparse.Namespace, db: str) -> dict:
    """Bare `executemany` upserts of the golden-record rows the pipeline writes, nothing else.

    The table is the store's own `records` table (same migration) and each row carries what the
    pipeline stores for it: the fields and their provenance as JSON, revision, times, history head.
    """
    import orjson

    from logisync.store.sqlite import PRAGMAS, SqliteStore

    SqliteStore(f"sqlite:///{db}").migrate()  # the same schema, then a bare connection
    conn = sqlite3.connect(db, isolation_level=None)
    for name, value in PRAGMAS.items():
        conn.execute(f"PRAGMA {name} = {value}")
    sql = (
        "INSERT INTO records (domain, key, fields, prov, revision, created_us, updated_us, last_seq) "
        "VALUES ('inventory', ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (domain, key) DO UPDATE SET "
        "fields = excluded.fields, prov = excluded.prov, revision = records.revision + 1, "
        "updated_us = excluded.updated_us, last_seq = excluded.last_seq"
    )
    dumps = orjson.dumps
    seq = 0
    with Timer() as t:
        for batch in batches(stream(args.changes, args.keys), args.batch):
            now = time.time_ns() // 1000
            rows = []
            for cid, key, v, q in batch:
                seq += 1
                prov = {"on_hand": {"s": "wms", "c": cid, "v": v, "q": seq, "p": None, "k": 1}}
                rows.append((key, dumps({"on_hand": q}).decode(), dumps(prov).decode(), v, now, now, seq))
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany(sql, rows)
            conn.execute("COMMIT")
    conn.close()
    return {"seconds": t.seconds, "rate": args.changes / t.seconds, "peak_mb": peak_rss_mb()}


def phase_raw_minimal(args: argparse.Namespace, db: str) -> dict:
    """Bare upserts of (key, fields) only: the floor of any store that keeps just the values."""
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


def phase_http(args: argparse.Namespace, db: str) -> dict:
    from http_load import post_changes

    return post_changes(args, db)


PHASES = {"pipeline": phase_pipeline, "raw": phase_raw, "raw-minimal": phase_raw_minimal, "http": phase_http}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=1_000_000)
    parser.add_argument("--keys", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--http", type=int, default=200_000, help="changes to post over HTTP (0: skip)")
    parser.add_argument("--phase", choices=sorted(PHASES), help=argparse.SUPPRESS)
    parser.add_argument("--db", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        emit(PHASES[args.phase](args, args.db))
        return

    common = ["--changes", str(args.changes), "--keys", str(args.keys), "--batch", str(args.batch)]
    here = Path(__file__)
    with tempfile.TemporaryDirectory() as tmp:
        print(f"{args.changes:,} inventory changes over {args.keys:,} positions, batches of {args.batch:,}")
        minimal = run_phase(here, "raw-minimal", [*common, "--db", os.path.join(tmp, "minimal.db")])
        raw = run_phase(here, "raw", [*common, "--db", os.path.join(tmp, "raw.db")])
        pipe = run_phase(here, "pipeline", [*common, "--db", os.path.join(tmp, "hub.db")])
        http = None
        if args.http:
            http_args = [
                "--changes",
                str(args.http),
                "--keys",
                str(args.keys),
                "--db",
                os.path.join(tmp, "http.db"),
            ]
            http = run_phase(here, "http", http_args)
    line = "{:<34}{:>10,.0f} changes/s {:>7.1f} s  peak {:>5.0f} MB"
    print(
        line.format(
            "raw upserts, (key, fields) only", minimal["rate"], minimal["seconds"], minimal["peak_mb"]
        )
    )
    print(line.format("raw upserts, the same record rows", raw["rate"], raw["seconds"], raw["peak_mb"]))
    print(line.format("pipeline (SQLite)", pipe["rate"], pipe["seconds"], pipe["peak_mb"]))
    print(f"ratio pipeline / raw same rows    {pipe['rate'] / raw['rate']:10.2f}   (target >= 0.40)")
    print(f"ratio pipeline / raw fields only  {pipe['rate'] / minimal['rate']:10.2f}")
    print(f"pipeline peak memory              {pipe['peak_mb']:10.0f} MB (target < 500 MB)")
    print(f"outcomes                          {pipe['outcomes']}")
    if http is not None:
        print(line.format("HTTP API, batches of 100", http["rate"], http["seconds"], http["peak_mb"]))
        print(f"ratio HTTP / pipeline             {http['rate'] / pipe['rate']:10.2f}")


if __name__ == "__main__":
    main()
