"""What a transaction-set map returns, and how every map reads elements: errors name the segment
(its position in the file and in the set, as the 997's AK3 needs) and the element (AK4).

An inbound map turns one `TransactionSet` (read by `envelope.parse`) into canonical `Change`s.
It never raises on bad data: what is wrong becomes a `Problem` on the result, with the X12
segment or element syntax error code the 997 reports it with. A set with any fatal problem is
rejected whole by the caller: none of its changes is applied.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationError

from ...domain.catalog import DomainSpec, describe_validation_error, spec
from ...domain.change import Change
from ...domain.kinds import Domain
from ..interchange import TransactionSet
from ..problems import Code, Problem
from ..tokenizer import Segment

T = TypeVar("T")
_CHANGE_ID = re.compile(r"[^\x00-\x1f\x7f]{1,200}")  # what `Change.id` accepts

# Product id qualifiers (X12 element 235) the maps read a SKU from, in order of preference
ITEM_QUALIFIERS = ("SK", "VN", "BP", "IN", "UP", "EN")
BASE_UNITS = frozenset({"EA", ""})  # the unit of measure a quantity in base units is written in


@dataclass(frozen=True)
class Context:
    """What a map needs to know besides the set: who sent it, in which envelope, and the partner's
    settings (a default location, which product ids name our SKUs, the zone of its clock)."""

    partner: str  # the partner's system name: the `source` of its changes
    interchange: str = "0"  # ISA13
    group: str = "0"  # GS06
    location: str | None = None  # the location a set means when it names none (846, 944)
    item_qualifiers: tuple[str, ...] = ITEM_QUALIFIERS
    timezone: str | None = None  # X12 dates and times carry no zone: the partner's clock (UTC if unset)

    @property
    def zone(self) -> tzinfo:
        try:
            return ZoneInfo(self.timezone or "UTC")
        except (ZoneInfoNotFoundError, ValueError):
            return UTC

    def change_id(self, tset: TransactionSet, *parts: object) -> str:
        """An id that is the same when the same set is read again: partner, envelope numbers, set."""
        tail = ":".join(str(p) for p in parts)
        base = f"{self.partner}:{tset.code}:{self.interchange}.{self.group}.{tset.control}"
        return f"{base}:{tail}" if tail else base


@dataclass
class Mapped:
    """The changes one set maps to, what is wrong with it, and what was read but not taken."""

    changes: list[Change] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def rejected(self) -> bool:
        return any(p.fatal for p in self.problems)


class SetReader:
    """Reads the elements of one set's segments, collecting problems with their positions."""

    def __init__(self, tset: TransactionSet, ctx: Context) -> None:
        self.tset = tset
        self.ctx = ctx
        self.result = Mapped()
        self.failed = False  # a fatal problem was found (kept as a flag: checked per item)
        self._base = ctx.change_id(tset)
        self._specs: dict[Domain, DomainSpec] = {}
        prefs = ctx.item_qualifiers  # each product id qualifier -> those the partner prefers to it
        self._better = {q: prefs[:n] for n, q in reversed(list(enumerate(prefs)))}

    def finish(self) -> Mapped:
        """The result; a set with any fatal problem keeps no change (it is rejected whole)."""
        if self.failed or self.result.rejected:
            self.result.changes.clear()
        return self.result

    # -- problems ------------------------------------------------------------------------------
    def _segment(self, where: Segment | int) -> Segment:
        """A segment, or the segment at that place in the set's body (made only for an error)."""
        return self.tset.segments[where] if isinstance(where, int) else where

    def position(self, seg: Segment) -> int:
        """The segment's position in its set (ST is 1)."""
        return seg.index - self.tset.header.index + 1

    def error(
        self, seg: Segment, code: Code, message: str, element: int | None = None, *, fatal: bool = True
    ) -> None:
        where = f"{seg.tag}{element:02d}" if element is not None else seg.tag
        self.failed = self.failed or fatal
        self.result.problems.append(
            Problem(
                code,
                f"{where} (segment {seg.index}, position {self.position(seg)} in the set): {message}",
                seg.index,
                seg.tag,
                element,
                seg.line,
                seg.offset,
                set_position=self.position(seg),
                bad_value=seg[element] if element is not None else "",
                fatal=fatal,
            )
        )

    def missing(self, tag: str, what: str, after: Segment | None = None) -> None:
        """A mandatory segment the set lacks (AK3 code 3), reported where it was expected."""
        at = after or self.tset.trailer or self.tset.header
        self.failed = True
        self.result.problems.append(
            Problem(
                Code.segment_missing,
                f"the set {self.tset.code} {self.tset.control} has no {tag} segment ({what})",
                at.index,
                tag,
                None,
                at.line,
                at.offset,
                set_position=self.position(at),
            )
        )

    # -- elements ------------------------------------------------------------------------------
    def text(self, seg: Segment, n: int, what: str, *, required: bool = True) -> str | None:
        value = seg[n].strip()
        if value:
            return value
        if required:
            self.error(seg, Code.element_missing, f"{what} is missing", n)
        return None

    def quantity(self, seg: Segment, n: int, what: str, *, required: bool = True) -> int | None:
        """A whole, non-negative number of units (`12`, `12.0`)."""
        value = self.text(seg, n, what, required=required)
        if value is None:
            return None
        if value.isascii() and value.isdigit():  # the usual case, without a Decimal
            return int(value)
        try:
            number = Decimal(value)
        except InvalidOperation:
            number = Decimal("NaN")
        if not number.is_finite() or number < 0 or number != number.to_integral_value():
            self.error(
                seg, Code.element_invalid_character, f"{what} {value!r} is not a whole number of units", n
            )
            return None
        return int(number)

    def decimal(self, seg: Segment, n: int, what: str) -> Decimal | None:
        value = self.text(seg, n, what, required=False)
        if value is None:
            return None
        try:
            number = Decimal(value)
        except InvalidOperation:
            number = Decimal("NaN")
        if not number.is_finite() or number < 0:
            self.error(seg, Code.element_invalid_character, f"{what} {value!r} is not a number", n)
            return None
        return number

    def moment(
        self, seg: Segment, date_at: int, time_at: int | None, what: str, *, required: bool = True
    ) -> datetime | None:
        """A date CCYYMMDD (and a time HHMM[SS]) in the partner's zone, as an aware datetime."""
        date = self.text(seg, date_at, f"{what} date", required=required)
        if date is None:
            return None
        clock = seg[time_at].strip() if time_at is not None else ""
        if not (len(date) == 8 and date.isascii() and date.isdigit()):
            self.error(seg, Code.element_invalid_date, f"{what} date {date!r} is not CCYYMMDD", date_at)
            return None
        if clock and not (len(clock) in (4, 6) and clock.isascii() and clock.isdigit()):
            assert time_at is not None
            self.error(seg, Code.element_invalid_time, f"{what} time {clock!r} is not HHMM[SS]", time_at)
            return None
        try:
            day = datetime(int(date[:4]), int(date[4:6]), int(date[6:]))
        except ValueError:
            self.error(seg, Code.element_invalid_date, f"{what} date {date!r} does not exist", date_at)
            return None
        if clock:
            hour, minute, second = int(clock[:2]), int(clock[2:4]), int(clock[4:6] or 0)
            if hour > 23 or minute > 59 or second > 59:
                assert time_at is not None
                self.error(seg, Code.element_invalid_time, f"{what} time {clock!r} does not exist", time_at)
                return None
            day = day.replace(hour=hour, minute=minute, second=second)
        return day.replace(tzinfo=self.ctx.zone)

    def code(
        self, seg: Segment, n: int, table: Mapping[str, T], what: str, *, required: bool = True
    ) -> T | None:
        """A code from `table`; another value is reported as an invalid code (AK4 code 7), never guessed."""
        value = self.text(seg, n, what, required=required)
        if value is None:
            return None
        if value not in table:
            known = ", ".join(sorted(table))
            self.error(
                seg, Code.element_invalid_code, f"{what} {value!r} is not a code this map reads ({known})", n
            )
            return None
        return table[value]

    def item_of(self, elements: list[str], start: int, count: int = 5) -> str | None:
        """The SKU among a segment's (qualifier, id) pairs from element `start` (`count` pairs at
        most, as `pairs(start, count)` names them), or None: `item` then says why."""
        stop = start + 2 * count
        if len(elements) > start + 1:
            # the usual LIN: its first pair has a qualifier of the partner's list, and no later
            # qualifier (padded or not) is one the list puts before it
            better = self._better.get(elements[start])
            if better is not None:
                value = elements[start + 1].strip()
                if value:
                    if not better:
                        return value
                    later = "\x00".join(elements[start + 2 : stop : 2])
                    if not any(b in later for b in better):
                        return value
        found: dict[str, str] = {}
        for qualifier, value in zip(elements[start:stop:2], elements[start + 1 : stop : 2], strict=False):
            qualifier, value = qualifier.strip(), value.strip()
            if qualifier and value and qualifier not in found:
                found[qualifier] = value
        for qualifier in self.ctx.item_qualifiers:
            if qualifier in found:
                return found[qualifier]
        return None

    def item(self, seg: Segment, pairs: Iterable[tuple[int, int]], what: str = "product id") -> str | None:
        """The SKU among a segment's (qualifier, id) pairs: the first qualifier of the partner's list."""
        found: dict[str, str] = {}
        first_at = None
        elements = seg.elements
        size = len(elements)
        for q_at, id_at in pairs:
            first_at = q_at if first_at is None else first_at
            if id_at >= size:
                break
            qualifier, value = elements[q_at].strip(), elements[id_at].strip()
            if qualifier and value:
                found.setdefault(qualifier, value)
        for qualifier in self.ctx.item_qualifiers:
            if qualifier in found:
                return found[qualifier]
        wanted = ", ".join(self.ctx.item_qualifiers)
        if not found:
            self.error(seg, Code.element_missing, f"no {what} (qualifier {wanted})", first_at)
        else:
            self.error(
                seg,
                Code.element_invalid_code,
                f"no {what} with a qualifier this partner's SKUs use ({wanted}); found {', '.join(found)}",
                first_at,
            )
        return None

    def unit(self, seg: Segment, n: int) -> str | None:
        """The unit of measure, None for base units (EA or none)."""
        value = seg[n].strip().upper()
        return None if value in BASE_UNITS else value

    # -- changes -------------------------------------------------------------------------------
    def change(
        self,
        domain: Domain,
        key: str,
        fields: dict[str, Any],
        *parts: object,
        at: tuple[Segment | int, int | None] | None = None,
        occurred_at: datetime | None = None,
        change_id: str | None = None,
    ) -> None:
        """Add a change, checked as the pipeline will check it: a key or field the domain refuses
        is an error on the segment (and element) it came from, so the set is rejected whole
        rather than applied in part. `at` names that segment, or its place in the set's body."""
        made_id = change_id or (f"{self._base}:{':'.join(map(str, parts))}" if parts else self._base)
        self.add(self.spec(domain), key, fields, made_id, at or (self.tset.header, None), occurred_at)

    def spec(self, domain: Domain) -> DomainSpec:
        found = self._specs.get(domain)
        if found is None:
            found = self._specs[domain] = spec(domain)
        return found

    def fields_valid(self, domain_spec: DomainSpec, many: list[dict[str, Any]]) -> bool:
        """Whether every one of these fields passes the domain's check, in one call (`add` then
        need not check each; when one fails, each is checked again to name it)."""
        try:
            domain_spec.patches.validate_python(many)
        except ValidationError:
            return False
        return True

    @staticmethod
    def id_valid(made_id: str) -> bool:
        """Whether `Change` takes this id (checking the longest of ids that differ only in a
        number at their end checks them all)."""
        return _CHANGE_ID.fullmatch(made_id) is not None

    @property
    def base(self) -> str:
        """The start of every change id of this set (`change_id` of the context)."""
        return self._base

    def add(
        self,
        domain_spec: DomainSpec,
        key: str,
        fields: dict[str, Any],
        made_id: str,
        at: tuple[Segment | int, int | None],
        occurred_at: datetime | None,
        *,
        valid: bool = False,
        id_valid: bool = False,
    ) -> None:
        """`change` with its id made: for a map that adds many (the checks are the same).
        `valid`: the fields were checked already (`fields_valid`), with all the set's others;
        `id_valid`: so was the id (`id_valid`)."""
        where, element = at
        wrong = None if domain_spec.key_pattern.fullmatch(key) else domain_spec.check_key(key)
        if wrong is None and not valid:
            element = None
            try:
                domain_spec.patch.validate_python(fields)  # the pipeline's own check, without its dump
            except ValidationError as exc:
                wrong = describe_validation_error(exc)
        if wrong is not None:
            code = Code.element_invalid_character if element else Code.segment_has_errors
            self.error(self._segment(where), code, wrong, element)
            return
        if not id_valid and not _CHANGE_ID.fullmatch(made_id):
            self.error(
                self._segment(where),
                Code.segment_has_errors,
                f"the change id {made_id[:60]!r} would be too long or unprintable",
            )
            return
        # every field Change checks was checked above: built without validating it a second time
        self.result.changes.append(_change(made_id, domain_spec.domain, key, fields, occurred_at))


