"""Stores: the Store protocol, SQLite (embedded default) and PostgreSQL, with migrations."""

from __future__ import annotations

from ..errors import ConfigError
from .base import Store


def open_store(url: str, *, migrate: bool = True) -> Store:
    """Open the store a URL names (`sqlite:///file.db` or `postgresql://...`), migrated by default."""
    store: Store
    if url.startswith("sqlite:"):
        from .sqlite import SqliteStore

        store = SqliteStore(url)
    elif url.startswith(("postgresql:", "postgres:")):
        from .postgres import PostgresStore

        store = PostgresStore(url)
    else:
        raise ConfigError(f"unknown store URL {url!r}: use sqlite:///FILE.db or postgresql://USER@HOST/DB")
    if migrate:
        try:
            store.migrate()
        except BaseException:
            store.close()  # a refused store must not leak its connection
            raise
    return store


__all__ = ["Store", "open_store"]
