"""Inventory positions: one record per (sku, location), keyed `SKU@LOCATION`."""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal

from pydantic import Field

from .common import MAX_QUANTITY, Canonical, Quantity, Timestamp

Delta = Annotated[int, Field(ge=-MAX_QUANTITY, le=MAX_QUANTITY)]
AdjustmentReason = Literal[
    "receipt", "cycle_count", "damage", "shrinkage", "return", "transfer", "correction", "found", "expired"
]


class Adjustment(Canonical):
    """A stock movement: a delta to `on_hand` (and/or `inbound`) with the reason it happened.

    Applied on top of the current value, so deltas commute; one that is older than the last
    absolute value (a count or a snapshot that already includes it) is stale.
    """

    on_hand: Delta | None = None
    inbound: Delta | None = None
    reason: AdjustmentReason


class Variance(Canonical):
    """What a count found against the golden record: `counted - expected`, kept for the KPIs."""

    quantity: int
    expected: int
    counted: int
    counted_at: Timestamp | None = None


class Inventory(Canonical):
    """Key: `SKU-1@DC1`. `available` is derived: on_hand - allocated - reserved, never written.

    `reserved` and `reserved_by` (units held per order by the oversell guard) and `variance` (the
    last count's difference) are written by the hub alone. `adjust` is not kept as a field: the
    pipeline turns it into new `on_hand`/`inbound` values.
    """

    FIELD_GROUPS: ClassVar[dict[str, tuple[str, ...]]] = {
        "quantities": ("on_hand", "allocated", "inbound", "adjust", "counted_at"),
    }
    DERIVED: ClassVar[tuple[str, ...]] = ("available",)
    HUB_FIELDS: ClassVar[tuple[str, ...]] = ("reserved", "reserved_by", "variance")

    on_hand: Quantity | None = None
    allocated: Quantity | None = None
    inbound: Quantity | None = None
    reserved: Quantity | None = None
    reserved_by: dict[str, Quantity] | None = None
    adjust: Adjustment | None = None
    counted_at: Timestamp | None = None  # set by a count: on_hand then records a variance
    variance: Variance | None = None
    uom: str | None = None


def derive_inventory(fields: dict[str, Any]) -> dict[str, Any]:
    """The derived fields of an inventory position."""
    on_hand = fields.get("on_hand") or 0
    held = (fields.get("allocated") or 0) + (fields.get("reserved") or 0)
    return {"available": on_hand - held}


def available(fields: dict[str, Any]) -> int:
    """What a position can still promise: on_hand - allocated - reserved (negative when short)."""
    return int((fields.get("on_hand") or 0) - (fields.get("allocated") or 0) - (fields.get("reserved") or 0))


def free_stock(fields: dict[str, Any]) -> int:
    """What reservations may hold at most: on_hand - allocated."""
    return int((fields.get("on_hand") or 0) - (fields.get("allocated") or 0))
