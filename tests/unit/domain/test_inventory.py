"""Inventory positions: `available` is derived from on_hand, allocated and reserved."""

from __future__ import annotations

import pytest

from logisync.domain.inventory import Inventory, derive_inventory


@pytest.mark.parametrize(
    ("fields", "available"),
    [
        ({"on_hand": 10, "allocated": 3}, 7),
        ({"on_hand": 10, "allocated": 3, "reserved": 2}, 5),
        ({"on_hand": 10}, 10),
        ({"allocated": 4}, -4),  # oversold: shown, not hidden
        ({}, 0),
        ({"on_hand": None, "allocated": None, "reserved": None}, 0),
        ({"on_hand": 5, "inbound": 100}, 5),  # expected stock is not available yet
    ],
)
def test_available_is_on_hand_minus_allocated_and_reserved(fields, available):
    assert derive_inventory(fields) == {"available": available}


def test_available_is_declared_derived_and_is_not_a_writable_field():
    assert Inventory.DERIVED == ("available",)
    assert "available" not in Inventory.model_fields
