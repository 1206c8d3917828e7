"""Returns (RMA) to stock and to orders: restocked lines go back on the shelf, once.

When a return is applied, the units its lines put back (`domain/restock.py` has the rules: a
`restock` line once received, every undecided line of a `restocked` return, never a `dispose`
line) go into stock at the return's `location` through the same path as any adjustment
(`Batch.adjust`, i.e. `stock.apply_deltas`, reason `return`), as a change of the hub caused by the
return. The return records what went back (`restocked_units`), so a resent or updated return
moves only the difference, and never moves stock twice.

A return that should restock but names no `location` opens a `restock_without_location`
exception and restocks nothing until it does. The hub never takes restocked units back out: a
line that stops restocking after its units went back opens a `restock_reversed` exception. What
the return says came back feeds the order's `returned_by_line` (`fulfilment.py`).
"""

from __future__ import annotations

from typing import Any

from ..domain.catalog import spec
from ..domain.kinds import Domain
from ..domain.record import RecordState
from ..domain.restock import came_back, restock_target, to_restock, to_unstock
from ..store.base import NewException
from .batch import Batch
from .fulfilment import Fulfilment

RETURN = Domain.return_


class ReturnsRule:
    """Restocks returns and tells their orders; see the module's docstring."""

    def __init__(self, fulfilment: Fulfilment) -> None:
        self.fulfilment = fulfilment

    def applied(
        self, batch: Batch, rma: RecordState, applied: list[str], system: str, cause: tuple[str, str]
    ) -> str | None:
        fields = rma.fields
        notes: list[str] = []
        target = restock_target(fields)
        done: dict[str, int] = dict(fields.get("restocked_units") or {})
        more = to_restock(target, done)
        if more:
            note = self._restock(batch, rma, more, done, cause)
            if note:
                notes.append(note)
        less = to_unstock(target, done)
        if less and ("lines" in applied or "status" in applied):
            self._problem(
                batch,
                rma,
                "restock_reversed",
                f"return {rma.key} no longer restocks {_units(less)}, already back in stock; "
                "the hub does not take it out again: adjust the stock if it left",
                {"restocked": done, "no_longer": less},
                cause,
                notes,
            )
        order_key = fields.get("order_number")
        if order_key:
            note = self.fulfilment.returned(batch, order_key, rma.key, came_back(fields), system, cause)
            if note:
                notes.append(note)
        return "; ".join(notes) or None

    def _restock(
        self,
        batch: Batch,
        rma: RecordState,
        more: dict[str, int],
        done: dict[str, int],
        cause: tuple[str, str],
    ) -> str | None:
        location = rma.fields.get("location")
        notes: list[str] = []
        if not location:
            self._problem(
                batch,
                rma,
                "restock_without_location",
                f"return {rma.key} restocks {_units(more)} but names no location; "
                "nothing was restocked: send the return's location",
                {"to_restock": more},
                cause,
                notes,
            )
            return notes[0]
        moved: dict[str, int] = {}
        for sku, units in sorted(more.items()):
            key = f"{sku}@{location}"
            if (wrong := spec(Domain.inventory).check_key(key)) is not None:
                self._problem(batch, rma, "restock_without_location", wrong, {"sku": sku}, cause, notes)
                continue
            batch.adjust(
                key,
                {"on_hand": units},
                reason="return",
                why=f"return {rma.key}: {units} of {sku} restocked at {location}",
                cause=cause,
            )
            moved[sku] = units
            done[sku] = done.get(sku, 0) + units
        if moved:
            batch.derive(
                RETURN,
                rma.key,
                {"restocked_units": done},
                why=f"return {rma.key}: restocked at {location}",
                cause=cause,
            )
            notes.insert(0, f"restocked {_units(moved)} at {location}")
        return "; ".join(notes) or None

    @staticmethod
    def _problem(
        batch: Batch,
        rma: RecordState,
        kind: str,
        reason: str,
        detail: dict[str, Any],
        cause: tuple[str, str],
        notes: list[str],
    ) -> None:
        notes.append(reason)
        batch.open_exception(
            NewException(kind, reason, RETURN.value, rma.key, cause[0], cause[1], detail=detail)
        )


def _units(by_sku: dict[str, int]) -> str:
    return ", ".join(f"{n} of {sku}" for sku, n in sorted(by_sku.items()))
