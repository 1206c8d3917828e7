"""A shipment's current tracking status from its canonical events, whatever order they arrived in.

The rule, in three steps:

1. **Deduplicate** by `event_id`, or by content (status, event time, native code, place) when an
   event has none. When copies of one id differ (a carrier correcting an event), the copy that
   sorts last by the order below is kept, so the choice never depends on arrival order.
2. **Order** by event time (UTC; a naive time is UTC); at equal times by `PRECEDENCE` (a later
   stage is applied after an earlier one, so `delivered` beats `out_for_delivery` stamped with the
   same minute, and `exception` beats `in_transit`); then by the dedupe key, to make the order total.
3. **Fold**: each event's status becomes the current one, except that once a terminal status
   (`delivered`, `returned_to_sender`, `cancelled`) is reached only another terminal status can
   replace it. So a late `in_transit` (or a scan stamped after delivery by a skewed clock) never
   regresses a `delivered` shipment, while a delivered shipment that is later returned to its sender
   shows `returned_to_sender`.

Because the result depends only on the deduplicated set, any permutation and duplication of the
same events gives the same status.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from logisync.domain.tracking import TrackingStatus

# Equal-time precedence: higher is applied later, so it wins a tie.
PRECEDENCE: dict[TrackingStatus, int] = {
    status: rank
    for rank, status in enumerate(
        (
            TrackingStatus.label_created,
            TrackingStatus.pre_transit,
            TrackingStatus.in_transit,
            TrackingStatus.out_for_delivery,
            TrackingStatus.delivery_attempted,
            TrackingStatus.available_for_pickup,
            TrackingStatus.exception,
            TrackingStatus.delivered,
            TrackingStatus.returned_to_sender,
            TrackingStatus.cancelled,
        )
    )
}
TERMINAL = frozenset({TrackingStatus.delivered, TrackingStatus.returned_to_sender, TrackingStatus.cancelled})

_SortKey = tuple[datetime, int, tuple[str, ...]]


def event_time(value: Any) -> datetime:
    """An event's time as an aware UTC datetime (accepts datetimes and ISO 8601 strings)."""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if not isinstance(moment, datetime):
        raise TypeError(f"occurred_at must be a datetime or an ISO 8601 string, not {type(value).__name__}")
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def identity(event: Mapping[str, Any]) -> tuple[str, ...]:
    """What makes two events the same: the carrier's event id, else their content."""
    event_id = event.get("event_id")
    if event_id:
        return ("id", str(event_id))
    place = (str(event.get("city") or ""), str(event.get("country") or ""))
    when = event_time(event["occurred_at"]).isoformat()
    return (
        "content",
        str(TrackingStatus(event["status"])),
        when,
        str(event.get("native_code") or ""),
        *place,
    )


def _sort_key(event: Mapping[str, Any]) -> _SortKey:
    status = TrackingStatus(event["status"])
    return (
        event_time(event["occurred_at"]),
        PRECEDENCE[status],
        (*identity(event), repr(sorted(event.items()))),
    )


def ordered_events(events: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The events deduplicated and in event-time order (steps 1 and 2 above)."""
    kept: dict[tuple[str, ...], tuple[_SortKey, Mapping[str, Any]]] = {}
    for event in events:
        key, sort_key = identity(event), _sort_key(event)
        held = kept.get(key)
        if held is None or sort_key > held[0]:
            kept[key] = (sort_key, event)
    return [event for _, event in sorted(kept.values(), key=lambda pair: pair[0])]


def fold_status(ordered: Iterable[Mapping[str, Any]]) -> TrackingStatus | None:
    """The current status after events already in order (step 3); None when there are none."""
    current: TrackingStatus | None = None
    for event in ordered:
        status = TrackingStatus(event["status"])
        if current in TERMINAL and status not in TERMINAL:
            continue
        current = status
    return current


def final_status(events: Iterable[Mapping[str, Any]]) -> TrackingStatus | None:
    """The shipment's current status from its canonical events, in any order, with duplicates."""
    return fold_status(ordered_events(events))
