"""Carrier events to shipments: a followed tracking number's events set its shipment's status.

**Which numbers the hub follows, for which shipment** (`tracked_for` on the tracking record):

- a shipment lists its numbers (`tracking_numbers`, and each package's `tracking_number`); when it
  is applied, each number it lists is followed for it. A number the hub has no record of yet is
  followed from its first event when the shipment is for an order (`order_number`): the hub then
  writes a tracking record that holds only the link. A shipment of no order is linked only to
  numbers that already have events;
- an event that names its shipment (`shipment_number`, as an X12 214 does) links its number to
  that shipment when the number is not followed yet, or when that shipment is known to the hub
  (a carrier's reference that matches no shipment does not steal a number a shipment lists);
- a number followed for no shipment is left as it is: its record holds the latest event's fields
  by event time, and nothing else is derived.

**What is kept.** A followed number's record keeps the digests of its distinct events (`events`,
bounded: see `parcels.py`), written by the hub and not routed anywhere (they are not carrier
events). Events received before the number was followed are summarised by the status its record
held then (the latest by event time).

**The shipment's status** is worked out from its parcels, each parcel's status being
`tracking.status.final_status` of its number's events (`parcels.shipment_status`), and kept per
number in the shipment's `tracking_status`. A shipment that lists its numbers is followed through
them; one that lists none, through the numbers whose events name it. The hub derives `status`
(and `delivered_at` once delivered) when what the parcels say changes. It does not overrule a
status a system set while the parcels say the same as before, and never takes a shipment out of a
final status (`delivered`, `returned_to_sender`, `cancelled`) a system set. A final status the hub
derived itself follows the events, so a carrier correcting its own event (same id, new content)
is followed as `final_status` follows it. Then the order follows (`fulfilment.py`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from ..domain.change import Change
from ..domain.kinds import Domain
from ..domain.record import RecordState
from ..tracking.status import TERMINAL
from .batch import HUB, Batch
from .fulfilment import Fulfilment
from .parcels import Digest, delivered_at, digest, parcel_status, remember, shipment_status

SHIPMENT, TRACKING = Domain.shipment, Domain.tracking


def listed_numbers(shipment: Mapping[str, Any]) -> list[str]:
    """The tracking numbers a shipment names: its own list, then its packages', each once."""
    numbers = list(shipment.get("tracking_numbers") or ())
    numbers += [p["tracking_number"] for p in shipment.get("packages") or () if p.get("tracking_number")]
    return list(dict.fromkeys(numbers))


def seed(tracking: RecordState, but: tuple[str, str] | None = None) -> list[Digest]:
    """The digests a number starts with when the hub begins to follow it: the status its record
    holds (from the latest event by event time), when that status is stamped with an event time
    and was not set by the change `but` (system, id), which is taken in as itself."""
    prov = tracking.prov.get("status")
    status = tracking.fields.get("status")
    if status is None or prov is None or "k" in prov or (prov["s"], prov["c"]) == but:
        return []
    at = datetime.fromtimestamp(prov["v"] / 1_000_000, UTC)
    return [{"id": f"change:{prov['s']}/{prov['c']}", "status": status, "at": at.isoformat()}]


