"""A run's variance report read back a page at a time, by kind, from Parquet and CSV alike."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from logisync.reconcile.errors import SnapshotError
from logisync.reconcile.report_pages import read_page


def report(path: Path, n: int) -> Path:
    """`n` rows in key order, every third one `missing_in_system`, written as `diff.write` does."""
    options = "FORMAT parquet" if path.suffix == ".parquet" else "FORMAT csv, HEADER true"
    duckdb.execute(
        "COPY (SELECT printf('SKU-%03d@DC1', i) AS key, printf('SKU-%03d', i) AS sku, 'DC1' AS location, "
        "CASE WHEN i % 3 = 0 THEN 'missing_in_system' ELSE 'differs' END AS kind, 'on_hand' AS field, "
        "'10' AS hub, '12' AS system, 2.0 AS delta, 2.0 AS units, NULL::DOUBLE AS value, i + 2 AS snapshot_row "
        f"FROM range({n}) t(i) ORDER BY key) TO '{path}' ({options})"
    )
    return path


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
def test_pages_follow_each_other_to_the_end_without_a_row_twice(tmp_path, suffix):
    path = report(tmp_path / f"run-1{suffix}", 120)
    keys, after = [], -1
    while True:
        page = read_page(path, after=after, limit=50)
        keys += [r["key"] for r in page.rows]
        if page.next_after is None:
            break
        after = page.next_after
    assert keys == [f"SKU-{i:03d}@DC1" for i in range(120)]
    missing = read_page(path, kind="missing_in_system", limit=50)
    assert [r["key"] for r in missing.rows][:3] == ["SKU-000@DC1", "SKU-003@DC1", "SKU-006@DC1"]
    assert len(missing.rows) == 40 and missing.next_after is None


def test_a_report_that_is_gone_or_not_a_report_says_so(tmp_path):
    with pytest.raises(SnapshotError, match="is gone"):
        read_page(tmp_path / "nope.parquet")
    other = tmp_path / "run.json"
    other.write_text("{}")
    with pytest.raises(SnapshotError, match=r"\.csv or a \.parquet"):
        read_page(other)
    broken = tmp_path / "run.parquet"
    broken.write_text("not parquet")
    with pytest.raises(SnapshotError, match="cannot be read"):
        read_page(broken)


@pytest.mark.parametrize("suffix", [".parquet", ".csv"])
@pytest.mark.parametrize("kind, limit", [(None, 50), (None, 7), ("missing_in_system", 9), ("differs", 50)])
def test_going_back_a_page_at_a_time_reads_the_same_pages_as_going_forward(tmp_path, suffix, kind, limit):
    path = report(tmp_path / f"run-1{suffix}", 120)
    forward = [read_page(path, kind=kind, limit=limit)]
    while forward[-1].next_after is not None:
        forward.append(read_page(path, kind=kind, after=forward[-1].next_after, limit=limit))
    assert forward[0].prev_before is None and all(p.prev_before is not None for p in forward[1:])
    page = forward[-1]
    for expected in reversed(forward[:-1]):
        assert page.prev_before is not None
        page = read_page(path, kind=kind, before=page.prev_before, limit=limit)
        assert page.rows == expected.rows and page.next_after == expected.next_after
    assert page.prev_before is None
