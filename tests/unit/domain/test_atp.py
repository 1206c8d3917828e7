"""Channel availability: the formula by hand, and the incremental index against it recomputed from scratch."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logisync.config.model import AtpTransform
from logisync.domain.atp import AtpIndex, channel_atp, share_fraction


def rule(**kw) -> AtpTransform:
    return AtpTransform(**kw)


@pytest.mark.parametrize(
    ("positions", "transform", "atp"),
    [
        ({"DC1": 10, "DC2": 5}, {}, 15),  # every location, no safety stock, the whole of it
        ({"DC1": 10, "DC2": 5}, {"safety_stock": 3}, 12),
        ({"DC1": 10, "DC2": 5}, {"safety_stock": 3, "share": 0.5}, 6),
        ({"DC1": 10, "DC2": 5}, {"safety_stock": 2, "share": 0.5}, 6),  # 6.5 rounds down
        ({"DC1": 10, "DC2": 5}, {"safety_stock": 15}, 0),  # exactly the safety stock
        ({"DC1": 10, "DC2": 5}, {"safety_stock": 40}, 0),  # floored at zero, never negative
        ({"DC1": 1}, {"share": 0.5}, 0),  # half a unit is not a unit
        ({"DC1": 10}, {"share": 0.3}, 3),  # Fraction(0.3) * 10 would be 2.999... -> 2
        ({"DC1": 100}, {"share": 0.29}, 29),  # 100 * 0.29 in floats is 28.999999999999996
        ({"DC1": 7}, {"share": 0.1}, 0),
        ({"DC1": 10**12}, {"share": 0.7}, 7 * 10**11),
        ({"DC1": 10, "DC2": 5, "STORE9": 100}, {"locations": ["DC1", "DC2"]}, 15),  # others ignored
        ({"DC1": 10}, {"locations": ["DC1", "DC2"]}, 10),  # a serving location without a position
        ({"DC1": 10}, {"locations": ["DC1", "DC1"]}, 10),  # a location named twice counts once
        ({"STORE9": 100}, {"locations": ["DC1"]}, 0),
        ({}, {}, 0),
        ({"DC1": 10, "DC2": -4}, {}, 10),  # a short location counts as zero, not minus four
        ({"DC1": 10, "DC2": -4}, {"safety_stock": 2}, 8),
        ({"DC1": -3, "DC2": -4}, {}, 0),
        ({"DC1": 10, "DC2": -4}, {"locations": ["DC2"]}, 0),
        ({"DC1": 0, "DC2": 9}, {"safety_stock": 1, "share": 0.25, "locations": ["DC2"]}, 2),
    ],
)
def test_channel_atp_by_hand(positions, transform, atp):
    assert channel_atp(positions, rule(**transform)) == atp


def test_share_is_the_decimal_written():
    assert share_fraction(0.3) == share_fraction(0.30) == pytest.approx(0.3)
    assert share_fraction(0.3).as_integer_ratio() == (3, 10)
    assert share_fraction(1).as_integer_ratio() == (1, 1)
    assert share_fraction(1e-05).as_integer_ratio() == (1, 100_000)


CHANNELS = {
    "web": rule(),
    "amazon": rule(locations=["DC1", "DC2"], safety_stock=2, share=0.5),
    "b2b": rule(locations=["DC3"], share=0.3),
}


def test_index_reports_the_channels_whose_atp_moved():
    index = AtpIndex(CHANNELS)
    assert index.set("SKU-1", "DC1", 10) == {"web": 10, "amazon": 4}
    assert index.set("SKU-1", "DC3", 10) == {"web": 20, "b2b": 3}
    assert index.set("SKU-1", "DC3", 10) == {}  # the same value again: nothing moved
    assert index.set("SKU-1", "DC3", 11) == {"web": 21}  # b2b: floor(3.3) is still 3
    assert index.set("SKU-1", "STORE9", 5) == {"web": 26}  # a new location serves only "every location"
    assert index.set("SKU-1", "DC1", -2) == {"web": 16, "amazon": 0}
    assert index.set("SKU-1", "DC1", -5) == {}  # short either way
    assert index.set("SKU-2", "DC2", 1) == {"web": 1}  # amazon: 1 - 2 is below zero
    assert index.atp_by_channel("SKU-1") == {"web": 16, "amazon": 0, "b2b": 3}
    assert index.atp("amazon", "SKU-2") == 0


def test_index_reads_and_lists():
    index = AtpIndex(CHANNELS)
    index.set("SKU-1", "DC3", 4)
    index.set("SKU-2", "DC1", 1)
    index.set("SKU-1", "STORE9", -1)
    assert list(index.skus()) == ["SKU-1", "SKU-2"]
    assert len(index) == 2
    assert "SKU-1" in index
    assert "SKU-3" not in index
    assert index.channels == ("web", "amazon", "b2b")
    assert index.locations() == ("DC1", "DC2", "DC3", "STORE9")
    assert index.positions("SKU-1") == {"DC1": 0, "DC2": 0, "DC3": 4, "STORE9": -1}
    assert index.positions("SKU-2") == {"DC1": 1, "DC2": 0, "DC3": 0}  # its row never reached STORE9
    assert index.available("SKU-1", "STORE9") == -1
    assert index.available("SKU-2", "STORE9") == 0
    assert index.available("SKU-3", "DC1") == 0
    assert index.atp("web", "SKU-3") == 0  # no positions: nothing to sell
    with pytest.raises(KeyError):
        index.atp("ebay", "SKU-1")


def test_load_then_recompute_all():
    index = AtpIndex(CHANNELS)
    index.load([("SKU-1", "DC1", 10), ("SKU-1", "DC3", 10), ("SKU-2", "DC2", 1), ("SKU-2", "DC9", 3)])
    assert index.recompute_all() == {
        "web": {"SKU-1": 20, "SKU-2": 4},
        "amazon": {"SKU-1": 4, "SKU-2": 0},
        "b2b": {"SKU-1": 3, "SKU-2": 0},
    }
    assert index.atp("amazon", "SKU-1") == 4
    assert index.set("SKU-2", "DC1", 5) == {"web": 9, "amazon": 2}


def test_a_channel_without_locations_sees_every_location():
    index = AtpIndex({"all": rule(safety_stock=1)})
    assert index.set("SKU-1", "A", 2) == {"all": 1}
    assert index.set("SKU-1", "B", 2) == {"all": 3}
    assert index.recompute_all() == {"all": {"SKU-1": 3}}


# Property: any sequence of `set` calls leaves the index equal to the formula recomputed from
# scratch, and each `set` reports exactly the channels whose ATP moved.

LOCATIONS = ["DC1", "DC2", "DC3", "STORE4", "STORE5"]
SKUS = ["SKU-1", "SKU-2", "SKU-3"]

shares = st.one_of(
    st.sampled_from([1.0, 0.5, 0.3, 0.29, 0.1, 1 / 3, 0.7, 0.05]),
    st.floats(min_value=1e-6, max_value=1.0, allow_nan=False, exclude_min=True),
)
rules = st.builds(
    AtpTransform,
    locations=st.none() | st.lists(st.sampled_from([*LOCATIONS, "DC9"]), min_size=1, max_size=4),
    safety_stock=st.integers(0, 30),
    share=shares,
)
channel_sets = st.dictionaries(st.sampled_from(["web", "amazon", "ebay", "b2b", "retail"]), rules, max_size=5)
moves = st.lists(
    st.tuples(st.sampled_from(SKUS), st.sampled_from(LOCATIONS), st.integers(-20, 60)), max_size=40
)


def from_scratch(positions: dict[str, dict[str, int]], channels: dict[str, AtpTransform]):
    return {
        name: {sku: channel_atp(pos, r) for sku, pos in positions.items()} for name, r in channels.items()
    }


@settings(max_examples=300, deadline=None)
@given(channels=channel_sets, moves=moves, preload=moves)
def test_index_matches_the_formula_after_any_sequence_of_sets(channels, moves, preload):
    index = AtpIndex(channels)
    positions: dict[str, dict[str, int]] = {}
    for sku, loc, available in preload:
        positions.setdefault(sku, {})[loc] = available
    index.load(preload)
    assert index.recompute_all() == from_scratch(positions, channels)
    for sku, loc, available in moves:
        before = {name: channel_atp(positions.get(sku, {}), r) for name, r in channels.items()}
        positions.setdefault(sku, {})[loc] = available
        after = {name: channel_atp(positions[sku], r) for name, r in channels.items()}
        changed = index.set(sku, loc, available)
        assert changed == {name: v for name, v in after.items() if v != before[name]}
        assert index.atp_by_channel(sku) == after
    expected = from_scratch(positions, channels)
    for name in channels:
        for sku in positions:
            assert index.atp(name, sku) == expected[name][sku]
    assert index.recompute_all() == expected
    assert sorted(index.skus()) == sorted(positions)
    for sku, pos in positions.items():
        assert {loc: v for loc, v in index.positions(sku).items() if loc in pos} == pos
