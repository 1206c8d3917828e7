"""The exceptions inbox: what an operations team does with stuck records, every action in the audit trail.

Actions (each refused, with the reason, when it makes no sense; only open exceptions are acted on):

- `retry`: a `dead_delivery` puts its outbox row back in the queue, due now, and is resolved (if
  the delivery dies again, the dispatcher opens a new exception; `show` links the two through the
  outbox row). An exception about a change that was not applied (`quarantined`, `rejected`,
  `insufficient_stock`) replays the change: its payload as logged, as its system, with its
  version or event time, under the id `{change_id}~retry{n}`, with `source` `exception:{id}`.
  An `applied` outcome resolves the exception; any other leaves it open, the outcome in the trail.
  A change that was applied cannot be retried (its exception is about what followed from it).
- `edit`: the same replay with fields set or removed by the operator (paths such as
  `lines[0].qty`), id `{change_id}~edit{n}`; the original change stays as it was in the log.
- `discard` (with a reason), `assign` (to a person, or to nobody), and both retry and discard in
  bulk, by filter, each exception with its own result.

A replay that ends as the original did would open the same exception again: that new exception is
discarded at once as a duplicate of the one that stays open (`folded` in the trail); exceptions of
other kinds it opens stay open (`opened`). Root causes, which group the inbox: see `root_cause`.
"""

from __future__ import annotations

import copy
import dataclasses
import hashlib
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from .domain.change import Change, ChangeId, Outcome, from_us, now_us
from .domain.kinds import Domain, OutcomeKind
from .errors import LogisyncError
from .history import view as record_view
from .store.base import ExceptionRow, LogEntry, OutboxRow, Store
from .store.inbox import Action, CauseRow, ExceptionFilter, InboxTable, Listed, Step
from .store.outbox import OutboxQueue

RETRYABLE = frozenset({"quarantined", "rejected", "insufficient_stock"})  # outcomes a retry replays
MAX_ID = 200  # a change id's longest (domain.change.ChangeId)
Verb = Literal["retry", "edit", "discard", "assign"]


class InboxError(LogisyncError):
    code = "inbox_error"


class ExceptionNotFound(InboxError):
    code = "not_found"


class ActionRefused(InboxError):
    """The action makes no sense for this exception as it is now (the message says why, and what would)."""

    code = "action_refused"


class InvalidAction(InboxError):
    """The action was asked for with bad input: no reason, an edit path that does not fit the fields."""

    code = "invalid_request"


class Replayer(Protocol):
    def ingest(
        self, system: str, changes: Sequence[Change], *, source: str | None = None
    ) -> list[Outcome]: ...


