"""`logisync explain` and `logisync history`: a record's fields with provenance, its log, its past."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from rich.table import Table

from ..config.durations import parse_duration
from ..domain.catalog import CATALOG, DomainSpec
from ..domain.change import from_us, now_us, to_us
from ..domain.kinds import Domain
from ..domain.record import RecordState
from ..history import FieldStory, view
from ..store import Store
from ..store.base import LogEntry
from .output import NONE, value, when


def domain_spec(domain: str, key: str) -> DomainSpec | str:
    """The domain's spec, or what is wrong with the domain or key (for exit 2)."""
    try:
        spec = CATALOG[Domain(domain)]
    except ValueError:
        return f"unknown domain {domain!r} (known: {', '.join(d.value for d in Domain)})"
    return spec.check_key(key) or spec


def derived(record: RecordState) -> dict[str, Any]:
    spec = CATALOG[Domain(record.domain)]
    return spec.derive(record.fields) if spec.derive is not None else {}


def explain_table(record: RecordState, stories: list[FieldStory]) -> Table:
    table = Table(
        title=f"{record.domain} {record.key} · revision {record.revision} · updated {when(record.updated_us)}",
        title_justify="left",
    )
    table.add_column("field", no_wrap=True)
    table.add_column("value", overflow="fold")
    table.add_column("system")
    table.add_column("change", overflow="fold")
    table.add_column("stamp", justify="right")
    table.add_column("applied")
    table.add_column("replaced", overflow="fold")
    for s in stories:
        replaced = (
            NONE
            if s.replaced_change_id is None
            else f"{value(s.replaced_value, 24)} from {s.replaced_system} / {s.replaced_change_id}"
        )
        shown = (
            value(s.value) if s.received is None else f"{value(s.value)} (sent as {value(s.received, 24)})"
        )
        table.add_row(s.field, shown, s.system, s.change_id, str(s.stamp), when(s.applied_us), replaced)
    for name, v in derived(record).items():
        table.add_row(name, value(v), "(derived)", NONE, NONE, NONE, NONE, style="dim")
    return table


def explain_json(record: RecordState, stories: list[FieldStory]) -> dict[str, Any]:
    return {
        "domain": record.domain,
        "key": record.key,
        "revision": record.revision,
        "updated_at": from_us(record.updated_us).isoformat() if record.updated_us else None,
        "fields": [s.as_dict() for s in stories],
        "derived": derived(record),
    }


def history_table(domain: str, key: str, entries: list[LogEntry]) -> Table:
    table = Table(title=f"{domain} {key} · {len(entries)} changes, oldest first", title_justify="left")
    table.add_column("seq", justify="right")
    table.add_column("received", no_wrap=True)
    for column in ("system", "change", "stamp", "outcome"):
        table.add_column(column, overflow="fold")
    table.add_column("fields", overflow="fold")
    table.add_column("reason")
    for e in entries:
        applied = set(e.applied or ())
        names = ", ".join(n if n in applied else f"({n})" for n in e.payload)
        table.add_row(
            str(e.seq),
            when(e.received_us),
            e.system,
            e.change_id,
            str(e.stamp),
            e.outcome,
            names,
            value(e.reason, 60) if e.reason else "",
        )
    table.caption = "fields in (parentheses) were not applied"
    return table


def state_table(record: RecordState, at_us: int, store: Store) -> Table:
    """The record as it stood at `at_us`, each field with the system and change that set it."""
    shown = view(record, store)
    table = Table(title=f"{record.domain} {record.key} as of {when(at_us)}", title_justify="left")
    for column in ("field", "value", "system", "change", "applied"):
        table.add_column(column)
    for name, v in shown["fields"].items():
        p = shown["provenance"].get(name)
        if p is None:
            table.add_row(name, value(v), "(derived)", NONE, NONE, style="dim")
        else:
            table.add_row(name, value(v), p["system"], p["change_id"], _iso(p.get("applied_at")))
    return table


def state_json(record: RecordState, at_us: int, store: Store) -> dict[str, Any]:
    return {"as_of": from_us(at_us).isoformat(), **view(record, store)}


def _iso(text: str | None) -> str:
    return when(to_us(datetime.fromisoformat(text))) if text else NONE


LATEST_US = to_us(datetime.max.replace(tzinfo=UTC))  # the last moment a datetime can hold


def parse_moment(text: str) -> int | str:
    """µs since the epoch for an ISO time (`2026-03-01T12:00:00Z`, naive is UTC) or a duration
    ago (`10m`, `2h`, `3d`); else what is wrong, as a message."""
    problem = f"--as-of {text!r}: write an ISO time (2026-03-01T12:00:00Z) or a duration ago (10m, 2h, 3d)"
    try:
        at = now_us() - int(timedelta(seconds=parse_duration(text)).total_seconds() * 1_000_000)
    except (ValueError, OverflowError):
        try:
            moment = datetime.fromisoformat(text)
            at = to_us(moment if moment.tzinfo else moment.replace(tzinfo=UTC))
        except (ValueError, OverflowError, OSError):
            return problem
    if at < 0:
        return f"--as-of {text!r} is before 1970"
    if at > LATEST_US:
        return f"--as-of {text!r} is after the year 9999 (UTC)"
    return at
