"""Shipments with packages and tracking numbers."""

from __future__ import annotations

from typing import ClassVar

from pydantic import Field

from .common import Address, Canonical, Code, Quantity, Timestamp


class PackageLine(Canonical):
    sku: Code
    quantity: Quantity
    order_line_no: int | None = None
    uom: str | None = None
    received: dict[str, str | int] | None = None  # as the system sent what the hub translated


class Package(Canonical):
    package_id: Code
    tracking_number: str | None = None
    weight_kg: float | None = Field(default=None, ge=0)
    lines: list[PackageLine] = []


class ParcelStatus(Canonical):
    """One tracking number's status as the hub worked it out from its carrier events."""

    status: str | None = None
    at: Timestamp | None = None  # the time of the event that set it


class Shipment(Canonical):
    """Key: the shipment number, e.g. `SH-1001-1`.

    `tracking_status` (each tracking number's status from its events) is written by the hub
    alone; `status` and `delivered_at` follow from it (pipeline/tracking_rules.py).
    """

    FIELD_GROUPS: ClassVar[dict[str, tuple[str, ...]]] = {
        "contents": ("order_number", "ship_from", "ship_to", "packages", "shipped_at"),
        "carriage": ("carrier", "service", "tracking_numbers"),
        "status": ("status", "delivered_at"),
    }
    HUB_FIELDS: ClassVar[tuple[str, ...]] = ("tracking_status",)

    order_number: str | None = None
    carrier: str | None = None
    service: str | None = None
    status: str | None = None
    ship_from: str | None = None
    ship_to: Address | None = None
    packages: list[Package] | None = None
    tracking_numbers: list[str] | None = None
    shipped_at: Timestamp | None = None
    delivered_at: Timestamp | None = None
    tracking_status: dict[str, ParcelStatus] | None = None
