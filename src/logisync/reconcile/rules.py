"""What a reconciliation compares: the fields, each one's tolerance, and how an absent key counts."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

FIELD_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,63}$")


@dataclass(frozen=True, slots=True)
class FieldRule:
    """One compared field.

    A `number` differs when `|system - hub| > max(tolerance, tolerance_pct / 100 * |hub|)`;
    `text` differs when the two values are not equal (an absent value equals only another).
    """

    name: str
    kind: Literal["number", "text"] = "number"
    tolerance: float = 0.0
    tolerance_pct: float = 0.0

    def __post_init__(self) -> None:
        if not FIELD_NAME.match(self.name):
            raise ValueError(f"field {self.name!r}: a field name is lower-case letters, digits and _")
        if self.tolerance < 0 or self.tolerance_pct < 0:
            raise ValueError(f"field {self.name}: a tolerance cannot be negative")


@dataclass(frozen=True, slots=True)
class DiffRule:
    """How one domain is compared.

    `units_field` is the quantity whose difference counts as units at stake (the other fields'
    differences are reported but not added up, so a position is not counted twice). With
    `absent_is_zero`, a number that one side leaves out counts as 0, and a key only one side
    holds is no variance when its numbers are all 0 (a WMS export leaves empty bins out).
    """

    domain: str
    fields: tuple[FieldRule, ...]
    units_field: str | None = None
    absent_is_zero: bool = False
    split_key: bool = field(default=False)  # inventory keys are SKU@LOCATION

    def __post_init__(self) -> None:
        if not self.fields:
            raise ValueError(f"reconciling {self.domain} compares no fields: name at least one")
        names = [f.name for f in self.fields]
        if len(set(names)) != len(names):
            raise ValueError(f"reconciling {self.domain}: a field is named twice in {names}")
        if self.units_field is not None and self.units_field not in names:
            raise ValueError(f"units field {self.units_field!r} is not one of the compared fields {names}")


def default_rule(domain: str, fields: dict[str, FieldRule] | None = None) -> DiffRule:
    """The rule for a domain: inventory compares `on_hand` by default, units are `on_hand`,
    an absent position is 0; other domains must name their fields."""
    if domain == "inventory":
        chosen = tuple((fields or {"on_hand": FieldRule("on_hand")}).values())
        units = "on_hand" if any(f.name == "on_hand" for f in chosen) else None
        return DiffRule(domain, chosen, units_field=units, absent_is_zero=True, split_key=True)
    return DiffRule(domain, tuple((fields or {}).values()))
