"""The golden side of a reconciliation, read as Arrow columns: records, keys in flight, prices.

A million records through a Python cursor takes seconds; PostgreSQL's ADBC driver (binary COPY)
hands the same rows over as Arrow columns in a fraction of that. All the reads of one
reconciliation run on one connection, in one read transaction, so they see one moment of the
store.

A SQLite store is read through Python's `sqlite3`, the library the store itself runs on, never
through the SQLite ADBC driver: that driver links a second copy of SQLite into the process, and two
copies in one process do not see each other's locks (https://www.sqlite.org/howtocorrupt.html,
2.2.1). Closing its connection checkpointed the WAL and deleted the `-wal` and `-shm` files under
the store's open connections, and opening one could truncate the `-shm` they had mapped: the
process died of SIGBUS (`logisync serve` or the demo, while someone read the KPIs). An in-memory
store (tests) is read through its own cursor.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pyarrow as pa

if TYPE_CHECKING:
    from .sql import SqlStore

_RECORDS = "SELECT key, fields FROM records WHERE domain = ?"
# a delivery that will carry the golden value, or carried it after the snapshot was taken
_EXPLAINING = (
    "SELECT DISTINCT key FROM outbox WHERE domain = ? AND route IN ({in}) AND "
    "(state IN ('pending', 'in_flight') OR (state = 'delivered' AND updated_us >= ?))"
)
_PRICES = "SELECT key, fields FROM records WHERE domain = 'product' AND fields LIKE '%\"price\"%'"


@dataclass(slots=True)
class GoldenSide:
    """What the store says: the records (`key`, `fields` as JSON text), the keys explained by
    deliveries in flight on the named routes, and the products' prices (`sku`, `price`)."""

    records: pa.Table
    explained: pa.Table
    prices: pa.Table


def read_golden(
    store: SqlStore, domain: str, routes: Sequence[str], since_us: int, *, prices: bool = True
) -> GoldenSide:
    """The golden side of a reconciliation of `domain`, in one read transaction. The fields stay
    JSON text: DuckDB takes them apart faster (on every core) than the store would."""
    with arrow_reader(store) as run:
        records = run(_RECORDS, [domain])
        if routes:
            placeholders = ", ".join("?" * len(routes))
            explained = run(_EXPLAINING.replace("{in}", placeholders), [domain, *routes, since_us])
        else:
            explained = pa.table({"key": pa.array([], pa.string())})
        price_rows = run(_PRICES, []) if prices else None
    names = ["key", "fields"]
    records = records.rename_columns(names).cast(pa.schema([(n, pa.string()) for n in names]))
    explained = explained.rename_columns(["key"]).cast(pa.schema([("key", pa.string())]))
    return GoldenSide(records, explained, _prices(price_rows))


def _prices(rows: pa.Table | None) -> pa.Table:
    import orjson

    skus: list[str] = []
    values: list[float] = []
    if rows is not None and rows.num_rows:
        for sku, fields in zip(rows.column(0).to_pylist(), rows.column(1).to_pylist(), strict=True):
            price = orjson.loads(fields).get("price")  # a Decimal is kept as a string: "2.50"
            if isinstance(price, bool) or not isinstance(price, int | float | str):
                continue
            try:
                values.append(float(price))
            except ValueError:
                continue
            skus.append(sku)
    return pa.table({"sku": pa.array(skus, pa.string()), "price": pa.array(values, pa.float64())})


@contextmanager
def arrow_reader(store: SqlStore) -> Iterator[Any]:
    """A function that runs a query (`?` placeholders) and returns an Arrow table, all inside
    one read transaction."""
    if store.dialect == "postgres":
        import adbc_driver_postgresql.dbapi as pg_adbc

        with pg_adbc.connect(store.url) as conn, conn.cursor() as cur:
            cur.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")

            def run_pg(sql: str, params: list[Any]) -> pa.Table:
                cur.execute(_numbered(sql), params or None)
                return cur.fetch_arrow_table()

            try:
                yield run_pg
            finally:
                cur.execute("ROLLBACK")
        return
    path = getattr(store, "path", ":memory:")
    if path == ":memory:":
        yield lambda sql, params: _cursor_table(store, sql, params)
        return
    from .sqlite import connect

    conn = connect(str(path), getattr(store, "pragmas", {}))  # the store's SQLite (module docstring)
    try:
        conn.execute("BEGIN")  # one read transaction: one snapshot of the WAL

        def run_sqlite(sql: str, params: list[Any]) -> pa.Table:
            cur = conn.execute(sql, params or [])
            return _rows_table(cur.fetchall(), len(cur.description))

        yield run_sqlite
    finally:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        conn.close()


def _numbered(sql: str) -> str:
    """`?` placeholders as PostgreSQL's `$1, $2, ...`."""
    parts = sql.split("?")
    return "".join(p + (f"${i + 1}" if i < len(parts) - 1 else "") for i, p in enumerate(parts))


def _cursor_table(store: SqlStore, sql: str, params: list[Any]) -> pa.Table:
    rows = store._query(sql, params)
    return _rows_table(rows, len(rows[0]) if rows else sql.split("FROM")[0].count(",") + 1)


def _rows_table(rows: Sequence[Sequence[Any]], width: int) -> pa.Table:
    """Rows as Arrow columns `c0`, `c1`, ... (types as Arrow infers them; callers cast)."""
    return pa.table({f"c{i}": pa.array([row[i] for row in rows]) for i in range(width)})
