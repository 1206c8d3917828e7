"""The diff engine: golden records against a snapshot, per key and field, in DuckDB.

Both sides go into DuckDB as columns (the golden side as an Arrow table of `key, fields` JSON,
the snapshot as a file DuckDB reads itself or an Arrow table), are joined once (a full outer join
on the key) and every variance is one row of the `variances` table:

| kind | meaning | field |
| --- | --- | --- |
| `missing_in_system` | the hub holds the key, the snapshot does not | — |
| `missing_in_hub` | the snapshot holds a key the hub has no record of | — |
| `differs` | both hold the key and the field differs beyond its tolerance | the field |
| `unreadable` | the snapshot's value is not a number where one is compared, or its key is empty | the field (or `key`) |
| `duplicate_in_system` | the snapshot lists the key more than once (not compared) | — |

A key whose difference a delivery still in flight explains (`explained` keys: the route to the
system has a pending or in-flight delivery for it, or delivered one after the snapshot was taken)
is marked `explained` and is not a variance. Memory stays bounded: DuckDB spills past its limit.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from .errors import SnapshotError
from .rules import DiffRule, FieldRule
from .summary import KINDS, Summary, Worst

FORMATS = ("csv", "json", "ndjson")


@dataclass(slots=True)
class SnapshotInput:
    """A snapshot's rows as DuckDB reads them: a file (`csv`, `json` array, `ndjson`) or an Arrow
    table. `columns` maps canonical names (`key`, `sku`, `location`, a compared field) to the
    snapshot's own column names where they differ."""

    label: str  # named in errors: the file, the URL, the query
    path: Path | None = None
    format: str | None = None
    table: pa.Table | None = None
    columns: dict[str, str] = field(default_factory=dict)

    def relation_sql(self) -> str:
        if self.table is not None:
            return "SELECT * FROM snapshot_arrow"
        if self.path is None or self.format not in FORMATS:
            raise SnapshotError(f"{self.label}: a snapshot is a csv, json or ndjson file, or rows")
        path = _literal(str(self.path))
        if self.format == "csv":
            return f"SELECT * FROM read_csv({path}, header = true, all_varchar = true)"
        fmt = "'newline_delimited'" if self.format == "ndjson" else "'array'"
        return f"SELECT * FROM read_json({path}, format = {fmt})"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


