"""The order, return and shipment tables: every N x N pair of every lifecycle, and the named rules."""

from __future__ import annotations

from typing import get_args

import pytest

from logisync.domain.lifecycles import LIFECYCLES, ORDER, RETURN, SHIPMENT, ReturnStatus
from logisync.domain.order import OrderStatus
from logisync.domain.returns import Return
from logisync.domain.tracking import TrackingStatus
from logisync.tracking.status import TERMINAL, fold_status

LEGAL = [
    pytest.param(lifecycle, a, b, id=f"{lifecycle.name}:{a.value}->{b.value}")
    for lifecycle in LIFECYCLES
    for a, b in lifecycle.legal_moves()
]
ILLEGAL = [
    pytest.param(lifecycle, a, b, id=f"{lifecycle.name}:{a.value}->{b.value}")
    for lifecycle in LIFECYCLES
    for a, b in lifecycle.illegal_moves()
]
ALL = [pytest.param(lifecycle, id=lifecycle.name) for lifecycle in LIFECYCLES]


@pytest.mark.parametrize(("lifecycle", "current", "new"), LEGAL)
def test_every_legal_move_is_accepted(lifecycle, current, new):
    assert lifecycle.check(current, new) is None
    assert lifecycle.check(current.value, new.value) is None


@pytest.mark.parametrize(("lifecycle", "current", "new"), ILLEGAL)
def test_every_illegal_move_is_refused_with_both_states_named(lifecycle, current, new):
    reason = lifecycle.check(current, new)
    assert reason is not None
    assert f"from {current.value!r} to {new.value!r}" in reason
    assert lifecycle.name in reason


@pytest.mark.parametrize("lifecycle", ALL)
def test_the_generated_pairs_cover_every_pair(lifecycle):
    pairs = [*lifecycle.legal_moves(), *lifecycle.illegal_moves()]
    assert len(pairs) == len(set(pairs)) == len(lifecycle.states) ** 2


@pytest.mark.parametrize("lifecycle", ALL)
def test_every_state_is_reachable_and_every_state_can_end(lifecycle):
    assert lifecycle.reachable() == set(lifecycle.states)
    for state in lifecycle.states:
        seen, frontier = {state}, [state]
        while frontier:
            for target in lifecycle.allowed(frontier.pop()) - seen:
                seen.add(target)
                frontier.append(target)
        assert seen & lifecycle.final, f"{lifecycle.name}: {state.value} can never end"


@pytest.mark.parametrize(
    ("lifecycle", "state"),
    [pytest.param(lc, s, id=f"{lc.name}:{s.value}") for lc in LIFECYCLES for s in lc.states],
)
def test_a_new_record_starts_only_in_an_initial_state(lifecycle, state):
    reason = lifecycle.check(None, state)
    assert (reason is None) == (state in lifecycle.initial)


# -- order: the named cases of issue 3 ---------------------------------------------------------

PRE_SHIPPING = [OrderStatus.created, OrderStatus.accepted, OrderStatus.allocated, OrderStatus.picking]
PRE_SHIPPING += [OrderStatus.packed]
AFTER_SHIPPING = [
    OrderStatus.partially_shipped,
    OrderStatus.shipped,
    OrderStatus.delivered,
    OrderStatus.returned,
]


def test_a_delivered_order_never_goes_back_to_picking():
    assert ORDER.check(OrderStatus.delivered, OrderStatus.picking) == (
        "order cannot move from 'delivered' to 'picking'; from 'delivered' it can move only to: returned"
    )


@pytest.mark.parametrize("state", AFTER_SHIPPING, ids=str)
def test_an_order_cannot_be_cancelled_after_shipping(state):
    reason = ORDER.check(state, OrderStatus.cancelled)
    assert reason is not None and "'cancelled'" in reason


@pytest.mark.parametrize("state", [*PRE_SHIPPING, OrderStatus.on_hold], ids=str)
def test_an_order_can_be_cancelled_before_shipping(state):
    assert ORDER.check(state, OrderStatus.cancelled) is None


