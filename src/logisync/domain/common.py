"""Small value types shared by several domains: addresses, quantities, codes, times, base model settings."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from .iso import country_problem, currency_problem

Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
MAX_QUANTITY = 10**12  # a business bound (a trillion units) that keeps every derived sum in 64 bits
Quantity = Annotated[int, Field(ge=0, le=MAX_QUANTITY)]


def _checked(problem: Callable[[str], str | None]) -> Callable[[str], str]:
    """A validator that raises what `problem(value)` finds wrong (None: nothing)."""

    def check(value: str) -> str:
        found = problem(value)
        if found is not None:
            raise ValueError(found)
        return value

    return check


# Two capital letters first (`usa`, `de` fail on shape), then an assigned ISO 3166-1 alpha-2 code.
CountryCode = Annotated[
    str, StringConstraints(pattern=r"^[A-Z]{2}$"), AfterValidator(_checked(country_problem))
]
# Three capital letters first, then a code in the ISO 4217 list.
CurrencyCode = Annotated[
    str, StringConstraints(pattern=r"^[A-Z]{3}$"), AfterValidator(_checked(currency_problem))
]

EXAMPLE = "e.g. 2026-03-01T12:00:00Z or 2026-03-01T14:00:00+02:00"


def _not_a_number(value: Any) -> Any:
    """Refuse epoch numbers: pydantic reads them as seconds or milliseconds depending on their size."""
    text = value.strip() if isinstance(value, str) else None
    if isinstance(value, int | float) or (text and text.lstrip("+-").replace(".", "", 1).isdigit()):
        raise ValueError(f"a time is ISO 8601 text with a UTC offset, not a number ({EXAMPLE})")
    return value


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"a time needs a UTC offset: write it with Z or +hh:mm ({EXAMPLE})")
    return moment


# A moment in time as ISO 8601 text with a UTC offset (`2026-03-01T12:00:00Z`, `...+02:00`). A time
# without an offset is refused, not guessed to be UTC: a warehouse's local clock is not UTC. The
# offset is kept as written.
Timestamp = Annotated[datetime, BeforeValidator(_not_a_number), AfterValidator(_aware)]


class Canonical(BaseModel):
    """Base of every canonical model: unknown fields are an error, never silently dropped."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Address(Canonical):
    name: str | None = None
    line1: str | None = None
    line2: str | None = None
    city: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country: CountryCode | None = None


class Dimensions(Canonical):
    length_cm: float = Field(ge=0)
    width_cm: float = Field(ge=0)
    height_cm: float = Field(ge=0)