# -- root causes ------------------------------------------------------------------------------------
def root_cause(
    kind: str,
    route: str | None,
    system: str | None,
    domain: str | None,
    reason: str | None,
    parts: Mapping[str, Any],
) -> str:
    """What exceptions of one kind have in common when one fix clears them all.

    | kind | root cause | e.g. |
    | --- | --- | --- |
    | dead_delivery | the route, the error kind and HTTP status | `stock-to-shop: rejected 422` |
    | sla_breach | the route | `stock-to-shop: over its SLA` |
    | validation | the domain, the first problem's field path (list positions as `[]`) and message | `order lines[].qty: Input should be greater than 0` |
    | unknown_sku, unknown_location | the SKU or location | `SKU-404` |
    | unknown_xref | the system, what its id stands for, the id | `shop sku L-404` |
    | units | the SKU and the unit | `SKU-1 uom crate` |
    | ownership_conflict | the sender, the fields, their owners | `erp: on_hand (owned by wms)` |
    | scope | the sender and the domain | `shop may not write inventory` |
    | unmappable_webhook | the sender | `shop webhooks its mapping cannot take` |
    | illegal_transition | the domain and the move | `order shipped → created` |
    | insufficient_stock | the channel and its policy | `channel shop (reject)` |
    | bad_row | the system, the import and the column (or: rows that could not be read) | `erp stock: column Qty` |
    | others | the system and the domain | `wms order` |
    """
    p = {name: _text(value) for name, value in parts.items()}
    if kind == "dead_delivery":
        failure = " ".join(p[n] for n in ("error_kind", "status") if p.get(n))
        return f"{route}: {failure or 'failed'}"
    if kind == "sla_breach":
        return f"{route}: over its SLA"
    if kind == "validation":
        return f"{domain} {validation_problem(reason)}"
    if kind in ("unknown_sku", "unknown_location") and "value" in p:
        return p["value"]
    if kind == "unknown_xref" and "value" in p:
        return " ".join(x for x in (system, p.get("xref_kind"), p["value"]) if x)
    if kind == "units" and "value" in p:
        return f"{p.get('sku') or _path(p.get('field', ''))} uom {p['value']}"
    if kind == "ownership_conflict" and "owners" in p:
        fields = ", ".join(_text(f) for f in parts.get("conflicting") or ())
        return f"{system}: {fields} (owned by {', '.join(_text(o) for o in parts['owners'])})"
    if kind == "scope":
        return f"{system} may not write {domain}"
    if kind == "unmappable_webhook":
        return f"{system} webhooks its mapping cannot take"
    if kind == "illegal_transition":
        return f"{domain} {p.get('from', '—')} → {p.get('to') or p.get('to_status') or '—'}"
    if kind == "bad_row" and "import" in p:
        where = f"column {p['column']}" if p.get("column") else "rows that could not be read"
        return f"{system} {p['import']}: {where}"
    if kind == "insufficient_stock" and "channel" in p:
        return f"channel {p['channel']} ({p.get('policy', '—')})"
    return " ".join(x for x in (system, domain) if x) or kind


_FIELD = re.compile(r"^field (?P<path>[^:]+): (?P<message>.*?)(?: \(got .*\))?$", re.DOTALL)


def validation_problem(reason: str | None) -> str:
    """The first problem of a validation reason, without the value: `lines[].qty: Input should be ...`."""
    first = (reason or "").split("; field ")[0].strip()
    found = _FIELD.match(first)
    if found is not None:
        return f"{_path(found['path'])}: {found['message']}"
    if first.startswith("key "):
        return "key: not a valid key"
    return first


def _path(path: str) -> str:
    """A field path with list positions as `[]`: `lines.0.qty` and `lines[0].qty` are `lines[].qty`."""
    path = re.sub(r"\[\d+\]", "[]", path)
    return re.sub(r"\.(\d+)(?=\.|$)", "[]", path)


