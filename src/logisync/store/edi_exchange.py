"""The EDI exchange's ledger in the store: interchanges received and our groups awaiting a 997.

`claim` records an inbound interchange by its duplicate key (sender + ISA13) before it is read
on: the first claim gets it; a later one gets the earlier row (the same interchange sent again).
A claim left `receiving` by a process that stopped is taken over after `STALE_US` (its changes
have ids made from the envelope, so applying them again is a duplicate at the change level).

Our outbound groups are `track`ed when written and `settle`d when the partner's 997 arrives;
`overdue` finds those still waiting past their due time. Each state move is an UPDATE guarded by
the state it leaves, in the transaction that opens its exception, so two checkers at once open
one exception, not two.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from .base import NewException
from .sql import dumps, loads

if TYPE_CHECKING:
    from .sql import SqlStore

STALE_US = 600 * 1_000_000  # a `receiving` claim this old was left by a process that stopped

_IC_COLUMNS = "sender, control, partner, state, received_us, updated_us, detail"
_GROUP_COLUMNS = (
    "partner, control, functional_id, interchange, sets, state, sent_us, due_us, updated_us, detail"
)


@dataclass(frozen=True, slots=True)
class InterchangeRow:
    sender: str
    control: str
    partner: str
    state: str  # receiving, applied, rejected
    received_us: int
    updated_us: int
    detail: dict[str, Any] | None


@dataclass(frozen=True, slots=True)
class GroupRow:
    partner: str
    control: int
    functional_id: str
    interchange: int
    sets: list[list[str]]
    state: str  # waiting, accepted, partial, rejected, overdue
    sent_us: int
    due_us: int
    updated_us: int
    detail: dict[str, Any] | None


def _ic(row: Sequence[Any]) -> InterchangeRow:
    return InterchangeRow(row[0], row[1], row[2], row[3], int(row[4]), int(row[5]), loads(row[6]))


def _group(row: Sequence[Any]) -> GroupRow:
    return GroupRow(
        row[0],
        int(row[1]),
        row[2],
        int(row[3]),
        loads(row[4]),
        row[5],
        int(row[6]),
        int(row[7]),
        int(row[8]),
        loads(row[9]),
    )


class EdiLedger:
    """The ledger of one store (see the module docstring)."""

    def __init__(self, store: SqlStore) -> None:
        self.store = store

    # -- inbound interchanges ------------------------------------------------------------------
    def claim(self, sender: str, control: str, partner: str, now_us: int) -> InterchangeRow | None:
        """None when this caller may read the interchange on; else the row of the earlier one."""
        s = self.store
        with s.write() as tx:
            tx.lock_keys([f"edi:{sender}/{control}"])
            rows = s._fetch(
                tx.cur,
                s._sql(
                    f"SELECT {_IC_COLUMNS} FROM edi_interchanges WHERE sender = ? AND control = ?{s.for_update}"
                ),
                (sender, control),
            )
            if not rows:
                s._fetch(
                    tx.cur,
                    s._sql(
                        f"INSERT INTO edi_interchanges ({_IC_COLUMNS}) VALUES (?, ?, ?, 'receiving', ?, ?, NULL) "
                        "RETURNING sender"
                    ),
                    (sender, control, partner, now_us, now_us),
                )
                return None
            row = _ic(rows[0])
            if row.state == "receiving" and now_us - row.updated_us > STALE_US:
                tx.cur.execute(
                    s._sql("UPDATE edi_interchanges SET updated_us = ? WHERE sender = ? AND control = ?"),
                    (now_us, sender, control),
                )
                return None
            return row

    def finish(
        self,
        sender: str,
        control: str,
        state: str,
        detail: dict[str, Any],
        now_us: int,
        exceptions: Sequence[NewException] = (),
    ) -> None:
        """Record what became of a claimed interchange, with the exceptions it opens, in one commit."""
        s = self.store
        with s.write() as tx:
            tx.cur.execute(
                s._sql(
                    "UPDATE edi_interchanges SET state = ?, detail = ?, updated_us = ? WHERE sender = ? AND control = ?"
                ),
                (state, dumps(detail), now_us, sender, control),
            )
            if exceptions:
                tx.open_exceptions(exceptions, now_us)

    def interchange(self, sender: str, control: str) -> InterchangeRow | None:
        rows = self.store._query(
            f"SELECT {_IC_COLUMNS} FROM edi_interchanges WHERE sender = ? AND control = ?", (sender, control)
        )
        return _ic(rows[0]) if rows else None

    def open_exceptions(self, exceptions: Sequence[NewException], now_us: int) -> None:
        with self.store.write() as tx:
            tx.open_exceptions(exceptions, now_us)

    # -- our groups and their 997s -------------------------------------------------------------
    def track(self, groups: Sequence[GroupRow]) -> None:
        """Record groups just written (state `waiting`), each with the time its 997 is due."""
        rows = [
            (
                g.partner,
                g.control,
                g.functional_id,
                g.interchange,
                dumps(g.sets),
                g.state,
                g.sent_us,
                g.due_us,
                g.updated_us,
            )
            for g in groups
        ]
        if rows:
            with self.store.write() as tx:
                self.store._many(
                    tx.cur,
                    f"INSERT INTO edi_outbound_groups ({_GROUP_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
                    rows,
                )

    def group(self, partner: str, control: int) -> GroupRow | None:
        rows = self.store._query(
            f"SELECT {_GROUP_COLUMNS} FROM edi_outbound_groups WHERE partner = ? AND control = ?",
            (partner, control),
        )
        return _group(rows[0]) if rows else None

    def groups_in(self, partner: str, interchange: int) -> list[GroupRow]:
        """Our groups in interchange `interchange` (our ISA13) to `partner`: what its TA1 answers.

        A range of the partner's groups by the primary key, filtered on the interchange: TA1s are
        rare (a partner's translator refusing an envelope), so no index of its own."""
        rows = self.store._query(
            f"SELECT {_GROUP_COLUMNS} FROM edi_outbound_groups WHERE partner = ? AND interchange = ? "
            "ORDER BY control",
            (partner, interchange),
        )
        return [_group(r) for r in rows]

    def groups(
        self, *, partner: str | None = None, state: str | None = None, limit: int = 1000
    ) -> list[GroupRow]:
        where, params = [], []
        for column, value in (("partner", partner), ("state", state)):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        sql = f"SELECT {_GROUP_COLUMNS} FROM edi_outbound_groups"
        if where:
            sql += " WHERE " + " AND ".join(where)
        return [
            _group(r) for r in self.store._query(f"{sql} ORDER BY partner, control LIMIT ?", (*params, limit))
        ]

    def settle(
        self,
        partner: str,
        control: int,
        state: str,
        detail: dict[str, Any],
        now_us: int,
        exceptions: Sequence[NewException] = (),
    ) -> GroupRow | None:
        """A 997 arrived for our group: record its answer (from `waiting` or `overdue`) and open
        `exceptions`, in one commit. None when no such group was sent (or it was settled before)."""
        s = self.store
        with s.write() as tx:
            rows = s._fetch(
                tx.cur,
                s._sql(
                    "UPDATE edi_outbound_groups SET state = ?, detail = ?, updated_us = ? "
                    "WHERE partner = ? AND control = ? AND state IN ('waiting', 'overdue') "
                    f"RETURNING {_GROUP_COLUMNS}"
                ),
                (state, dumps(detail), now_us, partner, control),
            )
            if rows and exceptions:
                tx.open_exceptions(exceptions, now_us)
        return _group(rows[0]) if rows else None

    def count_groups(self) -> dict[tuple[str, str], int]:
        """Our groups by (partner, state): what `logisync status` shows."""
        rows = self.store._query(
            "SELECT partner, state, COUNT(*) FROM edi_outbound_groups GROUP BY partner, state"
        )
        return {(partner, state): int(n) for partner, state, n in rows}

    def overdue(self, now_us: int, limit: int = 1000) -> list[GroupRow]:
        """Groups still waiting for their 997 past their due time, oldest due first."""
        rows = self.store._query(
            f"SELECT {_GROUP_COLUMNS} FROM edi_outbound_groups WHERE state = 'waiting' AND due_us < ? "
            "ORDER BY due_us LIMIT ?",
            (now_us, limit),
        )
        return [_group(r) for r in rows]

    def mark_overdue(self, group: GroupRow, exception: NewException, now_us: int) -> bool:
        """Move one group from `waiting` to `overdue` and open its exception; False if another
        checker (or its 997) moved it first."""
        s = self.store
        with s.write() as tx:
            rows = s._fetch(
                tx.cur,
                s._sql(
                    "UPDATE edi_outbound_groups SET state = 'overdue', updated_us = ? "
                    "WHERE partner = ? AND control = ? AND state = 'waiting' RETURNING control"
                ),
                (now_us, group.partner, group.control),
            )
            if rows:
                tx.open_exceptions([exception], now_us)
        return bool(rows)
