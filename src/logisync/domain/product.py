"""Product master: one record per SKU."""

from __future__ import annotations

from decimal import Decimal
from typing import ClassVar, Literal

from pydantic import Field

from .common import Canonical, Code, CountryCode, CurrencyCode, Dimensions


class Product(Canonical):
    """Key: the SKU, e.g. `SKU-1`."""

    FIELD_GROUPS: ClassVar[dict[str, tuple[str, ...]]] = {
        "master": ("name", "description", "gtin", "brand", "category", "base_uom", "status"),
        "logistics": ("weight_kg", "dimensions", "hs_code", "country_of_origin", "units"),
        "pricing": ("price", "currency"),
    }

    name: str | None = None
    description: str | None = None
    gtin: str | None = Field(default=None, pattern=r"^\d{8}$|^\d{12,14}$")
    brand: str | None = None
    category: str | None = None
    base_uom: Code = "each"
    units: dict[str, int] | None = None  # unit name -> how many base units, e.g. {"case": 12}
    status: Literal["active", "discontinued", "draft"] = "active"
    weight_kg: float | None = Field(default=None, ge=0)
    dimensions: Dimensions | None = None
    hs_code: str | None = None
    country_of_origin: CountryCode | None = None
    price: Decimal | None = Field(default=None, ge=0)
    currency: CurrencyCode | None = None
    attributes: dict[str, str] | None = None
