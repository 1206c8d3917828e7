"""Request and response bodies of the HTTP API as pydantic models: what OpenAPI shows and tests check.

The change batch is parsed with these models; responses are built as plain dicts (serialized by
orjson) and are described here. `extra="forbid"` lets the tests hold every response to its model.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..domain.change import Change
from ..domain.kinds import Domain, OutcomeKind


class Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ChangeBatch(Body):
    """A batch of changes from the calling system (known by its API key, never named in the body)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "changes": [
                        {
                            "id": "wms-evt-1001",
                            "domain": "inventory",
                            "key": "SKU-1@DC1",
                            "fields": {"on_hand": 42, "allocated": 5},
                            "version": 17,
                        }
                    ]
                }
            ]
        },
    )

    changes: list[Change] = Field(
        description="applied in one store transaction; each change gets exactly one outcome"
    )


class OutcomeBody(Body):
    """What became of one change."""

    id: str
    outcome: OutcomeKind
    reason: str | None = None
    applied_fields: list[str] | None = None
    original: OutcomeBody | None = Field(None, description="for a duplicate: the first outcome of this id")
    received_at: datetime | None = None


class OutcomeCounts(Body):
    applied: int
    duplicate: int
    stale: int
    rejected: int
    quarantined: int
    insufficient_stock: int


class ChangesResult(Body):
    """The outcome of every change of the batch, in order; sent only after they are committed."""

    outcomes: list[OutcomeBody]
    counts: OutcomeCounts


class ProblemItem(Body):
    path: str = Field(description="where the problem is, e.g. `changes[3].id`; `(body)` for the whole body")
    message: str


class ProblemDetail(Body):
    code: str = Field(description="stable: unauthorized, forbidden, invalid_json, invalid_request, ...")
    message: str = Field(description="what is wrong and what to do")
    errors: list[ProblemItem] = []


class Problem(Body):
    """The body of every error response."""

    error: ProblemDetail


class FieldProvenance(Body):
    system: str
    change_id: str
    stamp: int = Field(description="the change's version, or event time in µs since the epoch")
    log_seq: int = Field(description="the change's position in the change log")
    applied_at: datetime | None = None


class RecordView(Body):
    """A golden record: its fields (derived ones included) and where each field came from."""

    domain: Domain
    key: str
    revision: int
    updated_at: datetime | None
    as_of: datetime | None = Field(None, description="set when the record is read as it stood at a past time")
    fields: dict[str, Any]
    provenance: dict[str, FieldProvenance]


class HistoryEntry(Body):
    seq: int
    system: str
    change_id: str
    stamp: int
    received_at: datetime
    outcome: OutcomeKind
    reason: str | None
    fields: dict[str, Any] = Field(description="the fields as received")
    applied_fields: list[str] | None
    source: str | None


class RecordHistory(Body):
    """A page of the changes received for a record, oldest first, with their outcomes."""

    domain: Domain
    key: str
    changes: list[HistoryEntry]
    next_before: int | None = None  # pass as `before` for the preceding page; null at the first change


class Replaced(Body):
    value: Any
    system: str | None
    change_id: str | None


class FieldStoryBody(Body):
    field: str
    value: Any
    system: str
    change_id: str
    stamp: int
    applied_at: datetime
    replaced: Replaced | None


class RecordExplanation(Body):
    """Every field of a record: its value, which system set it, by which change, when, what it replaced."""

    domain: Domain
    key: str
    revision: int
    updated_at: datetime | None
    fields: list[FieldStoryBody]
    derived: dict[str, Any] = Field(description="fields the hub computes, such as inventory `available`")


class Health(Body):
    status: Literal["ok"]


class RouteState(Body):
    """One route as the operations team watches it."""

    route: str
    to: str = Field(description="the target system")
    mode: str = Field(description="`live` or `shadow`")
    pending: int
    in_flight: int
    lag_s: float = Field(description="age of the oldest undelivered change, in seconds (0: none waits)")
    sla_s: float | None = Field(None, description="the route's SLA in seconds, if it has one")
    breached: bool = Field(description="lag over SLA")
    dispatched: bool = Field(description="this process runs the route's dispatcher (the fields below)")
    breaker: str | None = Field(None, description="the target's circuit breaker: closed, open, half_open")
    breaker_opened_at: float | None = None
    calls: int | None = None
    delivered: int | None = None
    retried: int | None = None
    dead: int | None = None
    coalesced: int | None = None
    shadowed: int | None = None
    last_error: str | None = None


class RoutesState(Body):
    routes: list[RouteState]
