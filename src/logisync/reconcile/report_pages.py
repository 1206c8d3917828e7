"""A run's variance report read back a page at a time (the dashboard's run detail), by kind.

The report is the Parquet (or CSV) file a run wrote, one row per key and field, in key order
(`diff.write`). A page is the rows after a position in the file (Parquet's `file_row_number`,
a CSV's line order), so paging on costs the same on the last page as on the first and a report
of a million rows is never loaded whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from .diff import OUTPUT_COLUMNS
from .errors import SnapshotError

COLUMNS = [c.strip() for c in OUTPUT_COLUMNS.split(",")]


@dataclass(slots=True)
class VariancePage:
    rows: list[dict[str, Any]]  # each with its position `n` in the file
    next_after: int | None  # the position to read on from, or None on the last page


def _source(path: Path) -> str:
    if not path.is_file():
        raise SnapshotError(
            f"the report {str(path)!r} is gone (moved or deleted): run the reconciliation again"
        )
    if path.suffix.lower() == ".parquet":
        return "SELECT file_row_number AS n, * FROM read_parquet(?, file_row_number = true)"
    if path.suffix.lower() == ".csv":
        return "SELECT row_number() OVER () AS n, * FROM read_csv(?, header = true, all_varchar = true)"
    raise SnapshotError(f"{path}: a variance report is a .csv or a .parquet file")


def read_page(path: Path, *, kind: str | None = None, after: int = -1, limit: int = 50) -> VariancePage:
    """The `limit` variances after position `after` (of one kind, when given)."""
    con = duckdb.connect(config={"memory_limit": "256MB", "threads": 1})
    try:
        sql = f"SELECT n, {OUTPUT_COLUMNS} FROM ({_source(path)}) WHERE n > ?"
        params: list[Any] = [str(path), after]
        if kind is not None:
            sql += " AND kind = ?"
            params.append(kind)
        found = con.execute(sql + " ORDER BY n LIMIT ?", [*params, limit + 1]).fetchall()
    except duckdb.Error as exc:
        raise SnapshotError(f"the report {str(path)!r} cannot be read: {exc}") from None
    finally:
        con.close()
    rows = [dict(zip(["n", *COLUMNS], r, strict=True)) for r in found[:limit]]
    return VariancePage(rows, rows[-1]["n"] if len(found) > limit else None)
