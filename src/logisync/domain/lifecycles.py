"""The transition tables of the order, return (RMA) and shipment lifecycles.

Each table is a `Lifecycle` (see `lifecycle.py`): staying in a state is always legal, a row lists
where a state may go next, an empty row is final. The decisions, for an operations team at a 3PL:

**Order** (`ORDER`, states `OrderStatus`).

- Forward moves may skip steps: feeds are lossy and batched (a WMS that reports only `packed`, or
  only the ship confirm), so any pre-shipping state may move to any later pre-shipping state or
  straight to `partially_shipped`/`shipped`. Backward moves are illegal: a `delivered` order never
  goes back to `picking`, a `packed` order never back to `allocated`. (A short pick that is
  re-allocated is the WMS's business; the hub sees the order stay in `picking`.)
- `on_hold` can be entered from any pre-shipping state (created, accepted, allocated, picking,
  packed) and left to any of them, or to `cancelled`. The status alone does not say where the hold
  started, so the table cannot insist on resuming exactly there; it only forbids a held order
  jumping to shipping without being released first.
- `cancelled` is reachable from every pre-shipping state and from `on_hold`, never after
  `partially_shipped`/`shipped`: once goods left, what is left of the order is cancelled line by
  line (`OrderLine.cancelled`), and the order moves to `shipped` when every line is shipped or
  cancelled.
- `partially_shipped -> delivered` is illegal: `delivered` means everything was delivered, so the
  order passes `shipped` first (possibly in the same sync).
- `returned` comes after `delivered` (the goods came back under an RMA) or from `shipped` (the
  consignee refused the delivery). Returns of some lines are line quantities (`OrderLine.returned`);
  the order stays `delivered`. `cancelled` and `returned` are final.
- A new order starts as `created`, `accepted` (channels that accept before they send) or `on_hold`
  (fraud or payment review before release).

**Return / RMA** (`RETURN`, states `ReturnStatus`, the values of `Return.status`).

- `authorised -> in_transit -> received -> restocked | disposed`; `authorised -> received` is legal
  (customers drop parcels at the dock, carriers without tracking).
- A new return starts as `authorised`, or as `received` for an unannounced return (a parcel that
  arrives without an RMA), which a 3PL books rather than refuses.
- `restocked` and `disposed` are final. An RMA whose lines split is closed as `restocked` when any
  line went back to stock; each line's `disposition` says what happened to it.

**Shipment** (`SHIPMENT`, states `TrackingStatus`, the canonical carrier vocabulary).

- A shipment's status is its latest tracking status, so its states are `TrackingStatus` itself
  rather than a second vocabulary to map.
- Carriers skip scans, so forward skips are legal (`label_created -> delivered` is a real feed).
  Going back is illegal (`in_transit -> label_created`), with three exceptions the field produces:
  a parcel `out_for_delivery`, `delivery_attempted` or `available_for_pickup` may go back to
  `in_transit` (returned to the depot, rerouted), and a failed attempt may go out for delivery again.
- `exception` can be entered from every in-flight state and left to any in-flight state except
  `label_created` (the carrier has seen the parcel), or to a final one.
- `cancelled` (label voided) only before the carrier has the parcel (`label_created`,
  `pre_transit`) or after an `exception` (a lost parcel written off).
- `delivered` may only become `returned_to_sender` (a refused or misdelivered parcel coming back);
  `returned_to_sender` and `cancelled` are final. This agrees with `tracking.status.fold_status`:
  nothing final ever moves back to an in-flight state.
- A new shipment may start in any state: the hub may first hear of it anywhere along its journey.
"""

from __future__ import annotations

from enum import StrEnum

from .lifecycle import Lifecycle
from .order import OrderStatus
from .tracking import TrackingStatus


class ReturnStatus(StrEnum):
    """The states of a return (RMA); the same values as `Return.status`."""

    authorised = "authorised"  # the RMA is issued; nothing has come back yet
    in_transit = "in_transit"  # the customer (or carrier) has sent the parcel back
    received = "received"  # the parcel is at the dock, being inspected
    restocked = "restocked"  # the goods went back to sellable stock (final; inventory changes)
    disposed = "disposed"  # the goods were scrapped, recycled or sent to the vendor (final)


_O = OrderStatus
_PRE_SHIPPING = (_O.created, _O.accepted, _O.allocated, _O.picking, _O.packed)
_SHIPPING = frozenset({_O.partially_shipped, _O.shipped})


def _later(state: OrderStatus) -> frozenset[OrderStatus]:
    """The pre-shipping states after `state`, then shipping: where a pre-shipping order may go."""
    return frozenset(_PRE_SHIPPING[_PRE_SHIPPING.index(state) + 1 :]) | _SHIPPING


