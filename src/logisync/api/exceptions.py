"""`/v1/exceptions`: the exceptions inbox over HTTP (admin key only, until the dashboard brings roles).

List, group by root cause and show exceptions; retry, edit and replay, discard, assign, one at a
time or in bulk by filter. The actor in each audit entry is the caller's identity (`api:admin`).
The meaning of every action is in `logisync.inbox`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial
from typing import Any, TypeVar

from fastapi import APIRouter, Depends, Path, Query
from pydantic import TypeAdapter, ValidationError
from starlette.responses import Response

from ..config.model import SyncMap
from ..delivery.dispatcher import Dispatcher
from ..domain.change import to_us
from ..inbox import ActionRefused, ExceptionNotFound, Inbox, InboxError, InvalidAction
from ..pipeline import Pipeline
from ..store.base import Store
from ..store.inbox import ExceptionFilter
from .auth import Caller, Keyring, authenticator
from .problems import ApiProblem, invalid
from .records import read
from .responses import json_response
from .schemas import (
    ActionDone,
    AssignRequest,
    BulkDiscardRequest,
    BulkResult,
    BulkRetryRequest,
    DiscardRequest,
    EditRequest,
    ExceptionFilterBody,
    ExceptionGroups,
    ExceptionList,
    ExceptionView,
    Problem,
)

T = TypeVar("T")
_MOMENT: TypeAdapter[datetime] = TypeAdapter(datetime)
_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "description": description}
    for status, description in {
        401: "no API key, or an unknown one",
        403: "only the admin key works the exceptions inbox",
        422: "a bad parameter or body; `errors` names it",
        503: "the store is busy or unreachable: retry the same request",
    }.items()
}
_ONE: dict[int | str, dict[str, Any]] = {
    404: {"model": Problem, "description": "no such exception"},
    409: {
        "model": Problem,
        "description": "`action_refused`: the action makes no sense for the exception as it is "
        "(not open; nothing to replay); the message says why and what would",
    },
}
ExceptionId = Path(..., ge=1, le=2**63 - 1, description="the exception's id")
StateParam = Query("open", description="open (the default), resolved, discarded, or all")
SinceParam = Query(
    None,
    description="only exceptions created at or after this moment (ISO 8601)",
    examples=["2026-03-01T00:00:00Z"],
)
CauseParam = Query(None, description="only this root cause (as /v1/exceptions/groups names it)")


def exceptions_router(
    syncmap: SyncMap,
    store: Store,
    keyring: Keyring,
    dispatcher: Dispatcher | None = None,
    pipeline: Pipeline | None = None,
) -> APIRouter:
    """`pipeline` replays (one of its own, apart from the ingest worker's; a new one when not given)."""
    router = APIRouter(prefix="/v1/exceptions", tags=["exceptions"], responses=_ERRORS)
    authenticate = authenticator(keyring)
    inbox = Inbox(
        store,
        pipeline or Pipeline(store, syncmap),
        on_commit=dispatcher.notify if dispatcher is not None else None,
    )

    def actor(caller: Caller) -> str:
        """Who the audit trail names: the admin only, for now."""
        if not caller.admin:
            raise ApiProblem(
                403,
                "forbidden",
                "only the admin key works the exceptions inbox (roles for operators come with the dashboard)",
            )
        return f"api:{caller.name}"

    def where(
        state: str,
        kind: str | None,
        route: str | None,
        system: str | None,
        domain: str | None,
        key: str | None,
        assignee: str | None,
        since: str | None,
    ) -> ExceptionFilter:
        if state not in ("open", "resolved", "discarded", "all"):
            message = f"state {state!r} is not open, resolved, discarded or all"
            raise invalid(message, [{"path": "state", "message": message}])
        return ExceptionFilter(
            state=None if state == "all" else state,
            kind=kind,
            route=route,
            system=system,
            domain=domain,
            key=key,
            assignee=assignee,
            since_us=None if since is None else parse_since(since),
        )

    @router.get("", summary="List exceptions", response_model=ExceptionList)
    async def list_exceptions(
        state: str = StateParam,
        kind: str | None = Query(None, description="e.g. validation, dead_delivery"),
        route: str | None = Query(None),
        system: str | None = Query(None),
        domain: str | None = Query(None),
        key: str | None = Query(None),
        assignee: str | None = Query(None),
        since: str | None = SinceParam,
        cause: str | None = CauseParam,
        after: int = Query(0, ge=0, le=2**63 - 1, description="only exceptions above this id (`next_after`)"),
        limit: int = Query(100, ge=1, le=1000),
        caller: Caller = Depends(authenticate),
    ) -> Response:
        """Exceptions matching every filter given, in id order, a page at a time, each with its
        root cause. Open ones unless `state` says otherwise."""
        actor(caller)
        found = where(state, kind, route, system, domain, key, assignee, since)
        items, next_after = await act(partial(inbox.page, found, cause=cause, after=after, limit=limit))
        return json_response({"exceptions": [i.as_dict() for i in items], "next_after": next_after})

    @router.get("/groups", summary="Exceptions by root cause", response_model=ExceptionGroups)
    async def groups(
        state: str = StateParam,
        kind: str | None = Query(None),
        route: str | None = Query(None),
        system: str | None = Query(None),
        domain: str | None = Query(None),
        since: str | None = SinceParam,
        limit: int = Query(100, ge=1, le=1000, description="at most this many groups, the largest first"),
        caller: Caller = Depends(authenticate),
    ) -> Response:
        """Matching exceptions counted by kind and root cause (a dead delivery's route, error kind and
        status; a validation problem's field; an unknown SKU; an ownership conflict's owners; ...).
        A group's `kind` and `cause` filter the list and the bulk actions to it."""
        actor(caller)
        found = where(state, kind, route, system, domain, None, None, since)
        listed = await act(partial(inbox.groups, found, limit=limit))
        return json_response({"groups": [g.as_dict() for g in listed]})

    @router.post("/retry", summary="Retry exceptions in bulk", response_model=BulkResult)
    async def bulk_retry(body: BulkRetryRequest, caller: Caller = Depends(authenticate)) -> Response:
        """Retry every open exception the filter matches (at least one member), one by one, up to
        `limit`; each has its own result. Refusals (a change that was applied, say) do not stop the rest."""
        who = actor(caller)
        found, cause = bulk_filter(body.filter)
        done = await act(
            partial(inbox.bulk, "retry", found, who, cause=cause, after=body.after, limit=body.limit)
        )
        return json_response(done.as_dict())

    @router.post("/discard", summary="Discard exceptions in bulk", response_model=BulkResult)
    async def bulk_discard(body: BulkDiscardRequest, caller: Caller = Depends(authenticate)) -> Response:
        """Discard every open exception the filter matches, with one reason kept in each audit trail."""
        who = actor(caller)
        found, cause = bulk_filter(body.filter)
        done = await act(
            partial(
                inbox.bulk,
                "discard",
                found,
                who,
                cause=cause,
                reason=body.reason,
                after=body.after,
                limit=body.limit,
            )
        )
        return json_response(done.as_dict())

    @router.get("/{exception_id}", summary="Show an exception", response_model=ExceptionView, responses=_ONE)
    async def show(exception_id: int = ExceptionId, caller: Caller = Depends(authenticate)) -> Response:
        """The exception with its detail and audit trail; for one about a change, the change as logged
        beside the golden record now (`diff`, field by field); for a dead delivery, its outbox row."""
        actor(caller)
        view = await act(inbox.show, exception_id)
        return json_response(view.as_dict())

    @router.post(
        "/{exception_id}/retry", summary="Retry an exception", response_model=ActionDone, responses=_ONE
    )
    async def retry(exception_id: int = ExceptionId, caller: Caller = Depends(authenticate)) -> Response:
        """A dead delivery goes back in its route's queue (resolved). A change that was not applied is
        sent again as its system, under `{change_id}~retry{n}`: resolved if applied now, else it stays
        open with the new outcome in the trail."""
        done = await act(inbox.retry, exception_id, actor(caller))
        return json_response(done.as_dict())

    @router.post(
        "/{exception_id}/edit", summary="Edit and replay a change", response_model=ActionDone, responses=_ONE
    )
    async def edit(
        body: EditRequest, exception_id: int = ExceptionId, caller: Caller = Depends(authenticate)
    ) -> Response:
        """The change the exception is about, with fields set or removed, sent again as its system under
        `{change_id}~edit{n}`; the original stays as it was in the change log, the edit is in the trail."""
        who = actor(caller)
        done = await act(partial(inbox.edit, exception_id, who, set_=body.set, unset=body.unset))
        return json_response(done.as_dict())

    @router.post(
        "/{exception_id}/discard", summary="Discard an exception", response_model=ActionDone, responses=_ONE
    )
    async def discard(
        body: DiscardRequest, exception_id: int = ExceptionId, caller: Caller = Depends(authenticate)
    ) -> Response:
        """Close an open exception without acting on it; the reason is kept in its audit trail."""
        done = await act(inbox.discard, exception_id, actor(caller), body.reason)
        return json_response(done.as_dict())

    @router.post(
        "/{exception_id}/assign", summary="Assign an exception", response_model=ActionDone, responses=_ONE
    )
    async def assign(
        body: AssignRequest, exception_id: int = ExceptionId, caller: Caller = Depends(authenticate)
    ) -> Response:
        """Give an open exception to a person (`null`: to nobody)."""
        done = await act(inbox.assign, exception_id, actor(caller), body.assignee)
        return json_response(done.as_dict())

    return router


def parse_since(text: str) -> int:
    """An ISO 8601 moment (a time without an offset is UTC; a `+` a URL made a space is put back)."""
    for candidate in dict.fromkeys((text, text.replace(" ", "+"))):
        try:
            return to_us(_MOMENT.validate_python(candidate))
        except (ValidationError, OverflowError, ValueError):
            continue
    message = f"since {text!r} is not an ISO 8601 timestamp (write e.g. 2026-03-01T00:00:00Z)"
    raise invalid(message, [{"path": "since", "message": message}])


def bulk_filter(body: ExceptionFilterBody) -> tuple[ExceptionFilter, str | None]:
    found = ExceptionFilter(
        state="open",
        kind=body.kind,
        route=body.route,
        system=body.system,
        domain=body.domain,
        key=body.key,
        assignee=body.assignee,
        since_us=None if body.since is None else to_us(body.since),
    )
    if not found.narrows() and body.cause is None:
        message = "a bulk action needs a filter: kind, route, system, domain, key, assignee, since or cause"
        raise invalid(message, [{"path": "filter", "message": message}])
    return found, body.cause


async def act(fn: Callable[..., T], *args: Any) -> T:
    """Run an inbox call on a worker thread; its refusals in the API's one error shape."""
    try:
        return await read(fn, *args)
    except ExceptionNotFound as exc:
        raise ApiProblem(404, "not_found", exc.message) from None
    except InvalidAction as exc:
        raise invalid(exc.message, []) from None
    except ActionRefused as exc:
        raise ApiProblem(409, "action_refused", exc.message) from None
    except InboxError as exc:
        raise ApiProblem(409, exc.code, exc.message) from None