class DiffEngine:
    """Runs one diff. `memory_limit` bounds DuckDB's own memory (it spills to disk past it)."""

    def __init__(self, rule: DiffRule, *, memory_limit: str = "512MB", threads: int | None = None) -> None:
        self.rule = rule
        self.memory_limit = memory_limit
        self.threads = threads

    def run(
        self,
        golden: pa.Table,
        snapshot: SnapshotInput,
        *,
        explained: pa.Table | None = None,
        prices: pa.Table | None = None,
    ) -> DiffResult:
        """Diff `golden` (columns `key` and `fields`, the record's JSON text, as
        `store.golden.read_golden` gives them) against the snapshot.

        `explained`: keys (column `key`) whose difference a delivery in flight accounts for;
        `prices`: `sku, price`, for the value at stake."""
        con = duckdb.connect(config={"memory_limit": self.memory_limit})
        if self.threads:
            con.execute(f"SET threads = {int(self.threads)}")
        try:
            con.register("golden_arrow", golden)
            if snapshot.table is not None:
                con.register("snapshot_arrow", snapshot.table)
            con.register("explained_arrow", explained if explained is not None else _keys_table([]))
            con.register("prices_arrow", prices if prices is not None else _prices_table())
            fields = ", ".join(
                f"json_extract_string(fields, {_literal('$.' + f.name)}) AS {_ident('q_' + f.name)}"
                for f in self.rule.fields
            )
            con.execute(f"CREATE TEMP VIEW golden AS SELECT key, {fields} FROM golden_arrow")
            self._load_snapshot(con, snapshot)
            self._candidates(con)
            self._variances(con)
            counts = self._counts(con, golden.num_rows)
        except duckdb.Error as exc:
            con.close()
            raise SnapshotError(f"{snapshot.label}: {_first_line(exc)}") from None
        except BaseException:
            con.close()
            raise
        return DiffResult(con, self.rule, counts)

    # -- the steps ----------------------------------------------------------------------------
    def _load_snapshot(self, con: duckdb.DuckDBPyConnection, snapshot: SnapshotInput) -> None:
        """`s`: the snapshot's rows in file order (its `rowid` + 1 is the row number: a window
        function would number them on one thread), key, each field's text and value; `dups`: the
        keys it lists more than once (found by hash first: grouping a million strings is slow)."""
        con.execute(f"CREATE TEMP VIEW s_raw AS {snapshot.relation_sql()}")
        present = {row[0] for row in con.execute("DESCRIBE s_raw").fetchall()}
        cols = snapshot.columns

        def column(name: str) -> str | None:
            wanted = cols.get(name, name)
            return wanted if wanted in present else None

        key_col = column("key")
        if key_col is not None:
            key_sql = f"NULLIF(trim(CAST({_ident(key_col)} AS VARCHAR)), '')"
        elif self.rule.split_key and column("sku") and column("location"):
            sku, loc = _ident(column("sku") or ""), _ident(column("location") or "")
            key_sql = (
                f"CASE WHEN NULLIF(trim(CAST({sku} AS VARCHAR)), '') IS NULL "
                f"OR NULLIF(trim(CAST({loc} AS VARCHAR)), '') IS NULL THEN NULL "
                f"ELSE trim(CAST({sku} AS VARCHAR)) || '@' || trim(CAST({loc} AS VARCHAR)) END"
            )
        else:
            wanted = cols.get("key", "key")
            alt = " (or sku and location columns)" if self.rule.split_key else ""
            raise SnapshotError(
                f"{snapshot.label}: no key column {wanted!r}{alt}; its columns are {sorted(present)}"
            )
        missing = [cols.get(f.name, f.name) for f in self.rule.fields if column(f.name) is None]
        if missing:
            raise SnapshotError(
                f"{snapshot.label}: no column {', '.join(map(repr, missing))} to compare; "
                f"its columns are {sorted(present)} (map them with `columns`)"
            )
        values = []
        for f in self.rule.fields:
            raw = f"CAST({_ident(column(f.name) or '')} AS VARCHAR)"
            values.append(f"{raw} AS {_ident('r_' + f.name)}, {_typed(raw, f)} AS {_ident('s_' + f.name)}")
        con.execute(f"CREATE TEMP TABLE s AS SELECT {key_sql} AS key, {', '.join(values)} FROM s_raw")
        con.execute(
            "CREATE TEMP TABLE dups AS WITH h AS (SELECT hash(key) AS h FROM s WHERE key IS NOT NULL "
            "GROUP BY h HAVING count(*) > 1) SELECT key, count(*) AS n FROM s "
            "WHERE key IS NOT NULL AND hash(key) IN (SELECT h FROM h) GROUP BY key HAVING count(*) > 1"
        )

    def _side(self, prefix: str, name: str) -> str:
        col = _ident(prefix + name)
        return f"coalesce({col}, 0)" if self.rule.absent_is_zero else col

    def _candidates(self, con: duckdb.DuckDBPyConnection) -> None:
        """`j`: the joined keys that may hold a variance (one side only, listed twice, or a field
        that differs or cannot be read); every key equal on both sides is dropped in the join."""
        hub_cols, conds = [], []
        for f in self.rule.fields:
            q = _ident("q_" + f.name)
            hub_cols.append(f"g.{q}, {_typed('g.' + q, f)} AS {_ident('h_' + f.name)}")
            conds.append(_unreadable(f, "s."))
            hub_value = _typed("g." + q, f)
            if f.kind == "number" and self.rule.absent_is_zero:
                hub_value = f"coalesce({hub_value}, 0)"
            sys_text = f"s.{_ident('r_' + f.name)}"
            conds.append(
                _differs(f, hub_value, self._with("s.", "s_", f), hub_text=f"g.{q}", sys_text=sys_text)
            )
        sys_cols = ", ".join(
            f"s.{_ident('r_' + f.name)}, s.{_ident('s_' + f.name)}" for f in self.rule.fields
        )
        has_dups = (con.execute("SELECT count(*) FROM dups").fetchone() or (0,))[0] > 0
        dup_sql = "s.key IN (SELECT key FROM dups)" if has_dups else "false"
        con.execute(
            "CREATE TEMP TABLE j AS SELECT coalesce(g.key, s.key) AS key, g.key IS NOT NULL AS in_hub, "
            f"s.key IS NOT NULL AS in_system, {dup_sql} AS dup, s._row, {', '.join(hub_cols)}, {sys_cols} "
            "FROM golden g FULL OUTER JOIN (SELECT rowid + 1 AS _row, * FROM s WHERE key IS NOT NULL) s ON g.key = s.key "
            f"WHERE g.key IS NULL OR s.key IS NULL OR {dup_sql} OR {' OR '.join(f'({c})' for c in conds)}"
        )
        con.execute(
            "CREATE TEMP TABLE jx AS SELECT j.*, key IN (SELECT key FROM explained_arrow) AS explained FROM j"
        )

    def _with(self, alias: str, prefix: str, f: FieldRule) -> str:
        col = alias + _ident(prefix + f.name)
        if f.kind == "number" and self.rule.absent_is_zero:
            return f"coalesce({col}, 0)"
        return col

    def _variances(self, con: duckdb.DuckDBPyConnection) -> None:
        rule = self.rule
        numbers = [f for f in rule.fields if f.kind == "number"]
        u = rule.units_field
        zero = rule.absent_is_zero

        def h(name: str) -> str:
            return self._side("h_", name)

        def s(name: str) -> str:
            return self._side("s_", name)

        parts = []
        # a key only one side holds; with absent_is_zero, only when one of its numbers is not 0
        hub_nonzero = " OR ".join(f"{h(f.name)} <> 0" for f in numbers) if zero and numbers else "true"
        sys_nonzero = (
            " OR ".join([*(f"{s(f.name)} <> 0" for f in numbers), *(_unreadable(f, "") for f in numbers)])
            if zero and numbers
            else "true"
        )
        hub_units = f"abs({h(u)})" if u else "0"
        sys_units = f"abs({s(u)})" if u else "0"
        hub_text = _ident("q_" + u) if u else "NULL"
        sys_text = _ident("r_" + u) if u else "NULL"
        parts.append(
            f"SELECT key, 'missing_in_system' AS kind, NULL AS field, {hub_text} AS hub, NULL AS system, "
            f"-({h(u) if u else '0'}) AS delta, {hub_units} AS units, explained, _row FROM jx "
            f"WHERE in_hub AND NOT in_system AND ({hub_nonzero})"
        )
        parts.append(
            f"SELECT key, 'missing_in_hub', NULL, NULL, {sys_text}, {s(u) if u else '0'}, {sys_units}, "
            f"explained, _row FROM jx WHERE in_system AND NOT in_hub AND NOT dup AND ({sys_nonzero})"
        )
        parts.append(
            "SELECT key, 'duplicate_in_system', NULL, NULL, CAST(n AS VARCHAR), 0, 0, "
            "key IN (SELECT key FROM explained_arrow), (SELECT min(rowid) + 1 FROM s WHERE s.key = dups.key) FROM dups"
        )
        for f in rule.fields:
            q, r = _ident("q_" + f.name), _ident("r_" + f.name)
            bad = _unreadable(f, "")
            units = f"abs({s(f.name)} - {h(f.name)})" if f.name == u else "0"
            delta = f"{s(f.name)} - {h(f.name)}" if f.kind == "number" else "NULL"
            differs = _differs(f, self._with("", "h_", f), self._with("", "s_", f), hub_text=q, sys_text=r)
            parts.append(
                f"SELECT key, CASE WHEN {bad} THEN 'unreadable' ELSE 'differs' END, "
                f"{_literal(f.name)}, {q}, {r}, CASE WHEN {bad} THEN NULL ELSE {delta} END, "
                f"CASE WHEN {bad} THEN 0 ELSE {units} END, explained, _row "
                f"FROM jx WHERE in_hub AND in_system AND NOT dup AND ({bad} OR {differs})"
            )
        parts.append(
            "SELECT NULL, 'unreadable', 'key', NULL, NULL, NULL, 0, false, rowid + 1 FROM s WHERE key IS NULL"
        )
        sku = "split_part(v.key, '@', 1)" if rule.split_key else "NULL"
        loc = "NULLIF(split_part(v.key, '@', 2), '')" if rule.split_key else "NULL"
        con.execute(
            f"CREATE TABLE variances AS SELECT v.key, {sku} AS sku, {loc} AS location, v.kind, v.field, "
            "v.hub, v.system, CAST(v.delta AS DOUBLE) AS delta, CAST(v.units AS DOUBLE) AS units, "
            "CAST(v.units AS DOUBLE) * p.price AS value, v.explained, v._row AS snapshot_row "
            f"FROM ({' UNION ALL '.join(parts)}) v LEFT JOIN prices_arrow p ON p.sku = {sku}"
        )

    def _counts(self, con: duckdb.DuckDBPyConnection, hub_keys: int) -> tuple[int, int, int, float]:
        """(hub keys, system keys, keys both hold, units the hub holds), from the candidates, the
        snapshot's size and the golden side."""
        only_hub, only_system = con.execute(
            "SELECT count(*) FILTER (WHERE in_hub AND NOT in_system), "
            "count(DISTINCT key) FILTER (WHERE in_system AND NOT in_hub) FROM j"
        ).fetchone() or (0, 0)
        listed, extra = con.execute(
            "SELECT (SELECT count(*) FROM s WHERE key IS NOT NULL), (SELECT coalesce(sum(n - 1), 0) FROM dups)"
        ).fetchone() or (0, 0)
        system_keys = int(listed) - int(extra)
        matched = hub_keys - int(only_hub)
        assert matched == system_keys - int(only_system), "the key counts of a diff do not add up"
        units = 0.0
        if self.rule.units_field:
            q = _ident("q_" + self.rule.units_field)
            row = con.execute(f"SELECT coalesce(sum(abs(TRY_CAST({q} AS DOUBLE))), 0) FROM golden").fetchone()
            units = float(row[0]) if row else 0.0
        return hub_keys, system_keys, matched, units


