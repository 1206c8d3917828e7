"""`logisync exceptions list|show|groups|retry|edit|discard|assign`: the exceptions inbox from a terminal.

The actor in each audit entry is `cli:$USER`. Exit codes: 0 done, 1 a refusal (not open, nothing
to replay, no such exception) or, in bulk, any exception refused; 2 bad input.
"""

from __future__ import annotations

import getpass
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import typer
from rich.console import Group as Stack
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from ..inbox import Bulk, Done, Inbox, InboxError, InvalidAction, Item, View
from ..store.inbox import Action, ExceptionFilter
from .connect import opened, store_url, syncmap_or_exit
from .output import NONE, dumps, err, fail, out, value, when
from .records import parse_moment

app = typer.Typer(
    help="The exceptions inbox: stuck records (bad data, ownership conflicts, dead deliveries, ...) "
    "to list, group by root cause, retry, edit and replay, discard or assign.",
    no_args_is_help=True,
)

ConfigOption = typer.Option(
    Path("logisync.yaml"), "--config", "-c", help="the sync map file", envvar="LOGISYNC_CONFIG"
)
StoreOption = typer.Option(
    None, "--store", help="store URL (sqlite:///FILE.db or postgresql://...), overriding the sync map's"
)
JsonOption = typer.Option(False, "--json", help="print JSON instead of a table")
KindOption = typer.Option(None, "--kind", help="e.g. validation, ownership_conflict, dead_delivery")
RouteOption = typer.Option(None, "--route", help="a route's name (dead deliveries, SLA breaches)")
SystemOption = typer.Option(
    None, "--system", help="the system the change came from (a dead delivery: its target)"
)
DomainOption = typer.Option(None, "--domain", help="product, inventory, order, ...")
KeyOption = typer.Option(None, "--key", help="a record key, e.g. SKU-1@DC1")
AssigneeOption = typer.Option(None, "--assignee", help="the person it is assigned to")
SinceOption = typer.Option(
    None, "--since", help="created since: an ISO time, or a duration ago (10m, 2h, 3d)"
)
CauseOption = typer.Option(None, "--cause", help="a root cause, as `logisync exceptions groups` prints it")


def actor() -> str:
    """Who the audit trail names: `cli:` and the user running the command."""
    return f"cli:{os.environ.get('USER') or getpass.getuser()}"


def since_us(text: str | None) -> int | None:
    if text is None:
        return None
    at = parse_moment(text)
    if isinstance(at, str):
        raise fail(at.replace("--as-of", "--since"))
    return at


@contextmanager
def refusals() -> Iterator[None]:
    """The inbox's refusals as a red message: exit 2 for bad input, 1 for the rest."""
    try:
        yield
    except InvalidAction as exc:
        raise fail(str(exc)) from None
    except InboxError as exc:
        raise fail(str(exc), code=1) from None


# -- list, show, groups ------------------------------------------------------------------------------
@app.command("list")
def list_exceptions(
    state: str = typer.Option("open", "--state", help="open, resolved, discarded or all"),
    kind: str | None = KindOption,
    route: str | None = RouteOption,
    system: str | None = SystemOption,
    domain: str | None = DomainOption,
    key: str | None = KeyOption,
    assignee: str | None = AssigneeOption,
    since: str | None = SinceOption,
    cause: str | None = CauseOption,
    after: int = typer.Option(0, "--after", min=0, help="only exceptions above this id (the next page)"),
    limit: int = typer.Option(50, "--limit", min=1, max=10_000, help="at most this many"),
    config: Path = ConfigOption,
    store: str | None = StoreOption,
    as_json: bool = JsonOption,
) -> None:
    """Exceptions in id order, each with its root cause (open ones unless --state says otherwise)."""
    if state not in ("open", "resolved", "discarded", "all"):
        raise fail(f"--state {state!r}: write open, resolved, discarded or all")
    where = ExceptionFilter(
        None if state == "all" else state, kind, route, system, domain, key, assignee, since_us(since)
    )
    with opened(store_url(config, store), must_exist=True) as hub:
        items, next_after = Inbox(hub).page(where, cause=cause, after=after, limit=limit)
    if as_json:
        typer.echo(dumps({"exceptions": [i.as_dict() for i in items], "next_after": next_after}))
        return
    out().print(list_table(items, next_after))


@app.command()
def show(
    exception_id: int = typer.Argument(..., help="the exception's id", min=1),
    config: Path = ConfigOption,
    store: str | None = StoreOption,
    as_json: bool = JsonOption,
) -> None:
    """One exception: its detail, the change beside the golden record now, and its audit trail."""
    with opened(store_url(config, store), must_exist=True) as hub, refusals():
        view = Inbox(hub).show(exception_id)
    if as_json:
        typer.echo(dumps(view.as_dict()))
        return
    out().print(view_panels(view))


