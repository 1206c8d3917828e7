"""File import: a large inventory CSV through its mapping and the pipeline, against a bare csv.reader.

    python bench/files.py [--rows 1000000] [--keys 200000] [--batch 1000] [--json-rows 200000]

Each phase runs in a child process, so its time and peak memory (RSS) are its own:

- `bare`: `csv.reader` over the file, counting rows (the floor: no mapping, no store);
- `map`: the import's reader and mapping (typed values, key, change) with no store;
- `import`: `FileImporter` on SQLite: read, map, pipeline (validate, dedupe, apply, log), receipt.

Then the JSON reader: a JSON array of `--json-rows` objects read with ijson (streamed) against
`orjson.loads` of the whole file (the easy way), for time and peak memory.
"""

from __future__ import annotations

import argparse
import csv
import random
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from common import Timer, emit, peak_rss_mb, run_phase

SYNCMAP = """\
store: sqlite:///{db}
systems:
  erp:
    kind: erp
    files:
      imports:
        - name: stock
          domain: inventory
          format: csv
          fields:
            sku: ItemNo
            location: {{from: Whse, default: DC1}}
            on_hand: {{from: Qty, type: int}}
            uom: {{from: UOM, values: {{EA: each, CS: case}}, default: each}}
owners:
  inventory.quantities: erp
"""


def write_csv(path: Path, rows: int, keys: int, seed: int = 7) -> None:
    rng = random.Random(seed)
    with path.open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["ItemNo", "Whse", "Qty", "UOM"])
        for _ in range(rows):
            k = rng.randrange(keys)
            out.writerow([f"SKU-{k // 10:07d}", f"DC{k % 10}", rng.randrange(0, 500), "EA"])


def write_json(path: Path, rows: int) -> None:
    with path.open("w") as fh:
        fh.write("[\n")
        for i in range(rows):
            sep = ",\n" if i else ""
            fh.write(f'{sep}{{"code": "SKU-{i:07d}", "title": "Item {i}", "weight": {i % 97}.5}}')
        fh.write("\n]\n")


def phase_bare(path: Path) -> dict:
    with Timer() as t, path.open(newline="") as fh:
        n = sum(1 for _ in csv.reader(fh)) - 1
    return {"rows": n, "seconds": t.seconds, "peak_mb": peak_rss_mb()}


def _import_spec(db: Path):
    from logisync.config import parse_syncmap

    syncmap = parse_syncmap(SYNCMAP.format(db=db), "bench.yaml", env={})
    return syncmap, syncmap.systems["erp"].files.imports[0]


def phase_map(path: Path, db: Path) -> dict:
    from logisync.files.mapping import RowMapper
    from logisync.files.readers import CsvReader, Row

    _, spec = _import_spec(db)
    n = 0
    with Timer() as t, path.open("rb") as fh:
        reader = CsvReader(fh, spec.csv)
        mapper = RowMapper(spec, reader.read_header())
        for row in reader:
            assert isinstance(row, Row)
            mapper.change(mapper.read(row.data), f"x:{row.number}")
            n += 1
    return {"rows": n, "seconds": t.seconds, "peak_mb": peak_rss_mb()}


def phase_import(path: Path, db: Path, batch: int) -> dict:
    from logisync.files.importer import FileImporter
    from logisync.pipeline import Pipeline
    from logisync.store import open_store

    syncmap, spec = _import_spec(db)
    store = open_store(syncmap.store)
    try:
        with Timer() as t:
            report = FileImporter(Pipeline(store, syncmap), store, "erp", spec, batch=batch).run(path)
    finally:
        store.close()
    return {
        "rows": report.rows,
        "applied": report.counts["applied"],
        "seconds": t.seconds,
        "peak_mb": peak_rss_mb(),
    }


def phase_ijson(path: Path) -> dict:
    from logisync.files.readers import JsonReader

    with Timer() as t, path.open("rb") as fh:
        n = sum(1 for _ in JsonReader(fh))
    return {"rows": n, "seconds": t.seconds, "peak_mb": peak_rss_mb()}


def phase_orjson(path: Path) -> dict:
    import orjson

    with Timer() as t:
        n = len(orjson.loads(path.read_bytes()))
    return {"rows": n, "seconds": t.seconds, "peak_mb": peak_rss_mb()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--keys", type=int, default=200_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--json-rows", type=int, default=200_000)
    parser.add_argument("--phase")
    parser.add_argument("--file")
    parser.add_argument("--db")
    args = parser.parse_args()
    if args.phase:
        path = Path(args.file)
        result = {
            "bare": lambda: phase_bare(path),
            "map": lambda: phase_map(path, Path(args.db)),
            "import": lambda: phase_import(path, Path(args.db), args.batch),
            "ijson": lambda: phase_ijson(path),
            "orjson": lambda: phase_orjson(path),
        }[args.phase]()
        emit(result)
        return
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        stock = base / "stock.csv"
        write_csv(stock, args.rows, args.keys)
        size_mb = stock.stat().st_size / 2**20
        common = ["--file", str(stock), "--db", str(base / "hub.db"), "--batch", str(args.batch)]
        bare = run_phase(Path(__file__), "bare", common)
        mapped = run_phase(Path(__file__), "map", common)
        imported = run_phase(Path(__file__), "import", common)
        items = base / "items.json"
        write_json(items, args.json_rows)
        json_mb = items.stat().st_size / 2**20
        streamed = run_phase(Path(__file__), "ijson", ["--file", str(items)])
        whole = run_phase(Path(__file__), "orjson", ["--file", str(items)])
    print(
        f"CSV: {args.rows:,} inventory rows, {size_mb:.1f} MB, {args.keys:,} positions, batches of {args.batch}"
    )
    print(f"{'phase':<34} {'rows/s':>12} {'vs bare':>8} {'peak MB':>8}")
    for name, r in (
        ("bare csv.reader (floor)", bare),
        ("reader + mapping, no store", mapped),
        ("import through the pipeline", imported),
    ):
        rate = r["rows"] / r["seconds"]
        ratio = rate / (bare["rows"] / bare["seconds"])
        print(f"{name:<34} {rate:>12,.0f} {ratio:>8.3f} {r['peak_mb']:>8.1f}")
    print(f"import: {imported['rows']:,} rows, {imported['applied']:,} applied, {imported['seconds']:.1f} s")
    print(f"JSON: {args.json_rows:,} objects, {json_mb:.1f} MB")
    for name, r in (("ijson items (streamed)", streamed), ("orjson.loads (whole file)", whole)):
        print(f"{name:<34} {r['rows'] / r['seconds']:>12,.0f} {'':>8} {r['peak_mb']:>8.1f}")


if __name__ == "__main__":
    main()
