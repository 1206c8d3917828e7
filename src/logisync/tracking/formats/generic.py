"""The generic event format, one object per event in the canonical vocabulary, decoded to changes.

Shape: `{"tracking_number", "carrier", "code", "occurred_at", "event_id"?, "description"?}`; a payload
is one such object or a list of them. `code` must be a canonical status name: the generic format
speaks the hub's vocabulary, so its table is the identity, and anything else is unknown.
"""

from __future__ import annotations

import re
from enum import Enum
from typing import Any

from logisync.tracking.decoding import (
    DecodeResult,
    Problem,
    check_tracking_number,
    code_index,
    content_id,
    parse_time,
    text,
    tracking_change,
)

NAME = "generic"


class GenericStatus(Enum):
    """The identity table: each canonical status is its own (only) native code."""

    label_created = ("label_created",)
    pre_transit = ("pre_transit",)
    in_transit = ("in_transit",)
    out_for_delivery = ("out_for_delivery",)
    delivery_attempted = ("delivery_attempted",)
    delivered = ("delivered",)
    available_for_pickup = ("available_for_pickup",)
    exception = ("exception",)
    returned_to_sender = ("returned_to_sender",)
    cancelled = ("cancelled",)


STATUS_BY_CODE = code_index(GenericStatus)
_EVENT_ID = re.compile(r"[^\x00-\x1f\x7f]{1,200}")


def decode(payload: Any) -> DecodeResult:
    """The tracking changes in one generic payload: an event object or a list of them."""
    result = DecodeResult()
    if isinstance(payload, dict):
        _decode_event(payload, "$", result)
    elif isinstance(payload, list):
        for i, event in enumerate(payload):
            _decode_event(event, f"[{i}]", result)
    else:
        result.problems.append(Problem("invalid", "$", "the payload is neither an event nor a list"))
    return result


def _field(path: str, name: str) -> str:
    return name if path == "$" else f"{path}.{name}"


def _decode_event(event: Any, path: str, result: DecodeResult) -> None:
    if not isinstance(event, dict):
        result.problems.append(Problem("invalid", path, "an event is not an object"))
        return
    number, problem = check_tracking_number(event.get("tracking_number"), _field(path, "tracking_number"))
    if problem is not None or number is None:
        result.problems.append(problem or Problem("missing", _field(path, "tracking_number"), "no number"))
        return
    code = event.get("code")
    if not isinstance(code, str):
        result.problems.append(Problem("missing", _field(path, "code"), "no status code"))
        return
    status = STATUS_BY_CODE.get(code)
    if status is None:
        message = f"code {code!r} is not a canonical tracking status"
        result.problems.append(Problem("unknown_code", _field(path, "code"), message, code=code))
        return
    occurred_at = parse_time(event.get("occurred_at"))
    if occurred_at is None:
        message = f"occurred_at {event.get('occurred_at')!r} is not an ISO 8601 time with an offset"
        result.problems.append(Problem("invalid", _field(path, "occurred_at"), message, code=code))
        return
    event_id = event.get("event_id")
    if event_id is not None and not (isinstance(event_id, str) and _EVENT_ID.fullmatch(event_id)):
        message = "event_id must be 1 to 200 printable characters"
        result.problems.append(Problem("invalid", _field(path, "event_id"), message, code=code))
        return
    change_id = event_id or content_id(NAME, number, code, occurred_at, "")
    result.changes.append(
        tracking_change(
            change_id,
            number,
            status,
            occurred_at,
            carrier=text(event.get("carrier")),
            native_code=code,
            description=text(event.get("description")),
            event_id=event_id,
        )
    )
