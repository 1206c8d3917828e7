"""Versioned migrations: numbered files per dialect, run in order, once; a newer store is refused."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from logisync.errors import MigrationError
from logisync.store import migrate


@pytest.fixture
def shipped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Point the migration finder at a folder of our own; returns a function that adds a file."""
    monkeypatch.setattr(migrate, "resources", SimpleNamespace(files=lambda package: tmp_path))
    folder = tmp_path / "migrations" / "sqlite"
    folder.mkdir(parents=True)

    def add(name: str, sql: str = "SELECT 1;") -> None:
        (folder / name).write_text(sql, encoding="utf-8")

    return add


def test_migrations_run_in_version_order_whatever_the_listing_order(shipped):
    for name in ["0003_gamma.sql", "0001_alpha.sql", "0010_kappa.sql", "0002_beta.sql"]:
        shipped(name, f"-- {name}")
    for v in range(4, 10):
        shipped(f"{v:04d}_step_{v}.sql")
    found = migrate.migrations("sqlite")
    assert [m.version for m in found] == list(range(1, 11))
    assert [m.name for m in found[:3]] == ["alpha", "beta", "gamma"]
    assert found[0].sql == "-- 0001_alpha.sql"
    assert found[-1].name == "kappa"


def test_files_that_are_not_migrations_are_ignored(shipped):
    shipped("0001_core.sql")
    shipped("README.md")
    shipped("0002_Bad-Name.sql")
    shipped("2_short.sql")
    shipped("0002_draft.sql.bak")
    assert [m.name for m in migrate.migrations("sqlite")] == ["core"]


def test_a_gap_in_the_numbering_is_refused(shipped):
    shipped("0001_core.sql")
    shipped("0003_more.sql")
    with pytest.raises(MigrationError, match=r"not numbered 1..n without gaps: \[1, 3\]"):
        migrate.migrations("sqlite")


def test_pending_skips_what_was_applied(shipped):
    for name in ["0001_a.sql", "0002_b.sql", "0003_c.sql"]:
        shipped(name)
    assert [m.version for m in migrate.pending("sqlite", set())] == [1, 2, 3]
    assert [m.version for m in migrate.pending("sqlite", {1})] == [2, 3]
    assert migrate.pending("sqlite", {1, 2, 3}) == []


def test_a_store_newer_than_the_code_is_refused(shipped):
    shipped("0001_a.sql")
    shipped("0002_b.sql")
    with pytest.raises(MigrationError) as info:
        migrate.pending("sqlite", {1, 2, 3})
    assert str(info.value) == (
        "the store's schema is at version 3, newer than this logisync knows (2): "
        "upgrade logisync before using this store"
    )
    assert info.value.transient is False


def test_both_dialects_ship_the_same_schema_versions():
    sqlite = migrate.migrations("sqlite")
    postgres = migrate.migrations("postgres")
    assert sqlite
    assert [(m.version, m.name) for m in sqlite] == [(m.version, m.name) for m in postgres]
    for m in sqlite + postgres:
        assert "CREATE TABLE records" in m.sql or m.version > 1
