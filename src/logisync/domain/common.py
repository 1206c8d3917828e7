"""Small value types shared by several domains: addresses, quantities, codes, times, base model settings."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints
from pydantic_core import PydanticCustomError

from .iso import country_problem, currency_problem
from .problem import ISO_COUNTRY, ISO_CURRENCY, ISO_DATE

Code = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
MAX_QUANTITY = 10**12  # a business bound (a trillion units) that keeps every derived sum in 64 bits
Quantity = Annotated[int, Field(ge=0, le=MAX_QUANTITY)]


def _checked(rule: str, problem: Callable[[str], str | None]) -> Callable[[str], str]:
    """A validator that raises what `problem(value)` finds wrong (None: nothing), as an error of
    type `rule` (the rule a quarantined change names: see domain/problem.py)."""

    def check(value: str) -> str:
        found = problem(value)
        if found is not None:
            raise PydanticCustomError(rule, found)
        return value

    return check


def _country(code: str) -> str | None:
    if not _COUNTRY_SHAPE.fullmatch(code):
        return f"{code!r} is not an ISO 3166-1 alpha-2 country code (two capital letters, e.g. DE)"
    return country_problem(code)


def _currency(code: str) -> str | None:
    if not _CURRENCY_SHAPE.fullmatch(code):
        return f"{code!r} is not an ISO 4217 currency code (three capital letters, e.g. EUR)"
    return currency_problem(code)


_COUNTRY_SHAPE = re.compile(r"[A-Z]{2}")
_CURRENCY_SHAPE = re.compile(r"[A-Z]{3}")
# An assigned ISO 3166-1 alpha-2 code: two capital letters (`usa`, `de` are refused, never upper-cased).
CountryCode = Annotated[str, AfterValidator(_checked(ISO_COUNTRY, _country))]
# A code in the ISO 4217 list: three capital letters.
CurrencyCode = Annotated[str, AfterValidator(_checked(ISO_CURRENCY, _currency))]

EXAMPLE = "e.g. 2026-03-01T12:00:00Z or 2026-03-01T14:00:00+02:00"
# ISO 8601 date and time with an offset (RFC 3339 allows a space for the T): what `Timestamp` reads.
_ISO_8601 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?([Zz]|[+-]\d{2}(:?\d{2})?)?")
_ISO_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_text(value: Any) -> Any:
    """Text must be ISO 8601; epoch numbers are refused (pydantic reads them as seconds or
    milliseconds depending on their size, and other date forms it would guess at)."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, bool | int | float):
        raise PydanticCustomError(
            ISO_DATE, f"a time is ISO 8601 text with a UTC offset, not a number ({EXAMPLE})"
        )
    if isinstance(value, str):
        text = value.strip()
        if text.lstrip("+-").replace(".", "", 1).isdigit():
            raise PydanticCustomError(
                ISO_DATE, f"a time is ISO 8601 text with a UTC offset, not a number ({EXAMPLE})"
            )
        if _ISO_DATE_ONLY.fullmatch(text):
            raise PydanticCustomError(
                ISO_DATE, f"a time needs a time of day and a UTC offset, not only a date ({EXAMPLE})"
            )
        if not _ISO_8601.fullmatch(text):
            raise PydanticCustomError(ISO_DATE, f"not an ISO 8601 time ({EXAMPLE})")
        return text
    raise PydanticCustomError(ISO_DATE, f"a time is ISO 8601 text ({EXAMPLE})")


def _aware(moment: datetime) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise PydanticCustomError(
            ISO_DATE, f"a time needs a UTC offset: write it with Z or +hh:mm ({EXAMPLE})"
        )
    return moment


# A moment in time as ISO 8601 text with a UTC offset (`2026-03-01T12:00:00Z`, `...+02:00`). A time
# without an offset is refused, not guessed to be UTC: a warehouse's local clock is not UTC. The
# offset is kept as written. Every time a change carries (its `occurred_at`, the models' `*_at`
# fields) is of this type, and its errors are of the rule `iso_date`.
Timestamp = Annotated[datetime, BeforeValidator(_iso_text), AfterValidator(_aware)]


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
