"""The inbox's pure parts: root causes, edit paths, replay ids, the change-record diff."""

from __future__ import annotations

import pytest

from logisync.inbox import (
    InvalidAction,
    apply_edits,
    field_diff,
    parse_path,
    replay_id,
    root_cause,
    validation_problem,
)


@pytest.mark.parametrize(
    ("kind", "route", "system", "domain", "reason", "parts", "cause"),
    [
        (
            "dead_delivery",
            "stock-to-shop",
            "shop",
            "inventory",
            "…",
            {"error_kind": "rejected", "status": 422},
            "stock-to-shop: rejected 422",
        ),
        (
            "dead_delivery",
            "stock-to-shop",
            "shop",
            "inventory",
            "…",
            {"error_kind": "timeout"},
            "stock-to-shop: timeout",
        ),
        ("dead_delivery", "stock-to-shop", "shop", "inventory", "…", {}, "stock-to-shop: failed"),
        ("sla_breach", "stock-to-shop", None, None, "…", {}, "stock-to-shop: over its SLA"),
        (
            "validation",
            None,
            "wms",
            "order",
            "field lines.0.quantity: Input should be greater than 0 (got -1); field note: unknown field (got 'x')",
            {},
            "order lines[].quantity: Input should be greater than 0",
        ),
        (
            "validation",
            None,
            "wms",
            "inventory",
            "key 'x' is not a valid inventory key (expected like 'SKU-1@DC1')",
            {},
            "inventory key: not a valid key",
        ),
        (
            "validation",
            None,
            "wms",
            "inventory",
            "the change has no fields",
            {},
            "inventory the change has no fields",
        ),
        (
            "unknown_sku",
            None,
            "shop",
            "order",
            "lines[1].sku: SKU-404 is not a known product",
            {"field": "lines[1].sku", "value": "SKU-404"},
            "SKU-404",
        ),
        (
            "unknown_xref",
            None,
            "shop",
            "order",
            "…",
            {"xref_kind": "sku", "value": "L-404"},
            "shop sku L-404",
        ),
        (
            "units",
            None,
            "wms",
            "order",
            "…",
            {"field": "lines[0].uom", "value": "crate", "sku": "SKU-1"},
            "SKU-1 uom crate",
        ),
        (
            "ownership_conflict",
            None,
            "shop",
            "product",
            "…",
            {"owners": ["erp"], "conflicting": ["name", "brand"]},
            "shop: name, brand (owned by erp)",
        ),
        ("scope", None, "erp", "inventory", "…", {}, "erp may not write inventory"),
        (
            "illegal_transition",
            None,
            "wms",
            "order",
            "…",
            {"from": "shipped", "to_status": "created"},
            "order shipped → created",
        ),
        (
            "illegal_transition",
            None,
            "wms",
            "order",
            "…",
            {"from": "packed", "to": "cancelled"},
            "order packed → cancelled",
        ),
        (
            "insufficient_stock",
            None,
            "shop",
            "order",
            "…",
            {"channel": "shop", "policy": "reject"},
            "channel shop (reject)",
        ),
        ("shipment_mismatch", None, "wms", "order", "…", {}, "wms order"),
        ("mystery", None, None, None, "…", {}, "mystery"),
    ],
)
def test_root_causes(kind, route, system, domain, reason, parts, cause):
    assert root_cause(kind, route, system, domain, reason, parts) == cause


def test_a_detail_member_reads_the_same_from_either_store():
    # SQLite hands back 422 and 1; PostgreSQL '422' and '1.0' would not group with them
    as_int = root_cause("dead_delivery", "r", None, None, None, {"error_kind": "rejected", "status": 422})
    as_text = root_cause("dead_delivery", "r", None, None, None, {"error_kind": "rejected", "status": "422"})
    as_float = root_cause("dead_delivery", "r", None, None, None, {"error_kind": "rejected", "status": 422.0})
    assert as_int == as_text == as_float