def _unreadable(f: FieldRule, alias: str) -> str:
    """A number the snapshot gives that does not read as one."""
    if f.kind != "number":
        return "false"
    r, v = alias + _ident("r_" + f.name), alias + _ident("s_" + f.name)
    return f"({r} IS NOT NULL AND trim({r}) <> '' AND {v} IS NULL)"


def _typed(raw: str, f: FieldRule) -> str:
    return f"TRY_CAST({raw} AS DOUBLE)" if f.kind == "number" else raw


def _differs(f: FieldRule, hv: str, sv: str, *, hub_text: str, sys_text: str) -> str:
    """The SQL condition under which a field differs beyond its tolerance."""
    if f.kind == "text":
        return f"{hub_text} IS DISTINCT FROM {sys_text}"
    bound = f"greatest({float(f.tolerance)!r}, {float(f.tolerance_pct) / 100!r} * abs({hv}))"
    return f"(({hv}) IS NULL) <> (({sv}) IS NULL) OR abs({sv} - {hv}) > {bound}"


def _keys_table(keys: list[str]) -> pa.Table:
    return pa.table({"key": pa.array(keys, pa.string())})


def _prices_table() -> pa.Table:
    return pa.table({"sku": pa.array([], pa.string()), "price": pa.array([], pa.float64())})


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__


