"""Product master: one record per SKU."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, Field

from .common import Canonical, Code, CountryCode, CurrencyCode, Dimensions
from .gtin import gtin_problem


def _valid_gtin(code: str) -> str:
    problem = gtin_problem(code)
    if problem is not None:
        raise ValueError(problem)
    return code


Gtin = Annotated[str, AfterValidator(_valid_gtin)]  # GTIN-8/12/13/14 with a correct check digit


class Product(Canonical):
    """Key: the SKU, e.g. `SKU-1`."""

    FIELD_GROUPS: ClassVar[dict[str, tuple[str, ...]]] = {
        "master": ("name", "description", "gtin", "brand", "category", "base_uom", "status"),
        "logistics": ("weight_kg", "dimensions", "hs_code", "country_of_origin", "units"),
        "pricing": ("price", "currency"),
    }

    name: str | None = None
    description: str | None = None
    gtin: Gtin | None = None
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
