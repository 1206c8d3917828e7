"""Units of measure converted to a SKU's base unit: examples, and properties over any units and quantities."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from logisync.domain.common import MAX_QUANTITY
from logisync.domain.kinds import Domain
from logisync.domain.quality import convert_inventory, convert_line
from logisync.domain.units import BASE_ALIASES, UnitError, to_base

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


# -- properties --------------------------------------------------------------------------------------


NAMES = st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12).filter(
    lambda n: n not in BASE_ALIASES
)
FACTORS = st.dictionaries(NAMES, st.integers(1, 10_000), min_size=1, max_size=4)


def _cased(draw_case: list[bool], name: str) -> str:
    return "".join(
        c.upper() if up else c for c, up in zip(name, draw_case + [False] * len(name), strict=False)
    )


@given(FACTORS, st.data(), st.integers(0, 10**6))
def test_a_known_unit_in_any_letter_case_is_its_factor_times_the_quantity(units, data, quantity):
    name = data.draw(st.sampled_from(sorted(units)))
    cased = _cased(data.draw(st.lists(st.booleans(), max_size=len(name))), name)
    assert to_base(quantity, cased, units) == quantity * units[name]
    assert to_base(quantity, data.draw(st.sampled_from(sorted(BASE_ALIASES))).upper(), units) == quantity


@given(
    FACTORS,
    st.text(max_size=15),
    st.one_of(st.integers(-5, 10**6), st.floats(allow_nan=False, allow_infinity=False)),
)
def test_any_unit_text_converts_or_says_why_never_anything_else(units, unit, quantity):
    try:
        base = to_base(quantity, unit, units)
    except UnitError as exc:
        assert str(exc)
    else:
        assert isinstance(base, int) and base >= 0


ORDER_LINE = st.fixed_dictionaries(
    {"sku": st.just("SKU-1"), "quantity": st.integers(0, 10**6)},
    optional={name: st.integers(0, 10**6) for name in ("allocated", "shipped", "cancelled", "returned")},
)


@given(FACTORS, st.data(), ORDER_LINE)
def test_a_line_converts_every_quantity_keeps_what_was_sent_and_converts_once(units, data, line):
    name = data.draw(st.sampled_from(sorted(units)))
    sent = {**line, "uom": name}
    work = dict(sent)
    product = {"base_uom": "each", "units": units}
    problem = convert_line(Domain.order, "lines[0]", work, "SKU-1", product)
    factor = units[name]
    if any(v * factor > MAX_QUANTITY for k, v in line.items() if k != "sku"):
        assert problem is not None and problem.rule == "units" and problem.field == "lines[0].uom"
        return
    assert problem is None
    assert work["uom"] == "each"
    for key, value in line.items():
        if key != "sku":
            assert work[key] == value * factor
    assert work["received"]["uom"] == name
    assert {k: v for k, v in work["received"].items() if k != "uom"} == {
        k: v for k, v in line.items() if k != "sku" and v
    }
    again = dict(work)
    assert convert_line(Domain.order, "lines[0]", again, "SKU-1", product) is None and again == work


@given(FACTORS, st.data(), st.integers(0, 10**6), st.integers(-(10**6), 10**6))
def test_an_inventory_change_converts_its_quantities_and_its_adjustment(units, data, on_hand, delta):
    name = data.draw(st.sampled_from(sorted(units)))
    fields = {"on_hand": on_hand, "adjust": {"on_hand": delta, "reason": "damage"}, "uom": name.upper()}
    assert convert_inventory(fields, "SKU-1", {"units": units}) is None
    assert (fields["on_hand"], fields["adjust"]["on_hand"], fields["uom"]) == (
        on_hand * units[name],
        delta * units[name],
        "each",
    )
