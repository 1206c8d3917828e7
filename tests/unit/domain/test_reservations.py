"""What an order should hold: open units, less what the WMS allocated and what has shipped."""

from __future__ import annotations

from logisync.domain.reservations import demand


def test_demand_is_the_open_units_of_a_holding_order():
    lines = [{"line_no": 1, "sku": "A", "quantity": 5, "allocated": 1, "shipped": 1, "cancelled": 1}]
    assert demand({"status": "created", "lines": lines}) == {"A": 2}
    assert demand({"status": "allocated", "lines": lines}) == {}


def test_units_the_hub_counted_from_shipments_are_not_held_again():
    lines = [
        {"line_no": 1, "sku": "A", "quantity": 5},
        {"line_no": 2, "sku": "B", "quantity": 2, "shipped": 1},
    ]
    order = {"status": "on_hold", "lines": lines, "shipped_by_line": {"1": 3, "2": 1}}
    assert demand(order) == {"A": 2, "B": 1}  # the larger of the line's own and the hub's count