class TrackingRules:
    """Follows tracking numbers for shipments; see the module's docstring."""

    def __init__(self, fulfilment: Fulfilment) -> None:
        self.fulfilment = fulfilment

    # -- a carrier event ------------------------------------------------------------------------
    def event(
        self, batch: Batch, change: Change, tracking: RecordState, system: str, cause: tuple[str, str]
    ) -> str | None:
        """A carrier event was applied to its number's record (kept, even when older than it)."""
        named: str | None = change.fields.get("shipment_number") or None
        followed: str | None = tracking.fields.get("tracked_for")
        if followed is None and named is None:
            return None  # a number the hub does not follow: its record alone carries the status
        link = followed
        if named is not None and (link is None or batch.record(SHIPMENT.value, named) is not None):
            link = named
        assert link is not None
        old = tracking.fields.get("events")
        digests = old if old is not None else seed(tracking, but=(system, change.id))
        if change.fields.get("status") is not None:
            digests = remember(digests, digest(self._event(batch, change)))
        updates: dict[str, Any] = {}
        if link != followed:
            updates["tracked_for"] = link
        if digests != old:
            updates["events"] = digests
        if updates:
            batch.derive(
                TRACKING,
                tracking.key,
                updates,
                why=f"tracking: events of {tracking.key}, followed for shipment {link}",
                cause=cause,
                deliver=False,
            )
        shipment = batch.record(SHIPMENT.value, link)
        if shipment is None:
            return None  # the shipment is not known yet: it reads this number when it arrives
        listed = listed_numbers(shipment.fields)
        if listed and tracking.key not in listed:
            return None  # the shipment is followed through the numbers it lists
        parcels = dict(shipment.fields.get("tracking_status") or {})
        status = parcel_status(digests)
        if status is None:
            parcels.pop(tracking.key, None)
        else:
            parcels[tracking.key] = status
        return self._settle(batch, shipment, parcels, system, cause, follow=True)

    @staticmethod
    def _event(batch: Batch, change: Change) -> dict[str, Any]:
        """The event's identity, status and time: its `occurred_at`, else the change's, else now."""
        event = dict(change.fields)
        if event.get("occurred_at") is None:
            event["occurred_at"] = change.occurred_at or datetime.fromtimestamp(batch.received / 1e6, UTC)
        return event

    # -- a shipment -----------------------------------------------------------------------------
    def shipment(
        self, batch: Batch, shipment: RecordState, system: str, cause: tuple[str, str]
    ) -> str | None:
        """A shipment was applied: follow the numbers it lists, and take their status."""
        listed = listed_numbers(shipment.fields)
        if not listed:
            return None
        parcels: dict[str, Any] = {}
        for number in listed:
            tracking = batch.record(TRACKING.value, number)
            if tracking is None and not shipment.fields.get("order_number"):
                continue  # a shipment of no order: not followed before the number has events
            fields = tracking.fields if tracking is not None else {}
            digests = fields.get("events")
            if digests is None:
                digests = seed(tracking) if tracking is not None else []
            if fields.get("tracked_for") != shipment.key or fields.get("events") is None:
                batch.derive(
                    TRACKING,
                    number,
                    {"tracked_for": shipment.key, "events": digests},
                    why=f"tracking: {number} followed for shipment {shipment.key}",
                    cause=cause,
                    deliver=False,
                )
            if (status := parcel_status(digests)) is not None:
                parcels[number] = status
        return self._settle(batch, shipment, parcels, system, cause, follow=False)

    # -- the shipment's status ------------------------------------------------------------------
    def _settle(
        self,
        batch: Batch,
        shipment: RecordState,
        parcels: dict[str, Any],
        system: str,
        cause: tuple[str, str],
        *,
        follow: bool,
    ) -> str | None:
        """Record the parcels' statuses on the shipment and derive its status when they changed.

        `parcels` holds the numbers with a status; the others the shipment lists count as silent.
        """
        before = shipment.fields.get("tracking_status") or {}
        if parcels == before:
            return None
        numbers = listed_numbers(shipment.fields) or list(parcels)
        was = shipment_status((before.get(n) or {}).get("status") for n in numbers)
        now = shipment_status((parcels.get(n) or {}).get("status") for n in numbers)
        current = shipment.fields.get("status")
        updates: dict[str, Any] = {"tracking_status": parcels or None}
        note = None
        by_system = (shipment.prov.get("status") or {}).get("s") not in (None, HUB)
        if (
            now is not None
            and now != was
            and now.value != current
            and not (by_system and _regresses(current, now))
        ):
            updates["status"] = now.value
            note = f"shipment {shipment.key} is {now.value} (from its tracking events)"
        if now is not None and now.value == "delivered":
            when = delivered_at(parcels.values())
            if when is not None and when != shipment.fields.get("delivered_at"):
                updates["delivered_at"] = when
        batch.derive(
            SHIPMENT,
            shipment.key,
            updates,
            why=f"tracking: shipment {shipment.key} from its tracking numbers' events",
            cause=cause,
        )
        if follow and ("status" in updates or "delivered_at" in updates):
            followed = self.fulfilment.shipment(batch, shipment, system, cause)
            note = "; ".join(n for n in (note, followed) if n) or None
        return note


def _regresses(current: Any, new: Any) -> bool:
    """Whether moving from `current` to `new` would take a shipment out of a final status (one a
    system set: the hub's own follows the events, carrier corrections included)."""
    return current in {s.value for s in TERMINAL} and new not in TERMINAL
