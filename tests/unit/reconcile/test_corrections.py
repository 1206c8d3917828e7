"""Auto-correction's limits: whatever the variances, a run never pushes past its thresholds."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from logisync.reconcile.corrections import Thresholds, plan
from logisync.reconcile.rules import default_rule

RULE = default_rule("inventory")
KINDS = ("missing_in_system", "missing_in_hub", "differs", "unreadable", "duplicate_in_system")

variance = st.fixed_dictionaries(
    {
        "key": st.sampled_from([f"SKU-{i}@DC{j}" for i in range(30) for j in (1, 2)]),
        "kind": st.sampled_from(KINDS),
        "units": st.integers(0, 1000),
    }
)


def rows_of(raw: list[dict]) -> list[dict]:
    out = []
    for r in raw:
        field = "on_hand" if r["kind"] in ("differs", "unreadable") else None
        out.append({**r, "field": field, "system": str(r["units"]), "hub": "0"})
    return out


@given(
    raw=st.lists(variance, max_size=80),
    max_keys=st.integers(0, 60),
    max_pct=st.floats(0, 100, allow_nan=False),
    hub_units=st.integers(0, 100_000),
    owner=st.booleans(),
)
def test_what_is_pushed_never_exceeds_either_threshold(raw, max_keys, max_pct, hub_units, owner):
    rows = rows_of(raw)
    keys = len({r["key"] for r in rows})
    units = float(sum(r["units"] for r in rows))
    limits = Thresholds(max_keys, max_pct)
    push, why = limits.decide(keys, units, float(hub_units))
    todo = plan(rows, RULE, owner=owner)
    pushed = todo.keys if push else []
    assert len(pushed) <= max_keys
    pushed_units = sum(
        r["units"]
        for r in rows
        if r["key"] in set(pushed) and r["kind"] in ("differs", "missing_in_system", "missing_in_hub")
    )
    assert pushed_units <= max_pct / 100 * hub_units or not pushed_units
    if not push:
        assert why  # a held run always says why
    # keys a person must look at are never corrected automatically
    assert not set(todo.keys) & set(todo.manual)
    for r in rows:
        if r["kind"] in ("unreadable", "duplicate_in_system") or (
            r["kind"] == "missing_in_hub" and not owner
        ):
            assert r["key"] not in todo.keys


def test_exactly_at_the_limits_is_within_them():
    assert Thresholds(2, 2.0).decide(2, 2.0, 100.0) == (True, "")
    assert Thresholds(2, 2.0).decide(3, 2.0, 100.0)[0] is False
    assert Thresholds(2, 2.0).decide(2, 2.01, 100.0)[0] is False
    assert Thresholds(5, 50).decide(1, 1, 0)[0] is False  # any unit of nothing is 100%
    assert Thresholds(0, 0).decide(0, 0, 0) == (True, "")


def test_an_owner_count_sets_the_counted_values_and_zero_for_positions_it_lacks():
    rows = [
        {"key": "A@1", "kind": "differs", "field": "on_hand", "system": "7", "hub": "9", "units": 2},
        {"key": "B@1", "kind": "missing_in_system", "field": None, "system": None, "hub": "4", "units": 4},
        {"key": "C@1", "kind": "missing_in_hub", "field": None, "system": "3.5", "hub": None, "units": 3.5},
    ]
    todo = plan(rows, RULE, owner=True)
    assert todo.changes == {"A@1": {"on_hand": 7}, "B@1": {"on_hand": 0}, "C@1": {"on_hand": 3.5}}
    assert todo.units == 9.5