@app.command()
def groups(
    state: str = typer.Option("open", "--state", help="open, resolved, discarded or all"),
    kind: str | None = KindOption,
    route: str | None = RouteOption,
    system: str | None = SystemOption,
    domain: str | None = DomainOption,
    since: str | None = SinceOption,
    limit: int = typer.Option(50, "--limit", min=1, max=10_000, help="at most this many groups"),
    config: Path = ConfigOption,
    store: str | None = StoreOption,
    as_json: bool = JsonOption,
) -> None:
    """Exceptions counted by kind and root cause, the largest groups first."""
    if state not in ("open", "resolved", "discarded", "all"):
        raise fail(f"--state {state!r}: write open, resolved, discarded or all")
    where = ExceptionFilter(
        None if state == "all" else state, kind, route, system, domain, since_us=since_us(since)
    )
    with opened(store_url(config, store), must_exist=True) as hub:
        found = Inbox(hub).groups(where, limit=limit)
    if as_json:
        typer.echo(dumps({"groups": [g.as_dict() for g in found]}))
        return
    table = Table(title=_count(len(found), "root cause"), title_justify="left")
    for column in ("count", "kind", "cause", "first", "last", "ids"):
        table.add_column(column, justify="right" if column == "count" else "left", overflow="fold")
    for g in found:
        ids = str(g.first_id) if g.first_id == g.last_id else f"{g.first_id}…{g.last_id}"
        table.add_row(str(g.count), g.kind, g.cause, when(g.first_us), when(g.last_us), ids)
    console = out()
    console.print(table)
    if found:
        console.print(
            "act on a group: logisync exceptions retry|discard --kind KIND --cause CAUSE", style="dim"
        )


# -- actions -----------------------------------------------------------------------------------------
@app.command()
def retry(
    exception_id: int | None = typer.Argument(
        None, help="the exception's id (or filter with the options)", min=1
    ),
    kind: str | None = KindOption,
    route: str | None = RouteOption,
    system: str | None = SystemOption,
    domain: str | None = DomainOption,
    since: str | None = SinceOption,
    cause: str | None = CauseOption,
    config: Path = ConfigOption,
    store: str | None = StoreOption,
    as_json: bool = JsonOption,
) -> None:
    """Retry one exception, or every open one the options match (with a progress bar).

    A dead delivery goes back in its route's queue; a change that was not applied is sent again as
    its system (resolved if it is applied now, else it stays open with the new outcome in its trail).
    """
    from ..pipeline import Pipeline

    where = _bulk_filter(exception_id, kind, route, system, domain, since, cause)
    syncmap = syncmap_or_exit(config)
    with opened(store or syncmap.store) as hub, refusals():
        inbox = Inbox(hub, Pipeline(hub, syncmap))
        if exception_id is not None:
            done = inbox.retry(exception_id, actor())
        else:
            assert where is not None
            bulk = _run_bulk(inbox, "retry", where, cause, None)
    if exception_id is not None:
        _print_done(done, as_json)
    else:
        _print_bulk(bulk, as_json)


@app.command()
def edit(
    exception_id: int = typer.Argument(..., help="the exception's id", min=1),
    set_: list[str] = typer.Option(
        [], "--set", help="PATH=VALUE, e.g. on_hand=5 or lines[0].sku=SKU-2 (VALUE is JSON if it parses)"
    ),
    fields: str | None = typer.Option(
        None, "--fields", help="a JSON object of PATH: VALUE, e.g. '{\"on_hand\": 5}'"
    ),
    unset: list[str] = typer.Option([], "--unset", help="PATH of a field to remove"),
    config: Path = ConfigOption,
    store: str | None = StoreOption,
    as_json: bool = JsonOption,
) -> None:
    """Send the change an exception is about again, with fields set or removed; the original change
    stays as it was in the log, and the edit is in the exception's audit trail."""
    from ..pipeline import Pipeline

    edits = parse_edits(set_, fields)
    syncmap = syncmap_or_exit(config)
    with opened(store or syncmap.store) as hub, refusals():
        done = Inbox(hub, Pipeline(hub, syncmap)).edit(exception_id, actor(), set_=edits, unset=unset)
    _print_done(done, as_json)