def _text(value: Any) -> str:
    """A detail member as text, the same whether SQLite, PostgreSQL or Python read it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


# -- edits ------------------------------------------------------------------------------------------
_SEGMENT = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def parse_path(path: str) -> list[str | int]:
    """`lines[0].qty` (or `lines.0.qty`) -> ["lines", 0, "qty"]; list positions are [n] or a number."""
    steps: list[str | int] = []
    at = 0
    text = path.strip()
    while at < len(text):
        if text[at] == "." and steps:
            at += 1
        found = _SEGMENT.match(text, at)
        if found is None:
            raise InvalidAction(f"{path!r} is not a field path (write e.g. on_hand, lines[0].qty)")
        steps.append(found[1] if found[1] is not None else int(found[2]))
        at = found.end()
    if not steps or isinstance(steps[0], int):
        raise InvalidAction(f"{path!r} is not a field path (write e.g. on_hand, lines[0].qty)")
    return steps


def apply_edits(
    fields: Mapping[str, Any], set_: Mapping[str, Any], unset: Sequence[str] = ()
) -> dict[str, Any]:
    """A copy of `fields` with each path of `set_` set (dicts on the way made as needed) and each of
    `unset` removed. A list position must exist; a path through a value that is not a list or an
    object is refused, naming it."""
    out = copy.deepcopy(dict(fields))
    for path, value in set_.items():
        *parents, last = parse_path(path)
        container = _walk(out, parents, path, create=True)
        _put(container, _position(container, last), copy.deepcopy(value), path)
    for path in unset:
        *parents, last = parse_path(path)
        container = _walk(out, parents, path, create=False)
        last = _position(container, last)
        if not _fits(container, last) or (isinstance(container, dict) and last not in container):
            raise InvalidAction(f"{path}: there is no such field to remove")
        del container[last]
    return out


def _walk(root: dict[str, Any], steps: Sequence[str | int], path: str, *, create: bool) -> Any:
    node: Any = root
    for i, named in enumerate(steps):
        step = _position(node, named)
        if isinstance(node, dict) and isinstance(step, str):
            if step not in node or node[step] is None:
                if not create:
                    raise InvalidAction(f"{path}: there is no such field to remove")
                node[step] = {}  # a list position must exist already: only objects are made
            node = node[step]
        elif isinstance(node, list) and isinstance(step, int) and step < len(node):
            node = node[step]
        else:
            raise InvalidAction(_misfit(path, steps[: i + 1], node))
    return node


def _put(container: Any, last: str | int, value: Any, path: str) -> None:
    if not _fits(container, last):
        raise InvalidAction(_misfit(path, [last], container))
    container[last] = value


def _position(container: Any, step: str | int) -> str | int:
    """A number written after a dot (`lines.0.qty`, as validation reasons write paths) is a
    position when it steps into a list, a key when it steps into an object."""
    if isinstance(container, list) and isinstance(step, str) and step.isdigit():
        return int(step)
    return step


def _fits(container: Any, step: str | int) -> bool:
    """Whether `step` addresses into `container`: a name in an object, an existing list position."""
    if isinstance(container, dict):
        return isinstance(step, str)
    return isinstance(container, list) and isinstance(step, int) and step < len(container)


def _misfit(path: str, steps: Sequence[str | int], node: Any) -> str:
    step = steps[-1]
    if isinstance(node, list) and isinstance(step, int):
        return f"{path}: position {step} is past the end of a list of {len(node)}"
    if isinstance(node, list):
        return f"{path}: {step!r} names a field of a list (write a position, e.g. [0])"
    if isinstance(node, dict):
        return f"{path}: [{step}] is a list position, but this is an object"
    return f"{path}: the value on the way is {type(node).__name__}, not a list or an object"


def replay_id(change_id: str, verb: str, n: int) -> str:
    """The id of the n-th replay of a change: `{change_id}~{verb}{n}`, kept within 200 characters
    (a long id is cut, with a digest of it, so two long ids stay apart)."""
    suffix = f"~{verb}{n}"
    if len(change_id) + len(suffix) <= MAX_ID:
        return change_id + suffix
    digest = hashlib.blake2b(change_id.encode(), digest_size=4).hexdigest()
    return f"{change_id[: MAX_ID - len(suffix) - 9]}~{digest}{suffix}"


def field_diff(payload: Mapping[str, Any], record: Mapping[str, Any] | None) -> list[dict[str, Any]]:
    """Each field of a change beside the golden record's value now (`same` when they agree)."""
    fields = record or {}
    return [
        {"field": name, "change": value, "record": fields.get(name), "same": fields.get(name) == value}
        for name, value in payload.items()
    ]


def _unstorable(payload: Mapping[str, Any]) -> bool:
    """A validation payload the log could not keep as received (pipeline.verdicts._storable)."""
    return set(payload) == {"unstorable", "text"}


# -- results ----------------------------------------------------------------------------------------
def _at(us: int) -> str:
    return from_us(us).isoformat()


@dataclass(slots=True)
class Item:
    """An exception with its root cause."""

    row: ExceptionRow
    cause: str

    def as_dict(self, *, detail: bool = False) -> dict[str, Any]:
        r = self.row
        out = {
            "id": r.id,
            "kind": r.kind,
            "state": r.state,
            "domain": r.domain,
            "key": r.key,
            "system": r.system,
            "change_id": r.change_id,
            "route": r.route,
            "reason": r.reason,
            "cause": self.cause,
            "assignee": r.assignee,
            "created_at": _at(r.created_us),
            "updated_at": _at(r.updated_us),
        }
        if detail:
            out["detail"] = r.detail
        return out


