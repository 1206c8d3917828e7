"""What the KPIs are computed from, read as Arrow tables in one read transaction: orders, stock
counts, reconciliation runs, exceptions, deliveries, EDI groups, over a time window.

Columns that may be NULL are read through `coalesce` (an ADBC driver types a column from its
first rows): text as '' and numbers as -1 where absent means nothing.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import pyarrow as pa

from .golden import arrow_reader

if TYPE_CHECKING:
    from .sql import SqlStore

# Orders are filtered by their business times in DuckDB (they are inside the JSON); the records
# touched since the window opened are the only ones that can have shipped in it.
QUERIES: dict[str, str] = {
    # (found through the change log's positions since then: no scan of every order)
    "orders": (
        "SELECT key, fields FROM records WHERE domain = 'order' AND key IN "
        "(SELECT key FROM changes WHERE seq >= ? AND domain = 'order') AND updated_us >= ?"
    ),
    # stock counts received in the window: the change log entry and the position's recorded variance
    "counts": (
        "SELECT c.seq, c.system, c.key, c.payload, coalesce(c.applied, ''), coalesce(r.fields, '{}') FROM changes c "
        "LEFT JOIN records r ON r.domain = 'inventory' AND r.key = c.key "
        "WHERE c.seq >= ? AND c.domain = 'inventory' AND c.outcome = 'applied' AND c.received_us >= ? AND c.received_us < ? "
        "AND c.payload LIKE '%counted_at%'"
    ),
    "runs": (
        "SELECT id, name, system, domain, started_us, variance_keys, units, coalesce(summary, '{}') "
        "FROM reconcile_runs WHERE state = 'done' AND started_us >= ? AND started_us < ?"
    ),
    "exceptions": (
        "SELECT id, kind, coalesce(system, ''), coalesce(domain, ''), coalesce(key, ''), "
        "coalesce(route, ''), created_us FROM exceptions WHERE created_us >= ? AND created_us < ?"
    ),
    "deliveries": (
        "SELECT route, first_us, updated_us FROM outbox WHERE state = 'delivered' "
        "AND updated_us >= ? AND updated_us < ?"
    ),
    # orders whose shipments matched no line, whenever that was found
    "mismatches": "SELECT DISTINCT key FROM exceptions WHERE kind = 'shipment_mismatch' AND domain = 'order'",
    "edi_groups": (
        "SELECT partner, functional_id, state, sent_us, due_us, updated_us FROM edi_outbound_groups "
        "WHERE sent_us >= ? AND sent_us < ?"
    ),
}
COLUMNS: dict[str, list[str]] = {
    "orders": ["key", "fields"],
    "counts": ["seq", "system", "key", "payload", "applied", "record"],
    "runs": ["id", "name", "system", "domain", "started_us", "variance_keys", "units", "summary"],
    "exceptions": ["id", "kind", "system", "domain", "key", "route", "created_us"],
    "deliveries": ["route", "first_us", "updated_us"],
    "mismatches": ["key"],
    "edi_groups": ["partner", "functional_id", "state", "sent_us", "due_us", "updated_us"],
}
TEXT = {
    "applied",
    "key",
    "fields",
    "system",
    "payload",
    "record",
    "name",
    "domain",
    "summary",
    "kind",
    "route",
    "partner",
    "functional_id",
    "state",
}


# Log positions are handed out in the order changes arrive, but not strictly so where several
# processes write (PostgreSQL): the position bound starts this much earlier, and the times decide.
SLACK_US = 60_000_000
_STARTS_AT_SEQ = ("orders", "counts")


def first_seq_at(store: SqlStore, at_us: int) -> int:
    """The first change log position received at or after `at_us`: a binary search over the
    positions (about twenty primary-key lookups), never a scan of the log."""
    bounds = store._query("SELECT min(seq), max(seq) FROM changes")[0]
    if bounds[0] is None:
        return 0
    lo, hi = int(bounds[0]), int(bounds[1])
    nxt = "SELECT seq, received_us FROM changes WHERE seq >= ? ORDER BY seq LIMIT 1"
    while lo <= hi:
        mid = (lo + hi) // 2
        rows = store._query(nxt, [mid])
        if not rows or rows[0][0] > hi or rows[0][1] >= at_us:
            hi = mid - 1
        else:
            lo = int(rows[0][0]) + 1
    return lo


def read_kpi_tables(
    store: SqlStore, since_us: int, until_us: int, *, timings: dict[str, float] | None = None
) -> dict[str, pa.Table]:
    """Every table the KPIs need for the window [since, until), as Arrow; `timings`, when given,
    gets the seconds each read took (by table name; `bench/kpi_reads.py`)."""
    tables: dict[str, pa.Table] = {}
    first = first_seq_at(store, since_us - SLACK_US)
    with arrow_reader(store) as run:
        for name, sql in QUERIES.items():
            params = [since_us, until_us][: sql.count("?") - (name in _STARTS_AT_SEQ)]
            if name in _STARTS_AT_SEQ:
                params = [first, *params]
            started = time.perf_counter()
            table = run(sql, params)
            if timings is not None:
                timings[name] = time.perf_counter() - started
            names = COLUMNS[name]
            schema = pa.schema(
                [
                    (n, pa.string() if n in TEXT else pa.float64() if n == "units" else pa.int64())
                    for n in names
                ]
            )
            tables[name] = table.rename_columns(names).cast(schema)
    return tables
