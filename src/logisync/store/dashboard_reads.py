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


def first_position_at(store: SqlStore, table: str, at_us: int, lo: int, hi: int) -> int:
    """The first position in [lo, hi + 1] whose row arrived at or after `at_us` (hi + 1: none did).

    Binary search over positions; a missing position (a gap) is looked past to the next row."""
    pos, when = _LOGS[table]
    nxt = f"SELECT {pos}, {when} FROM {table} WHERE {pos} >= ? ORDER BY {pos} LIMIT 1"
    while lo <= hi:
        mid = (lo + hi) // 2
        rows = store._query(nxt, [mid])
        if not rows or rows[0][0] > hi:
            hi = mid - 1
            continue
        if rows[0][1] >= at_us:
            hi = mid - 1
        else:
            lo = int(rows[0][0]) + 1
    return lo


def arrivals(store: SqlStore, table: str, edges_us: Sequence[int]) -> list[int]:
    """Rows of `table` (`changes` or `outbox`) that arrived in each interval between `edges_us`."""
    pos, _ = _LOGS[table]
    rows = store._query(f"SELECT min({pos}), max({pos}) FROM {table}")
    lo, hi = rows[0]
    if lo is None:
        return [0] * (len(edges_us) - 1)
    firsts = []
    start = int(lo)
    for edge in edges_us:
        start = first_position_at(store, table, edge, start, int(hi))
        firsts.append(start)
    return [b - a for a, b in pairwise(firsts)]