@app.command()
def discard(
    exception_id: int | None = typer.Argument(
        None, help="the exception's id (or filter with the options)", min=1
    ),
    reason: str = typer.Option(..., "--reason", help="why: kept in the audit trail"),
    kind: str | None = KindOption,
    route: str | None = RouteOption,
    system: str | None = SystemOption,
    domain: str | None = DomainOption,
    since: str | None = SinceOption,
    cause: str | None = CauseOption,
    config: Path = ConfigOption,
    store: str | None = StoreOption,
    as_json: bool = JsonOption,
) -> None:
    """Close one exception (or every open one the options match) without acting on it."""
    where = _bulk_filter(exception_id, kind, route, system, domain, since, cause)
    with opened(store_url(config, store), must_exist=True) as hub, refusals():
        inbox = Inbox(hub)
        if exception_id is not None:
            done = inbox.discard(exception_id, actor(), reason)
        else:
            assert where is not None
            bulk = _run_bulk(inbox, "discard", where, cause, reason)
    if exception_id is not None:
        _print_done(done, as_json)
    else:
        _print_bulk(bulk, as_json)


@app.command()
def assign(
    exception_id: int = typer.Argument(..., help="the exception's id", min=1),
    person: str | None = typer.Argument(None, help="who takes it"),
    nobody: bool = typer.Option(False, "--nobody", help="unassign it"),
    config: Path = ConfigOption,
    store: str | None = StoreOption,
    as_json: bool = JsonOption,
) -> None:
    """Give an open exception to a person (or, with --nobody, to no one)."""
    if (person is None) == (not nobody):
        raise fail("name the person to assign it to, or give --nobody (not both)")
    with opened(store_url(config, store), must_exist=True) as hub, refusals():
        done = Inbox(hub).assign(exception_id, actor(), None if nobody else person)
    _print_done(done, as_json)


# -- input -------------------------------------------------------------------------------------------
def parse_edits(assignments: list[str], fields: str | None) -> dict[str, Any]:
    """`--fields` (a JSON object), then each `--set PATH=VALUE` over it; VALUE is JSON if it parses
    (`5`, `true`, `"5"`, `{"a": 1}`), else the text as it is (`SKU-2`)."""
    edits: dict[str, Any] = {}
    if fields is not None:
        try:
            given = orjson.loads(fields)
        except orjson.JSONDecodeError as exc:
            raise fail(f"--fields is not JSON: {exc}") from None
        if not isinstance(given, dict):
            raise fail("--fields must be a JSON object of PATH: VALUE, e.g. '{\"on_hand\": 5}'")
        edits.update(given)
    for item in assignments:
        path, sep, text = item.partition("=")
        if not sep or not path.strip():
            raise fail(f"--set {item!r}: write PATH=VALUE, e.g. on_hand=5")
        try:
            edits[path.strip()] = orjson.loads(text)
        except orjson.JSONDecodeError:
            edits[path.strip()] = text
    return edits


def _bulk_filter(
    exception_id: int | None,
    kind: str | None,
    route: str | None,
    system: str | None,
    domain: str | None,
    since: str | None,
    cause: str | None,
) -> ExceptionFilter | None:
    given = any(v is not None for v in (kind, route, system, domain, since, cause))
    if exception_id is not None and given:
        raise fail("give an exception's id or filters (--kind, --route, ...), not both")
    if exception_id is None and not given:
        raise fail(
            "give an exception's id, or filters (--kind, --route, --system, --domain, --since, --cause)"
        )
    if exception_id is not None:
        return None
    return ExceptionFilter("open", kind, route, system, domain, since_us=since_us(since))


def _run_bulk(inbox: Inbox, verb: Any, where: ExceptionFilter, cause: str | None, reason: str | None) -> Bulk:
    console = err()
    total = inbox.count(where, cause)
    progress = Progress(
        TextColumn(f"{verb} {{task.fields[note]}}", markup=False),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )
    with progress:
        task = progress.add_task(verb, total=total, note="")

        def each(result: Any) -> None:
            progress.update(task, advance=1, note=f"exception {result.id}")

        return inbox.bulk(verb, where, actor(), cause=cause, reason=reason, each=each)


# -- output ------------------------------------------------------------------------------------------
def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _record(item: Item) -> str:
    r = item.row
    return f"{r.domain} {r.key}" if r.domain and r.key else NONE


def _origin(item: Item) -> str:
    r = item.row
    if r.change_id:
        return f"{r.system}/{r.change_id}"
    return r.route or r.system or NONE


def list_table(items: list[Item], next_after: int | None) -> Table:
    table = Table(title=_count(len(items), "exception"), title_justify="left")
    table.add_column("id", justify="right")
    for column in ("kind", "state", "created", "record", "from", "cause", "assignee"):
        table.add_column(column, overflow="fold", no_wrap=column in ("created", "state"))
    for item in items:
        r = item.row
        table.add_row(
            str(r.id),
            r.kind,
            r.state,
            when(r.created_us),
            _record(item),
            _origin(item),
            item.cause,
            r.assignee or NONE,
        )
    if next_after is not None:
        table.caption = f"more: --after {next_after}"
    return table


