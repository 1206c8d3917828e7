"""EasyPost-style tracker webhooks (`tracker.created` / `tracker.updated`) decoded to tracking changes.

Each entry of `result.tracking_details` becomes one change; EasyPost gives details no id of their
own, so the id is a content hash (stable across the webhook's many resends of the full history).
"""

from __future__ import annotations

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

NAME = "easypost"


class EasyPostStatus(Enum):
    """EasyPost tracker statuses, from its public status list: canonical name = native codes."""

    pre_transit = ("pre_transit",)
    in_transit = ("in_transit",)
    out_for_delivery = ("out_for_delivery",)
    delivered = ("delivered",)
    available_for_pickup = ("available_for_pickup",)
    returned_to_sender = ("return_to_sender",)
    exception = ("failure",)
    cancelled = ("cancelled",)


# Known codes that state no shipment status: `unknown` (the carrier has told EasyPost nothing yet)
# and `error` (the tracker itself failed, e.g. a wrong tracking code). Reported, never mapped.
NO_STATUS = frozenset({"unknown", "error"})
EVENTS = frozenset({"tracker.created", "tracker.updated"})

STATUS_BY_CODE = code_index(EasyPostStatus)


def decode(payload: Any) -> DecodeResult:
    """The tracking changes in one EasyPost webhook body (already JSON-decoded)."""
    result = DecodeResult()
    if not isinstance(payload, dict):
        result.problems.append(Problem("invalid", "$", "the webhook body is not an object"))
        return result
    if payload.get("description") not in EVENTS:
        message = f"not a tracker event (description {payload.get('description')!r})"
        result.problems.append(Problem("invalid", "description", message))
        return result
    tracker = payload.get("result")
    if not isinstance(tracker, dict):
        result.problems.append(Problem("missing", "result", "no tracker object"))
        return result
    number, problem = check_tracking_number(tracker.get("tracking_code"), "result.tracking_code")
    if problem is not None or number is None:
        result.problems.append(problem or Problem("missing", "result.tracking_code", "no tracking number"))
        return result
    details = tracker.get("tracking_details")
    if not isinstance(details, list):
        result.problems.append(Problem("missing", "result.tracking_details", "no list of tracking details"))
        return result
    carrier = text(tracker.get("carrier"))
    for i, detail in enumerate(details):
        _decode_detail(detail, f"result.tracking_details[{i}]", number, carrier, result)
    return result


def _decode_detail(detail: Any, path: str, number: str, carrier: str | None, result: DecodeResult) -> None:
    if not isinstance(detail, dict):
        result.problems.append(Problem("invalid", path, "a tracking detail is not an object"))
        return
    code = detail.get("status")
    if not isinstance(code, str):
        result.problems.append(Problem("missing", f"{path}.status", "no status code"))
        return
    status = STATUS_BY_CODE.get(code)
    if status is None:
        kind, why = ("no_status", "states no shipment status") if code in NO_STATUS else ("unknown_code", "")
        message = f"EasyPost status {code!r} {why or 'is not in the EasyPost code table'}"
        result.problems.append(Problem(kind, f"{path}.status", message, code=code))
        return
    occurred_at = parse_time(detail.get("datetime"))
    if occurred_at is None:
        message = f"datetime {detail.get('datetime')!r} is not an ISO 8601 time with an offset"
        result.problems.append(Problem("invalid", f"{path}.datetime", message, code=code))
        return
    where = detail.get("tracking_location")
    where = where if isinstance(where, dict) else {}
    city, country = text(where.get("city")), text(where.get("country"))
    place = "|".join(str(where.get(k) or "") for k in ("city", "state", "zip", "country"))
    change_id = content_id(NAME, number, code, occurred_at, place)
    result.changes.append(
        tracking_change(
            change_id,
            number,
            status,
            occurred_at,
            carrier=carrier,
            native_code=code,
            description=text(detail.get("message")),
            city=city,
            country=country,
        )
    )
