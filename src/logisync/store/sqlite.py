"""The embedded store: SQLite in WAL mode, one writer at a time, durable on commit."""

from __future__ import annotations

import sqlite3
import threading
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
# What a URL may set each PRAGMA to (any letter case): a word from the list, or an integer (None).
# The value is pasted into `PRAGMA name = value`, so nothing else may get through.
#   synchronous  full (the default): a committed change survives a power cut; extra: as full
#                here (it adds a sync only rollback journals need); normal: a committed change
#                survives the process crashing, but a power cut or an OS crash may lose the last
#                ones acknowledged (the file is not corrupted: WAL stays consistent).
#   journal_mode only wal: the store's concurrency (readers beside one writer) depends on it.
ALLOWED: dict[str, tuple[str, ...] | None] = {
    "journal_mode": ("wal",),
    "synchronous": ("normal", "full", "extra"),
    "cache_size": None,  # pages, or KiB when negative
    "temp_store": ("default", "file", "memory"),
    "busy_timeout": None,  # milliseconds
    "foreign_keys": ("on", "off"),
}
_INT64 = range(-(2**63), 2**63)


def check_pragma(name: str, value: str) -> str:
    """`value` as it is safe to write in `PRAGMA name = value`, or a ConfigError saying what is allowed."""
    if name not in ALLOWED:
        raise ConfigError(f"unknown SQLite setting {name!r} (known: {', '.join(ALLOWED)})")
    allowed = ALLOWED[name]
    text = value.strip().lower()
    if allowed is None:
        digits = text.removeprefix("-")
        if digits.isascii() and digits.isdigit() and int(text) in _INT64:
            return str(int(text))
        raise ConfigError(f"SQLite setting {name}={value!r} is not allowed (allowed: an integer)")
    if text in allowed:
        return text
    raise ConfigError(f"SQLite setting {name}={value!r} is not allowed (allowed: {', '.join(allowed)})")


def parse_sqlite_url(url: str) -> tuple[str, dict[str, str]]:
    """`sqlite:///relative.db`, `sqlite:////abs.db`, `sqlite:///:memory:` -> (path, pragmas).

    `?synchronous=normal` and the like change a PRAGMA, to one of the values in `ALLOWED`."""
    parts = urlsplit(url)
    if parts.scheme != "sqlite":
        raise ConfigError(f"not a SQLite URL: {url!r}")
    path = parts.path[1:] if parts.path.startswith("/") else parts.path
    if not path:
        raise ConfigError(f"the SQLite URL {url!r} names no file (write sqlite:///logisync.db)")
    pragmas = dict(PRAGMAS)
    for name, values in parse_qs(parts.query, keep_blank_values=True).items():
        if name not in PRAGMAS:
            raise ConfigError(f"unknown SQLite setting {name!r} in {url!r} (known: {', '.join(PRAGMAS)})")
        pragmas[name] = check_pragma(name, values[-1])
    return path, pragmas


def connect(path: str, pragmas: dict[str, str]) -> sqlite3.Connection:
    checked = {name: check_pragma(name, value) for name, value in pragmas.items()}
    if path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    for name, value in checked.items():
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
        # WAL lets readers run beside the writer: API reads need not wait for a commit's fsync.
        self.reader = self.conn if path == ":memory:" else connect(path, self.pragmas)
        if self.reader is not self.conn:
            self.read_lock = threading.RLock()

    def _read_cursor(self) -> Any:
        return self.reader.cursor()

    def close(self) -> None:
        with self.read_lock:
            if self.reader is not self.conn:
                self.reader.close()
        super().close()

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
