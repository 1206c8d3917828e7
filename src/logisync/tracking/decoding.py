"""What every tracking format shares: problems as data, the decode result, code tables, event ids."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from typing import Any

import orjson

from logisync.domain.catalog import spec
from logisync.domain.change import Change
from logisync.domain.kinds import Domain
from logisync.domain.tracking import TrackingStatus


@dataclass(frozen=True, slots=True)
class Problem:
    """Why one part of a payload was not decoded: quarantined with its exact place, never guessed.

    `kind` is one of: `unknown_code` (a native code the format's table does not list),
    `no_status` (a known code that states no shipment status, such as an estimate),
    `missing` (a required value is absent), `invalid` (a value is malformed).
    """

    kind: str
    path: str
    message: str
    code: str | None = None


@dataclass(frozen=True, slots=True)
class DecodeResult:
    """The canonical tracking changes a payload yields, and what could not be decoded."""

    changes: list[Change] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)


def code_index(table: type[Enum]) -> dict[str, TrackingStatus]:
    """Invert a code table (member name = canonical status, value = its native codes) to a lookup."""
    index: dict[str, TrackingStatus] = {}
    for member in table:
        status = TrackingStatus(member.name)
        for code in member.value:
            if code in index:
                raise ValueError(f"{table.__name__}: native code {code!r} is listed twice")
            index[code] = status
    return index


def parse_time(value: Any) -> datetime | None:
    """An ISO 8601 time with an offset, as UTC; None when absent, naive or malformed."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return moment.astimezone(UTC)


def content_id(fmt: str, tracking_number: str, native_code: str, occurred_at: datetime, place: str) -> str:
    """An event id from the event's content, for carriers that send none: equal on every resend.

    Hashes the format, tracking number, native code, event time (UTC) and place; not the free-text
    description, which carriers reword between resends.
    """
    material = orjson.dumps([fmt, tracking_number, native_code, occurred_at.isoformat(), place])
    return f"{fmt}:{hashlib.sha256(material).hexdigest()[:32]}"


def check_tracking_number(value: Any, path: str) -> tuple[str | None, Problem | None]:
    """The tracking number when it is a valid tracking key, else a problem naming the path."""
    if not isinstance(value, str) or not value:
        return None, Problem("missing", path, "no tracking number")
    wrong = spec(Domain.tracking).check_key(value)
    if wrong is not None:
        return None, Problem("invalid", path, wrong)
    return value, None


def tracking_change(
    change_id: str,
    tracking_number: str,
    status: TrackingStatus,
    occurred_at: datetime,
    **fields: Any,
) -> Change:
    """A canonical tracking change: JSON-ready TrackingEvent fields, `None` values left out."""
    body: dict[str, Any] = {"status": status.value, "occurred_at": occurred_at.isoformat()}
    body.update({name: value for name, value in fields.items() if value is not None})
    return Change(
        id=change_id, domain=Domain.tracking, key=tracking_number, fields=body, occurred_at=occurred_at
    )


def text(value: Any) -> str | None:
    """A non-empty string, else None (payload values are untrusted)."""
    return value if isinstance(value, str) and value.strip() else None
