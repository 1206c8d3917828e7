"""The vocabulary as enums: domains, kinds of system, outcomes of a change."""

from __future__ import annotations

from enum import StrEnum


class Domain(StrEnum):
    """A kind of data the hub keeps golden records for."""

    product = "product"
    location = "location"
    inventory = "inventory"
    order = "order"
    shipment = "shipment"
    tracking = "tracking"  # carrier events: an event domain
    return_ = "return"

    @property
    def is_event(self) -> bool:
        """Event domains keep and deliver every event; state domains only the latest state."""
        return self in EVENT_DOMAINS


EVENT_DOMAINS = frozenset({Domain.tracking})
STATE_DOMAINS = frozenset(d for d in Domain if d not in EVENT_DOMAINS)


class SystemKind(StrEnum):
    """What an external party is, for humans and for defaults."""

    wms = "wms"
    erp = "erp"
    tms = "tms"
    carrier = "carrier"
    marketplace = "marketplace"
    storefront = "storefront"
    edi_partner = "edi_partner"


class OutcomeKind(StrEnum):
    """The one recorded outcome every received change ends in."""

    applied = "applied"  # at least one field (or the event) was taken into the golden record
    duplicate = "duplicate"  # the idempotency id was seen before: nothing done, first outcome returned
    stale = "stale"  # every field is already newer in the golden record
    rejected = "rejected"  # not allowed: scope, ownership (reject), illegal transition
    quarantined = "quarantined"  # held for a person: bad data, or an ownership proposal
    insufficient_stock = (
        "insufficient_stock"  # an order asking more than its channel may sell (policy reject)
    )