@pytest.mark.parametrize(
    ("reason", "problem"),
    [
        (
            "field on_hand: Input should be greater than or equal to 0 (got -1)",
            "on_hand: Input should be greater than or equal to 0",
        ),
        ("field lines[2].sku: unknown field (got 'x')", "lines[].sku: unknown field"),
        ("field packages.0.lines.1.qty: bad (got 1)", "packages[].lines[].qty: bad"),
        (
            "field available: derived by the hub, cannot be written",
            "available: derived by the hub, cannot be written",
        ),
        (None, ""),
    ],
)
def test_validation_problems_keep_the_path_and_message_but_not_the_value(reason, problem):
    assert validation_problem(reason) == problem


@pytest.mark.parametrize(
    ("path", "steps"),
    [
        ("on_hand", ["on_hand"]),
        ("lines[0].qty", ["lines", 0, "qty"]),
        ("lines.0.qty", ["lines", "0", "qty"]),  # a number after a dot: a key, or a position in a list
        ("packages[1].lines[2].uom", ["packages", 1, "lines", 2, "uom"]),
        ("a.b.c", ["a", "b", "c"]),
    ],
)
def test_paths(path, steps):
    assert parse_path(path) == steps


@pytest.mark.parametrize("path", ["", "[0]", "lines[x]", "a..b", ".a", "lines[0"])
def test_a_path_that_is_not_one_is_refused(path):
    with pytest.raises(InvalidAction, match="is not a field path"):
        parse_path(path)


def test_edits_set_and_remove_fields_at_any_depth_and_leave_the_original_alone():
    original = {"status": "created", "lines": [{"sku": "SKU-1", "quantity": -1}], "note": "x"}
    edited = apply_edits(
        original,
        {"lines[0].quantity": 2, "lines.0.sku": "SKU-2", "ship_to.country": "DE"},
        ["note"],
    )
    assert edited == {
        "status": "created",
        "lines": [{"sku": "SKU-2", "quantity": 2}],
        "ship_to": {"country": "DE"},
    }
    assert original == {"status": "created", "lines": [{"sku": "SKU-1", "quantity": -1}], "note": "x"}


def test_a_digit_key_of_an_object_is_a_key():
    assert apply_edits({"backorders": {"123": 1}}, {"backorders.123": 0}) == {"backorders": {"123": 0}}


@pytest.mark.parametrize(
    ("edits", "unset", "message"),
    [
        ({"lines[3].qty": 1}, [], "position 3 is past the end of a list of 1"),
        ({"lines.sku": "x"}, [], "names a field of a list"),
        ({"status.code": 1}, [], "the value on the way is str"),
        ({"ship[0]": 1}, [], "is a list position, but this is an object"),
        ({}, ["nowhere"], "there is no such field to remove"),
        ({}, ["lines[5]"], "there is no such field to remove"),
        ({}, ["ghost.field"], "there is no such field to remove"),
    ],
)
def test_edits_that_do_not_fit_say_where(edits, unset, message):
    with pytest.raises(InvalidAction, match=message):
        apply_edits({"status": "created", "lines": [{"sku": "SKU-1"}], "ship": {}}, edits, unset)


def test_replay_ids_name_the_original_and_stay_within_200_characters():
    assert replay_id("c1", "retry", 1) == "c1~retry1"
    assert replay_id("c1", "edit", 12) == "c1~edit12"
    long_a, long_b = "a" * 199 + "1", "a" * 199 + "2"
    made_a, made_b = replay_id(long_a, "retry", 1), replay_id(long_b, "retry", 1)
    assert len(made_a) == len(made_b) == 200
    assert made_a != made_b and made_a.endswith("~retry1")


def test_the_diff_puts_each_field_of_the_change_beside_the_record():
    diff = field_diff({"on_hand": -1, "allocated": 2, "inbound": 5}, {"on_hand": 10, "allocated": 2})
    assert diff == [
        {"field": "on_hand", "change": -1, "record": 10, "same": False},
        {"field": "allocated", "change": 2, "record": 2, "same": True},
        {"field": "inbound", "change": 5, "record": None, "same": False},
    ]
    assert field_diff({"on_hand": 1}, None) == [
        {"field": "on_hand", "change": 1, "record": None, "same": False}
    ]
