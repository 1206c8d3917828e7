"""A change (one inbound update from a system) and its outcome."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from .common import Timestamp
from .kinds import Domain, OutcomeKind

# No control characters: ids and keys are written to logs, URLs and PostgreSQL text (no NUL).
ChangeId = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")]
RecordKey = Annotated[str, StringConstraints(min_length=1, max_length=200, pattern=r"^[^\x00-\x1f\x7f]+$")]


class Change(BaseModel):
    """One update as a system sends it, after its mapping: canonical domain, key and fields.

    `id` is the sender's idempotency id (unique per system). `version` (a number that grows
    with every change the source makes) or `occurred_at` (the source's event time) orders it
    against other changes of the same fields; without either, arrival order is used.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: ChangeId
    domain: Domain
    key: RecordKey
    fields: dict[str, Any]
    version: Annotated[int, Field(ge=0, le=2**63 - 1)] | None = None  # fits a 64-bit column
    occurred_at: Timestamp | None = None  # ISO 8601 with a UTC offset; a time without one is refused

    def order_stamp(self, received_us: int) -> int:
        """The number this change is ordered by: version, else event time in µs, else arrival."""
        if self.version is not None:
            return self.version
        if self.occurred_at is not None:
            return to_us(self.occurred_at)
        return received_us


@dataclass(slots=True)
class Outcome:
    """What became of one change. Business rejections are data, never exceptions."""

    id: str
    outcome: OutcomeKind
    reason: str | None = None
    applied_fields: list[str] | None = None
    original: Outcome | None = None  # for a duplicate: the first outcome of this id
    received_us: int | None = None
    problem: dict[str, Any] | None = None  # for a quarantined change: {rule, field, value} that failed

    def as_dict(self, times: dict[int, str] | None = None) -> dict[str, Any]:
        """The outcome as JSON-ready data; `times` caches formatted times across a batch (they repeat)."""
        out: dict[str, Any] = {"id": self.id, "outcome": self.outcome.value}
        if self.reason is not None:
            out["reason"] = self.reason
        if self.applied_fields is not None:
            out["applied_fields"] = self.applied_fields
        if self.problem is not None:
            out["problem"] = self.problem
        if self.original is not None:
            out["original"] = self.original.as_dict(times)
        us = self.received_us
        if us is not None:
            if times is None:
                out["received_at"] = from_us(us).isoformat()
            else:
                when = times.get(us)
                if when is None:
                    when = times[us] = from_us(us).isoformat()
                out["received_at"] = when
        return out


def to_us(moment: datetime) -> int:
    """A datetime as integer microseconds since the epoch (naive means UTC)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.replace(microsecond=0).timestamp()) * 1_000_000 + moment.microsecond


def from_us(us: int) -> datetime:
    return datetime.fromtimestamp(us // 1_000_000, tz=UTC).replace(microsecond=us % 1_000_000)


def now_us() -> int:
    """The wall clock in integer microseconds since the epoch."""
    return time.time_ns() // 1000
