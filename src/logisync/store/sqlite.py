"""The embedded store: SQLite in WAL mode, one writer at a time, durable on commit."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from ..domain.change import now_us
from ..errors import ConfigError
from .migrate import pending
from .sql import SqlStore

# The PRAGMAs every connection gets. `synchronous=FULL` makes an acknowledged change survive
# a power cut, not only a process crash; `?synchronous=normal` in the URL trades that away.
PRAGMAS = {
    "journal_mode": "wal",
    "synchronous": "full",
    "cache_size": "-65536",  # KiB: 64 MiB of page cache
    "temp_store": "memory",
    "busy_timeout": "10000",
    "foreign_keys": "off",
}


def parse_sqlite_url(url: str) -> tuple[str, dict[str, str]]:
    """`sqlite:///relative.db`, `sqlite:////abs.db`, `sqlite:///:memory:` -> (path, pragmas)."""
    parts = urlsplit(url)
    if parts.scheme != "sqlite":
        raise ConfigError(f"not a SQLite URL: {url!r}")
    path = parts.path[1:] if parts.path.startswith("/") else parts.path
    if not path:
        raise ConfigError(f"the SQLite URL {url!r} names no file (write sqlite:///logisync.db)")
    pragmas = dict(PRAGMAS)
    for name, values in parse_qs(parts.query).items():
        if name not in PRAGMAS:
            raise ConfigError(f"unknown SQLite setting {name!r} in {url!r} (known: {', '.join(PRAGMAS)})")
        pragmas[name] = values[-1]
    return path, pragmas


def connect(path: str, pragmas: dict[str, str]) -> sqlite3.Connection:
    if path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    for name, value in pragmas.items():
        conn.execute(f"PRAGMA {name} = {value}")
    return conn


class SqliteStore(SqlStore):
    dialect = "sqlite"

    def __init__(self, url: str) -> None:
        path, self.pragmas = parse_sqlite_url(url)
        super().__init__(connect(path, self.pragmas))
        self.url = url
        self.path = path
        self._seq = 0

    def _begin_write(self, cur: Any) -> None:
        cur.execute("BEGIN IMMEDIATE")
        self._seq = 0

    def _next_seqs(self, cur: Any, n: int) -> list[int]:
        if not self._seq:
            cur.execute("SELECT max(seq) FROM changes")  # bare max(): SQLite reads it off the b-tree
            self._seq = cur.fetchone()[0] or 0
        start = self._seq + 1
        self._seq += n
        return list(range(start, start + n))

    def migrate(self) -> list[str]:
        """Apply pending migrations, each in its own write transaction.

        The applied versions are read under the write lock, so two processes opening a new file
        at once do not both run the same migration.
        """
        with self.lock:
            self.conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations "
                "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_us INTEGER NOT NULL)"
            )
            done: list[str] = []
            while True:
                self.conn.execute("BEGIN IMMEDIATE")
                try:
                    applied = {row[0] for row in self.conn.execute("SELECT version FROM schema_migrations")}
                    todo = pending("sqlite", applied)
                    if not todo:
                        self.conn.execute("COMMIT")
                        return done
                    m = todo[0]
                    for statement in split_statements(m.sql):
                        self.conn.execute(statement)
                    self.conn.execute(
                        "INSERT INTO schema_migrations VALUES (?, ?, ?)", (m.version, m.name, now_us())
                    )
                    self.conn.execute("COMMIT")
                except BaseException:
                    if self.conn.in_transaction:
                        self.conn.execute("ROLLBACK")
                    raise
                done.append(f"{m.version:04d}_{m.name}")


def split_statements(script: str) -> list[str]:
    """A script's statements, split where SQLite's own tokenizer says one is complete.

    (Python's `executescript` would do the splitting but commits first, outside our lock.)
    """
    statements: list[str] = []
    current = ""
    for piece in script.split(";"):
        current += piece + ";"
        if sqlite3.complete_statement(current):
            if current.strip(" \n\t;"):
                statements.append(current)
            current = ""
    if current.strip(" \n\t;"):
        statements.append(current)
    return statements
