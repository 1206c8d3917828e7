"""Locations: warehouses, distribution centres, stores, 3PL sites."""

from __future__ import annotations

from typing import ClassVar, Literal

from .common import Address, Canonical


class Location(Canonical):
    """Key: the location code, e.g. `DC1`."""

    FIELD_GROUPS: ClassVar[dict[str, tuple[str, ...]]] = {}

    name: str | None = None
    kind: Literal["warehouse", "dc", "store", "3pl", "virtual"] = "warehouse"
    address: Address | None = None
    timezone: str | None = None
    active: bool = True
    attributes: dict[str, str] | None = None  # free codes, e.g. a partner's own code for the site
