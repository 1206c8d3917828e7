"""What a return puts back into stock and what it says came back."""

from __future__ import annotations

import pytest

from logisync.domain.restock import came_back, restock_target, to_restock, to_unstock

LINES = [
    {"sku": "A", "quantity": 2, "disposition": "restock"},
    {"sku": "B", "quantity": 1, "disposition": "dispose"},
    {"sku": "C", "quantity": 4, "disposition": "pending"},
]


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("authorised", {}),
        ("in_transit", {}),
        ("received", {"A": 2}),  # a line decided `restock` goes back once received
        ("restocked", {"A": 2, "C": 4}),  # the status speaks for the undecided lines
        ("disposed", {}),
    ],
)
def test_restock_target_by_status_and_disposition(status, expected):
    assert restock_target({"status": status, "lines": LINES}) == expected


def test_came_back_is_every_line_once_received():
    assert came_back({"status": "in_transit", "lines": LINES}) == {}
    assert came_back({"status": "disposed", "lines": LINES}) == {"A": 2, "B": 1, "C": 4}


def test_only_the_difference_moves_and_nothing_is_taken_back():
    assert to_restock({"A": 3}, {"A": 2}) == {"A": 1}
    assert to_restock({"A": 2}, {"A": 2}) == {}
    assert to_unstock({"A": 1}, {"A": 2, "B": 1}) == {"A": 1, "B": 1}
