"""`POST /v1/changes`: a batch from one system, answered with its outcomes only after they are committed."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from ..config.model import Limits
from ..domain.change import Outcome
from ..domain.kinds import OutcomeKind
from .auth import Caller, Keyring, authenticator, check_sender, check_write
from .batch import check_media_type, parse_batch, read_body
from .ingestor import Ingestor
from .problems import guarded
from .responses import json_response
from .schemas import ChangesResult, Problem

_KINDS = tuple(k.value for k in OutcomeKind)
_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ChangeBatch"}}},
    }
}
_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "description": description}
    for status, description in {
        401: "no API key, or an unknown one",
        403: "the caller may not write a domain in the batch (nothing is applied)",
        413: "the body or the batch is larger than the sync map's `limits`",
        415: "the body is not declared as JSON",
        422: "the body is not JSON or the batch is malformed; `errors` names each bad field",
        503: "the store is busy or unreachable: retry the same request",
    }.items()
}


def result(outcomes: list[Outcome]) -> dict[str, Any]:
    """The response body: each outcome in `Outcome.as_dict`'s shape, and the count of each kind."""
    counts = dict.fromkeys(_KINDS, 0)
    times: dict[int, str] = {}
    listed = []
    for outcome in outcomes:
        counts[outcome.outcome.value] += 1
        listed.append(outcome.as_dict(times))
    return {"outcomes": listed, "counts": counts}


def changes_router(keyring: Keyring, ingestor: Ingestor, limits: Limits) -> APIRouter:
    router = APIRouter(tags=["changes"])
    authenticate = authenticator(keyring)
    scopes = ingestor.pipeline.scopes

    @router.post(
        "/v1/changes",
        summary="Send a batch of changes",
        response_model=ChangesResult,
        responses=_ERRORS,
        openapi_extra=_BODY,
    )
    async def post_changes(request: Request, caller: Caller = Depends(authenticate)) -> Response:
        """Apply a batch of changes from the calling system (the one whose API key is sent).

        The answer comes only after every outcome is committed: a 200 means the batch is durable.
        Each change ends in exactly one outcome (`applied`, `duplicate`, `stale`, `rejected`,
        `quarantined`); sending the same ids again is safe and returns `duplicate` with the first
        outcome. A batch that is malformed, too large, or writes a domain outside the caller's
        write scopes is refused whole, and nothing of it is applied.
        """
        check_sender(caller)
        check_media_type(request)
        body = await read_body(request, limits.max_body_bytes)
        changes = parse_batch(body, limits.max_batch)
        if not changes:
            return json_response(result([]))
        check_write(caller, [c.domain for c in changes], scopes)
        outcomes = await guarded(ingestor.ingest(caller.name, changes))
        return json_response(result(outcomes))

    return router