@pytest.mark.parametrize("state", PRE_SHIPPING, ids=str)
def test_a_pre_shipping_order_can_be_held_and_resumed(state):
    assert ORDER.check(state, OrderStatus.on_hold) is None
    assert ORDER.check(OrderStatus.on_hold, state) is None


@pytest.mark.parametrize("state", [*AFTER_SHIPPING, OrderStatus.cancelled], ids=str)
def test_an_order_cannot_be_held_once_shipped_or_over(state):
    assert ORDER.check(state, OrderStatus.on_hold) is not None


def test_a_held_order_is_released_before_it_ships():
    assert ORDER.check(OrderStatus.on_hold, OrderStatus.shipped) is not None


def test_no_order_moves_backwards():
    chain = [*PRE_SHIPPING, OrderStatus.partially_shipped, OrderStatus.shipped, OrderStatus.delivered]
    for later_index, later in enumerate(chain):
        for earlier in chain[:later_index]:
            assert ORDER.check(later, earlier) is not None, f"{later} -> {earlier}"


def test_returns_come_after_delivery_or_a_refused_delivery():
    returned_from = {a for a, b in ORDER.legal_moves() if b is OrderStatus.returned and a is not b}
    assert returned_from == {OrderStatus.shipped, OrderStatus.delivered}


def test_partially_shipped_is_delivered_only_through_shipped():
    assert ORDER.check(OrderStatus.partially_shipped, OrderStatus.delivered) is not None
    assert ORDER.check(OrderStatus.partially_shipped, OrderStatus.shipped) is None


# -- return ------------------------------------------------------------------------------------


def test_return_statuses_are_the_values_of_the_return_model():
    (literal, _none) = get_args(Return.model_fields["status"].annotation)
    assert set(get_args(literal)) == {s.value for s in ReturnStatus}


def test_a_return_can_be_received_without_being_seen_in_transit():
    assert RETURN.check(ReturnStatus.authorised, ReturnStatus.received) is None


def test_a_return_is_received_before_it_is_restocked_or_disposed():
    for end in (ReturnStatus.restocked, ReturnStatus.disposed):
        assert RETURN.check(ReturnStatus.authorised, end) is not None
        assert RETURN.check(ReturnStatus.in_transit, end) is not None
        assert RETURN.check(ReturnStatus.received, end) is None
    assert RETURN.check(ReturnStatus.restocked, ReturnStatus.disposed) is not None


# -- shipment ----------------------------------------------------------------------------------


def test_the_shipment_lifecycle_agrees_with_the_tracking_fold():
    """A move the tracking fold would ignore (final -> in flight) is never a legal shipment move."""
    for current, new in SHIPMENT.legal_moves():
        if current in TERMINAL:
            assert new in TERMINAL, f"{current} -> {new}"
    assert SHIPMENT.final <= TERMINAL


def test_a_late_in_transit_never_regresses_a_delivered_shipment():
    assert SHIPMENT.check(TrackingStatus.delivered, TrackingStatus.in_transit) is not None
    events = [{"status": "delivered"}, {"status": "in_transit"}]
    assert fold_status(events) is TrackingStatus.delivered


def test_a_delivered_shipment_can_be_returned_to_sender_but_not_cancelled():
    assert SHIPMENT.check(TrackingStatus.delivered, TrackingStatus.returned_to_sender) is None
    assert SHIPMENT.check(TrackingStatus.delivered, TrackingStatus.cancelled) is not None


def test_a_label_is_voided_only_before_the_carrier_has_the_parcel_or_after_an_exception():
    cancellable = {a for a, b in SHIPMENT.legal_moves() if b is TrackingStatus.cancelled and a is not b}
    assert cancellable == {TrackingStatus.label_created, TrackingStatus.pre_transit, TrackingStatus.exception}


def test_carriers_may_skip_scans():
    assert SHIPMENT.check(TrackingStatus.label_created, TrackingStatus.delivered) is None
    assert SHIPMENT.check(TrackingStatus.in_transit, TrackingStatus.label_created) is not None
