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


class RuleProblem(Body):
    """The rule a change broke (`gtin`, `units`, `non_negative`, `iso_country`, `iso_date`,
    `unknown_sku`, `unknown_location`, `unknown_xref`, ...), on which field, with the value found."""

    rule: str
    field: str
    value: Any = None


class OutcomeBody(Body):
    """What became of one change."""

    id: str
    outcome: OutcomeKind
    reason: str | None = None
    applied_fields: list[str] | None = None
    problem: RuleProblem | None = Field(
        None,
        description="for a change a data-quality or schema rule stopped: which rule, on which field, the value",
    )
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
    received: Any = Field(
        None,
        description="what the system sent, when the hub translated it (a cross-reference) or converted it "
        "(a unit of measure) before taking it",
    )


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
    received: Any = Field(
        None,
        description="what the system sent, when the hub translated it (a cross-reference) or converted it "
        "(a unit of measure) before taking it",
    )
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
    shadow_compared: int | None = Field(
        None, description="shadow deliveries compared with what the target has"
    )
    shadow_differed: int | None = Field(None, description="of those, where the target had something else")
    shadow_read_failed: int | None = Field(None, description="shadow reads of the target that failed")
    last_error: str | None = None


class RoutesState(Body):
    routes: list[RouteState]


class ShadowResultOut(Body):
    """What a shadow route would have sent for a key, and how that differs from the target."""

    id: int = Field(description="the outbox row")
    key: str
    at_us: int = Field(description="when it was computed, µs since the epoch")
    body: Any = Field(description="the body the route would have sent")
    diff: dict[str, Any] | None = Field(
        None,
        description="null when the target cannot be read (no `read` for the system); else `read` (ok, "
        "missing: the target has no such record, failed), `differs`, `fields` ({path: {hub, target}}), "
        "`error`",
    )


class ShadowResults(Body):
    route: str
    results: list[ShadowResultOut]


# -- the exceptions inbox ----------------------------------------------------------------------------
ExceptionState = Literal["open", "resolved", "discarded"]


class ExceptionSummary(Body):
    """A stuck record that needs a person (see docs/exceptions.md for the kinds)."""

    id: int
    kind: str = Field(description="validation, ownership_conflict, illegal_transition, dead_delivery, ...")
    state: ExceptionState
    domain: str | None
    key: str | None
    system: str | None = Field(
        description="the system whose change it is about (for a dead delivery: the target)"
    )
    change_id: str | None = Field(description="the change it is about, as its system sent it")
    route: str | None = Field(description="the route, for dead deliveries and SLA breaches")
    reason: str
    cause: str = Field(
        description="its root cause: exceptions one fix clears share it (see /v1/exceptions/groups)"
    )
    assignee: str | None
    created_at: datetime
    updated_at: datetime


class ExceptionList(Body):
    """A page of exceptions in id order."""

    exceptions: list[ExceptionSummary]
    next_after: int | None = Field(
        description="pass as `after` for the next page; null when this is the last"
    )


class ExceptionGroup(Body):
    """Exceptions of one kind with one root cause: usually one fix, then one bulk retry or discard."""

    kind: str
    cause: str = Field(description="pass with `kind` as `cause` to list, retry or discard this group")
    count: int
    first_id: int
    last_id: int
    first_at: datetime
    last_at: datetime


class ExceptionGroups(Body):
    groups: list[ExceptionGroup] = Field(description="the largest groups first")


class TrailEntry(Body):
    """One entry of an exception's audit trail: who did what, and when."""

    id: int
    at: datetime
    actor: str = Field(
        description="`api:NAME` for a caller of the API, `cli:USER` for the CLI, `logisync` for the hub"
    )
    action: str = Field(description="retry, edit, discard, assign or resolve")
    detail: dict[str, Any] | None = Field(
        description="retry and edit: the replay's `change_id`, its `outcome` and `reason`, the exception's "
        "`state` after it, `set`/`unset` for an edit, and the ids of exceptions the replay `opened` or "
        "`folded` into this one; a dead delivery's retry: `outbox_id`, `requeued`; discard: `reason`; "
        "assign: `from`, `to`"
    )


class LoggedChange(HistoryEntry):
    """A change as the change log keeps it (never altered by the inbox)."""

    domain: str
    key: str


class FieldDiff(Body):
    field: str
    change: Any = Field(description="the value in the change")
    record: Any = Field(description="the golden record's value now (null when it has none)")
    same: bool


class DeliveryRow(Body):
    """A dead delivery's outbox row as it is now."""

    outbox_id: int
    route: str
    state: str = Field(description="dead; pending or in_flight again after a retry; delivered; coalesced")
    attempts: int
    last_error: str | None
    updated_at: datetime


class ExceptionDetail(ExceptionSummary):
    detail: dict[str, Any] | None = Field(description="what the hub recorded when it opened the exception")


class ExceptionView(Body):
    """One exception with its audit trail and, side by side, the change and the golden record now."""

    exception: ExceptionDetail
    trail: list[TrailEntry]
    change: LoggedChange | None = Field(description="the change it is about, as logged")
    record: RecordView | None = Field(
        description="the golden record that change (or the delivery) addresses, now"
    )
    diff: list[FieldDiff] = Field(description="each field of the change beside the record's value now")
    delivery: DeliveryRow | None = Field(description="for a dead delivery: its outbox row now")
    related: list[ExceptionSummary] = Field(
        description="exceptions of the same dead delivery, and those this one's replays opened or folded"
    )


class EditRequest(Body):
    """Fields to change before the change is sent again (paths like `lines[0].qty`)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"set": {"lines[0].qty": 2}, "unset": ["note"]}]},
    )

    set: dict[str, Any] = Field(default_factory=dict, description="path -> the value to put there")
    unset: list[str] = Field(default_factory=list, description="paths to remove")


class DiscardRequest(Body):
    reason: str = Field(min_length=1, max_length=2000, description="why: kept in the audit trail")


class AssignRequest(Body):
    assignee: str | None = Field(max_length=200, description="the person; null to unassign")


class ExceptionFilterBody(Body):
    """Which open exceptions a bulk action takes: at least one member."""

    kind: str | None = None
    route: str | None = None
    system: str | None = None
    domain: str | None = None
    key: str | None = None
    assignee: str | None = None
    since: datetime | None = Field(None, description="created at or after this moment (with an offset)")
    cause: str | None = Field(None, description="a root cause, as /v1/exceptions/groups names it")


class BulkRetryRequest(Body):
    filter: ExceptionFilterBody
    limit: int = Field(100, ge=1, le=1000, description="act on at most this many")
    after: int = Field(0, ge=0, description="only exceptions above this id (from `next_after`)")


class BulkDiscardRequest(BulkRetryRequest):
    reason: str = Field(min_length=1, max_length=2000, description="why: kept in every audit trail")


class ActionDone(Body):
    """What an action did: the exception afterwards and the audit entry written."""

    exception: ExceptionSummary
    action: TrailEntry


class BulkItem(Body):
    id: int
    ok: bool = Field(description="false: refused, `code` and `message` say why")
    state: ExceptionState = Field(description="the exception's state afterwards")
    action: TrailEntry | None
    code: str | None
    message: str | None


class BulkResult(Body):
    """Every exception a bulk action took, each with its own result, in id order."""

    results: list[BulkItem]
    done: int
    refused: int
    next_after: int | None = Field(description="more may match: send again with this as `after`")
