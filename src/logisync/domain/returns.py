"""Returns (RMA): authorised, in transit, received, then restocked or disposed."""

from __future__ import annotations

from typing import ClassVar, Literal

from .common import Canonical, Code, Quantity, Timestamp


class ReturnLine(Canonical):
    sku: Code
    quantity: Quantity
    condition: Literal["new", "opened", "damaged", "unknown"] = "unknown"
    disposition: Literal["restock", "dispose", "pending"] = "pending"
    uom: str | None = None
    received: dict[str, str | int] | None = None  # as the system sent what the hub translated


class Return(Canonical):
    """Key: the RMA number, e.g. `RMA-77`.

    `restocked_units` (units per SKU the hub has put back into stock for this RMA) is the hub's
    alone: it makes the restock happen once (pipeline/returns.py).
    """

    FIELD_GROUPS: ClassVar[dict[str, tuple[str, ...]]] = {}
    HUB_FIELDS: ClassVar[tuple[str, ...]] = ("restocked_units",)

    order_number: str | None = None
    status: Literal["authorised", "in_transit", "received", "restocked", "disposed"] | None = None
    reason: str | None = None
    location: str | None = None
    lines: list[ReturnLine] | None = None
    authorised_at: Timestamp | None = None
    received_at: Timestamp | None = None
    restocked_units: dict[str, Quantity] | None = None
