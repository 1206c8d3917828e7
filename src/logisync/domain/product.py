"""Product master: one record per SKU."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, ClassVar, Literal

from pydantic import AfterValidator, Field
from pydantic_core import PydanticCustomError

from .common import Canonical, Code, CountryCode, CurrencyCode, Dimensions
from .gtin import gtin_problem
from .problem import GTIN, UNITS


def _valid_gtin(code: str) -> str:
    problem = gtin_problem(code)
    if problem is not None:
        raise PydanticCustomError(GTIN, problem)
    return code


Gtin = Annotated[str, AfterValidator(_valid_gtin)]  # GTIN-8/12/13/14 with a correct check digit


def _valid_units(units: dict[str, int]) -> dict[str, int]:
    for name, factor in units.items():
        if factor < 1:
            raise PydanticCustomError(
                UNITS, f"unit {name!r} is {factor} base units; a unit holds at least 1 (a case of 12: 12)"
            )
    return units


# Other units than the base one, in base units: {"case": 12, "pallet": 480}
Units = Annotated[dict[str, int], AfterValidator(_valid_units)]


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
    units: Units | None = None  # unit name -> how many base units, e.g. {"case": 12}
    status: Literal["active", "discontinued", "draft"] = "active"
    weight_kg: float | None = Field(default=None, ge=0)
    dimensions: Dimensions | None = None
    hs_code: str | None = None
    country_of_origin: CountryCode | None = None
    price: Decimal | None = Field(default=None, ge=0)
    currency: CurrencyCode | None = None
    attributes: dict[str, str] | None = None
