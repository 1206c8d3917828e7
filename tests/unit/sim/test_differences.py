"""Property tests of the convergence comparison: a view equal to the golden records has no
difference; a view that differs at one leaf is reported at exactly that path, with both values."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from logisync.sim.invariants import route_differences

names = st.text(alphabet="abcdefgh_", min_size=1, max_size=6)
leaves = st.one_of(st.integers(-1000, 1000), st.booleans(), st.none(), st.text(alphabet="XYZ-", max_size=5))
values = st.recursive(
    leaves,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(names, inner, max_size=3)),
    max_leaves=12,
)
records = st.dictionaries(
    st.text(alphabet="SKU-0123", min_size=1, max_size=7),
    st.dictionaries(names, values, max_size=4),
    max_size=5,
)


def leaf_paths(value: Any, path: str = "") -> list[tuple[str, tuple[Any, ...]]]:
    """Every scalar leaf: its dotted path as the comparison writes it, and how to reach it."""
    if isinstance(value, dict):
        out = []
        for k, v in value.items():
            out += [(p, (k, *route)) for p, route in leaf_paths(v, f"{path}.{k}" if path else k)]
        return out
    if isinstance(value, list):
        out = []
        for i, v in enumerate(value):
            out += [(p, (i, *route)) for p, route in leaf_paths(v, f"{path}[{i}]")]
        return out
    return [(path, ())]


@given(records)
def test_a_view_equal_to_the_golden_records_has_no_difference(golden):
    assert route_differences(golden, copy.deepcopy(golden)) == []


@given(records, st.data())
def test_one_changed_leaf_is_reported_at_its_path(golden, data):
    leaves_of = [(key, path, route) for key, fields in golden.items() for path, route in leaf_paths(fields)]
    if not leaves_of:
        return
    key, path, route = data.draw(st.sampled_from(leaves_of))
    view = copy.deepcopy(golden)
    holder = view[key]
    for step in route[:-1]:
        holder = holder[step]
    old = holder[route[-1]]
    new = "changed!" if old != "changed!" else 0
    holder[route[-1]] = new
    assert route_differences(golden, view) == [
        {"key": key, "problem": "differs", "fields": {path: {"expected": old, "actual": new}}}
    ]


@given(records)
def test_a_missing_key_is_reported_as_missing(golden):
    for key in golden:
        view = {k: v for k, v in golden.items() if k != key}
        assert route_differences(golden, view) == [
            {"key": key, "problem": "missing", "expected": golden[key]}
        ]
