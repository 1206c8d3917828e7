"""Units of measure converted to a SKU's base unit."""

from __future__ import annotations

import pytest

from logisync.domain.units import UnitError, to_base

UNITS = {"case": 12, "Pallet": 480}


@pytest.mark.parametrize(
    ("quantity", "unit", "base"),
    [(5, None, 5), (5, "each", 5), (5, "EA", 5), (2, "case", 24), (1, "pallet", 480), (0.5, "case", 6)],
)
def test_conversions(quantity, unit, base):
    assert to_base(quantity, unit, UNITS) == base


@pytest.mark.parametrize(
    ("quantity", "unit", "words"),
    [
        (1, "crate", "unit 'crate' is not known for this product (its units: case=12, pallet=480)"),
        (0.3, "case", "not a whole number"),
        (-1, "case", "negative"),
        (1.5, None, "not a whole number"),
    ],
)
def test_what_cannot_be_converted_says_why(quantity, unit, words):
    with pytest.raises(UnitError) as err:
        to_base(quantity, unit, UNITS)
    assert words in str(err.value)


def test_a_product_without_units_knows_only_its_base_unit():
    with pytest.raises(UnitError, match="its units: none"):
        to_base(1, "case", None)
