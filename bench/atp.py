"""Channel availability: building the ATP index, a full recomputation, and one stock update at a time.

    python bench/atp.py [--skus 100000] [--locations 10] [--updates 10000] [--seed 7]

The catalogue has `--skus` SKUs with a position at each of `--locations` locations (`available`
uniform in 0..500, one position in a hundred short, down to -20) and five channels with different
location subsets, safety stocks and shares. Each figure is printed with a ratio against a
baseline measured in the same run:

- build and full recomputation against the reference formula, `channel_atp`, applied to every
  SKU and channel from a dict of positions: the obvious code, which the index must beat;
- one update (`AtpIndex.set`, timed call by call) against reading one SKU's positions once (a plain
  loop summing its `--locations` ints, timed the same way): the least any recomputation of one
  SKU can cost, so the ratio says how many such reads one update is worth.

Then the same updates run again on an instrumented copy of the index that records which SKUs'
rows it looked up and how many positions it read: each update must touch only its own SKU.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from common import Timer, peak_rss_mb
from logisync.config.model import AtpTransform
from logisync.domain.atp import AtpIndex, channel_atp

Position = tuple[str, str, int]


def location_names(n: int) -> list[str]:
    """Distribution centres, then stores: DC1..DC6, STORE1..STORE4 for ten."""
    dcs = max(1, n - n * 2 // 5)
    return [f"DC{i + 1}" for i in range(dcs)] + [f"STORE{i + 1}" for i in range(n - dcs)]


def channels(locations: list[str]) -> dict[str, AtpTransform]:
    """Five channels, as a 3PL client might configure them: overlapping subsets, different rules."""
    dcs = [loc for loc in locations if loc.startswith("DC")]
    stores = [loc for loc in locations if loc.startswith("STORE")] or dcs[-1:]
    return {
        "web": AtpTransform(safety_stock=5),  # every location
        "amazon": AtpTransform(locations=dcs[:4], safety_stock=10, share=0.8),
        "ebay": AtpTransform(locations=dcs[:2], safety_stock=2, share=0.3),
        "b2b": AtpTransform(locations=dcs[4:6] or dcs[:1], share=0.5),
        "retail": AtpTransform(locations=stores, safety_stock=1),
    }


def catalogue(skus: int, locations: list[str], rng: random.Random) -> list[Position]:
    positions = []
    for i in range(skus):
        sku = f"SKU-{i:07d}"
        for loc in locations:
            available = rng.randrange(-20, 0) if rng.random() < 0.01 else rng.randrange(0, 501)
            positions.append((sku, loc, available))
    return positions


def percentile(ns: list[int], q: float) -> float:
    ordered = sorted(ns)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1000  # µs


def time_calls(calls: list[tuple[Any, ...]], fn: Any) -> list[int]:
    """Each call timed on its own, in ns (the timer's own cost is in every figure, baseline too)."""
    clock = time.perf_counter_ns
    out = []
    for args in calls:
        t0 = clock()
        fn(*args)
        out.append(clock() - t0)
    return out


def sum_row(row: list[int]) -> int:
    total = 0
    for v in row:
        total += v
    return total


class TouchLog:
    """What an instrumented index looked at: SKUs whose rows or ATP it opened, positions it read."""

    def __init__(self) -> None:
        self.skus: set[str] = set()
        self.reads = 0
        self.scans = 0


class LoggedRow(list):
    """A SKU's row of positions that counts every position read."""

    log: TouchLog

    def __getitem__(self, i: Any) -> Any:
        value = super().__getitem__(i)
        self.log.reads += len(value) if isinstance(i, slice) else 1
        return value

    def __iter__(self) -> Any:
        self.log.reads += len(self)
        return super().__iter__()


class LoggedDict(dict):
    """The index's per-SKU table, recording which SKUs are looked up and any scan of the whole."""

    log: TouchLog

    def get(self, key: Any, default: Any = None) -> Any:
        self.log.skus.add(key)
        return super().get(key, default)

    def __getitem__(self, key: Any) -> Any:
        self.log.skus.add(key)
        return super().__getitem__(key)

    def __iter__(self) -> Any:
        self.log.scans += 1
        return super().__iter__()

    def items(self) -> Any:
        self.log.scans += 1
        return super().items()

    def values(self) -> Any:
        self.log.scans += 1
        return super().values()


def instrument(index: AtpIndex, log: TouchLog) -> None:
    """Swap the index's tables for logged copies (white box: these are its private attributes)."""
    LoggedRow.log = LoggedDict.log = log
    rows = LoggedDict()
    dict.update(rows, {sku: LoggedRow(row) for sku, row in index._rows.items()})
    columns = []
    for column in index._atp:  # one per channel: sku -> ATP
        logged = LoggedDict()
        dict.update(logged, column)
        columns.append(logged)
    index._rows, index._atp = rows, columns


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skus", type=int, default=100_000)
    parser.add_argument("--locations", type=int, default=10)
    parser.add_argument("--updates", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()

    rng = random.Random(args.seed)
    locations = location_names(args.locations)
    rules = channels(locations)
    positions = catalogue(args.skus, locations, rng)
    by_sku: dict[str, dict[str, int]] = {}
    for sku, loc, available in positions:
        by_sku.setdefault(sku, {})[loc] = available
    skus = list(by_sku)
    print(
        f"{args.skus:,} SKUs x {len(locations)} locations x {len(rules)} channels "
        f"({len(positions):,} positions, {sum(1 for p in positions if p[2] < 0):,} short)"
    )
    for name, rule in rules.items():
        print(f"  {name:<7} {rule.model_dump(exclude_defaults=True)}")

    # the reference: channel_atp on every SKU and channel
    with Timer() as ref:
        reference = {
            name: {sku: channel_atp(pos, r) for sku, pos in by_sku.items()} for name, r in rules.items()
        }

    index = AtpIndex(rules)
    with Timer() as build:
        index.load(positions)
    recompute = []
    for _ in range(3):
        with Timer() as t:
            full = index.recompute_all()
        recompute.append(t.seconds)
    assert full == reference, "recompute_all differs from channel_atp"

    # single updates, and the floor: one loop over one SKU's positions
    updates = []
    for _ in range(args.updates):
        sku = rng.choice(skus)
        available = rng.randrange(-20, 0) if rng.random() < 0.01 else rng.randrange(0, 501)
        updates.append((sku, rng.choice(locations), available))
    rows = [([by_sku[sku][loc] for loc in locations],) for sku, _, _ in updates]
    floor_ns = time_calls(rows, sum_row)
    ref_ns = time_calls(
        [(by_sku[sku],) for sku, _, _ in updates], lambda pos: [channel_atp(pos, r) for r in rules.values()]
    )
    changed = 0
    clock = time.perf_counter_ns
    set_ns = []
    for sku, loc, available in updates:
        t0 = clock()
        moved = index.set(sku, loc, available)
        set_ns.append(clock() - t0)
        changed += len(moved)
        by_sku[sku][loc] = available
    check = {name: {sku: index.atp(name, sku) for sku in skus} for name in rules}
    assert check == index.recompute_all(), "incremental ATP differs from a full recomputation"
    sample = rng.sample(skus, 1000)
    assert all(index.atp(n, s) == channel_atp(by_sku[s], r) for s in sample for n, r in rules.items())
    peak = peak_rss_mb()

    # the same kind of updates on an instrumented index: which SKUs and how many positions each reads
    log = TouchLog()
    instrument(index, log)
    reads = []
    for sku, loc, available in updates[:1000]:
        log.skus.clear()
        log.reads = 0
        index.set(sku, loc, available + 1)
        assert log.skus == {sku} and log.scans == 0, f"update of {sku} touched {sorted(log.skus)[:5]}"
        reads.append(log.reads)

    def us(ns: list[int]) -> tuple[float, float]:
        return percentile(ns, 0.5), percentile(ns, 0.99)

    (set_med, set_p99), (floor_med, floor_p99), (ref_med, ref_p99) = us(set_ns), us(floor_ns), us(ref_ns)
    best, median = min(recompute), statistics.median(recompute)
    row = "{:<52}{}"
    print(row.format("reference: channel_atp, every SKU and channel", f"{ref.seconds:6.2f} s"))
    print(
        row.format(
            f"build: load {len(positions):,} positions and compute",
            f"{build.seconds:6.2f} s   {build.seconds / ref.seconds:.2f} x reference",
        )
    )
    print(
        row.format(
            "full recomputation, median of 3 (best)",
            f"{median:6.2f} s   {median / ref.seconds:.2f} x reference   ({best:.2f} s; target < 2 s)",
        )
    )
    print(
        row.format(
            f"one update, AtpIndex.set, median / p99 of {len(set_ns):,}",
            f"{set_med:6.1f} / {set_p99:.1f} µs   (target < 1000 µs)",
        )
    )
    print(
        row.format(
            f"baseline: a loop summing one SKU's {len(locations)} positions",
            f"{floor_med:6.2f} / {floor_p99:.2f} µs   set = {set_med / floor_med:.1f} / "
            f"{set_p99 / floor_p99:.1f} x baseline",
        )
    )
    print(
        row.format(
            f"one SKU's {len(rules)} channels by channel_atp",
            f"{ref_med:6.2f} / {ref_p99:.2f} µs   set = {set_med / ref_med:.2f} / {set_p99 / ref_p99:.2f} x that",
        )
    )
    print(row.format("channels whose ATP moved, per update", f"{changed / len(updates):6.2f}"))
    print(
        row.format(
            f"touched by each of {len(reads):,} instrumented updates",
            f"1 SKU (its own), positions read max {max(reads)}, mean {statistics.fmean(reads):.1f}, "
            f"of {len(positions):,}",
        )
    )
    print(row.format("peak memory", f"{peak:6.0f} MB"))


if __name__ == "__main__":
    main()
