"""Files received, by content hash: looked up before a file is read, recorded once it was read whole."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..domain.change import now_us
from .sql import dumps, loads

if TYPE_CHECKING:
    from .sql import SqlStore

_GET = (
    "SELECT system, sha256, name, import_name, received_us, rows, counts FROM file_receipts "
    "WHERE system = ? AND sha256 = ?"
)
# the first receipt of some bytes stands: a second recording (two hub processes racing) changes nothing
_PUT = (
    "INSERT INTO file_receipts (system, sha256, name, import_name, received_us, rows, counts) "
    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (system, sha256) DO NOTHING"
)
_QUARANTINED = (
    "SELECT change_id FROM exceptions WHERE system = ? AND kind IN ('bad_row', 'unknown_xref') "
    "AND change_id IN ({in})"
)
CHUNK = 500


@dataclass(frozen=True, slots=True)
class Receipt:
    system: str
    sha256: str
    name: str
    import_name: str | None
    received_us: int
    rows: int
    counts: dict[str, int]


class FileReceipts:
    """The file_receipts table of one store."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store

    def get(self, system: str, sha256: str) -> Receipt | None:
        rows = self.store._query(_GET, (system, sha256))
        if not rows:
            return None
        system, digest, name, import_name, received, count, counts = rows[0]
        return Receipt(system, digest, name, import_name, int(received), int(count), loads(counts))

    def record(
        self, system: str, sha256: str, name: str, import_name: str | None, rows: int, counts: dict[str, int]
    ) -> Receipt:
        """Record a file read to its end; returns the receipt that stands (the first, if two raced)."""
        with self.store.write() as tx:
            tx.cur.execute(
                self.store._sql(_PUT), (system, sha256, name, import_name, now_us(), rows, dumps(counts))
            )
        found = self.get(system, sha256)
        assert found is not None
        return found

    def quarantined_rows(self, system: str, row_ids: list[str]) -> set[str]:
        """Which of these rows (by the change id they would have had) were quarantined before: a
        file run again after a stop must not open their exceptions twice."""
        found: set[str] = set()
        for i in range(0, len(row_ids), CHUNK):
            sql, params = self.store._in(_QUARANTINED, [system], row_ids[i : i + CHUNK])
            found.update(row[0] for row in self.store._query_raw(sql, params))
        return found
