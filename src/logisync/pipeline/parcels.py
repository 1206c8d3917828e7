"""A tracking number's distinct events, kept compact, and a shipment's status from its parcels.

Pure functions over plain JSON values; `tracking_rules.py` reads and writes the records.

**Digests.** The hub remembers each distinct carrier event of a followed tracking number as
`{id, status, at}`: `id` is the carrier's event id, else a digest of the event's content (status,
time, native code, place), exactly the identity `tracking.status.identity` dedupes by. Two copies of
one id (a carrier correcting an event) keep the one that sorts last by (time, status precedence),
as `tracking.status.ordered_events` does, so what is kept never depends on arrival order. The
status of a number is `tracking.status.final_status` of its digests, which equals the status of
the full events: within (time, precedence) two events have the same status.

**Bound.** At most `MAX_EVENTS` digests per number. Past it the oldest (by event order) are
dropped; when a terminal one is among them, the newest such stays as a summary of what was dropped
(id `SUMMARY`). The fold of the dropped prefix is that terminal status or, when it has none, is
overridden by the first kept event, so the final status is exactly the one of the full history,
and events arriving later, older than the kept window, fold the same way against what was kept.
One case is not exact: a carrier *correcting* (same id, new content) an event that was already
summarised. The summary then stands, so the error is on the safe side: a terminal status stays.

**A shipment's status from its parcels** (`shipment_status`), one status per tracking number:

- a number the carrier has said nothing about yet counts as `label_created` (it has a label),
  unless no number has any event: then there is nothing to say (None);
- `cancelled` numbers (voided labels, usually reprinted) are left out, unless all are cancelled;
- every number `delivered`: `delivered`; every number ended (delivered or returned to sender),
  some returned: `returned_to_sender`;
- otherwise any number in `exception`: `exception` (a parcel needs attention);
- otherwise the least advanced status among the numbers still travelling.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from ..domain.tracking import TrackingStatus
from ..tracking.status import PRECEDENCE, TERMINAL, event_time, final_status, identity

MAX_EVENTS = 100  # distinct events per tracking number; a parcel's journey has a few dozen at most
SUMMARY = "~dropped"  # the id of the terminal event standing for those dropped (content ids are hex)

Digest = dict[str, str]  # {"id", "status", "at"}


def digest(event: Mapping[str, Any]) -> Digest:
    """An event (`status`, `occurred_at`, optional `event_id`, `native_code`, `city`, `country`)
    as the hub remembers it."""
    key = identity(event)
    if key[0] == "id":
        event_id = key[1]
    else:
        event_id = "~" + hashlib.sha256("\x1f".join(key[1:]).encode()).hexdigest()[:24]
    status = TrackingStatus(event["status"])
    return {"id": event_id, "status": status.value, "at": event_time(event["occurred_at"]).isoformat()}


def _rank(d: Mapping[str, str]) -> tuple[datetime, int, str]:
    return (event_time(d["at"]), PRECEDENCE[TrackingStatus(d["status"])], d["id"])


def as_events(digests: Iterable[Mapping[str, str]]) -> list[dict[str, Any]]:
    """Digests in the shape `tracking.status` reads."""
    return [{"event_id": d["id"], "status": d["status"], "occurred_at": d["at"]} for d in digests]


def remember(digests: Iterable[Mapping[str, str]], new: Digest, limit: int = MAX_EVENTS) -> list[Digest]:
    """The digests with `new` taken in (or not, when an equal or later copy of its id is kept),
    in event order, bounded by `limit` (see the module's docstring)."""
    kept: dict[str, Digest] = {d["id"]: dict(d) for d in digests}
    held = kept.get(new["id"])
    if held is None or _rank(new) > _rank(held):
        kept[new["id"]] = new
    ordered = sorted(kept.values(), key=_rank)
    if len(ordered) <= limit:
        return ordered
    cut = len(ordered) - limit + 1
    last_terminal = next(
        (d for d in reversed(ordered[:cut]) if TrackingStatus(d["status"]) in TERMINAL), None
    )
    if last_terminal is None:
        return ordered[cut - 1 :]
    return [{**last_terminal, "id": SUMMARY}, *ordered[cut:]]


def parcel_status(digests: Iterable[Mapping[str, str]]) -> dict[str, str] | None:
    """A tracking number's status and the time of the event that set it (None without events)."""
    events = list(digests)
    status = final_status(as_events(events))
    if status is None:
        return None
    at = max(event_time(d["at"]) for d in events if d["status"] == status.value)
    return {"status": status.value, "at": at.isoformat()}


def shipment_status(parcels: Iterable[TrackingStatus | str | None]) -> TrackingStatus | None:
    """A shipment's status from its tracking numbers' statuses (see the module's docstring)."""
    known = [None if s is None else TrackingStatus(s) for s in parcels]
    if all(s is None for s in known):
        return None
    statuses = [TrackingStatus.label_created if s is None else s for s in known]
    live = [s for s in statuses if s is not TrackingStatus.cancelled]
    if not live:
        return TrackingStatus.cancelled
    if all(s is TrackingStatus.delivered for s in live):
        return TrackingStatus.delivered
    if all(s in TERMINAL for s in live):
        return TrackingStatus.returned_to_sender
    if TrackingStatus.exception in live:
        return TrackingStatus.exception
    return min((s for s in live if s not in TERMINAL), key=PRECEDENCE.__getitem__)


def delivered_at(parcels: Iterable[Mapping[str, Any]]) -> str | None:
    """When the last parcel of a delivered shipment was delivered."""
    times = [event_time(p["at"]) for p in parcels if p.get("status") == "delivered" and p.get("at")]
    return max(times).isoformat() if times else None