OUTPUT_COLUMNS = "key, sku, location, kind, field, hub, system, delta, units, value, snapshot_row"


class DiffResult:
    """The variances of one diff, held in DuckDB until `close`."""

    def __init__(
        self, con: duckdb.DuckDBPyConnection, rule: DiffRule, counts: tuple[int, int, int, float]
    ) -> None:
        self.con = con
        self.rule = rule
        self.counts = counts

    def __enter__(self) -> DiffResult:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self.con.close()

    def summary(self, worst: int = 10) -> Summary:
        con = self.con
        hub_keys, system_keys, matched, hub_units = self.counts
        by_kind = dict.fromkeys(KINDS, 0)
        for kind, n in con.execute(
            "SELECT kind, count(*) FROM variances WHERE NOT explained GROUP BY kind"
        ).fetchall():
            by_kind[kind] = int(n)
        keys, units, value, priced = con.execute(
            "SELECT count(DISTINCT key), coalesce(sum(units), 0), sum(value), count(value) "
            "FROM variances WHERE NOT explained"
        ).fetchone() or (0, 0, None, 0)
        explained = con.execute("SELECT count(DISTINCT key) FROM variances WHERE explained").fetchone()
        summary = Summary(
            hub_keys=int(hub_keys),
            system_keys=int(system_keys),
            matched_keys=int(matched),
            variance_keys=int(keys),
            explained_keys=int(explained[0]) if explained else 0,
            by_kind=by_kind,
            units=float(units),
            value=float(value) if priced else None,
            hub_units=hub_units,
        )
        if self.rule.split_key:
            summary.worst_skus = self._worst("sku", worst)
            summary.worst_locations = self._worst("location", worst)
        return summary

    def _worst(self, column: str, n: int) -> list[Worst]:
        rows = self.con.execute(
            f"SELECT {column}, count(*), sum(units), CASE WHEN count(value) > 0 THEN sum(value) END "
            f"FROM variances WHERE NOT explained AND {column} IS NOT NULL GROUP BY {column} "
            f"ORDER BY sum(units) DESC, count(*) DESC, {column} LIMIT ?",
            [n],
        ).fetchall()
        return [Worst(str(name), int(c), float(u), None if v is None else float(v)) for name, c, u, v in rows]

    def rows(self, limit: int | None = None) -> list[dict[str, Any]]:
        """The variances (not the explained differences), in key then field order."""
        sql = f"SELECT {OUTPUT_COLUMNS} FROM variances WHERE NOT explained ORDER BY key NULLS FIRST, field NULLS FIRST, snapshot_row"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        cur = self.con.execute(sql)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def explained_keys(self) -> list[str]:
        return [
            r[0]
            for r in self.con.execute(
                "SELECT DISTINCT key FROM variances WHERE explained ORDER BY key"
            ).fetchall()
        ]

    def write(self, path: Path) -> int:
        """Every variance to a `.csv` or `.parquet` file; returns how many rows were written."""
        suffix = path.suffix.lower()
        if suffix not in (".csv", ".parquet"):
            raise SnapshotError(f"{path}: a variance report is a .csv or a .parquet file")
        options = "FORMAT parquet" if suffix == ".parquet" else "FORMAT csv, HEADER true"
        path.parent.mkdir(parents=True, exist_ok=True)
        self.con.execute(
            f"COPY (SELECT {OUTPUT_COLUMNS} FROM variances WHERE NOT explained "
            f"ORDER BY key NULLS FIRST, field NULLS FIRST) TO {_literal(str(path))} ({options})"
        )
        row = self.con.execute("SELECT count(*) FROM variances WHERE NOT explained").fetchone()
        return int(row[0]) if row else 0
