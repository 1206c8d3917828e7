"""The vocabulary enums: which domains are event domains, and the outcome names."""

from __future__ import annotations

from logisync.domain.kinds import EVENT_DOMAINS, STATE_DOMAINS, Domain, OutcomeKind


def test_tracking_is_the_only_event_domain():
    assert [d for d in Domain if d.is_event] == [Domain.tracking]
    assert set(Domain) == EVENT_DOMAINS | STATE_DOMAINS
    assert not EVENT_DOMAINS & STATE_DOMAINS


def test_domain_values_are_the_names_of_the_vocabulary():
    assert {d.value for d in Domain} == {
        "product",
        "location",
        "inventory",
        "order",
        "shipment",
        "tracking",
        "return",
    }
    assert Domain("return") is Domain.return_


def test_the_six_outcomes():
    assert {o.value for o in OutcomeKind} == {
        "applied",
        "duplicate",
        "stale",
        "rejected",
        "quarantined",
        "insufficient_stock",
    }
