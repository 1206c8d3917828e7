"""Inventory positions: one record per (sku, location), keyed `SKU@LOCATION`."""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from .common import Canonical, Quantity


class Inventory(Canonical):
    """Key: `SKU-1@DC1`. `available` is derived: on_hand - allocated - reserved, never written."""

    FIELD_GROUPS: ClassVar[dict[str, tuple[str, ...]]] = {
        "quantities": ("on_hand", "allocated", "inbound"),
    }
    DERIVED: ClassVar[tuple[str, ...]] = ("available",)

    on_hand: Quantity | None = None
    allocated: Quantity | None = None
    inbound: Quantity | None = None
    reserved: Quantity | None = None  # held by the hub's oversell guard for orders not yet allocated
    counted_at: datetime | None = None
    uom: str | None = None


def derive_inventory(fields: dict[str, Any]) -> dict[str, Any]:
    """The derived fields of an inventory position."""
    on_hand = fields.get("on_hand") or 0
    held = (fields.get("allocated") or 0) + (fields.get("reserved") or 0)
    return {"available": on_hand - held}
