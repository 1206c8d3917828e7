"""`POST /v1/webhooks/{system}`: a system's own signed webhook, verified, mapped and ingested as that system.

Checks, in order: the system takes webhooks (404), the body fits `limits.max_body_bytes` (413),
the signature over the raw bytes (401), the ingest queue has room (503), the body parses and
maps to valid changes (422, which also opens an `unmappable_webhook` exception holding the raw
payload and the error). Then the changes go through the same ingest as POST /v1/changes, with
the system as their sender (its scopes and owners apply; a change outside its write scopes is
`rejected` with a scope exception rather than refusing the webhook), and the answer is the
same: `{"outcomes": [...], "counts": {...}}`, sent after the commit.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import time
from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from ..config.model import Limits
from ..connectors.webhook_schemes import InvalidSignature
from ..connectors.webhooks import Receiver, Unmappable
from ..domain.change import now_us
from ..store.base import NewException, Store
from ..store.inbox import InboxTable
from .batch import read_body
from .changes import result
from .ingestor import Ingestor
from .problems import ApiProblem, guarded, invalid
from .responses import json_response
from .schemas import ChangesResult, Problem

log = logging.getLogger("logisync.api")

SOURCE = "webhook"  # what the change log says these changes came through
EXCEPTION_KIND = "unmappable_webhook"

_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {"model": Problem, "description": description}
    for status, description in {
        401: "the signature is missing or does not match, or its timestamp is more than 300 s off",
        404: "no such system, or the system has no `webhooks` in the sync map",
        413: "the body is larger than the sync map's `limits.max_body_bytes`",
        422: "the body is not JSON or does not map to valid changes; an exception holds it",
        503: "the hub is overloaded or the store unavailable: retry later (`Retry-After`)",
    }.items()
}
_BODY = {
    "requestBody": {
        "required": True,
        "description": "the system's own webhook payload, as its mapping expects it",
        "content": {"application/json": {"schema": {}}},
    }
}


def webhooks_router(
    receivers: Mapping[str, Receiver], ingestor: Ingestor, limits: Limits, store: Store
) -> APIRouter:
    router = APIRouter(tags=["webhooks"])

    @router.post(
        "/v1/webhooks/{system}",
        summary="Receive a system's signed webhook",
        response_model=ChangesResult,
        responses=_ERRORS,
        openapi_extra=_BODY,
    )
    async def post_webhook(system: str, request: Request) -> Response:
        """A webhook in the system's own shape, signed in its scheme (Standard Webhooks, Shopify-style
        or Stripe-style, as `systems.NAME.webhooks.signing` says); no API key.

        The signature is checked on the raw body, in constant time, against every configured
        secret (rotation); a timestamp more than 300 s off is refused. The body is mapped to
        changes by the system's mapping and ingested as that system; the answer, after the
        commit, is the same as POST /v1/changes'. Change ids come from the webhook id (the
        first change is the id, the n-th `id:n`), so a redelivered webhook is a `duplicate`.
        """
        receiver = receivers.get(system)
        if receiver is None:
            raise ApiProblem(
                404,
                "not_found",
                f"no system {system!r} takes webhooks here (see its `webhooks` in the sync map)",
            )
        body = await read_body(request, limits.max_body_bytes)
        try:
            webhook_id = receiver.verify(request.headers, body, time.time())
        except InvalidSignature as exc:
            log.info("webhook from %s refused: %s", system, exc)
            raise ApiProblem(
                401, "invalid_signature", f"the webhook's signature is not valid: {exc}"
            ) from None
        if ingestor.waiting >= limits.max_ingest_queue:
            raise ApiProblem(
                503,
                "overloaded",
                "the hub has more waiting than it takes; nothing was applied: send the webhook again later",
                headers={"Retry-After": "1"},
            )
        try:
            webhook_id, changes = receiver.decode(body, webhook_id, request.headers)
        except Unmappable as exc:
            await _keep(store, receiver, exc.webhook_id or webhook_id, body, exc)
            kept = f"{exc.problem.message}; the webhook is kept in the exceptions inbox"
            raise invalid(kept, exc.problem.errors, exc.code) from None
        if not changes:
            return json_response(result([]))
        outcomes = await guarded(ingestor.ingest(system, changes, SOURCE))
        return json_response(result(outcomes))

    return router


async def _keep(
    store: Store, receiver: Receiver, webhook_id: str | None, body: bytes, exc: Unmappable
) -> None:
    """Open an exception holding the raw payload and the error (once per open webhook id)."""
    digest = hashlib.sha256(body).hexdigest()
    change_id = webhook_id or f"sha256-{digest[:32]}"
    detail: dict[str, Any] = {
        "webhook_id": change_id,
        "scheme": receiver.scheme,
        "error": exc.problem.message,
        "errors": exc.problem.errors,
        "body_sha256": digest,
    }
    try:
        detail["raw"] = body.decode("utf-8")
    except UnicodeDecodeError:
        detail["raw_base64"] = base64.b64encode(body).decode()
    opened = NewException(
        kind=EXCEPTION_KIND,
        reason=exc.problem.message,
        system=receiver.system,
        change_id=change_id,
        detail=detail,
    )

    def write() -> None:
        if InboxTable(store).open_of_change(EXCEPTION_KIND, receiver.system, change_id):  # type: ignore[arg-type]
            return  # a redelivery of a webhook already in the inbox
        with store.write() as tx:
            tx.open_exceptions([opened], now_us())

    await guarded(asyncio.to_thread(write))
