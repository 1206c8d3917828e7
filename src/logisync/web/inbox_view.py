"""What the exceptions inbox pages show: the filters read from a URL, a page of the list, the groups,
an exception's detail, and the edit form's fields turned back into an edit.

Plain functions over `logisync.inbox.Inbox` and the store, so the pages, their tests and the
dashboard benchmark call the same code. Lists are keyset pages in id order, oldest first (the
exception that has waited longest is on top); nothing here reads a table whole.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from typing import Any
from urllib.parse import urlencode

from ..domain.kinds import Domain
from ..errors import LogisyncError
from ..inbox import Bulk, ExceptionNotFound, Group, Inbox, InboxError, InvalidAction, Item, Result, View
from ..store.inbox import ExceptionFilter

STATES = ("open", "resolved", "discarded", "all")
PAGE = 50  # exceptions per page
MAX_PAGE = 500
GROUPS = 100  # root causes shown, the largest first
_HOUR = 3600 * 1_000_000
# age filter: (label, newer than / older than, µs)
AGES: dict[str, tuple[str, str, int]] = {
    "1h": ("in the last hour", "newer", _HOUR),
    "24h": ("in the last 24 hours", "newer", 24 * _HOUR),
    "7d": ("in the last 7 days", "newer", 7 * 24 * _HOUR),
    "gt1h": ("more than an hour ago", "older", _HOUR),
    "gt24h": ("more than a day ago", "older", 24 * _HOUR),
    "gt7d": ("more than 7 days ago", "older", 7 * 24 * _HOUR),
}


class BadFilter(LogisyncError):
    """A filter in the URL that cannot be read: `where` names the parameter."""

    code = "invalid_request"

    def __init__(self, where: str, message: str) -> None:
        super().__init__(message)
        self.where = where


@dataclass(frozen=True, slots=True)
class InboxQuery:
    """The inbox's filters as the URL carries them (empty: not filtered)."""

    state: str = "open"
    kind: str = ""
    system: str = ""
    domain: str = ""
    assignee: str = ""
    key: str = ""  # a key, or the start of one (`SKU-1` finds `SKU-1@DC1`)
    age: str = ""
    cause: str = ""
    route: str = ""
    view: str = "list"  # list, or groups (by root cause)
    after: int = 0
    before: int = 0  # going back: the page just before this id
    limit: int = PAGE

    def where(self, now_us: int, me: str | None = None) -> ExceptionFilter:
        """The store's filter at `now_us`; `assignee=me` stands for the signed-in user `me`."""
        since = before = None
        if self.age:
            _, direction, span = AGES[self.age]
            if direction == "newer":
                since = now_us - span
            else:
                before = now_us - span
        assignee = me if self.assignee == "me" and me else self.assignee
        return ExceptionFilter(
            state=None if self.state == "all" else self.state,
            kind=self.kind or None,
            route=self.route or None,
            system=self.system or None,
            domain=self.domain or None,
            assignee=assignee or None,
            since_us=since,
            before_us=before,
            key_prefix=self.key or None,
        )

    def filtered(self) -> bool:
        """Whether a filter beyond the state is given (a bulk action by filter needs one)."""
        return any(
            (self.kind, self.system, self.domain, self.assignee, self.key, self.age, self.cause, self.route)
        )

    def url(self, **changes: Any) -> str:
        """This query (with `changes`) as a query string, defaults left out: `?kind=validation&after=40`."""
        q = replace(self, **changes)
        defaults = InboxQuery()
        params = {
            f.name: getattr(q, f.name) for f in fields(q) if getattr(q, f.name) != getattr(defaults, f.name)
        }
        return "?" + urlencode(params) if params else "?"


