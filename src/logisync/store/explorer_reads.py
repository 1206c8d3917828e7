"""What the records explorer reads: records of a domain by key prefix, a page at a time (on the primary key)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..domain.record import RecordState
from .sql import loads

if TYPE_CHECKING:
    from .sql import SqlStore

_PAGE = (
    "SELECT key, fields, prov, revision, updated_us, last_seq FROM records "
    "WHERE domain = ? AND key >= ? AND key < ? AND key > ? ORDER BY key LIMIT ?"
)

_BEFORE = (
    "SELECT key, fields, prov, revision, updated_us, last_seq FROM records "
    "WHERE domain = ? AND key >= ? AND key < ? AND key < ? ORDER BY key DESC LIMIT ?"
)


def records_page(
    store: SqlStore, domain: str, prefix: str, *, after: str = "", limit: int = 50
) -> list[RecordState]:
    """Records of `domain` whose key starts with `prefix`, in key order, from after key `after`.

    A range on the primary key (domain, key): one index seek, `limit` rows read, whatever the size
    of the table.
    """
    rows = store._query(_PAGE, (domain, prefix, prefix_end(prefix), after, limit))
    return [
        RecordState(domain, key, loads(fields), loads(prov), revision, updated, True, last)
        for key, fields, prov, revision, updated, last in rows
    ]


def records_before(
    store: SqlStore, domain: str, prefix: str, *, before: str, limit: int = 50
) -> list[RecordState]:
    """Records of `domain` whose key starts with `prefix` and sorts before `before`, nearest
    first (the previous page, read backwards on the same primary-key range)."""
    rows = store._query(_BEFORE, (domain, prefix, prefix_end(prefix), before, limit))
    return [
        RecordState(domain, key, loads(fields), loads(prov), revision, updated, True, last)
        for key, fields, prov, revision, updated, last in rows
    ]


def prefix_end(prefix: str) -> str:
    """The smallest string above every string that starts with `prefix`."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1) if prefix else "\U0010ffff"
