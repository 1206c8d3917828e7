"""Orders from their shipments: coverage by line and by SKU, what is owed, the status, the moves."""

from __future__ import annotations

from typing import Any

import pytest

from logisync.domain.fulfilment import (
    owed_by_line,
    returned_by_line,
    shipment_contents,
    shipped_by_line,
    spread,
    status_path,
    target_status,
)
from logisync.domain.order import OrderStatus

LINES = [
    {"line_no": 1, "sku": "A", "quantity": 3},
    {"line_no": 2, "sku": "B", "quantity": 2},
]


def cover(
    lines: dict[str, int] | None = None, skus: dict[str, int] | None = None, status: Any = None
) -> dict:
    return {"lines": lines or {}, "skus": skus or {}, "status": status, "delivered_at": None}


def test_package_lines_count_by_order_line_when_named_else_by_sku():
    packages = [
        {"package_id": "P1", "lines": [{"sku": "A", "quantity": 2, "order_line_no": 1}]},
        {
            "package_id": "P2",
            "lines": [{"sku": "A", "quantity": 1, "order_line_no": 1}, {"sku": "B", "quantity": 1}],
        },
    ]
    assert shipment_contents(packages) == ({"1": 3}, {"B": 1})
    assert shipment_contents(None) == ({}, {})


def test_units_by_sku_fill_lines_in_order_and_the_rest_lands_on_the_last():
    lines = [{"line_no": 1, "sku": "A", "quantity": 2}, {"line_no": 3, "sku": "A", "quantity": 2}]
    assert spread({"A": 3}, lines, {"1": 2, "3": 2}) == ({"1": 2, "3": 1}, {})
    assert spread({"A": 6}, lines, {"1": 2, "3": 2}) == ({"1": 2, "3": 4}, {})  # over-shipped, not lost
    assert spread({"Z": 1}, lines, {}) == ({}, {"Z": 1})


def test_shipped_by_line_adds_every_live_shipment_and_skips_cancelled_ones():
    shipments = {
        "SH-1": cover({"1": 2}),
        "SH-2": cover(skus={"A": 1, "B": 2}),
        "SH-3": cover({"2": 2}, status="cancelled"),
    }
    assert shipped_by_line(LINES, shipments) == ({"1": 3, "2": 2}, {})


def test_a_line_number_or_sku_the_order_does_not_have_is_unmatched():
    shipments = {"SH-1": cover({"9": 1}, {"Z": 2})}
    assert shipped_by_line(LINES, shipments) == ({}, {"line 9": 1, "Z": 2})


def test_owed_counts_the_lines_own_shipped_and_cancelled():
    lines = [{**LINES[0], "cancelled": 1}, {**LINES[1], "shipped": 2}]
    assert owed_by_line(lines, {"1": 1}) == {"1": 1}
    assert owed_by_line(lines, {"1": 2}) == {}


def test_returns_spread_over_the_lines_up_to_what_each_shipped():
    assert returned_by_line(LINES, {"A": 2}, {"1": 3}) == ({"1": 2}, {})


@pytest.mark.parametrize(
    ("shipped", "returned", "statuses", "expected"),
    [
        ({}, {}, [], None),
        ({"1": 3}, {}, ["in_transit"], OrderStatus.partially_shipped),
        ({"1": 3, "2": 2}, {}, ["in_transit", "delivered"], OrderStatus.shipped),
        ({"1": 3, "2": 2}, {}, ["delivered", "delivered", "cancelled"], OrderStatus.delivered),
        ({"1": 3, "2": 2}, {}, ["returned_to_sender"], OrderStatus.returned),
        ({"1": 3, "2": 2}, {"1": 3, "2": 2}, ["delivered"], OrderStatus.returned),
        ({"1": 3, "2": 2}, {"1": 1}, ["delivered"], OrderStatus.delivered),
    ],
)
def test_target_status(shipped, returned, statuses, expected):
    assert target_status(LINES, shipped, returned, statuses) == expected


def test_a_cancelled_rest_makes_a_partial_order_shipped():
    lines = [LINES[0], {**LINES[1], "cancelled": 2}]
    assert target_status(lines, {"1": 3}, {}, [None]) == OrderStatus.shipped


def test_no_lines_no_status():
    assert target_status([], {"1": 3}, {}, ["delivered"]) is None


@pytest.mark.parametrize(
    ("current", "target", "path"),
    [
        (None, OrderStatus.shipped, ["shipped"]),  # a first status is taken as it comes
        ("packed", OrderStatus.partially_shipped, ["partially_shipped"]),
        ("partially_shipped", OrderStatus.delivered, ["shipped", "delivered"]),
        ("allocated", OrderStatus.returned, ["shipped", "returned"]),
        ("shipped", OrderStatus.partially_shipped, []),  # never backwards
        ("returned", OrderStatus.delivered, []),
        ("delivered", OrderStatus.delivered, []),
    ],
)
def test_status_path_moves_forward_through_shipped(current, target, path):
    assert status_path(current, target) == (path, None)


@pytest.mark.parametrize("current", ["cancelled", "on_hold"])
def test_status_path_refuses_what_the_lifecycle_refuses(current):
    path, problem = status_path(current, OrderStatus.shipped)
    assert path == []
    assert problem is not None and f"from {current!r}" in problem