def parse_query(params: Mapping[str, str]) -> InboxQuery:
    """The inbox's filters from a URL's query; a bad one raises `BadFilter` naming it."""
    text = {name: (params.get(name) or "").strip() for name in InboxQuery.__dataclass_fields__}
    for name, value in text.items():
        if len(value) > 200:
            raise BadFilter(name, f"{name}: at most 200 characters")
    state = text["state"] or "open"
    if state not in STATES:
        raise BadFilter("state", f"state {state!r} is not one of {', '.join(STATES)}")
    if text["domain"] and text["domain"] not in {d.value for d in Domain}:
        raise BadFilter(
            "domain", f"domain {text['domain']!r} is not one of {', '.join(d.value for d in Domain)}"
        )
    if text["age"] and text["age"] not in AGES:
        raise BadFilter("age", f"age {text['age']!r} is not one of {', '.join(AGES)}")
    view = text["view"] or "list"
    if view not in ("list", "groups"):
        raise BadFilter("view", f"view {view!r} is not list or groups")
    after = _number(text["after"], "after", 0, 2**63 - 1, 0)
    before = _number(text["before"], "before", 0, 2**63 - 1, 0)
    if after and before:
        raise BadFilter("before", "give after (the next page) or before (the previous one), not both")
    limit = _number(text["limit"], "limit", 1, MAX_PAGE, PAGE)
    return InboxQuery(
        state=state,
        kind=text["kind"],
        system=text["system"],
        domain=text["domain"],
        assignee=text["assignee"],
        key=text["key"],
        age=text["age"],
        cause=text["cause"],
        route=text["route"],
        view=view,
        after=after,
        before=before,
        limit=limit,
    )


def _number(text: str, name: str, low: int, high: int, default: int) -> int:
    if not text:
        return default
    if not text.isdigit() or not low <= int(text) <= high:
        raise BadFilter(name, f"{name} {text!r} is not a whole number from {low} to {high}")
    return int(text)


@dataclass(slots=True)
class InboxPage:
    """One page of the list (or the groups), with what the filter form offers."""

    query: InboxQuery
    items: list[Item] = field(default_factory=list)
    next_after: int | None = None
    prev_before: int | None = None  # the `before` of the previous page, when there is one
    total: int = 0  # matching exceptions, all pages
    groups: list[Group] = field(default_factory=list)
    kinds: list[tuple[str, int]] = field(default_factory=list)  # every kind there is, with its open count
    systems: list[str] = field(default_factory=list)
    domains: list[str] = field(default_factory=list)


def inbox_page(
    inbox: Inbox, query: InboxQuery, now_us: int, *, me: str | None = None, systems: list[str] | None = None
) -> InboxPage:
    """The list (a keyset page from `query.after`) or the groups by root cause, for `query`."""
    where = query.where(now_us, me)
    cause = query.cause or None
    page = InboxPage(query, systems=sorted(systems or []), domains=[d.value for d in Domain])
    open_by_kind: dict[str, int] = {}
    for (kind, state), n in inbox.store.count_exceptions().items():
        open_by_kind[kind] = open_by_kind.get(kind, 0) + (n if state == "open" else 0)
    page.kinds = sorted(open_by_kind.items())
    if query.view == "groups":
        page.groups = [g for g in inbox.groups(where, limit=GROUPS) if cause is None or g.cause == cause]
        page.total = sum(g.count for g in page.groups)
        return page
    if query.before:
        page.items, earlier = inbox.page_before(where, cause=cause, before=query.before, limit=query.limit)
        if page.items:
            last = page.items[-1].row.id
            page.next_after = last if inbox.page(where, cause=cause, after=last, limit=1)[0] else None
    else:
        page.items, page.next_after = inbox.page(where, cause=cause, after=query.after, limit=query.limit)
        earlier = bool(query.after and page.items) and inbox.has_before(
            where, cause=cause, before=page.items[0].row.id
        )
    page.prev_before = page.items[0].row.id if page.items and earlier else None
    page.total = inbox.count(where, cause)
    return page


# -- one exception ----------------------------------------------------------------------------------
@dataclass(slots=True)
class EditField:
    """One field of the change, as the edit form shows it: its name and its value as text."""

    name: str
    text: str
    is_text: bool  # a string value: the form's text is taken as it is (else read as JSON)


@dataclass(slots=True)
class Detail:
    """An exception's page: `Inbox.show`, the problems found, the edit form's fields, the record link."""

    view: View
    problems: list[dict[str, Any]]
    edit_fields: list[EditField]
    can_replay: bool  # the exception is about a change there is to retry or edit
    record: tuple[str, str] | None  # (domain, key) of its golden record, when there is one