_new = object.__new__
_set = object.__setattr__
_SET = {"id", "domain", "key", "fields", "version", "occurred_at"}  # what `_change` sets
_DEFAULTS = {name: f.default for name, f in Change.model_fields.items() if name not in _SET}


def _change(
    id: str, domain: Domain, key: str, fields: dict[str, Any], occurred_at: datetime | None
) -> Change:
    """`Change.model_construct` for the fields a map sets, without its generic per-field loop
    (a third of a mapped item's time): the same object, every field already checked."""
    change = _new(Change)
    values = {
        "id": id,
        "domain": domain,
        "key": key,
        "fields": fields,
        "version": None,
        "occurred_at": occurred_at,
    }
    _set(change, "__dict__", {**_DEFAULTS, **values} if _DEFAULTS else values)
    _set(change, "__pydantic_fields_set__", _SET.copy())  # its own: pydantic may add to it
    _set(change, "__pydantic_extra__", None)
    _set(change, "__pydantic_private__", None)
    return change


@contextmanager
def no_gc_pauses() -> Iterator[None]:
    """CPython's cycle collector off while a set is mapped, back on after (if it was on).

    A map makes tens of thousands of small containers (element lists, fields, changes) that
    hold no cycles; the collector walking them again and again took about a third of an 846
    map's time. Off for the few milliseconds of one set, it only collects a little later.
    """
    was_on = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_on:
            gc.enable()


def pairs(start: int, count: int = 5) -> list[tuple[int, int]]:
    """(qualifier, id) element positions from `start`: (start, start+1), (start+2, start+3), ..."""
    return [(start + 2 * i, start + 2 * i + 1) for i in range(count)]


def date_text(moment: datetime | str | None) -> tuple[str, str]:
    """CCYYMMDD and HHMM of a time (canonical text or datetime) in UTC; ("", "") for none."""
    if moment is None:
        return "", ""
    when = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    if when.tzinfo is not None:
        when = when.astimezone(UTC)
    return when.strftime("%Y%m%d"), when.strftime("%H%M")


def number(value: Any) -> str:
    """A quantity or price as X12 numeric text (no exponent, no trailing zeros after a point)."""
    if isinstance(value, Decimal | float | str):
        text = format(Decimal(str(value)).normalize(), "f")
        return text
    return str(int(value))
