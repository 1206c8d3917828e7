"""Measures in other units: weights and lengths a file gives in pounds or inches, kept in kg or cm.

Quantities of goods (cases, pallets) are not measures: the quality rules convert those with each
product's own units (`domain/units.py`). These factors are exact by definition (NIST SP 811).
"""

from __future__ import annotations

from decimal import Decimal

# each unit in its dimension's base unit (kilogram, metre)
_FACTORS: dict[str, tuple[str, Decimal]] = {
    "kg": ("mass", Decimal(1)),
    "g": ("mass", Decimal("0.001")),
    "lb": ("mass", Decimal("0.45359237")),
    "oz": ("mass", Decimal("0.028349523125")),
    "m": ("length", Decimal(1)),
    "cm": ("length", Decimal("0.01")),
    "mm": ("length", Decimal("0.001")),
    "in": ("length", Decimal("0.0254")),
    "ft": ("length", Decimal("0.3048")),
}
UNITS = tuple(_FACTORS)


def conversion(source: str, target: str) -> Decimal:
    """The factor that turns a measure in `source` units into `target` units; ValueError if none."""
    for unit in (source, target):
        if unit not in _FACTORS:
            raise ValueError(f"unknown unit {unit!r} (known: {', '.join(UNITS)})")
    (dim_a, a), (dim_b, b) = _FACTORS[source], _FACTORS[target]
    if dim_a != dim_b:
        raise ValueError(f"cannot convert {source} ({dim_a}) to {target} ({dim_b})")
    return a / b
