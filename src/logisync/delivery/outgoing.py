"""A delivery as an outbound connector sees it: one record version to push to one target."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .mapping import MappingContext


def delivery_id(route: str, row_id: int) -> str:
    """The stable id of an outbox row's delivery: the same on every retry (webhook-id, idempotency key).

    Route names hold no '.', so the id is fit for a Standard Webhooks signature.
    """
    return f"{route}-{row_id}"


@dataclass(frozen=True, slots=True)
class Delivery:
    """What to send: the record's fields along a route, and what the target last received."""

    id: str  # stable across retries: webhook-id and Idempotency-Key
    route: str
    target: str  # the target system's name
    domain: str
    key: str
    fields: Mapping[str, Any]  # the canonical record (after the route's transform)
    revision: int
    previous: Mapping[str, Any] | None = None  # the fields last delivered to this target (compare-and-set)
    event: str = ""  # the event type; "<domain>.updated" when empty
    attempt: int = 1  # 1 for the first try

    @property
    def event_type(self) -> str:
        return self.event or f"{self.domain}.updated"

    def context(self) -> MappingContext:
        """Everything but the fields, as a mapping function receives it."""
        return MappingContext(
            id=self.id,
            route=self.route,
            target=self.target,
            domain=self.domain,
            key=self.key,
            event=self.event_type,
            revision=self.revision,
            previous=self.previous,
        )
