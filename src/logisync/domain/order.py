"""Sales orders from any channel, with lines."""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum
from typing import ClassVar

from pydantic import Field

from .common import Address, Canonical, Code, CurrencyCode, Quantity, Timestamp


class OrderStatus(StrEnum):
    created = "created"
    accepted = "accepted"
    allocated = "allocated"
    picking = "picking"
    packed = "packed"
    partially_shipped = "partially_shipped"
    shipped = "shipped"
    delivered = "delivered"
    on_hold = "on_hold"
    cancelled = "cancelled"
    returned = "returned"


class Customer(Canonical):
    name: str | None = None
    email: str | None = None
    phone: str | None = None


class OrderLine(Canonical):
    line_no: int = Field(ge=1)
    sku: Code
    quantity: Quantity
    unit_price: Decimal | None = Field(default=None, ge=0)
    uom: str | None = None
    allocated: Quantity = 0
    shipped: Quantity = 0
    cancelled: Quantity = 0
    returned: Quantity = 0
    received: dict[str, str | int] | None = None  # as the system sent what the hub translated


class ShipmentCover(Canonical):
    """What one shipment of an order carries, as the hub recorded it from the shipment's packages.

    `lines`: units by order line number (package lines that name their `order_line_no`); `skus`:
    units known only by SKU, spread over the order's lines when the order is read. `status` and
    `delivered_at` are the shipment's own.
    """

    lines: dict[str, Quantity] = {}
    skus: dict[str, Quantity] = {}
    status: str | None = None
    delivered_at: Timestamp | None = None


class Order(Canonical):
    """Key: the order number, e.g. `SO-1001`.

    Field groups split ownership the usual way: the channel owns what was sold (`lines`), the
    warehouse owns how it is being fulfilled (`fulfillment`).
    """

    FIELD_GROUPS: ClassVar[dict[str, tuple[str, ...]]] = {
        "lines": (
            "channel",
            "placed_at",
            "currency",
            "customer",
            "ship_to",
            "lines",
            "cancel_requested",
        ),
        "fulfillment": ("status", "warehouse", "shipments", "shipped_at", "delivered_at"),
    }
    HUB_FIELDS: ClassVar[tuple[str, ...]] = (
        "seller",
        "handed_over",
        "reservations",
        "backorders",
        "shipped_in",
        "shipped_by_line",
        "backordered_by_line",
        "returned_in",
        "returned_by_line",
    )

    channel: str | None = None
    status: OrderStatus | None = None
    placed_at: Timestamp | None = None
    currency: CurrencyCode | None = None
    customer: Customer | None = None
    ship_to: Address | None = None
    lines: list[OrderLine] | None = None
    cancel_requested: bool | None = None
    warehouse: str | None = None
    shipments: list[str] | None = None
    shipped_at: Timestamp | None = None
    delivered_at: Timestamp | None = None
    # written by the hub's oversell guard: the system that sold the order (its `channel` when that
    # names a system, else the first system that sent its lines), recorded once; whether the WMS
    # has taken it over (its last status other than on_hold was allocated or beyond: on hold, it
    # holds nothing again); units held per SKU and location, and units short per SKU
    seller: str | None = None
    handed_over: bool | None = None
    reservations: dict[str, dict[str, Quantity]] | None = None
    backorders: dict[str, Quantity] | None = None
    # written by the hub from the order's shipments and returns (pipeline/fulfilment.py): what each
    # shipment carries; units shipped, still owed after goods left, and returned, by line number
    shipped_in: dict[str, ShipmentCover] | None = None
    shipped_by_line: dict[str, Quantity] | None = None
    backordered_by_line: dict[str, Quantity] | None = None
    returned_in: dict[str, dict[str, Quantity]] | None = None  # RMA -> SKU -> units received back
    returned_by_line: dict[str, Quantity] | None = None
