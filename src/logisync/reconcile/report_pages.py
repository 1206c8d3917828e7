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
    prev_before: int | None = None  # the position to read back from (the previous page), or None on the first


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


def read_page(
    path: Path, *, kind: str | None = None, after: int = -1, before: int | None = None, limit: int = 50
) -> VariancePage:
    """The `limit` variances after position `after` (of one kind, when given), or with `before`
    the `limit` just before that position (going back a page)."""
    con = duckdb.connect(config={"memory_limit": "256MB", "threads": 1})
    source = _source(path)

    def read(op: str, at: int, order: str, n: int) -> list[Any]:
        sql = f"SELECT n, {OUTPUT_COLUMNS} FROM ({source}) WHERE n {op} ?"
        params: list[Any] = [str(path), at]
        if kind is not None:
            sql += " AND kind = ?"
            params.append(kind)
        return con.execute(f"{sql} ORDER BY n {order} LIMIT ?", [*params, n]).fetchall()

    try:
        if before is not None:
            back = read("<", before, "DESC", limit + 1)
            found = back[:limit][::-1]
            earlier = len(back) > limit
            later = bool(found) and bool(read(">", found[-1][0], "", 1))
        else:
            ahead = read(">", after, "", limit + 1)
            found = ahead[:limit]
            later = len(ahead) > limit
            earlier = after >= 0 and bool(found) and bool(read("<", found[0][0], "DESC", 1))
    except duckdb.Error as exc:
        raise SnapshotError(f"the report {str(path)!r} cannot be read: {exc}") from None
    finally:
        con.close()
    rows = [dict(zip(["n", *COLUMNS], r, strict=True)) for r in found]
    return VariancePage(
        rows, rows[-1]["n"] if later and rows else None, rows[0]["n"] if earlier and rows else None
    )
