"""`GET /v1/records/...`: a golden record with provenance, its past (`?as_of=`), its history, its field stories."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from fastapi import APIRouter, Depends, Query
from pydantic import TypeAdapter, ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from .. import history
from ..config.ownership import Scopes
from ..domain.catalog import CATALOG
from ..domain.change import from_us, to_us
from ..domain.kinds import Domain
from ..store.base import Store
from .auth import Caller, Keyring, authenticator, check_read
from .problems import ApiProblem, guarded, invalid
from .responses import json_response
from .schemas import Problem, RecordExplanation, RecordHistory, RecordView

T = TypeVar("T")
_MOMENT: TypeAdapter[datetime] = TypeAdapter(datetime)
# The moments a datetime can hold, in UTC: an `as_of` outside them parses but cannot be shown back.
EARLIEST_US = to_us(datetime.min.replace(tzinfo=UTC))
LATEST_US = to_us(datetime.max.replace(tzinfo=UTC))
_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "description": description}
    for status, description in {
        401: "no API key, or an unknown one",
        403: "the caller may not read this domain",
        404: "no such record (or none yet at `as_of`)",
        422: "unknown domain, malformed key, or a bad `as_of` timestamp",
    }.items()
}
AS_OF = Query(
    None,
    description="read the record as it stood at this moment (ISO 8601; a time without an offset is UTC)",
    examples=["2025-01-31T12:00:00Z"],
)


def parse_as_of(text: str) -> int:
    """An ISO 8601 moment in µs since the epoch, within years 1-9999 UTC. A `+` that a URL turned
    into a space is put back."""
    message = f"as_of {text!r} is not an ISO 8601 timestamp (write e.g. 2025-01-31T12:00:00Z)"
    for candidate in dict.fromkeys((text, text.replace(" ", "+"))):
        try:
            at_us = to_us(_MOMENT.validate_python(candidate))
        except (ValidationError, OverflowError, ValueError):
            continue
        if EARLIEST_US <= at_us <= LATEST_US:
            return at_us
        message = f"as_of {text!r} is outside years 1-9999 UTC"
        break
    raise invalid(message, [{"path": "as_of", "message": message}])


def not_found(message: str) -> ApiProblem:
    return ApiProblem(404, "not_found", message)


async def read(fn: Callable[..., T], *args: Any) -> T:
    """Run a store read on a worker thread; a store fault that may pass answers 503."""
    return await guarded(run_in_threadpool(fn, *args))


def current(store: Store, domain: Domain, key: str) -> dict[str, Any] | None:
    record = store.get_record(domain.value, key)
    return None if record is None else history.view(record, store)


def past(store: Store, domain: Domain, key: str, at_us: int) -> dict[str, Any] | None:
    record = history.state_at(store, domain, key, at_us)
    if record is None:
        return None
    return {**history.view(record, store), "as_of": from_us(at_us).isoformat()}


def change_log(
    store: Store, domain: Domain, key: str, limit: int, before: int | None
) -> dict[str, Any] | None:
    """One page of the history (oldest first) and, when older entries remain, where the next page starts."""
    entries = history.history(store, domain, key, limit=limit + 1, before=before)
    if not entries and before is None:
        return None
    more = len(entries) > limit
    page = entries[1:] if more else entries
    return {
        "domain": domain.value,
        "key": key,
        "changes": page,
        "next_before": page[0]["seq"] if more else None,
    }


def explanation(store: Store, domain: Domain, key: str) -> dict[str, Any] | None:
    record = store.get_record(domain.value, key)
    stories = history.explain(store, domain, key) if record is not None else None
    if record is None or stories is None:
        return None
    derive = CATALOG[domain].derive
    return {
        "domain": domain.value,
        "key": key,
        "revision": record.revision,
        "updated_at": from_us(record.updated_us).isoformat() if record.updated_us else None,
        "fields": [s.as_dict() for s in stories],
        "derived": derive(record.fields) if derive is not None else {},
    }


def records_router(store: Store, keyring: Keyring, scopes: Scopes) -> APIRouter:
    router = APIRouter(prefix="/v1/records", tags=["records"], responses=_ERRORS)
    authenticate = authenticator(keyring)

    def readable(caller: Caller, domain: Domain, key: str) -> None:
        problem = CATALOG[domain].check_key(key)
        if problem is not None:
            raise invalid(problem, [{"path": "key", "message": problem}])
        check_read(caller, domain, scopes)

    @router.get("/{domain}/{key}", summary="Read a record", response_model=RecordView)
    async def get_record(
        domain: Domain, key: str, as_of: str | None = AS_OF, caller: Caller = Depends(authenticate)
    ) -> Response:
        """The golden record: fields (derived ones included) and, per field, the system and change
        that set it. With `as_of`, the record as it stood then, rebuilt from the change log."""
        readable(caller, domain, key)
        if as_of is None:
            body = await read(current, store, domain, key)
            if body is None:
                raise not_found(f"no {domain.value} record {key!r}")
        else:
            at_us = parse_as_of(as_of)
            body = await read(past, store, domain, key, at_us)
            if body is None:
                when = from_us(at_us).isoformat()
                raise not_found(
                    f"no {domain.value} record {key!r} at {when} (it did not exist yet, or never)"
                )
        return json_response(body)

    @router.get("/{domain}/{key}/history", summary="A record's history", response_model=RecordHistory)
    async def get_history(
        domain: Domain,
        key: str,
        limit: int = Query(
            100, ge=1, le=1000, description="at most this many changes, the newest first chosen"
        ),
        before: int | None = Query(
            None, ge=1, le=2**63 - 1, description="only changes older than this log position (`seq`)"
        ),
        caller: Caller = Depends(authenticate),
    ) -> Response:
        """The changes received for the record, a page at a time: the newest `limit` (older than
        `before`, if given), listed oldest first with outcome and reason; `next_before` is the
        `before` of the preceding page, or null when this page reaches the first change."""
        readable(caller, domain, key)
        body = await read(change_log, store, domain, key, limit, before)
        if body is None:
            raise not_found(
                f"no {domain.value} record {key!r}, so no history (changes refused before a record "
                "existed are in the exceptions inbox)"
            )
        return json_response(body)

    @router.get("/{domain}/{key}/explain", summary="Explain a record", response_model=RecordExplanation)
    async def get_explanation(domain: Domain, key: str, caller: Caller = Depends(authenticate)) -> Response:
        """Every field: its value, which system set it, by which change, when, and what it replaced."""
        readable(caller, domain, key)
        body = await read(explanation, store, domain, key)
        if body is None:
            raise not_found(f"no {domain.value} record {key!r}")
        return json_response(body)

    return router
