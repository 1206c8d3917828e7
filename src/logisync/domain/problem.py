"""What a refused change says as data: the rule it broke, on which field, with the value found.

Every check of a change (the schema's codes, quantities and times, and the quality rules that
read the store) reports a `Problem`. The quarantined change's exception carries its `detail()`
and the change's outcome its `summary()`, so a person and a program read the same three facts.

A field path is written as in JSON with list positions from 0: `lines[1].sku`,
`packages[0].lines[2].quantity`, `ship_to.country`; `key` is the change's key.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson

# The rules, as `rule` in a problem's detail. The quality rules' names are also their exception
# kinds; the schema's rules quarantine with the exception kind `validation`.
GTIN = "gtin"  # a GTIN-8/12/13/14 whose check digit (or length, or digits) is wrong
UNITS = "units"  # a unit of measure that cannot be converted to the SKU's base unit
NON_NEGATIVE = "non_negative"  # a quantity below zero
UNKNOWN_SKU = "unknown_sku"  # a SKU the hub has no product record of (quality.unknown_sku)
UNKNOWN_LOCATION = "unknown_location"  # the same for locations
UNKNOWN_XREF = "unknown_xref"  # a system's own id its cross-reference table does not map
ISO_COUNTRY = "iso_country"  # not an assigned ISO 3166-1 alpha-2 code
ISO_CURRENCY = "iso_currency"  # not an ISO 4217 code
ISO_DATE = "iso_date"  # not an ISO 8601 time with a UTC offset
KEY = "key"  # a key that is not of the domain's form
READ_ONLY = "read_only"  # a field the hub derives or keeps itself
UNKNOWN_FIELD = "unknown_field"  # a field the domain's model does not have
SCHEMA = "schema"  # any other misfit with the model: a type, a required field, a bound

_MAX_TEXT = 200  # a value kept in a detail is cut to this many characters


@dataclass(slots=True)
class Problem:
    """Which rule failed on which field, with the value found: what a quarantined change says."""

    rule: str
    field: str  # the field path, e.g. lines[1].sku
    value: Any
    reason: str  # one sentence, starting with the field path
    extra: dict[str, Any] = dataclasses.field(
        default_factory=dict
    )  # e.g. the system and kind of a cross-reference

    def summary(self) -> dict[str, Any]:
        """The three facts, JSON-ready: what a change's outcome carries."""
        return {"rule": self.rule, "field": self.field, "value": shown(self.value)}

    def detail(self) -> dict[str, Any]:
        """The summary and what else the rule knows (the exception's detail)."""
        return {**self.summary(), **self.extra}


def detail_of(problems: Sequence[Problem]) -> dict[str, Any]:
    """An exception's detail for one or more problems: the first, and all of them when several."""
    out = problems[0].detail()
    if len(problems) > 1:
        out["problems"] = [p.summary() for p in problems]
    return out


def json_path(loc: Sequence[str | int]) -> str:
    """('lines', 0, 'quantity') -> `lines[0].quantity`."""
    out = ""
    for step in loc:
        if isinstance(step, int):
            out += f"[{step}]"
        else:
            out += f".{step}" if out else str(step)
    return out


def shown(value: Any) -> Any:
    """A value as a JSON detail can hold it: scalars as they are (long text cut), others as text."""
    if value is None or isinstance(value, bool | float):
        return value
    if isinstance(value, int):
        return value if -(2**63) <= value < 2**63 else str(value)
    if isinstance(value, str):
        return value if len(value) <= _MAX_TEXT else value[:_MAX_TEXT] + "…"
    if isinstance(value, dict | list) and len(repr(value)) <= _MAX_TEXT:
        try:
            return orjson.loads(orjson.dumps(value))
        except (TypeError, orjson.JSONEncodeError):
            pass
    text = repr(value)
    return text if len(text) <= _MAX_TEXT else text[:_MAX_TEXT] + "…"
