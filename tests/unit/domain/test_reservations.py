"""What an order should hold: open units, less what the WMS allocated and what has shipped."""

from __future__ import annotations

from logisync.domain.reservations import demand, handed_over, place, placement_order, unplace


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


def test_on_hold_holds_as_before_the_hold_and_nothing_once_handed_over():
    lines = [{"line_no": 1, "sku": "A", "quantity": 3}]
    assert demand({"status": "on_hold", "lines": lines}) == {"A": 3}  # a payment review
    assert demand({"status": "on_hold", "handed_over": True, "lines": lines}) == {}
    assert demand({"status": "cancelled", "lines": lines}) == {}
    assert (handed_over({"status": "accepted"}), handed_over({"status": "picking"})) == (None, True)
    assert handed_over({"status": "on_hold", "handed_over": True}) is True


def test_place_takes_what_each_location_has_in_the_order_given_never_below_zero():
    assert place(5, [("DC1", 2), ("DC2", -3), ("DC3", 10)]) == {"DC1": 2, "DC3": 3}
    assert place(4, [("DC1", 1)]) == {"DC1": 1}  # the rest is the caller's backorder
    assert place(0, [("DC1", 9)]) == {}


def test_unplace_releases_the_last_placed_locations_first():
    assert unplace(3, {"DC1": 2, "DC2": 2}) == {"DC2": 2, "DC1": 1}
    assert unplace(9, {"DC1": 2}) == {"DC1": 2}


def test_placement_prefers_the_orders_warehouse_then_the_channels_order_then_most_available():
    positions = {"DC1": 1, "DC2": 5, "DC3": 7, "DC4": 7}
    assert placement_order(positions, ["DC2", "DC1"], "DC4") == [
        ("DC4", 7),
        ("DC2", 5),
        ("DC1", 1),
        ("DC3", 7),
    ]
    assert [loc for loc, _ in placement_order(positions)] == ["DC3", "DC4", "DC2", "DC1"]
    assert [loc for loc, _ in placement_order(positions, ["DC9"], "DC8")] == ["DC3", "DC4", "DC2", "DC1"]
