"""Measures in other units: exact factors, and a clear refusal across dimensions."""

from __future__ import annotations

from decimal import Decimal

import pytest

from logisync.domain.measures import conversion


def test_exact_factors():
    assert conversion("lb", "kg") == Decimal("0.45359237")
    assert conversion("kg", "g") == 1000
    assert conversion("in", "cm") == Decimal("2.54")
    assert conversion("oz", "lb") == Decimal("0.0625")


def test_unknown_units_and_other_dimensions_are_refused():
    with pytest.raises(ValueError, match="unknown unit 'stone'"):
        conversion("stone", "kg")
    with pytest.raises(ValueError, match=r"cannot convert kg \(mass\) to m \(length\)"):
        conversion("kg", "m")
