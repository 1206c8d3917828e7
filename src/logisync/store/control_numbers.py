"""X12 control numbers per partner: allocated in a committed transaction, never handed out twice.

One row per (partner, kind) holds the last number handed out. `allocate` raises it with a single
upsert that returns the new value; the row lock it takes makes concurrent allocators (several
hub processes on PostgreSQL) wait for each other, so no two ever get the same number. The
transaction commits before `allocate` returns, so a file written afterwards cannot reuse a number
even if the process crashes between allocating and writing (the number is skipped instead).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..domain.change import now_us
from ..errors import StoreError

if TYPE_CHECKING:
    from .sql import SqlStore

KINDS = ("interchange", "group", "set")
MAX = 999_999_999  # nine digits: ISA13, and the widest GS06 and ST02

_ALLOCATE = (
    "INSERT INTO control_numbers (partner, kind, last, updated_us) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (partner, kind) DO UPDATE SET last = control_numbers.last + ?, updated_us = excluded.updated_us "
    "RETURNING last"
)
_LAST = "SELECT last FROM control_numbers WHERE partner = ? AND kind = ?"


class ControlNumbersExhausted(StoreError):
    """A partner's control numbers reached 999,999,999: a person decides how to go on."""

    code = "control_numbers_exhausted"
    transient = False


class ControlNumbers:
    """The control-number allocator of one store (see the module docstring)."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store

    def allocate(self, partner: str, kind: str, count: int = 1) -> range:
        """`count` consecutive fresh numbers for `partner`'s `kind`, durably committed."""
        if kind not in KINDS:
            raise ValueError(f"unknown control number kind {kind!r} (known: {', '.join(KINDS)})")
        if count < 1:
            raise ValueError(f"count must be at least 1, not {count}")
        with self.store.write() as tx:
            rows = self.store._fetch(
                tx.cur, self.store._sql(_ALLOCATE), (partner, kind, count, now_us(), count)
            )
            last = int(rows[0][0])
            if last > MAX:
                raise ControlNumbersExhausted(
                    f"the {kind} control numbers for {partner!r} would pass {MAX:,}: "
                    "agree a restart with the partner and reset them in the control_numbers table"
                )
        return range(last - count + 1, last + 1)

    def last(self, partner: str, kind: str) -> int:
        """The last number handed out (0 when none was)."""
        rows = self.store._query(_LAST, (partner, kind))
        return int(rows[0][0]) if rows else 0
