"""Cross-reference tables in the store: look up, learn and load (system, kind, external id) -> key.

The ingest transaction learns pairs through its `WriteTx` (`learn_xref`), which calls the
functions here on its cursor; `XrefTable` loads a file's pairs, lists them, and looks ids up both
ways on the reading connection (the pipeline translates before its transaction, the dispatchers
translate back for a target that names things by its own ids).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..domain.change import now_us

if TYPE_CHECKING:
    from .sql import SqlStore

CHUNK = 500

_LOOKUP = "SELECT external_id, canonical FROM xrefs WHERE system = ? AND kind = ? AND external_id IN ({in})"
# an unchanged pair keeps the source and time it was first recorded with
_UPSERT = (
    "INSERT INTO xrefs (system, kind, external_id, canonical, source, updated_us) VALUES (?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (system, kind, external_id) DO UPDATE SET canonical = excluded.canonical, "
    "source = excluded.source, updated_us = excluded.updated_us WHERE xrefs.canonical <> excluded.canonical"
)
# a canonical key's external ids, newest last: the last one is what an outbound delivery sends
_REVERSE = (
    "SELECT canonical, external_id FROM xrefs WHERE system = ? AND kind = ? AND canonical IN ({in}) "
    "ORDER BY canonical, updated_us, external_id"
)
_LIST = (
    "SELECT system, kind, external_id, canonical, source, updated_us FROM xrefs "
    "WHERE system = ? AND kind = ? AND external_id > ? ORDER BY external_id LIMIT ?"
)


@dataclass(frozen=True, slots=True)
class Xref:
    system: str
    kind: str
    external_id: str
    canonical: str
    source: str  # FILE.csv:LINE, or system/change-id for a pair learned from a change
    updated_us: int


@dataclass(slots=True)
class Loaded:
    """What loading some pairs did: new pairs, pairs that now point elsewhere, and pairs already known."""

    new: int = 0
    changed: int = 0
    unchanged: int = 0


def lookup(store: SqlStore, cur: Any, system: str, kind: str, external_ids: Sequence[str]) -> dict[str, str]:
    """The canonical key of each external id that has one."""
    found: dict[str, str] = {}
    wanted = list(dict.fromkeys(external_ids))
    for i in range(0, len(wanted), CHUNK):
        sql, params = store._in(_LOOKUP, [system, kind], wanted[i : i + CHUNK])
        found.update((ext, canonical) for ext, canonical in store._fetch(cur, sql, params))
    return found


def upsert(
    store: SqlStore, cur: Any, system: str, kind: str, pairs: Sequence[tuple[str, str, str]], at_us: int
) -> None:
    """Record (external id, canonical, source) pairs; a pair already known is left as it was."""
    if pairs:
        store._many(cur, _UPSERT, [(system, kind, ext, can, source, at_us) for ext, can, source in pairs])


class XrefTable:
    """Loading and listing a system's cross-references, outside the ingest path."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store

    def load(self, system: str, kind: str, pairs: Sequence[tuple[str, str, str]]) -> Loaded:
        """Record (external id, canonical, source) pairs in one transaction; a newer pair replaces an old one."""
        counts = Loaded()
        at = now_us()
        with self.store.write() as tx:
            known = lookup(self.store, tx.cur, system, kind, [ext for ext, _, _ in pairs])
            for ext, canonical, _ in pairs:
                old = known.get(ext)
                if old is None:
                    counts.new += 1
                elif old != canonical:
                    counts.changed += 1
                else:
                    counts.unchanged += 1
            upsert(self.store, tx.cur, system, kind, pairs, at)
        return counts

    def resolve(self, system: str, kind: str, external_ids: Sequence[str]) -> dict[str, str]:
        """The canonical key of each external id that has one (a read, outside any ingest)."""
        found: dict[str, str] = {}
        wanted = list(dict.fromkeys(external_ids))
        for i in range(0, len(wanted), CHUNK):
            sql, params = self.store._in(_LOOKUP, [system, kind], wanted[i : i + CHUNK])
            found.update((ext, canonical) for ext, canonical in self.store._query_raw(sql, params))
        return found

    def external_ids(self, system: str, kind: str, canonicals: Sequence[str]) -> dict[str, str]:
        """The system's own id for each canonical key that has one (for outbound deliveries).

        A key several ids map to (two listings of one SKU) gets the newest pair's id, the highest
        id among pairs recorded in the same microsecond.
        """
        found: dict[str, str] = {}
        wanted = list(dict.fromkeys(canonicals))
        for i in range(0, len(wanted), CHUNK):
            sql, params = self.store._in(_REVERSE, [system, kind], wanted[i : i + CHUNK])
            found.update((canonical, ext) for canonical, ext in self.store._query_raw(sql, params))
        return found

    def list(self, system: str, kind: str, *, after: str = "", limit: int = 1000) -> list[Xref]:
        """A page of a table, in external id order, starting after `after`."""
        rows = self.store._query(_LIST, (system, kind, after, limit))
        return [Xref(*row) for row in rows]
