"""Shipments and returns to orders: what left, what is owed, what came back, and the status.

When a shipment for an order (`order_number`) is applied, or its status follows its tracking,
the hub records on the order what that shipment carries (`shipped_in`, from its packages) and
works out, from every shipment and return of the order (`domain/fulfilment.py` has the rules):
`shipped_by_line`, `backordered_by_line` (units still owed once goods left) and
`returned_by_line`, then the order's status (`partially_shipped`, `shipped`, `delivered`,
`returned`), moved only forward and only along the order lifecycle. An illegal move (a shipment
for a cancelled or held order) is not applied: an `illegal_transition` exception says why.
Shipped units end the oversell guard's holds (`reservations.demand` reads `shipped_by_line`).

A shipment for an order the hub has not heard of yet writes the hub's fields on a new order
record; the channel's order fills in the rest, and its status follows when it arrives. Units the
order has no line for open a `shipment_mismatch` exception when they first appear.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ..domain.fulfilment import (
    owed_by_line,
    returned_by_line,
    shipment_contents,
    shipped_by_line,
    status_path,
    target_status,
)
from ..domain.kinds import Domain
from ..domain.record import RecordState
from ..store.base import NewException
from .batch import Batch
from .reservations import OversellGuard

ORDER = Domain.order


class Fulfilment:
    """Keeps orders in step with their shipments and returns; see the module's docstring."""

    def __init__(self, guard: OversellGuard) -> None:
        self.guard = guard

    def shipment(
        self, batch: Batch, shipment: RecordState, system: str, cause: tuple[str, str]
    ) -> str | None:
        """A shipment (or its status) changed: record what it carries on its order."""
        order_key = shipment.fields.get("order_number")
        if not order_key:
            return None
        by_line, by_sku = shipment_contents(shipment.fields.get("packages"))
        cover = {
            "lines": by_line,
            "skus": by_sku,
            "status": shipment.fields.get("status"),
            "delivered_at": shipment.fields.get("delivered_at"),
        }
        order = batch.record(ORDER.value, order_key)
        shipped_in = dict((order.fields.get("shipped_in") if order is not None else None) or {})
        if shipped_in.get(shipment.key) == cover:
            return None
        shipped_in[shipment.key] = cover
        why = f"fulfilment: shipment {shipment.key} of order {order_key}"
        return self.settle(batch, order_key, {"shipped_in": shipped_in}, system, cause, why, fresh=True)

    def returned(
        self,
        batch: Batch,
        order_key: str,
        rma: str,
        units: dict[str, int],
        system: str,
        cause: tuple[str, str],
    ) -> str | None:
        """A return of the order changed: record what it says came back."""
        order = batch.record(ORDER.value, order_key)
        returned_in = dict((order.fields.get("returned_in") if order is not None else None) or {})
        if returned_in.get(rma, {}) == units:
            return None
        if units:
            returned_in[rma] = units
        else:
            returned_in.pop(rma, None)
        why = f"fulfilment: return {rma} of order {order_key}"
        update = {"returned_in": returned_in or None}
        return self.settle(batch, order_key, update, system, cause, why, fresh=True)

    def order(
        self, batch: Batch, order: RecordState, applied: list[str], cause: tuple[str, str]
    ) -> str | None:
        """A system changed the order: its lines or status may change what follows from shipments.

        Cheap for orders nothing has shipped from yet. The oversell guard runs after this.
        """
        fields = order.fields
        if not (
            fields.get("shipped_in")
            or fields.get("returned_in")
            or any(line.get("shipped") for line in fields.get("lines") or ())
        ):
            return None
        fresh = "status" in applied or "lines" in applied
        why = f"fulfilment: order {order.key}"
        return self.settle(batch, order.key, {}, cause[0], cause, why, fresh=fresh, replan=False)

    # -------------------------------------------------------------------------------------------
    def settle(
        self,
        batch: Batch,
        order_key: str,
        updates: dict[str, Any],
        system: str,
        cause: tuple[str, str],
        why: str,
        *,
        fresh: bool,
        replan: bool = True,
    ) -> str | None:
        """Work out the order's hub fields and status with `updates` in, and derive what changed.

        `fresh`: the cause brought new facts, so a refused status move is reported again.
        """
        order = batch.record(ORDER.value, order_key)
        before: Mapping[str, Any] = dict(order.fields) if order is not None else {}  # derive changes it
        after = {**before, **updates}
        lines = after.get("lines") or []
        shipped, returned, unmatched = _account(after)
        sent = any(shipped.values()) or any(line.get("shipped") for line in lines)
        hub = {
            **updates,
            "shipped_by_line": shipped or None,
            "backordered_by_line": (owed_by_line(lines, shipped) or None) if sent else None,
            "returned_by_line": returned or None,
        }
        changes = {k: v for k, v in hub.items() if before.get(k) != v}
        covers = (after.get("shipped_in") or {}).values()
        target = target_status(lines, shipped, returned, [c.get("status") for c in covers])
        path, problem = status_path(before.get("status"), target) if target is not None else ([], None)
        notes: list[str] = []
        steps = [{"status": s.value} for s in path]
        if steps and path[-1].value == "delivered":
            times = [c["delivered_at"] for c in covers if c.get("delivered_at")]
            if times:
                steps[-1]["delivered_at"] = max(times, key=datetime.fromisoformat)
        if steps:
            changes.update(steps.pop(0))
            notes.append(f"order {order_key} is {path[-1].value}")
        if changes:
            order = batch.derive(ORDER, order_key, changes, why=why, cause=cause)
        for step in steps:
            order = batch.derive(ORDER, order_key, step, why=why, cause=cause)
        if problem is not None and target is not None and (fresh or changes):
            reason = f"order {order_key} cannot follow its shipments to {target.value!r}: {problem}"
            notes.append(reason)
            batch.open_exception(
                NewException(
                    "illegal_transition",
                    reason,
                    ORDER.value,
                    order_key,
                    cause[0],
                    cause[1],
                    detail={"from": before.get("status"), "to": target.value, "derived": True},
                )
            )
        if unmatched and lines and unmatched != (_account(before)[2] if before.get("lines") else {}):
            self._mismatch(batch, order_key, unmatched, cause, notes)
        if replan and changes and order is not None:
            held = self.guard.replan(batch, order, system, cause)
            if held:
                notes.append(held)
        return "; ".join(notes) or None

    @staticmethod
    def _mismatch(
        batch: Batch, order_key: str, unmatched: dict[str, int], cause: tuple[str, str], notes: list[str]
    ) -> None:
        """A `shipment_mismatch` exception for units that match no line of the order."""
        parts = ", ".join(f"{n} of {what}" for what, n in sorted(unmatched.items()))
        reason = f"order {order_key} has no line for {parts} its shipments or returns carry"
        notes.append(reason)
        batch.open_exception(
            NewException(
                "shipment_mismatch",
                reason,
                ORDER.value,
                order_key,
                cause[0],
                cause[1],
                detail={"unmatched": unmatched},
            )
        )


def _account(order: Mapping[str, Any]) -> tuple[dict[str, int], dict[str, int], dict[str, int]]:
    """Units shipped and returned by line from the order's shipments and returns, and the units
    that match no line (by SKU, or `line <n>` for a line number the order does not have)."""
    lines = order.get("lines") or []
    shipped, unmatched = shipped_by_line(lines, order.get("shipped_in") or {})
    back: dict[str, int] = {}
    for units in (order.get("returned_in") or {}).values():
        for sku, n in units.items():
            back[sku] = back.get(sku, 0) + int(n)
    returned, strays = returned_by_line(lines, back, shipped)
    for what, n in strays.items():
        unmatched[what] = unmatched.get(what, 0) + n
    return shipped, returned, unmatched
