"""Carrier tracking events: an event domain keyed by tracking number."""

from __future__ import annotations

from enum import StrEnum
from typing import ClassVar

from .common import Canonical, Timestamp


class TrackingStatus(StrEnum):
    label_created = "label_created"
    pre_transit = "pre_transit"
    in_transit = "in_transit"
    out_for_delivery = "out_for_delivery"
    delivery_attempted = "delivery_attempted"
    delivered = "delivered"
    available_for_pickup = "available_for_pickup"
    exception = "exception"
    returned_to_sender = "returned_to_sender"
    cancelled = "cancelled"


class EventDigest(Canonical):
    """One distinct carrier event as the hub remembers it: its identity, status and time."""

    id: str  # the carrier's event id, else a digest of the event's content
    status: TrackingStatus
    at: Timestamp


class TrackingEvent(Canonical):
    """Key: the tracking number. Every event is kept; the record holds the latest by event time.

    Once the hub follows the number for a shipment it writes, alone, `tracked_for` (that shipment)
    and `events` (the number's distinct events, bounded; see pipeline/parcels.py).
    """

    FIELD_GROUPS: ClassVar[dict[str, tuple[str, ...]]] = {}
    HUB_FIELDS: ClassVar[tuple[str, ...]] = ("tracked_for", "events")

    carrier: str | None = None
    status: TrackingStatus | None = None
    native_code: str | None = None
    description: str | None = None
    city: str | None = None
    country: str | None = None
    shipment_number: str | None = None
    event_id: str | None = None
    occurred_at: Timestamp | None = None
    tracked_for: str | None = None
    events: list[EventDigest] | None = None
