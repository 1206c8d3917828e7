"""What a route's dispatcher logs: each attempt (debug) and how each delivery ended (after settling).

Each line carries the route, the delivery id (stable across retries: the `webhook-id`), the
change id it carries (the newest of its key for a state domain), the log position and the attempt.
`delivered` and `shadowed` are info, a failure to be retried is a warning, a dead delivery an
error. The change ids are read from the change log once per round, and only when these lines
would be printed.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence

from ..store.outbox import Lease, Settled
from .outgoing import delivery_id

log = logging.getLogger("logisync.delivery")

_LEVELS = {
    "delivered": logging.INFO,
    "shadowed": logging.INFO,
    "pending": logging.WARNING,
    "dead": logging.ERROR,
}
_MESSAGES = {
    "delivered": "delivered",
    "shadowed": "shadowed (computed, not sent)",
    "pending": "delivery failed; retrying",
    "dead": "delivery dead; an exception is open",
}


def wanted() -> bool:
    return log.isEnabledFor(logging.INFO)


def _ids(route: str, target: str, lease: Lease, names: Mapping[int, str]) -> dict[str, object]:
    return {
        "route": route,
        "target": target,
        "delivery_id": delivery_id(route, lease.id),
        "change_id": names.get(lease.change_seq),
        "seq": lease.change_seq,
        "key": lease.key,
        "attempt": lease.attempts + 1,
    }


def attempts(route: str, target: str, leases: Sequence[Lease], names: Mapping[int, str]) -> None:
    if log.isEnabledFor(logging.DEBUG):
        for lease in leases:
            log.debug("sending", extra=_ids(route, target, lease, names))


def settled(route: str, target: str, results: Sequence[Settled], names: Mapping[int, str]) -> None:
    for r in results:
        level = _LEVELS.get(r.state, logging.INFO)
        if log.isEnabledFor(level):
            extra = _ids(route, target, r.lease, names)
            if r.error is not None:
                extra["error"] = r.error
            log.log(level, _MESSAGES.get(r.state, r.state), extra=extra)
