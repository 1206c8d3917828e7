"""X12 214 shipment status (AT7 segments, already tokenized into element values) decoded to changes.

The payload is what the X12 tokenizer (a separate step) yields for one 214 transaction:

    {"b10": [B10-01 carrier reference (PRO, used as the tracking number), B10-02 shipment id,
             B10-03 SCAC],
     "local_tz": optional IANA zone for statuses sent in local time (from the partner's settings),
     "statuses": [{"at7": [AT7-01 .. AT7-07], "ms1": [city, state, country]?}, ...]}

One change per AT7 with a status code (AT7-01). Paths in problems name the element, e.g.
`statuses[2].AT7-01`. X12 statuses carry no event id: the id is a content hash.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone, tzinfo
from enum import Enum
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from logisync.tracking.decoding import (
    DecodeResult,
    Problem,
    check_tracking_number,
    code_index,
    content_id,
    text,
    tracking_change,
)

NAME = "x12_214"


class X12ShipmentStatus(Enum):
    """AT7-01 Shipment Status Code (element 1650), mapped per the published X12 code list.

    Codes not listed here are quarantined as unknown, including ones whose meaning differs across
    X12 releases (XB: "Shipment Acknowledged" or "3PL has the proof of delivery") and ones that do
    not say where the freight is (AM loaded on truck, AI reconsigned, CD carrier departed delivery
    location, AV available for delivery).
    """

    # X3 arrived at pick-up location, X8 arrived at pick-up loading dock, CP completed loading at
    # pick-up location: the carrier has the freight in hand but has not left.
    pre_transit = ("X3", "X8", "CP")
    # AF departed pick-up location with shipment, X6 en route to delivery location, P1 departed
    # terminal, X4 arrived at terminal, R1 received from prior carrier, J1 delivered to connecting
    # line (still moving, for the shipper), K1 arrived at customs.
    in_transit = ("AF", "X6", "P1", "X4", "R1", "J1", "K1")
    # AJ tendered for delivery, X1 arrived at delivery location, X5 arrived at delivery loading dock.
    out_for_delivery = ("AJ", "X1", "X5")
    # AH attempted delivery, AP delivery not completed.
    delivery_attempted = ("AH", "AP")
    # D1 completed unloading at delivery location, CB completed shipment (last part delivered).
    delivered = ("D1", "CB")
    # AW shipment available for pick-up.
    available_for_pickup = ("AW",)
    # A7 refused by consignee, A9 shipment damaged, SD shipment delayed, PR customs hold in-bond.
    exception = ("A7", "A9", "SD", "PR")
    # A3 shipment returned to shipper.
    returned_to_sender = ("A3",)
    # CA shipment cancelled.
    cancelled = ("CA",)


# Known codes that are estimates, not events: AG estimated delivery, X2 estimated arrival at
# consignee, C1 estimated to depart terminal, B6 estimated to arrive at carrier terminal.
NO_STATUS = frozenset({"AG", "X2", "C1", "B6"})

STATUS_BY_CODE = code_index(X12ShipmentStatus)

# AT7-07 time codes with a fixed offset from UTC (hours); the P01..P12 / M01..M12 forms are parsed.
_FIXED_OFFSETS = {"UT": 0, "GM": 0, "ED": -4, "ES": -5, "CD": -5, "CS": -6, "MD": -6, "MS": -7}
_FIXED_OFFSETS |= {"PD": -7, "PS": -8, "AD": -8, "AS": -9, "HS": -10}
# AT7-07 time codes that follow daylight saving time: the zone decides the offset.
_ZONES = {
    "ET": "America/New_York",
    "CT": "America/Chicago",
    "MT": "America/Denver",
    "PT": "America/Los_Angeles",
    "AT": "America/Anchorage",
    "HT": "Pacific/Honolulu",
}


def decode(payload: Any) -> DecodeResult:
    """The tracking changes in one tokenized 214 transaction."""
    result = DecodeResult()
    if not isinstance(payload, dict):
        result.problems.append(Problem("invalid", "$", "the payload is not an object"))
        return result
    b10 = payload.get("b10")
    b10 = b10 if isinstance(b10, list) else []
    number, problem = check_tracking_number(_element(b10, 0), "B10-01")
    if problem is not None or number is None:
        result.problems.append(problem or Problem("missing", "B10-01", "no carrier reference number"))
        return result
    shipment_number, carrier = _element(b10, 1), _element(b10, 2)
    local_tz, problem = _local_zone(payload.get("local_tz"))
    if problem is not None:
        result.problems.append(problem)
        return result
    statuses = payload.get("statuses")
    if not isinstance(statuses, list):
        result.problems.append(Problem("missing", "statuses", "no list of AT7 statuses"))
        return result
    for i, entry in enumerate(statuses):
        at7 = entry.get("at7") if isinstance(entry, dict) else None
        if not isinstance(at7, list):
            result.problems.append(Problem("missing", f"statuses[{i}].at7", "no AT7 segment"))
            continue
        ms1 = entry.get("ms1")
        place = ms1 if isinstance(ms1, list) else []
        _decode_at7(at7, place, f"statuses[{i}]", number, shipment_number, carrier, local_tz, result)
    return result


def _decode_at7(
    at7: list[Any],
    ms1: list[Any],
    path: str,
    number: str,
    shipment_number: str | None,
    carrier: str | None,
    local_tz: tzinfo | None,
    result: DecodeResult,
) -> None:
    code = _element(at7, 0)
    if code is None:
        why = "an appointment (AT7-03), not a shipment status" if _element(at7, 2) else "no status code"
        kind = "no_status" if _element(at7, 2) else "missing"
        result.problems.append(Problem(kind, f"{path}.AT7-01", why))
        return
    status = STATUS_BY_CODE.get(code)
    if status is None:
        if code in NO_STATUS:
            message = f"AT7-01 {code!r} is an estimate, not a status"
            result.problems.append(Problem("no_status", f"{path}.AT7-01", message, code=code))
        else:
            message = f"AT7-01 {code!r} is not in the X12 214 code table"
            result.problems.append(Problem("unknown_code", f"{path}.AT7-01", message, code=code))
        return
    occurred_at, problem = _event_time(at7, path, local_tz)
    if problem is not None or occurred_at is None:
        result.problems.append(problem or Problem("invalid", f"{path}.AT7-05", "no time"))
        return
    city, country = _element(ms1, 0), _element(ms1, 2)
    place = "|".join(_element(ms1, k) or "" for k in range(3))
    change_id = content_id(NAME, number, code, occurred_at, place)
    reason = _element(at7, 1)
    result.changes.append(
        tracking_change(
            change_id,
            number,
            status,
            occurred_at,
            carrier=carrier,
            native_code=code,
            description=None if reason in (None, "NS") else f"status reason (AT7-02) {reason}",
            city=city,
            country=country,
            shipment_number=shipment_number,
        )
    )


def _element(elements: list[Any], index: int) -> str | None:
    """Element `index` (0-based) when present and not empty; trailing empty elements are omitted."""
    if index >= len(elements):
        return None
    value = text(elements[index])
    return value.strip() if value else None


def _local_zone(value: Any) -> tuple[tzinfo | None, Problem | None]:
    if value is None:
        return None, None
    try:
        return ZoneInfo(str(value)), None
    except (ZoneInfoNotFoundError, ValueError):
        return None, Problem("invalid", "local_tz", f"local_tz {value!r} is not an IANA time zone")


def _event_time(at7: list[Any], path: str, local_tz: tzinfo | None) -> tuple[datetime | None, Problem | None]:
    """AT7-05 (CCYYMMDD) + AT7-06 (HHMM[SS[DD]]) in the zone AT7-07 names, as UTC."""
    date, clock, code = _element(at7, 4), _element(at7, 5), _element(at7, 6)
    if date is None or clock is None:
        return None, Problem(
            "missing", f"{path}.AT7-05", "a status needs its date (AT7-05) and time (AT7-06)"
        )
    if not (len(date) == 8 and date.isdigit() and len(clock) in (4, 6, 7, 8) and clock.isdigit()):
        return None, Problem("invalid", f"{path}.AT7-05", f"date {date!r} / time {clock!r} are malformed")
    zone, problem = _zone(code, path, local_tz)
    if problem is not None:
        return None, problem
    fraction = clock[6:].ljust(2, "0") if len(clock) > 6 else "00"
    try:
        naive = datetime(
            int(date[:4]), int(date[4:6]), int(date[6:]), int(clock[:2]), int(clock[2:4]),
            int(clock[4:6] or 0), int(fraction) * 10_000,
        )  # fmt: skip
    except ValueError:
        return None, Problem("invalid", f"{path}.AT7-05", f"date {date!r} / time {clock!r} do not exist")
    return naive.replace(tzinfo=zone).astimezone(UTC), None


def _zone(code: str | None, path: str, local_tz: tzinfo | None) -> tuple[tzinfo | None, Problem | None]:
    if code is None or code == "LT":
        if local_tz is None:
            message = "local time (no AT7-07) and no local_tz for this partner: the offset is unknown"
            return None, Problem("missing", f"{path}.AT7-07", message)
        return local_tz, None
    if code in _FIXED_OFFSETS:
        return timezone(timedelta(hours=_FIXED_OFFSETS[code])), None
    if code in _ZONES:
        return ZoneInfo(_ZONES[code]), None
    if len(code) == 3 and code[0] in "PM" and code[1:].isdigit() and int(code[1:]) <= 12:
        sign = 1 if code[0] == "P" else -1
        return timezone(timedelta(hours=sign * int(code[1:]))), None
    return None, Problem("unknown_code", f"{path}.AT7-07", f"time code {code!r} is not known", code=code)