def action_dict(a: Action) -> dict[str, Any]:
    return {"id": a.id, "at": _at(a.at_us), "actor": a.actor, "action": a.action, "detail": a.detail}


@dataclass(slots=True)
class Group:
    """Open (or filtered) exceptions that share a root cause."""

    kind: str
    cause: str
    count: int
    first_id: int
    last_id: int
    first_us: int
    last_us: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "cause": self.cause,
            "count": self.count,
            "first_id": self.first_id,
            "last_id": self.last_id,
            "first_at": _at(self.first_us),
            "last_at": _at(self.last_us),
        }


@dataclass(slots=True)
class Done:
    """What one action did: the exception afterwards, and its audit entry."""

    item: Item
    action: Action

    def as_dict(self) -> dict[str, Any]:
        return {"exception": self.item.as_dict(), "action": action_dict(self.action)}


@dataclass(slots=True)
class Result:
    """One exception's part of a bulk action: done (with its entry), or refused (with why)."""

    id: int
    ok: bool
    state: str
    action: Action | None = None
    code: str | None = None
    message: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "ok": self.ok,
            "state": self.state,
            "action": None if self.action is None else action_dict(self.action),
            "code": self.code,
            "message": self.message,
        }


@dataclass(slots=True)
class Bulk:
    results: list[Result] = field(default_factory=list)
    next_after: int | None = None  # where to go on from, when `limit` stopped it

    def as_dict(self) -> dict[str, Any]:
        return {
            "results": [r.as_dict() for r in self.results],
            "done": sum(r.ok for r in self.results),
            "refused": sum(not r.ok for r in self.results),
            "next_after": self.next_after,
        }


@dataclass(slots=True)
class View:
    """An exception as `show` has it: the trail, and what it is about side by side."""

    item: Item
    trail: list[Action]
    change: LogEntry | None  # the change it is about, as logged
    record: dict[str, Any] | None  # the golden record that change addresses (or the delivery carries), now
    diff: list[dict[str, Any]]
    delivery: OutboxRow | None  # a dead delivery's outbox row, now
    related: list[Item]

    def as_dict(self) -> dict[str, Any]:
        c = self.change
        d = self.delivery
        return {
            "exception": self.item.as_dict(detail=True),
            "trail": [action_dict(a) for a in self.trail],
            "change": None
            if c is None
            else {
                "seq": c.seq,
                "system": c.system,
                "change_id": c.change_id,
                "domain": c.domain,
                "key": c.key,
                "stamp": c.stamp,
                "received_at": _at(c.received_us),
                "outcome": c.outcome,
                "reason": c.reason,
                "fields": c.payload,
                "applied_fields": c.applied,
                "source": c.source,
            },
            "record": self.record,
            "diff": self.diff,
            "delivery": None
            if d is None
            else {
                "outbox_id": d.id,
                "route": d.route,
                "state": d.state,
                "attempts": d.attempts,
                "last_error": d.last_error,
                "updated_at": _at(d.updated_us),
            },
            "related": [r.as_dict() for r in self.related],
        }


