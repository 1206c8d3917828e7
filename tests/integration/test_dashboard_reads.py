"""The overview's reads on both stores: arrivals per interval by binary search, dead per route."""

from __future__ import annotations

import pytest

from logisync.store import dashboard_reads as reads
from logisync.store.base import LogEntry, NewDelivery, NewException

MIN = 60_000_000


def log(store, times: list[int]) -> None:
    with store.write() as tx:
        seqs = tx.next_seqs(len(times))
        tx.append_changes(
            [
                LogEntry(seq, "wms", f"c{seq}", "inventory", f"SKU-{seq}@DC1", 1, at, "applied", None, {}, [])
                for seq, at in zip(seqs, times, strict=True)
            ]
        )


def test_arrivals_count_the_rows_in_each_interval(store):
    t0 = 1_000 * MIN
    times = [t0 + 5] * 3 + [t0 + MIN + 1] * 7 + [t0 + 3 * MIN + 9] * 2
    log(store, times)
    edges = [t0 + i * MIN for i in range(5)]  # 4 one-minute buckets
    assert reads.arrivals(store, "changes", edges) == [3, 7, 0, 2]
    assert reads.arrivals(store, "changes", [t0 + 10 * MIN, t0 + 11 * MIN]) == [0]  # after everything
    assert reads.arrivals(store, "changes", [0, t0]) == [0]  # before everything


def test_arrivals_on_an_empty_log_are_zeros(store):
    assert reads.arrivals(store, "outbox", [0, MIN, 2 * MIN]) == [0, 0]


def test_arrivals_look_past_gaps_in_the_positions(store):
    """A hole in the positions (a PostgreSQL sequence skips on rollback) is counted in the interval
    after it: the documented over-count. The search must still find its way past it."""
    t0 = 1_000 * MIN
    log(store, [t0 + i for i in range(10)] + [t0 + MIN + i for i in range(10)])
    store._execute(
        "DELETE FROM changes WHERE seq IN (?, ?, ?, ?)", [9, 10, 11, 12]
    )  # seq 1-8, 13-20 are left
    assert reads.arrivals(store, "changes", [t0, t0 + MIN, t0 + 2 * MIN]) == [8, 8 + 4]


@pytest.mark.parametrize("dead", [0, 2])
def test_dead_by_route_and_open_exceptions_by_kind(store, dead):
    with store.write() as tx:
        tx.enqueue([NewDelivery("r1", "inventory", f"k{i}", 1, True, "pending", 1) for i in range(3)])
        tx.open_exceptions(
            [
                NewException("validation", "bad"),
                NewException("validation", "bad"),
                NewException("sla_breach", "x"),
            ],
            1,
        )
    store._execute(f"UPDATE outbox SET state = 'dead' WHERE id <= {dead}")
    assert reads.dead_by_route(store, ["r1", "r2"]) == {"r1": dead, "r2": 0}
    assert reads.open_exceptions_by_kind(store) == {"sla_breach": 1, "validation": 2}
