"""Cheap reads for the dashboard's overview: dead deliveries per route, open exceptions by kind,
and arrivals per time bucket found by binary search over the log's position (no scan).

The change log and the outbox are append-only with positions (`seq`, `id`) in the order rows
arrived, so the number of rows that arrived between two times is the difference of the first
positions at or after each time: about twenty primary-key lookups per boundary, whatever the
size of the store. Positions a rolled-back transaction skipped (PostgreSQL sequences) make the
figure a slight over-count.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .sql import SqlStore

# table -> (position column, arrival time column)
_LOGS = {"changes": ("seq", "received_us"), "outbox": ("id", "first_us")}


def dead_by_route(store: SqlStore, routes: Sequence[str]) -> dict[str, int]:
    """Dead deliveries per route (one index range per route: `outbox_route`)."""
    found = {}
    for route in routes:
        rows = store._query("SELECT count(*) FROM outbox WHERE route = ? AND state = 'dead'", [route])
        found[route] = int(rows[0][0])
    return found


def open_exceptions_by_kind(store: SqlStore) -> dict[str, int]:
    """Open exceptions by kind (the `exceptions_state` index: state first)."""
    rows = store._query(
        "SELECT kind, count(*) FROM exceptions WHERE state = 'open' GROUP BY kind ORDER BY kind"
    )
    return {kind: int(n) for kind, n in rows}


def _search_sql(table: str, edges: int) -> str:
    """One statement that binary-searches every edge at once (a recursive CTE: no round trips).

    For each edge `at`, it narrows [lo, hi] to the first position p whose next row (the first at or
    after p) arrived at or after `at`; hi starts one past the last row, which counts as "after"."""
    pos, when = _LOGS[table]
    nxt = f"(SELECT {when} FROM {table} WHERE {pos} >= (lo + hi) / 2 ORDER BY {pos} LIMIT 1)"
    after = f"coalesce({nxt} >= at, TRUE)"
    values = ", ".join(["(CAST(? AS BIGINT))"] * edges)
    return (
        f"WITH RECURSIVE e(at) AS (VALUES {values}), "
        "s(at, lo, hi) AS (SELECT at, CAST(? AS BIGINT), CAST(? AS BIGINT) FROM e UNION ALL "
        f"SELECT at, CASE WHEN {after} THEN lo ELSE (lo + hi) / 2 + 1 END, "
        f"CASE WHEN {after} THEN (lo + hi) / 2 ELSE hi END FROM s WHERE lo < hi) "
        "SELECT at, lo FROM s WHERE lo >= hi"
    )


def arrivals(store: SqlStore, table: str, edges_us: Sequence[int]) -> list[int]:
    """Rows of `table` (`changes` or `outbox`) that arrived in each interval between `edges_us`."""
    pos, _ = _LOGS[table]
    # two subqueries: SQLite reads a lone min() or max() off the b-tree, not both in one SELECT
    rows = store._query(f"SELECT (SELECT min({pos}) FROM {table}), (SELECT max({pos}) FROM {table})")
    lo, hi = rows[0]
    if lo is None:
        return [0] * (len(edges_us) - 1)
    found = dict(store._query(_search_sql(table, len(edges_us)), [*edges_us, int(lo), int(hi) + 1]))
    firsts = [int(found[edge]) for edge in edges_us]
    return [b - a for a, b in pairwise(firsts)]
