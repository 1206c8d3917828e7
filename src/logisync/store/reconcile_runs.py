"""Reconciliation runs in the store: started, finished, listed (the drift across runs)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from .sql import SqlStore

_COLUMNS = (
    "id, name, system, domain, source, started_us, finished_us, snapshot_us, state, error, hub_keys, "
    "system_keys, variance_keys, explained_keys, variances, units, value, summary, report, corrections"
)


@dataclass(slots=True)
class RunRow:
    """One reconciliation run as the store keeps it (`summary`, `corrections`: JSON data)."""

    id: int
    name: str
    system: str
    domain: str
    source: str
    started_us: int
    finished_us: int
    snapshot_us: int
    state: str  # running, done, failed
    error: str | None
    hub_keys: int
    system_keys: int
    variance_keys: int
    explained_keys: int
    variances: int
    units: float
    value: float | None
    summary: dict[str, Any] | None
    report: str | None
    corrections: dict[str, Any] | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def start_run(store: SqlStore, name: str, system: str, domain: str, source: str, at_us: int) -> int:
    """A new run in state `running`; its id is what corrections name as their provenance."""
    with store.write() as tx:
        tx.cur.execute(
            store._sql(
                "INSERT INTO reconcile_runs (name, system, domain, source, started_us, finished_us, snapshot_us, "
                "state) VALUES (?, ?, ?, ?, ?, ?, ?, 'running') RETURNING id"
            ),
            (name, system, domain, source, at_us, at_us, at_us),
        )
        return int(tx.cur.fetchone()[0])


def finish_run(store: SqlStore, run_id: int, at_us: int, **values: Any) -> None:
    """Set a run's results: any of the columns above (state, counts, summary, report, ...)."""
    allowed = set(_COLUMNS.split(", ")) - {"id", "name", "system", "domain", "started_us"}
    unknown = set(values) - allowed
    if unknown:
        raise ValueError(f"not a column of a run: {sorted(unknown)}")
    values = {
        k: orjson.dumps(v).decode() if k in ("summary", "corrections") and v is not None else v
        for k, v in values.items()
    }
    names = ["finished_us", *values]
    with store.write() as tx:
        tx.cur.execute(
            store._sql(f"UPDATE reconcile_runs SET {', '.join(f'{n} = ?' for n in names)} WHERE id = ?"),
            (at_us, *values.values(), run_id),
        )


def list_runs(
    store: SqlStore,
    *,
    name: str | None = None,
    limit: int = 20,
    before_id: int | None = None,
    after_id: int | None = None,
) -> list[RunRow]:
    """The newest runs first (of one reconciliation, when named), older than `before_id` if given,
    or the `limit` just newer than `after_id` (going back a page; still newest first)."""
    sql = f"SELECT {_COLUMNS} FROM reconcile_runs WHERE 1 = 1"
    params: list[Any] = []
    if name is not None:
        sql += " AND name = ?"
        params.append(name)
    if before_id is not None:
        sql += " AND id < ?"
        params.append(before_id)
    if after_id is not None:
        sql += " AND id > ?"
        params.append(after_id)
        rows = store._query(sql + " ORDER BY id LIMIT ?", [*params, limit])
        return [_row(r) for r in reversed(rows)]
    rows = store._query(sql + " ORDER BY id DESC LIMIT ?", [*params, limit])
    return [_row(r) for r in rows]


def run_names(store: SqlStore) -> list[str]:
    """The reconciliations that have run at least once, by name."""
    return [r[0] for r in store._query("SELECT DISTINCT name FROM reconcile_runs ORDER BY name")]


def get_run(store: SqlStore, run_id: int) -> RunRow | None:
    rows = store._query(f"SELECT {_COLUMNS} FROM reconcile_runs WHERE id = ?", [run_id])
    return _row(rows[0]) if rows else None


def _row(r: Any) -> RunRow:
    values = list(r)
    values[17] = orjson.loads(values[17]) if values[17] else None
    values[19] = orjson.loads(values[19]) if values[19] else None
    return RunRow(*values)


def enqueue_corrections(
    store: SqlStore,
    route: str,
    domain: str,
    keys: Sequence[str],
    origin: str,
    at_us: int,
    *,
    coalescing: bool,
) -> dict[str, int]:
    """Queue each key's golden record on `route` again, as the dispatcher sends any delivery, with
    `origin` naming the run. Keys the hub has no record of are left out. Returns key -> outbox id."""
    queued: dict[str, int] = {}
    with store.write() as tx:
        for i in range(0, len(keys), 500):
            chunk = list(keys[i : i + 500])
            sql, params = store._in(
                "SELECT key, last_seq FROM records WHERE domain = ? AND key IN ({in})", [domain], chunk
            )
            for key, last_seq in store._fetch(tx.cur, sql, params):
                tx.cur.execute(
                    store._sql(
                        "INSERT INTO outbox (route, domain, key, change_seq, coalescing, state, attempts, "
                        "next_attempt_us, first_us, updated_us, origin) "
                        "VALUES (?, ?, ?, ?, ?, 'pending', 0, ?, ?, ?, ?) RETURNING id"
                    ),
                    (route, domain, key, last_seq or 0, int(coalescing), at_us, at_us, at_us, origin),
                )
                queued[key] = int(tx.cur.fetchone()[0])
    return queued
