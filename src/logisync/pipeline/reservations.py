"""The oversell guard: orders hold stock in the same transaction that records them.

When an order from a channel is applied, the hub holds its open units on the inventory positions
that serve the channel (`reserved_by` on each position, `reservations` on the order), so every
other channel's availability drops at once, before the warehouse has confirmed anything. The
channel is the order's seller, recorded on it once (`seller`): its `channel` field when that names
a configured system, else the first system that sent its lines. Its availability rule is the
`atp` transform of the route that feeds it stock (`AtpTransform`), else every location with no
safety stock.

An order asking for more than its channel may sell meets the rule's `on_insufficient` policy:
`reject` refuses the change (outcome `insufficient_stock`), `backorder` applies it and records the
missing units in the order's `backorders`. Either way an `insufficient_stock` exception is opened.
Only the seller's new lines can be refused, and only lines that would be taken (newer than the
record's, by the rule the apply uses): a warehouse's status update never is, and a stale change
gets its `stale` outcome.
Holds are converted (released) when the WMS allocates, released when the order is cancelled, and
released newest first, into backorders, when a position's stock falls below what it holds
(`stock_shortfall`). A backorder is tried again whenever its order changes, and whenever the batch
frees units of its SKU (`refill`: oldest backorder first, before the batch commits).
"""

from __future__ import annotations

from typing import Any

from ..config.model import AtpTransform, SyncMap
from ..domain.atp import channel_atp
from ..domain.catalog import split_inventory_key
from ..domain.change import Change
from ..domain.inventory import available, free_stock
from ..domain.kinds import Domain, OutcomeKind
from ..domain.record import RecordState, is_newer
from ..domain.reservations import (
    demand,
    handed_over,
    held,
    place,
    placement_order,
    total,
    unplace,
)
from ..store.base import NewException
from .batch import HUB, Batch
from .verdicts import Verdict

EVERYWHERE = AtpTransform(on_insufficient="backorder")  # orders from systems no stock route feeds


