"""What the records explorer shows: a search by SKU, order, shipment or tracking number, and a
record with each field's provenance, its history as a timeline and its state at a chosen time.

Every read is on an index: a search is a range of the records' primary key (domain, key) per
domain, a page at a time; a tracking number's shipment is the `tracked_for` its record holds (the
hub writes it when it follows the number, see `pipeline/tracking_rules.py`), so no shipment is
scanned for its numbers. A record's history is read a page at a time back along its chain.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, cast

from .. import history
from ..domain.catalog import CATALOG
from ..domain.change import from_us, to_us
from ..domain.kinds import Domain
from ..domain.record import RecordState
from ..inbox import Inbox, Item
from ..store.base import Store
from ..store.explorer_reads import records_before, records_page
from ..store.inbox import ExceptionFilter
from .inbox_view import BadFilter

if TYPE_CHECKING:
    from ..store.sql import SqlStore

# what a search looks for -> the domains it searches, in order
SEARCH_KINDS: dict[str, tuple[str, tuple[Domain, ...]]] = {
    "any": ("Anything", tuple(Domain)),
    "sku": ("SKU", (Domain.product, Domain.inventory)),
    "order": ("Order number", (Domain.order,)),
    "shipment": ("Shipment number", (Domain.shipment,)),
    "tracking": ("Tracking number", (Domain.tracking,)),
}
HITS = 20  # per domain and page
HISTORY = 50  # timeline entries per page


@dataclass(slots=True)
class Hit:
    domain: str
    key: str
    updated_us: int
    summary: str  # a few of its fields
    link: tuple[str, str] | None = None  # a related record (a tracking number's shipment)
    link_label: str = ""


@dataclass(slots=True)
class Section:
    """The hits in one domain: a page from after `after`, and where the next page starts."""

    domain: str
    hits: list[Hit]
    next_after: str | None
    prev_before: str | None = None  # the `before` of the previous page (one domain's pages only)


@dataclass(slots=True)
class Search:
    q: str
    kind: str
    domain: str  # one domain only (a "more" link), or ""
    sections: list[Section] = field(default_factory=list)

    @property
    def found(self) -> int:
        return sum(len(s.hits) for s in self.sections)


def search(
    store: Store,
    q: str,
    kind: str = "any",
    *,
    domain: str = "",
    after: str = "",
    before: str = "",
    limit: int = HITS,
) -> Search:
    """Records whose key starts with `q` in the domains `kind` searches (or in `domain` alone, from
    after key `after`, or the page before key `before`); an exact key comes first, as it sorts first."""
    q = q.strip()
    if after and before:
        raise BadFilter("before", "give after (the next page) or before (the previous one), not both")
    if len(after) > 1000 or len(before) > 1000:
        raise BadFilter("after" if after else "before", "a page's key: at most 1000 characters")
    if kind not in SEARCH_KINDS:
        raise BadFilter("kind", f"search kind {kind!r} is not one of {', '.join(SEARCH_KINDS)}")
    if len(q) > 200:
        raise BadFilter("q", "q: at most 200 characters")
    domains = SEARCH_KINDS[kind][1]
    if domain:
        if domain not in {d.value for d in domains}:
            raise BadFilter("domain", f"domain {domain!r} is not searched for a {kind}")
        domains = (Domain(domain),)
    out = Search(q, kind, domain)
    if not q:
        return out
    sql = cast("SqlStore", store)
    for d in domains:
        if domain and before:
            back = records_before(sql, d.value, q, before=before, limit=limit + 1)
            rows = back[:limit][::-1]
            earlier = len(back) > limit
            more = bool(rows) and bool(records_page(sql, d.value, q, after=rows[-1].key, limit=1))
        else:
            rows = records_page(sql, d.value, q, after=after if domain else "", limit=limit + 1)
            more = len(rows) > limit
            rows = rows[:limit]
            earlier = bool(domain and after and rows) and bool(
                records_before(sql, d.value, q, before=rows[0].key, limit=1)
            )
        hits = [_hit(store, r) for r in rows]
        section = Section(d.value, hits, rows[-1].key if more and rows else None)
        section.prev_before = rows[0].key if earlier else None
        out.sections.append(section)
    if kind == "any":
        out.sections = [s for s in out.sections if s.hits]
    return out


def _hit(store: Store, record: RecordState) -> Hit:
    hit = Hit(record.domain, record.key, record.updated_us, summary(record.domain, record.fields))
    followed = record.fields.get("tracked_for") if record.domain == Domain.tracking.value else None
    if isinstance(followed, str) and followed:
        hit.link, hit.link_label = ("shipment", followed), f"shipment {followed}"
    return hit


_SUMMARY = {
    "product": ("name", "gtin", "status"),
    "location": ("name", "kind"),
    "inventory": ("on_hand", "allocated", "inbound"),
    "order": ("status", "channel", "placed_at"),
    "shipment": ("status", "order_number", "carrier"),
    "tracking": ("status", "carrier", "occurred_at"),
    "return": ("status", "order_number"),
}


def summary(domain: str, fields: dict[str, Any]) -> str:
    """A line about a record: a few telling fields, `name=value`."""
    shown = [f"{n}={fields[n]}" for n in _SUMMARY.get(domain, ()) if fields.get(n) not in (None, "")]
    return ", ".join(shown)[:160]


# -- one record -------------------------------------------------------------------------------------
@dataclass(slots=True)
class FieldRow:
    """A field as the record page shows it: value, and who set it, by which change, when."""

    name: str
    value: Any
    system: str | None = None  # None: derived by the hub from other fields
    change_id: str | None = None
    applied_at: str | None = None
    replaced: dict[str, Any] | None = None
    received: Any = None


@dataclass(slots=True)
class RecordPage:
    domain: str
    key: str
    revision: int
    updated_us: int
    fields: list[FieldRow]
    as_of: str | None  # the moment shown (ISO 8601), or None: now
    timeline: list[dict[str, Any]]  # newest first
    older: int | None  # `before` of the next (older) timeline page
    exceptions: list[Item]
    open_exceptions: int
    references: list[tuple[str, str, str]]  # (label, domain, key) of records this one names


def parse_moment(text: str) -> int:
    """A moment from the time-travel form: ISO 8601, or `YYYY-MM-DDTHH:MM` as a browser's
    datetime-local sends it (read as UTC)."""
    value = text.strip()
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadFilter(
            "as_of", f"as_of {text[:60]!r} is not a date and time (write e.g. 2026-03-01T12:00:00Z)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        utc = moment.astimezone(UTC)  # a year-9999 time west of UTC is past datetime's range
    except OverflowError:
        utc = None
    if utc is None or not 1970 <= utc.year <= 9998:
        raise BadFilter("as_of", f"as_of {text[:60]!r}: choose a moment from 1970 to 9998 (UTC)")
    return to_us(utc)


def record_page(
    store: Store,
    inbox: Inbox,
    domain: str,
    key: str,
    *,
    as_of_us: int | None = None,
    before: int | None = None,
) -> RecordPage | None:
    """The record (now, or at `as_of_us`), a page of its history, and the exceptions about it; None
    when there is no such record (at that time)."""
    if domain not in {d.value for d in Domain}:
        raise BadFilter("domain", f"domain {domain!r} is not one of {', '.join(d.value for d in Domain)}")
    now = store.get_record(domain, key)
    if now is None:
        return None
    if as_of_us is None:
        record, rows = now, _explained(store, now)
    else:
        past = history.state_at(store, domain, key, as_of_us)
        if past is None:
            return None
        record, rows = past, _provenance(store, past)
    entries = history.history(store, domain, key, limit=HISTORY + 1, before=before)
    older = entries[1]["seq"] if len(entries) > HISTORY else None
    timeline = (entries[1:] if older is not None else entries)[::-1]
    where = ExceptionFilter(state=None, domain=domain, key=key)
    exceptions, _ = inbox.page(where, limit=10)
    return RecordPage(
        domain,
        key,
        record.revision,
        record.updated_us,
        rows,
        None if as_of_us is None else from_us(as_of_us).isoformat(),
        timeline,
        older,
        exceptions,
        inbox.count(ExceptionFilter(state="open", domain=domain, key=key)),
        references(domain, key, record.fields),
    )


def _explained(store: Store, record: RecordState) -> list[FieldRow]:
    stories = history.explain(store, record.domain, record.key) or []
    rows = [
        FieldRow(
            s.field,
            s.value,
            s.system,
            s.change_id,
            from_us(s.applied_us).isoformat() if s.applied_us else None,
            None
            if s.replaced_change_id is None
            else {"value": s.replaced_value, "system": s.replaced_system, "change_id": s.replaced_change_id},
            s.received,
        )
        for s in stories
    ]
    return rows + _derived(record)


def _provenance(store: Store, record: RecordState) -> list[FieldRow]:
    shown = history.view(record, store)
    rows = []
    for name in sorted(record.fields):
        p = shown["provenance"].get(name, {})
        rows.append(
            FieldRow(
                name,
                record.fields[name],
                p.get("system"),
                p.get("change_id"),
                p.get("applied_at"),
                None,
                p.get("received"),
            )
        )
    return rows + _derived(record)


def _derived(record: RecordState) -> list[FieldRow]:
    derive = CATALOG[Domain(record.domain)].derive
    if derive is None:
        return []
    return [FieldRow(name, value) for name, value in sorted(derive(record.fields).items())]


def references(domain: str, key: str, fields: dict[str, Any]) -> list[tuple[str, str, str]]:
    """Records this one names, to link to: an inventory position's product and location, a
    shipment's order and tracking numbers, an order's shipments, a tracking number's shipment, a return's order."""
    out: list[tuple[str, str, str]] = []
    if domain == "inventory" and "@" in key:
        sku, _, location = key.rpartition("@")
        out += [("product", "product", sku), ("location", "location", location)]
    order = fields.get("order_number")
    if domain in ("shipment", "return") and isinstance(order, str) and order:
        out.append(("order", "order", order))
    if domain == "order":
        for shipment in dict.fromkeys(s for s in fields.get("shipments") or () if isinstance(s, str) and s):
            out.append(("shipment", "shipment", shipment))
    if domain == "shipment":
        numbers = list(fields.get("tracking_numbers") or ())
        numbers += [p.get("tracking_number") for p in fields.get("packages") or () if isinstance(p, dict)]
        for n in dict.fromkeys(n for n in numbers if isinstance(n, str) and n):
            out.append(("tracking number", "tracking", n))
    if domain == "tracking":
        for name in ("tracked_for", "shipment_number"):
            value = fields.get(name)
            if isinstance(value, str) and value and ("shipment", "shipment", value) not in out:
                out.append(("shipment", "shipment", value))
    return out