def detail(inbox: Inbox, exception_id: int) -> Detail:
    """Everything the detail page shows (raises `ExceptionNotFound`)."""
    view = inbox.show(exception_id)
    row = view.item.row
    info = row.detail or {}
    problems: list[dict[str, Any]] = []
    if isinstance(info.get("problems"), list):
        problems = [p for p in info["problems"] if isinstance(p, dict)]
    elif "rule" in info:
        problems = [{"rule": info.get("rule"), "field": info.get("field"), "value": info.get("value")}]
    payload: dict[str, Any] = {}
    if view.change is not None and set(view.change.payload) != {"unstorable", "text"}:
        payload = view.change.payload
    edit_fields = [
        EditField(name, value if isinstance(value, str) else _json(value), isinstance(value, str))
        for name, value in payload.items()
    ]
    can_replay = view.change is not None and row.kind not in ("dead_delivery",)
    record = None
    if view.record is not None:
        record = (view.record["domain"], view.record["key"])
    return Detail(view, problems, edit_fields, can_replay, record)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=False)


def edits_from_form(form: Mapping[str, str], payload: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The edit the form asks for: `(set, unset)`.

    The form has `field.NAME` (the value as text; a field that held a string keeps the text as it
    is, any other is read as JSON), `remove.NAME` (a checkbox) and one free `add_path`/`add_value`
    pair for a field that is not there or a nested path (`lines[0].qty`, value as JSON or text).
    Only what differs from the change as logged is set. A value that is not JSON where JSON is
    needed is refused, naming the field.
    """
    set_: dict[str, Any] = {}
    unset: list[str] = []
    for name, old in payload.items():
        if form.get(f"remove.{name}"):
            unset.append(name)
            continue
        text = form.get(f"field.{name}")
        if text is None:
            continue
        new = text if isinstance(old, str) else _parse(text, name)
        if new != old:
            set_[name] = new
    path = (form.get("add_path") or "").strip()
    if path:
        set_[path] = _parse(form.get("add_value") or "", path, lenient=True)
    elif (form.get("add_value") or "").strip():
        raise BadFilter("add_path", "a value to add needs the field's name (or path, e.g. lines[0].qty)")
    return set_, unset


def _parse(text: str, name: str, *, lenient: bool = False) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        if lenient:
            return text
        raise BadFilter(
            f"field.{name}",
            f"{name}: {text[:60]!r} is not a JSON value (numbers as 5, text in quotes, lists as [..])",
        ) from None


# -- bulk -------------------------------------------------------------------------------------------
BULK_MAX = 200  # exceptions acted on per request; the page offers to go on from where it stopped


def bulk_selected(inbox: Inbox, verb: str, ids: list[int], actor: str, reason: str | None = None) -> Bulk:
    """Retry or discard the chosen exceptions one by one, each with its own result (as `Inbox.bulk`)."""
    if verb == "discard" and not (reason or "").strip():
        raise InvalidAction("say why the exceptions are discarded (a reason is kept in each audit trail)")
    if not ids:
        raise InvalidAction("choose at least one exception (tick its box), or act on the whole filter")
    if len(ids) > BULK_MAX:
        raise InvalidAction(f"at most {BULK_MAX} exceptions at a time ({len(ids)} chosen)")
    out = Bulk()
    for xid in dict.fromkeys(ids):
        try:
            done = inbox.retry(xid, actor) if verb == "retry" else inbox.discard(xid, actor, reason or "")
            out.results.append(Result(xid, True, done.item.row.state, done.action))
        except InboxError as exc:
            state = "—" if isinstance(exc, ExceptionNotFound) else inbox.get(xid).row.state
            out.results.append(Result(xid, False, state, code=exc.code, message=exc.message))
    return out


def bulk_filtered(
    inbox: Inbox, verb: str, query: InboxQuery, now_us: int, actor: str, *, me: str | None, reason: str | None
) -> Bulk:
    """Retry or discard the open exceptions the filter matches, `BULK_MAX` at most from `query.after`;
    `next_after` says where a further request goes on."""
    if not query.filtered():
        raise InvalidAction(
            "a bulk action on a filter needs one: kind, system, domain, assignee, key, age or cause"
        )
    if query.state not in ("open", "all"):
        raise InvalidAction(f"only open exceptions can be acted on, not {query.state} ones")
    where = replace(query.where(now_us, me), state="open")
    return inbox.bulk(
        "retry" if verb == "retry" else "discard",
        where,
        actor,
        cause=query.cause or None,
        reason=reason,
        after=query.after,
        limit=BULK_MAX,
    )
