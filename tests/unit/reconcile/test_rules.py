"""What a reconciliation compares: field rules and the defaults per domain."""

from __future__ import annotations

import pytest

from logisync.reconcile.rules import DiffRule, FieldRule, default_rule


def test_inventory_compares_on_hand_counts_its_units_and_treats_absent_as_zero():
    rule = default_rule("inventory")
    assert [f.name for f in rule.fields] == ["on_hand"]
    assert rule.units_field == "on_hand" and rule.absent_is_zero and rule.split_key


def test_other_domains_must_name_their_fields():
    with pytest.raises(ValueError, match="compares no fields"):
        default_rule("product")
    assert default_rule("product", {"name": FieldRule("name", kind="text")}).fields[0].kind == "text"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: FieldRule("On Hand"), "lower-case letters"),
        (lambda: FieldRule("x'; DROP", kind="text"), "lower-case letters"),
        (lambda: FieldRule("on_hand", tolerance=-1), "cannot be negative"),
        (lambda: DiffRule("inventory", (FieldRule("a"), FieldRule("a"))), "named twice"),
        (lambda: DiffRule("inventory", (FieldRule("a"),), units_field="b"), "not one of the compared"),
    ],
)
def test_bad_rules_are_refused_with_the_reason(make, message):
    with pytest.raises(ValueError, match=message):
        make()