class OversellGuard:
    """Reserves, converts and releases stock for orders; see the module's docstring."""

    def __init__(self, syncmap: SyncMap) -> None:
        self.systems = frozenset(syncmap.systems)
        self.channels: dict[str, AtpTransform] = {}
        for route in syncmap.routes:  # the first stock route to a system sets its rule
            if route.transform is not None and route.transform.atp is not None:
                self.channels.setdefault(route.to, route.transform.atp)

    def rule(self, channel: str) -> AtpTransform:
        return self.channels.get(channel, EVERYWHERE)

    # -- availability ---------------------------------------------------------------------------
    def positions(self, batch: Batch, sku: str, rule: AtpTransform) -> dict[str, RecordState]:
        """The SKU's positions at the locations that serve the channel, by location."""
        if rule.locations is not None:
            found = {loc: batch.record("inventory", f"{sku}@{loc}") for loc in rule.locations}
            return {loc: rec for loc, rec in found.items() if rec is not None}
        return {
            split_inventory_key(rec.key)[1]: rec for rec in batch.records_with_prefix("inventory", f"{sku}@")
        }

    def atp(self, batch: Batch, sku: str, rule: AtpTransform) -> int:
        found = self.positions(batch, sku, rule)
        return channel_atp({loc: available(rec.fields) for loc, rec in found.items()}, rule)

    # -- orders ---------------------------------------------------------------------------------
    def check(
        self,
        batch: Batch,
        change: Change,
        system: str,
        record: RecordState | None,
        fields: dict[str, Any],
        stamp: int,
    ) -> Verdict | None:
        """Refuse an order change that asks for more than its channel may sell (policy `reject`).

        Only the fields that would be taken count (`record.is_newer`, as the apply decides), and
        only lines from the seller (or from a system relaying an order whose `channel` names the
        seller) are checked: nobody else's change is refused here.
        """
        before = record.fields if record is not None else {}
        prov = record.prov if record is not None else {}
        versioned = change.version is not None
        taken = {
            k: v for k, v in fields.items() if is_newer(prov.get(k), stamp, change.id, system, versioned)
        }
        if "lines" not in taken:
            return None
        channel = self.seller(before, prov, system, taken)
        if channel != system and taken.get("channel", before.get("channel")) != channel:
            return None  # not the seller, nor relaying an order its `channel` says the seller sold
        rule = self.rule(channel)
        if rule.on_insufficient != "reject":
            return None
        old, new = demand(before), demand({**before, **taken})
        holds = held(before)
        short: dict[str, dict[str, int]] = {}
        for sku, units in new.items():
            if units <= old.get(sku, 0):
                continue  # no new demand: a backorder already recorded stays one
            need = units - total(holds.get(sku, {}))
            if need > 0 and need > (atp := self.atp(batch, sku, rule)):
                short[sku] = {"wanted": need, "available_to_promise": atp}
        if not short:
            return None
        parts = ", ".join(
            f"{sku}: {s['wanted']} wanted, {s['available_to_promise']} available" for sku, s in short.items()
        )
        reason = f"insufficient stock for channel {channel!r}: {parts}"
        return Verdict(
            None,
            OutcomeKind.insufficient_stock,
            reason,
            "insufficient_stock",
            {"fields": fields, "channel": channel, "policy": "reject", "short": short},
        )

    def seller(
        self, before: dict[str, Any], prov: dict[str, Any], system: str, fields: dict[str, Any]
    ) -> str:
        """The system that sold an order: as recorded; else its `channel` (in `fields` or `before`)
        when that names a configured system; else who sent the lines the record holds (an order
        recorded before sellers were); else `system`, the sender now."""
        recorded = before.get("seller")
        if recorded:
            return str(recorded)
        channel = fields.get("channel", before.get("channel"))
        if channel in self.systems:
            return str(channel)
        if (p := prov.get("lines")) is not None and p["s"] != HUB:
            return str(p["s"])
        return system

    def replan(
        self,
        batch: Batch,
        order: RecordState,
        system: str,
        cause: tuple[str, str],
        *,
        sent: bool = False,
        only: str | None = None,
    ) -> str | None:
        """Bring the order's holds in line with what it should hold now; a note when units are short.

        `sent`: `system` itself changed the order (not the hub from a shipment): once the order has
        lines, its seller is recorded. `only`: look at this SKU alone (a backorder tried again).
        New holds take only what the channel may sell now, so never units another order holds.
        """
        channel = self.seller(order.fields, order.prov, system, {})
        bookkeeping: dict[str, Any] = {}
        named = order.fields.get("channel") in self.systems
        if sent and not order.fields.get("seller") and (order.fields.get("lines") or named):
            bookkeeping["seller"] = channel
        if order.fields.get("lines") and (taken_over := handed_over(order.fields)) != order.fields.get(
            "handed_over"
        ):
            bookkeeping["handed_over"] = taken_over
        rule = self.rule(channel)
        want = demand(order.fields)
        holds = held(order.fields)
        backorders = dict(order.fields.get("backorders") or {})
        # units released by a cancel or a smaller line are free for others; a hold converted because
        # the WMS took the order over is not (the WMS's `allocated` counts those units)
        freeing = order.fields.get("status") == "cancelled" or not handed_over(order.fields)
        moves: dict[tuple[str, str], int] = {}  # (sku, location) -> units to hold (+) or release (-)
        for sku in sorted({*want, *holds, *backorders} if only is None else {only}):
            at = holds.get(sku, {})
            has, wants = total(at), want.get(sku, 0)
            if has > wants:
                for loc, units in unplace(has - wants, at).items():
                    moves[(sku, loc)] = -units
                    at[loc] -= units
                if freeing:
                    batch.free(sku, cause)
            elif has < wants:
                batch.lock_queue(sku)  # before reading the positions: see `Batch.lock_queue`
                found = self.positions(batch, sku, rule)
                atp = channel_atp({loc: available(rec.fields) for loc, rec in found.items()}, rule)
                order_of = placement_order(
                    {loc: available(rec.fields) for loc, rec in found.items()},
                    rule.locations or (),
                    order.fields.get("warehouse"),
                )
                for loc, units in place(min(wants - has, atp), order_of).items():
                    moves[(sku, loc)] = units
                    at[loc] = at.get(loc, 0) + units
            at = {loc: n for loc, n in at.items() if n > 0}
            if at:
                holds[sku] = at
            else:
                holds.pop(sku, None)
            missing = wants - total(at)
            if missing > 0:
                backorders[sku] = missing
            else:
                backorders.pop(sku, None)
        new_short = {
            sku: n for sku, n in backorders.items() if n > (order.fields.get("backorders") or {}).get(sku, 0)
        }
        why = f"oversell guard: holds for order {order.key}"
        before = order.fields.get("backorders") or {}
        if not moves and backorders == before:
            if bookkeeping:  # the hub's own notes: nothing any route carries
                batch.derive(Domain.order, order.key, bookkeeping, why=why, cause=cause, deliver=False)
            return None
        batch.derive(
            Domain.order,
            order.key,
            {**bookkeeping, "reservations": holds or None, "backorders": backorders or None},
            why=why,
            cause=cause,
        )
        if set(backorders) != set(before):
            batch.wait(order.key, frozenset(backorders), order.last_seq or 0)
        for (sku, loc), units in moves.items():
            self._hold(batch, f"{sku}@{loc}", order.key, units, why, cause)
        if not new_short:
            return None
        parts = ", ".join(f"{n} of {sku}" for sku, n in new_short.items())
        note = f"backordered {parts}: more than channel {channel!r} has available"
        batch.open_exception(
            NewException(
                "insufficient_stock",
                note,
                Domain.order.value,
                order.key,
                cause[0],
                cause[1],
                detail={"channel": channel, "policy": "backorder", "backorders": new_short},
            )
        )
        return note

    def _hold(self, batch: Batch, key: str, order: str, units: int, why: str, cause: tuple[str, str]) -> None:
        position = batch.record(Domain.inventory.value, key)
        by = dict(position.fields.get("reserved_by") or {}) if position is not None else {}
        by[order] = by.get(order, 0) + units
        if by[order] <= 0:
            del by[order]
        batch.derive(
            Domain.inventory,
            key,
            {"reserved_by": by or None, "reserved": sum(by.values())},
            why=why,
            cause=cause,
        )

    # -- stock falling under its holds ----------------------------------------------------------
    def shortfall(self, batch: Batch, position: RecordState, cause: tuple[str, str]) -> str | None:
        """Release the newest holds of a position whose free stock fell below what it holds."""
        by = dict(position.fields.get("reserved_by") or {})
        excess = sum(by.values()) - max(0, free_stock(position.fields))
        if not by or excess <= 0:
            return None
        sku, loc = split_inventory_key(position.key)
        released: dict[str, int] = {}
        for order_key in reversed(list(by)):
            if excess <= 0:
                break
            give = min(excess, by[order_key])
            released[order_key] = give
            excess -= give
            by[order_key] -= give
            if not by[order_key]:
                del by[order_key]
        why = f"oversell guard: stock at {position.key} fell below its holds"
        batch.derive(
            Domain.inventory,
            position.key,
            {"reserved_by": by or None, "reserved": sum(by.values())},
            why=why,
            cause=cause,
        )
        for order_key, units in released.items():
            order = batch.record(Domain.order.value, order_key)
            if order is None:
                continue
            holds = held(order.fields)
            at = holds.get(sku, {})
            at[loc] = at.get(loc, 0) - units
            holds[sku] = {k: n for k, n in at.items() if n > 0}
            if not holds[sku]:
                del holds[sku]
            backorders = dict(order.fields.get("backorders") or {})
            backorders[sku] = backorders.get(sku, 0) + units
            batch.derive(
                Domain.order,
                order_key,
                {"reservations": holds or None, "backorders": backorders},
                why=why,
                cause=cause,
            )
            batch.wait(order_key, frozenset(backorders), order.last_seq or 0)
        batch.free(sku, cause)  # the released orders may find units at the channel's other locations
        note = f"stock at {position.key} fell below its holds: backordered " + ", ".join(
            f"{n} for {order}" for order, n in released.items()
        )
        batch.open_exception(
            NewException(
                "stock_shortfall",
                note,
                Domain.inventory.value,
                position.key,
                cause[0],
                cause[1],
                detail={"released": released},
            )
        )
        return note

    # -- stock freed: backorders tried again ----------------------------------------------------
    def refill(self, batch: Batch) -> None:
        """Try the backorders of every SKU whose stock this transaction freed, oldest backorder first.

        Runs before the batch commits, so the change that freed the stock (a receipt, a count, a
        cancel) and the holds it lets waiting orders take commit together, with an outbox row for
        each position that moved: every channel's ATP follows. Each order takes what its own
        channel may sell now (`replan` on that SKU alone); filling one may not free another, so
        the loop ends once nothing new was freed.
        """
        while batch.freed:
            freed, batch.freed = batch.freed, {}
            skus = sorted(freed)
            for sku in skus:
                batch.lock_queue(sku)
            for sku, order_key in batch.backorder_queue(skus):
                order = batch.record(Domain.order.value, order_key)
                if order is None or sku not in (order.fields.get("backorders") or {}):
                    continue
                self.replan(batch, order, HUB, freed[sku], only=sku)