ORDER: Lifecycle[OrderStatus] = Lifecycle(
    name="order",
    states=OrderStatus,
    initial=frozenset({_O.created, _O.accepted, _O.on_hold}),
    transitions={
        # the channel sent it; not yet confirmed by the hub or the warehouse
        _O.created: _later(_O.created) | {_O.on_hold, _O.cancelled},
        # the warehouse took it on; stock is reserved in the hub, not yet allocated by the WMS
        _O.accepted: _later(_O.accepted) | {_O.on_hold, _O.cancelled},
        # the WMS allocated stock to every line (or the lines are explicitly backordered)
        _O.allocated: _later(_O.allocated) | {_O.on_hold, _O.cancelled},
        # pickers are on it
        _O.picking: _later(_O.picking) | {_O.on_hold, _O.cancelled},
        # packed and waiting for the carrier
        _O.packed: _later(_O.packed) | {_O.on_hold, _O.cancelled},
        # some lines left in a shipment, the rest are still to ship (or backordered)
        _O.partially_shipped: frozenset({_O.shipped}),
        # every line shipped or cancelled; in the carrier's hands
        _O.shipped: frozenset({_O.delivered, _O.returned}),
        # the carrier delivered everything
        _O.delivered: frozenset({_O.returned}),
        # stopped before shipping (payment, fraud, address, customer request); resumes or cancels
        _O.on_hold: frozenset({*_PRE_SHIPPING, _O.cancelled}),
        # cancelled before anything shipped (final)
        _O.cancelled: frozenset(),
        # the goods came back: refused at delivery or returned under an RMA (final)
        _O.returned: frozenset(),
    },
)

_R = ReturnStatus

RETURN: Lifecycle[ReturnStatus] = Lifecycle(
    name="return",
    states=ReturnStatus,
    initial=frozenset({_R.authorised, _R.received}),
    transitions={
        _R.authorised: frozenset({_R.in_transit, _R.received}),
        _R.in_transit: frozenset({_R.received}),
        _R.received: frozenset({_R.restocked, _R.disposed}),
        _R.restocked: frozenset(),
        _R.disposed: frozenset(),
    },
)

_T = TrackingStatus
_AT_DESTINATION = frozenset({_T.out_for_delivery, _T.delivery_attempted, _T.available_for_pickup})
_ENDINGS = frozenset({_T.delivered, _T.returned_to_sender})

SHIPMENT: Lifecycle[TrackingStatus] = Lifecycle(
    name="shipment",
    states=TrackingStatus,
    initial=frozenset(TrackingStatus),
    transitions={
        # a label exists; the carrier has not scanned the parcel
        _T.label_created: frozenset(
            {_T.pre_transit, _T.in_transit, *_AT_DESTINATION, _T.delivered, _T.exception, _T.cancelled}
        ),
        # the carrier has the shipment's data (manifested) but no scan in its network yet
        _T.pre_transit: frozenset(
            {_T.in_transit, *_AT_DESTINATION, _T.delivered, _T.exception, _T.cancelled}
        ),
        # moving through the carrier's network
        _T.in_transit: _AT_DESTINATION | _ENDINGS | {_T.exception},
        # on the van for delivery today
        _T.out_for_delivery: _AT_DESTINATION - {_T.out_for_delivery}
        | _ENDINGS
        | {_T.in_transit, _T.exception},
        # the driver tried and failed (nobody home, no access); it will be retried or held
        _T.delivery_attempted: _AT_DESTINATION - {_T.delivery_attempted}
        | _ENDINGS
        | {_T.in_transit, _T.exception},
        # waiting at a pickup point or locker for the consignee
        _T.available_for_pickup: _ENDINGS | {_T.in_transit, _T.exception},
        # held, damaged, lost, customs, bad address: needs attention, then resumes or ends
        _T.exception: frozenset({_T.pre_transit, _T.in_transit, *_AT_DESTINATION, *_ENDINGS, _T.cancelled}),
        # handed to the consignee; only a return to sender can follow
        _T.delivered: frozenset({_T.returned_to_sender}),
        # back with the shipper (final)
        _T.returned_to_sender: frozenset(),
        # the label was voided or the parcel written off (final)
        _T.cancelled: frozenset(),
    },
)

LIFECYCLES: tuple[Lifecycle[OrderStatus] | Lifecycle[ReturnStatus] | Lifecycle[TrackingStatus], ...] = (
    ORDER,
    RETURN,
    SHIPMENT,
)
