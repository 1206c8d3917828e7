"""Opening what a command works on: the sync map, and the store it (or `--store`) names."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg

from ..config import SyncMap, load_syncmap
from ..errors import LogisyncError
from ..redact import redact_url
from ..store import Store, open_store
from ..store.sqlite import parse_sqlite_url
from .output import fail


def syncmap_or_exit(config: Path) -> SyncMap:
    """The sync map, or every problem in it (red, exit 2)."""
    try:
        return load_syncmap(config)
    except LogisyncError as exc:
        raise fail(str(exc)) from None


def store_url(config: Path, store: str | None) -> str:
    """`--store` when given (the sync map is then not needed), else the sync map's `store`."""
    return store if store else syncmap_or_exit(config).store


@contextmanager
def opened(url: str, *, must_exist: bool = False) -> Iterator[Store]:
    """The store at `url`, closed afterwards; store faults become a message and exit 2.

    With `must_exist`, a SQLite file that is not there is an error rather than a new empty
    store: a read command pointed at the wrong path should say so.
    """
    try:
        if must_exist and url.startswith("sqlite:"):
            path, _ = parse_sqlite_url(url)
            if path != ":memory:" and not Path(path).exists():
                raise fail(
                    f"no store at {redact_url(url)} (nothing has been ingested there; check --store or `store:`)"
                )
        store = open_store(url)
    except LogisyncError as exc:  # a refused URL may be quoted whole: password and all
        raise fail(str(exc).replace(url, redact_url(url))) from None
    except (sqlite3.Error, psycopg.Error) as exc:
        raise fail(f"cannot open the store {redact_url(url)}: {exc}") from None
    try:
        yield store
    except LogisyncError as exc:
        raise fail(str(exc)) from None
    except (sqlite3.Error, psycopg.Error) as exc:
        raise fail(f"store error: {exc}") from None
    finally:
        store.close()


def is_store_fault(exc: BaseException) -> bool:
    """A fault to report in a sentence (the store, the database); anything else is a bug to show."""
    return isinstance(exc, LogisyncError | sqlite3.Error | psycopg.Error)
