"""Reading a change batch off the wire: media type, size limits, strict JSON, the envelope, with paths.

Everything here runs before the pipeline; a batch that fails any check is refused whole (4xx) and
nothing of it is applied. Problems with a change's *data* (field values, ownership) are not
checked here: the pipeline records them as outcomes.
"""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import ValidationError
from starlette.requests import ClientDisconnect, Request

from ..domain.change import Change
from .problems import ApiProblem, invalid, render_path
from .schemas import ChangeBatch

_CHANGE_FIELDS = ", ".join(Change.model_fields)


def check_media_type(request: Request) -> None:
    """415 unless the body is declared JSON (`application/json` or `application/*+json`)."""
    declared = request.headers.get("content-type")
    media = (declared or "").partition(";")[0].strip().lower()
    if media == "application/json" or (media.startswith("application/") and media.endswith("+json")):
        return
    got = f"got {declared!r}" if declared else "there is no Content-Type header"
    raise ApiProblem(
        415, "unsupported_media_type", f"send the batch as JSON with `Content-Type: application/json` ({got})"
    )


def too_large(what: str) -> ApiProblem:
    return ApiProblem(413, "payload_too_large", f"{what}; nothing was applied: send smaller batches")


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 as soon as it is known to exceed `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise too_large(f"the body is {int(declared):,} bytes, more than the limit of {limit:,}")
    chunks: list[bytes] = []
    size = 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise too_large(f"the body is more than the limit of {limit:,} bytes")
            chunks.append(chunk)
    except ClientDisconnect:  # nobody will read the answer; it only keeps a traceback out of the log
        raise ApiProblem(
            400, "incomplete_body", "the connection closed before the body was complete"
        ) from None
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


def parse_batch(body: bytes, max_batch: int) -> list[Change]:
    """The changes of a JSON body `{"changes": [...]}`, or a 413/422 naming every bad field."""
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        message = f"the body is not valid JSON: {exc}"
        raise ApiProblem(422, "invalid_json", message, [{"path": "(body)", "message": str(exc)}]) from None
    if isinstance(data, dict):
        changes = data.get("changes")
        if isinstance(changes, list) and len(changes) > max_batch:
            raise too_large(f"the batch has {len(changes):,} changes, more than the limit of {max_batch:,}")
    try:
        batch = ChangeBatch.model_validate(data)
    except ValidationError as exc:
        errors = [
            {"path": render_path(e["loc"]), "message": _message(e)} for e in exc.errors(include_url=False)
        ]
        raise invalid("the batch is malformed; nothing was applied", errors) from None
    problems = _storable(batch.changes)
    if problems:
        raise invalid("the batch is malformed; nothing was applied", problems)
    return batch.changes


def _message(err: Any) -> str:
    kind, loc = err["type"], err["loc"]
    if kind == "missing":
        return "required"
    if kind == "extra_forbidden":
        if len(loc) == 1:
            return "unknown field (the body has one field: changes)"
        return f"unknown field (a change has: {_CHANGE_FIELDS})"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        if not loc:
            return 'the body must be a JSON object: {"changes": [...]}'
        if len(loc) == 2:
            return "a change must be a JSON object"
    if kind == "list_type" and tuple(loc) == ("changes",):
        return "must be a list of changes"
    return str(err["msg"])


def _storable(changes: list[Change]) -> list[dict[str, str]]:
    """What the envelope's types allow but a store cannot keep: NUL characters in ids and keys."""
    errors = []
    for i, change in enumerate(changes):
        if "\x00" in change.id:
            errors.append({"path": f"changes[{i}].id", "message": "must not contain NUL characters"})
        if "\x00" in change.key:
            errors.append({"path": f"changes[{i}].key", "message": "must not contain NUL characters"})
    return errors
