"""Units of measure: quantities in each, cases of N, pallets of N, converted to a SKU's base unit."""

from __future__ import annotations

from collections.abc import Mapping

# Names people and partners write for the base unit (X12 uses EA; UN/ECE rec. 20 uses C62/H87).
BASE_ALIASES = frozenset({"each", "ea", "eaches", "unit", "units", "pc", "pcs", "piece", "c62", "h87"})


class UnitError(ValueError):
    """A quantity that cannot be converted: unknown unit, or not a whole number of base units."""


def to_base(quantity: int | float, unit: str | None, units: Mapping[str, int] | None) -> int:
    """`quantity` of `unit` in base units, using the product's `units` (e.g. {"case": 12, "pallet": 480}).

    A missing unit, or any alias of the base unit, means base units. The result must be a whole,
    non-negative number of base units; anything else is an error naming the unit and the factors
    the product knows.
    """
    if quantity < 0:
        raise UnitError(f"quantity {quantity} is negative")
    name = (unit or "each").strip().lower()
    if name in BASE_ALIASES:
        factor = 1
    else:
        known = {k.lower(): v for k, v in (units or {}).items()}
        if name not in known:
            listed = ", ".join(f"{k}={v}" for k, v in sorted(known.items())) or "none"
            raise UnitError(f"unit {unit!r} is not known for this product (its units: {listed})")
        factor = known[name]
        if factor <= 0:
            raise UnitError(f"unit {unit!r} has a factor of {factor}; it must be at least 1")
    base = quantity * factor
    if base != int(base):
        raise UnitError(f"{quantity} {unit} is {base} base units, not a whole number")
    return int(base)