# -- the service ------------------------------------------------------------------------------------
class Inbox:
    """The inbox's actions over a store; `replayer` (a Pipeline) is needed to retry or edit changes."""

    def __init__(
        self,
        store: Store,
        replayer: Replayer | None = None,
        *,
        clock: Callable[[], int] = now_us,
        on_commit: Callable[[], None] | None = None,
    ) -> None:
        self.store = store
        self.replayer = replayer
        self.clock = clock
        self.on_commit = on_commit  # told when a retry put something in the outbox (the dispatchers)
        self.table = InboxTable(store)  # type: ignore[arg-type]
        self.outbox = OutboxQueue(store)  # type: ignore[arg-type]

    # -- reading --------------------------------------------------------------------------------
    def get(self, exception_id: int) -> Item:
        found = self.table.get(exception_id)
        if found is None:
            raise ExceptionNotFound(f"no exception {exception_id}")
        return _item(found)

    def page(
        self, where: ExceptionFilter, *, cause: str | None = None, after: int = 0, limit: int = 100
    ) -> tuple[list[Item], int | None]:
        """A page of matching exceptions in id order, and the `after` of the next page (None: no more)."""
        page: list[Item] = []
        for item in self._select(where, cause, after, 500 if cause is not None else min(500, limit + 1)):
            if len(page) == limit:
                return page, page[-1].row.id
            page.append(item)
        return page, None

    def page_before(
        self, where: ExceptionFilter, *, cause: str | None = None, before: int, limit: int = 100
    ) -> tuple[list[Item], bool]:
        """The page of matching exceptions just before id `before`, in id order (going back), and
        whether there are more before it."""
        found: list[Item] = []
        for item in self._select_back(
            where, cause, before, 500 if cause is not None else min(500, limit + 1)
        ):
            if len(found) == limit:
                return found[::-1], True
            found.append(item)
        return found[::-1], False

    def has_before(self, where: ExceptionFilter, *, cause: str | None = None, before: int) -> bool:
        """Whether a matching exception has an id below `before`."""
        return (
            next(iter(self._select_back(where, cause, before, 1 if cause is None else 500)), None) is not None
        )

    def groups(self, where: ExceptionFilter, *, limit: int = 100) -> list[Group]:
        """Matching exceptions by (kind, root cause), the largest groups first."""
        merged: dict[tuple[str, str], Group] = {}
        for row in self.table.causes(where):
            key = (row.kind, _cause_of(row))
            g = merged.get(key)
            if g is None:
                merged[key] = Group(
                    row.kind, key[1], row.count, row.first_id, row.last_id, row.first_us, row.last_us
                )
                continue
            g.count += row.count
            g.first_id, g.last_id = min(g.first_id, row.first_id), max(g.last_id, row.last_id)
            g.first_us, g.last_us = min(g.first_us, row.first_us), max(g.last_us, row.last_us)
        return sorted(merged.values(), key=lambda g: (-g.count, g.kind, g.cause))[:limit]

    def count(self, where: ExceptionFilter, cause: str | None = None) -> int:
        if cause is None:
            return self.table.count(where)
        return sum(g.count for g in self.groups(where, limit=10**9) if g.cause == cause)

    def show(self, exception_id: int) -> View:
        item = self.get(exception_id)
        row = item.row
        trail = self.table.trail(row.id)
        change = None
        if row.system and row.change_id and row.kind != "dead_delivery":
            change = self.store.get_change(row.system, row.change_id)
        domain, key = (change.domain, change.key) if change is not None else (row.domain, row.key)
        record = self.store.get_record(domain, key) if domain and key else None
        delivery = None
        related: dict[int, Item] = {}
        if row.kind == "dead_delivery":
            outbox_id = (row.detail or {}).get("outbox_id")
            delivery = self.table.outbox_row(outbox_id) if isinstance(outbox_id, int) else None
            if row.domain and row.key:
                for other in self.table.of_record("dead_delivery", row.domain, row.key):
                    if other.row.id != row.id and (other.row.detail or {}).get("outbox_id") == outbox_id:
                        related[other.row.id] = _item(other)
        for a in trail:
            for other_id in [*(a.detail or {}).get("opened", ()), *(a.detail or {}).get("folded", ())]:
                found = self.table.get(other_id)
                if found is not None:
                    related[other_id] = _item(found)
        return View(
            item,
            trail,
            change,
            None if record is None else record_view(record, self.store),
            field_diff(change.payload, record.fields if record else None) if change is not None else [],
            delivery,
            sorted(related.values(), key=lambda i: i.row.id),
        )

    # -- actions --------------------------------------------------------------------------------
    def retry(self, exception_id: int, actor: str) -> Done:
        row = self.get(exception_id).row
        _check_open(row, "retry")
        if row.kind == "dead_delivery":
            return self._redeliver(row, actor)
        entry = self._change_of(row, "retry")
        if entry.outcome not in RETRYABLE:
            raise ActionRefused(
                f"exception {row.id}: change {entry.system}/{entry.change_id} was {entry.outcome}, and this "
                f"{row.kind} is about what followed from it: replaying it would apply it again. Edit it "
                "(send it again with corrected fields), fix the record at its source, or discard this"
            )
        if _unstorable(entry.payload):
            raise ActionRefused(
                f"exception {row.id}: the fields of change {entry.change_id} could not be stored as received "
                f"({entry.payload['unstorable']}), so they cannot be replayed: edit it with the fields to send"
            )
        return self._replay(row, entry, actor, "retry", dict(entry.payload), {})

    def edit(
        self,
        exception_id: int,
        actor: str,
        *,
        set_: Mapping[str, Any] | None = None,
        unset: Sequence[str] = (),
    ) -> Done:
        edits = dict(set_ or {})
        if not edits and not unset:
            raise InvalidAction(
                "nothing to edit: give fields to set or to remove (or retry the change as it is)"
            )
        row = self.get(exception_id).row
        _check_open(row, "edit")
        entry = self._change_of(row, "edit")
        base = {} if _unstorable(entry.payload) else entry.payload
        fields = apply_edits(base, edits, unset)
        if fields == base:
            raise InvalidAction(
                "the edit changes nothing: the fields already hold those values (retry sends them as they are)"
            )
        if not fields:
            raise InvalidAction("the edit removes every field: a change needs at least one")
        return self._replay(row, entry, actor, "edit", fields, {"set": edits, "unset": list(unset)})

    def discard(self, exception_id: int, actor: str, reason: str) -> Done:
        why = (reason or "").strip()
        if not why:
            raise InvalidAction("say why the exception is discarded (a reason is kept in its audit trail)")
        self.get(exception_id)

        def decide(row: ExceptionRow, trail: list[Action]) -> Step:
            _check_open(row, "discard")
            return Step(actor, "discard", {"reason": why}, state="discarded")

        return self._act(exception_id, decide)

    def assign(self, exception_id: int, actor: str, person: str | None) -> Done:
        who = None if person is None else person.strip()
        if who == "":
            raise InvalidAction("name the person to assign the exception to (or nobody, to unassign it)")
        self.get(exception_id)

        def decide(row: ExceptionRow, trail: list[Action]) -> Step:
            _check_open(row, "assign")
            if row.assignee == who:
                raise ActionRefused(
                    f"exception {row.id} is already assigned to {who}"
                    if who
                    else f"exception {row.id} is not assigned"
                )
            return Step(actor, "assign", {"from": row.assignee, "to": who}, assign=True, assignee=who)

        return self._act(exception_id, decide)

    def bulk(
        self,
        verb: Literal["retry", "discard"],
        where: ExceptionFilter,
        actor: str,
        *,
        cause: str | None = None,
        reason: str | None = None,
        after: int = 0,
        limit: int | None = None,
        each: Callable[[Result], None] | None = None,
    ) -> Bulk:
        """Retry or discard every open exception matching the filter (and root cause), one by one.

        Refused without a filter beyond the state. At most `limit` are acted on; `next_after` then
        says where to go on. `each` is told every result as it comes (a progress bar).
        """
        if not where.narrows() and cause is None:
            raise InvalidAction(
                f"a bulk {verb} needs a filter (kind, route, system, domain, key, assignee, since or cause)"
            )
        if where.state not in (None, "open"):
            raise InvalidAction(f"only open exceptions can be acted on, not {where.state} ones")
        if verb == "discard" and not (reason or "").strip():
            raise InvalidAction("say why the exceptions are discarded (a reason is kept in each audit trail)")
        open_only = dataclasses.replace(where, state="open")
        out = Bulk()
        for item in self._select(open_only, cause, after):
            if limit is not None and len(out.results) == limit:
                out.next_after = out.results[-1].id
                break
            try:
                done = (
                    self.retry(item.row.id, actor)
                    if verb == "retry"
                    else self.discard(item.row.id, actor, reason or "")
                )
                result = Result(item.row.id, True, done.item.row.state, done.action)
            except InboxError as exc:
                result = Result(item.row.id, False, item.row.state, code=exc.code, message=exc.message)
            out.results.append(result)
            if each is not None:
                each(result)
        return out

    # -- inside ---------------------------------------------------------------------------------
    def _select(
        self, where: ExceptionFilter, cause: str | None, after: int, size: int = 500
    ) -> Iterator[Item]:
        """Matching exceptions from after `after`, read `size` at a time (a cause is matched here)."""
        return self._walk(lambda at: self.table.page(where, after_id=at, limit=size), cause, after, size)

    def _select_back(
        self, where: ExceptionFilter, cause: str | None, before: int, size: int = 500
    ) -> Iterator[Item]:
        """Matching exceptions below id `before`, newest first, read `size` at a time."""
        return self._walk(
            lambda at: self.table.page_before(where, before_id=at, limit=size), cause, before, size
        )

    @staticmethod
    def _walk(read: Callable[[int], list[Listed]], cause: str | None, at: int, size: int) -> Iterator[Item]:
        """The items of the pages `read(at)` gives, each page from the last row of the one before."""
        while True:
            rows = read(at)
            for found in rows:
                item = _item(found)
                if cause is None or item.cause == cause:
                    yield item
            if len(rows) < size:
                return
            at = rows[-1].row.id

    def _act(self, exception_id: int, decide: Callable[[ExceptionRow, list[Action]], Step]) -> Done:
        done = self.table.act(exception_id, decide, self.clock())
        if done is None:
            raise ExceptionNotFound(f"no exception {exception_id}")
        row, entry = done
        return Done(self.get(row.id), entry)

    def _change_of(self, row: ExceptionRow, verb: Verb) -> LogEntry:
        """The logged change an exception is about, or why there is none to replay."""
        if row.kind == "dead_delivery":
            raise ActionRefused(
                f"exception {row.id} is a dead delivery: it carries the golden record, not a change to {verb}. "
                "Fix the record at its source (or edit the change that set it), then retry the delivery"
            )
        if row.kind == "unmappable_webhook":
            raise ActionRefused(
                f"exception {row.id}: the webhook never became a change, so there is nothing to {verb}. Its "
                "payload and the mapping error are in the detail: fix the mapping (or the sender), have "
                f"{row.system} send the webhook again, then discard this"
            )
        if row.kind in ("bad_row", "transport_failed") or (
            row.kind == "unknown_xref" and (row.detail or {}).get("file")
        ):
            raise ActionRefused(
                f"exception {row.id}: this {row.kind} never became a change, so there is nothing to {verb}. "
                "Fix the file (or load the missing ids, or fix the transfer) and have it sent again, then discard this"
            )
        if not row.system or not row.change_id:
            hint = (
                f"; it resolves itself when route {row.route!r} catches up (discard it to close it now)"
                if row.kind == "sla_breach"
                else ""
            )
            raise ActionRefused(
                f"exception {row.id} ({row.kind}) is not about a change there is to {verb}{hint}"
            )
        entry = self.store.get_change(row.system, row.change_id)
        if entry is None:
            raise ActionRefused(
                f"exception {row.id}: change {row.system}/{row.change_id} is not in the change log, so there is "
                f"nothing to {verb}"
            )
        return entry

    def _replay(
        self,
        row: ExceptionRow,
        entry: LogEntry,
        actor: str,
        verb: Literal["retry", "edit"],
        fields: dict[str, Any],
        asked: dict[str, Any],
    ) -> Done:
        if self.replayer is None:
            raise InboxError(
                f"this inbox cannot {verb} changes: it was opened without the sync map's pipeline"
            )
        n = 1 + sum(1 for a in self.table.trail(row.id) if (a.detail or {}).get("change_id"))
        new_id = replay_id(entry.change_id, verb, n)
        while (
            self.store.get_change(entry.system, new_id) is not None
        ):  # one that stopped before its trail entry
            n += 1
            new_id = replay_id(entry.change_id, verb, n)
        change = _replay_change(entry, new_id, fields)
        before = self.table.newest_id()
        [outcome] = self.replayer.ingest(entry.system, [change], source=f"exception:{row.id}")
        if outcome.outcome is OutcomeKind.duplicate:
            raise ActionRefused(
                f"exception {row.id}: another {verb} of it ran at the same moment and sent {new_id} first; "
                "look at the exception again"
            )
        applied = outcome.outcome is OutcomeKind.applied
        opened = self.table.opened_by(entry.system, new_id, after_id=before)
        again = (
            []
            if applied
            else [
                o for o in opened if (o.row.kind, o.row.domain, o.row.key) == (row.kind, row.domain, row.key)
            ]
        )
        detail: dict[str, Any] = {
            "change_id": new_id,
            **asked,
            "outcome": outcome.outcome.value,
            "reason": outcome.reason,
        }
        if again:
            detail["folded"] = [o.row.id for o in again]
        if others := [o.row.id for o in opened if o not in again]:
            detail["opened"] = others
        folds = [
            (
                o.row.id,
                Step(
                    actor,
                    "discard",
                    {
                        "reason": f"the same problem as exception {row.id}, which stays open ({verb} {new_id})",
                        "duplicate_of": row.id,
                        "change_id": new_id,
                    },
                    state="discarded",
                ),
            )
            for o in again
        ]

        def decide(now: ExceptionRow, trail: list[Action]) -> Step:
            # the replay happened: the trail says so even if someone closed the exception meanwhile
            state = "resolved" if applied and now.state == "open" else None
            detail["state"] = state or now.state
            return Step(actor, verb, detail, state=state, others=folds)

        done = self._act(row.id, decide)
        if applied and self.on_commit is not None:
            self.on_commit()
        return done

    def _redeliver(self, row: ExceptionRow, actor: str) -> Done:
        outbox_id = (row.detail or {}).get("outbox_id")
        if not isinstance(outbox_id, int):
            raise ActionRefused(f"exception {row.id} names no outbox row to deliver again")
        requeued = self.outbox.requeue(outbox_id, self.clock())
        detail: dict[str, Any] = {"outbox_id": outbox_id, "requeued": requeued}
        if not requeued:
            current = self.table.outbox_row(outbox_id)
            if current is None:
                raise ActionRefused(f"exception {row.id}: outbox row {outbox_id} no longer exists")
            detail["row_state"] = current.state  # already back in the queue (a retry that stopped midway)

        def decide(now: ExceptionRow, trail: list[Action]) -> Step:
            _check_open(now, "retry")
            return Step(actor, "retry", detail, state="resolved")

        done = self._act(row.id, decide)
        if requeued and self.on_commit is not None:
            self.on_commit()
        return done


def _item(found: Listed) -> Item:
    r = found.row
    return Item(r, root_cause(r.kind, r.route, r.system, r.domain, r.reason, found.parts))


def _cause_of(row: CauseRow) -> str:
    return root_cause(row.kind, row.route, row.system, row.domain, row.reason, row.parts)


def _check_open(row: ExceptionRow, verb: str) -> None:
    if row.state != "open":
        raise ActionRefused(
            f"exception {row.id} is {row.state} (since {_at(row.updated_us)}): only open exceptions can be "
            f"acted on, so there is nothing to {verb}"
        )


def _replay_change(entry: LogEntry, change_id: ChangeId, fields: dict[str, Any]) -> Change:
    """The logged change again, under a new id, ordered as the original was: by its version, or by
    its event time when it had one (a stamp before its arrival); else it is the newest arrival."""
    version = entry.stamp if entry.versioned else None
    occurred = from_us(entry.stamp) if not entry.versioned and entry.stamp < entry.received_us else None
    return Change(
        id=change_id,
        domain=Domain(entry.domain),
        key=entry.key,
        fields=fields,
        version=version,
        occurred_at=occurred,
    )