def view_panels(view: View) -> Stack:
    r = view.item.row
    head = Table.grid(padding=(0, 2))
    head.add_column(style="bold")
    head.add_column(overflow="fold")
    for name, shown in (
        ("exception", f"{r.id} · {r.kind} · {r.state}"),
        ("cause", view.item.cause),
        ("reason", r.reason),
        ("record", _record(view.item)),
        ("from", _origin(view.item)),
        ("assignee", r.assignee or NONE),
        ("created", when(r.created_us)),
        ("updated", when(r.updated_us)),
    ):
        head.add_row(name, shown)
    parts: list[Any] = [head]
    if view.change is not None:
        c = view.change
        parts.append(Text(f"change {c.system}/{c.change_id} ({c.outcome}) beside {c.domain} {c.key} now"))
        side = Table()
        for column in ("field", "change", "golden record", ""):
            side.add_column(column, overflow="fold")
        for d in view.diff:
            side.add_row(d["field"], value(d["change"]), value(d["record"]), "" if d["same"] else "≠")
        parts.append(side)
    elif view.record is not None:
        parts.append(
            Text(f"{view.record['domain']} {view.record['key']} now: {value(view.record['fields'], 200)}")
        )
    if view.delivery is not None:
        row = view.delivery
        parts.append(
            Text(
                f"outbox row {row.id} on {row.route}: {row.state}, {row.attempts} attempts, last error {row.last_error or NONE}"
            )
        )
    parts.append(Text(f"audit trail ({len(view.trail)})"))
    trail = Table()
    for column in ("at", "actor", "what"):
        trail.add_column(column, overflow="fold", no_wrap=column == "at")
    for a in view.trail:
        trail.add_row(when(a.at_us), a.actor, note(a))
    parts.append(trail)
    if view.related:
        parts.append(
            Text("related: " + ", ".join(f"{i.row.id} ({i.row.kind}, {i.row.state})" for i in view.related))
        )
    return Stack(*parts)


def note(a: Action) -> str:
    """What an audit entry says, in words: `edit: sent as c1~edit1, applied`, `assigned to bob`."""
    detail = a.detail or {}
    if a.action in ("retry", "edit") and "change_id" in detail:
        what = f"{a.action}: "
        if detail.get("set"):
            what += f"set {value(detail['set'], 200)}, "
        if detail.get("unset"):
            what += f"removed {', '.join(detail['unset'])}, "
        what += f"sent as {detail['change_id']}, {detail['outcome']}"
        if detail.get("reason"):
            what += f" ({detail['reason']})"
        for link in ("folded", "opened"):
            if detail.get(link):
                what += f"; {link} {', '.join(str(i) for i in detail[link])}"
        return what
    if a.action == "retry":
        if detail.get("requeued"):
            return f"retry: outbox row {detail.get('outbox_id')} back in the queue"
        return f"retry: outbox row {detail.get('outbox_id')} was {detail.get('row_state')} already"
    if a.action == "assign":
        return f"assigned to {detail.get('to') or 'nobody'}"
    return f"{a.action}: {detail.get('reason', '')}".rstrip(": ")


def done_line(done: Done) -> str:
    """One line: what the action did and the state it left the exception in."""
    return f"exception {done.item.row.id}: {note(done.action)} → {done.item.row.state}"


def _print_done(done: Done, as_json: bool) -> None:
    if as_json:
        typer.echo(dumps(done.as_dict()))
    else:
        out().print(done_line(done))


def _print_bulk(bulk: Bulk, as_json: bool) -> None:
    summary = bulk.as_dict()
    if as_json:
        typer.echo(dumps(summary))
    else:
        table = Table(title=_count(len(bulk.results), "exception"), title_justify="left")
        table.add_column("id", justify="right")
        for column in ("result", "state", "note"):
            table.add_column(column, overflow="fold")
        for r in bulk.results:
            note = r.message or ""
            if r.action is not None and r.action.detail:
                note = str(r.action.detail.get("outcome") or r.action.detail.get("reason") or "")
            table.add_row(str(r.id), "done" if r.ok else "refused", r.state, note)
        states = [r.state for r in bulk.results if r.ok]
        console = out()
        console.print(table)
        console.print(
            f"{summary['done']} done ({states.count('resolved')} resolved, {states.count('open')} still open, "
            f"{states.count('discarded')} discarded), {summary['refused']} refused"
        )
    if summary["refused"]:
        raise typer.Exit(code=1)
