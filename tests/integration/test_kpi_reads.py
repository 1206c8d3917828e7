"""The KPI reads of a window (`store/kpi_reads.py`) on both stores: each windowed read is an
index range (migration 0013), never a scan of its whole table, and finds what is in the window."""

from __future__ import annotations

import sqlite3
from contextlib import closing

import psycopg
import pytest

from logisync.domain.change import now_us
from logisync.store.base import NewException
from logisync.store.kpi_reads import QUERIES, read_kpi_tables

HOUR = 3_600_000_000
# each windowed read of a table that grows with traffic, and the index that serves it
INDEXED = {
    "deliveries": "outbox_delivered",
    "exceptions": "exceptions_created",
    "mismatches": "exceptions_mismatched",
    "edi_groups": "edi_outbound_groups_sent",
    "runs": "reconcile_runs_started",
}


def params(name: str, since: int, until: int) -> list[int]:
    sql = QUERIES[name]
    return ([0] if name in ("orders", "counts") else []) + [since, until][: sql.count("?")]


def sqlite_plan(store, name: str, since: int, until: int) -> str:
    with closing(sqlite3.connect(store.path)) as conn:
        rows = conn.execute("EXPLAIN QUERY PLAN " + QUERIES[name], params(name, since, until)).fetchall()
    return "\n".join(r[3] for r in rows)


def postgres_plan(store, name: str, since: int, until: int) -> str:
    """PostgreSQL's plan with sequential scans priced out: an index is in it only if the planner
    can use it for this query (a partial index whose condition the query implies)."""
    with psycopg.connect(store.url, autocommit=True, cursor_factory=psycopg.ClientCursor) as conn:
        conn.execute("SET enable_seqscan = off")
        rows = conn.execute("EXPLAIN " + store._sql(QUERIES[name]), params(name, since, until)).fetchall()
    return "\n".join(r[0] for r in rows)


@pytest.mark.parametrize("name", sorted(INDEXED))
def test_each_windowed_read_is_an_index_range_not_a_table_scan(store, name):
    until = now_us()
    since = until - 7 * 24 * HOUR
    if store.dialect == "sqlite":
        plan = sqlite_plan(store, name, since, until)
        assert f"USING COVERING INDEX {INDEXED[name]}" in plan or f"USING INDEX {INDEXED[name]}" in plan, plan
        assert "SCAN" not in plan, plan
    else:
        plan = postgres_plan(store, name, since, until)
        assert INDEXED[name] in plan, plan
        assert "Seq Scan" not in plan, plan


def test_the_delivered_index_is_covering_on_sqlite(sqlite_store):
    """The deliveries of a window are read from the index alone (no lookup per row)."""
    until = now_us()
    plan = sqlite_plan(sqlite_store, "deliveries", until - HOUR, until)
    assert "USING COVERING INDEX outbox_delivered" in plan, plan


def _outbox_row(store, route: str, state: str, first_us: int, updated_us: int, seq: int) -> None:
    store._execute(
        "INSERT INTO outbox (route, domain, key, change_seq, coalescing, state, attempts, "
        "next_attempt_us, first_us, updated_us) VALUES (?, 'inventory', ?, ?, 1, ?, 0, ?, ?, ?)",
        (route, f"SKU-{seq}@DC1", seq, state, updated_us, first_us, updated_us),
    )


def test_the_window_gets_exactly_the_rows_delivered_and_opened_in_it(store):
    """Through the indexes, a read still takes each row in [since, until) and nothing else:
    rows delivered before, at the end of or after the window, and rows not delivered, are out."""
    until = now_us()
    since = until - 24 * HOUR
    rows = [
        ("a", "delivered", since - 10, since - 1),  # delivered just before the window
        ("a", "delivered", since - 10, since),  # at its start: in
        ("b", "delivered", since + 5, until - 1),  # at its last µs: in
        ("b", "delivered", until - 5, until),  # at its end: out
        ("a", "pending", since, since + 7),  # in the window, not delivered
        ("a", "dead", since, since + 8),
    ]
    for i, (route, state, first, updated) in enumerate(rows):
        _outbox_row(store, route, state, first, updated, i + 1)
    with store.write() as tx:
        tx.open_exceptions([NewException("shipment_mismatch", "x", "order", "O-1")], since - 1)
        tx.open_exceptions([NewException("shipment_mismatch", "y", "order", "O-2")], since)
        tx.open_exceptions([NewException("stale_version", "z", "order", "O-3")], until)
    tables = read_kpi_tables(store, since, until)
    delivered = sorted(tuple(row.values()) for row in tables["deliveries"].to_pylist())
    assert delivered == [("a", since - 10, since), ("b", since + 5, until - 1)]
    assert tables["exceptions"]["key"].to_pylist() == ["O-2"]
    assert sorted(tables["mismatches"]["key"].to_pylist()) == ["O-1", "O-2"]
