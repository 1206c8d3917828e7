"""The exceptions inbox pages: `/ui/exceptions` (filters, groups by root cause, bulk actions) and
`/ui/exceptions/{id}` (the detail, its diff and trail, and the actions).

Every action goes through `logisync.inbox` with the actor `user:NAME`, so it is in the exception's
audit trail; actions need the operator role and the session's CSRF token (`require`). Without
JavaScript a form posts and is redirected back to the page (303); with htmx the action answers
the exception's panel, which replaces the one on the page (a refusal is shown in it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response

from ..domain.change import now_us
from ..inbox import Done, ExceptionNotFound, Inbox, InboxError
from ..pipeline import Pipeline
from . import inbox_view as views
from .session import WebProblem, base_path, require
from .templating import SECURITY_HEADERS, render
from .users import Role, User

if TYPE_CHECKING:
    from .app import Deps

VERBS = ("retry", "edit", "discard", "assign")


def add_routes(router: APIRouter, deps: Deps) -> None:
    inbox = Inbox(
        deps.store,
        Pipeline(deps.store, deps.syncmap),
        on_commit=deps.dispatcher.notify if deps.dispatcher is not None else None,
    )
    systems = sorted(deps.syncmap.systems)

    @router.get("/exceptions")
    async def exceptions(request: Request, user: User = Depends(require(Role.viewer))) -> Response:
        try:
            query = views.parse_query(request.query_params)
        except views.BadFilter as exc:
            empty = views.InboxPage(views.InboxQuery(), systems=systems)
            return page(request, user, empty, error=exc.message, status=422)
        found = await run_in_threadpool(
            views.inbox_page, inbox, query, now_us(), me=user.name, systems=systems
        )
        return page(request, user, found)

    def page(
        request: Request, user: User, found: views.InboxPage, *, error: str | None = None, status: int = 200
    ) -> Response:
        return render(
            request,
            "inbox.html",
            status_code=status,
            nav="exceptions",
            page=found,
            q=found.query,
            ages=views.AGES,
            states=views.STATES,
            can_act=user.can(Role.operator),
            error=error,
        )

    @router.post("/exceptions/bulk")
    async def bulk(request: Request, user: User = Depends(require(Role.operator))) -> Response:
        form = await request.form()
        verb = _text(form, "verb")
        scope = _text(form, "scope")
        reason = _text(form, "reason") or None
        filter_text = _text(form, "filter")
        query = views.InboxQuery()
        try:
            if verb not in ("retry", "discard"):
                raise views.BadFilter("verb", f"verb {verb!r} is not retry or discard")
            query = views.parse_query(dict(parse_qsl(filter_text.lstrip("?"))))
            if scope == "filter":
                done = await run_in_threadpool(
                    views.bulk_filtered, inbox, verb, query, now_us(), user.actor, me=user.name, reason=reason
                )
            elif scope == "selected":
                ids = [_chosen(v) for v in form.getlist("id") if isinstance(v, str)]
                done = await run_in_threadpool(views.bulk_selected, inbox, verb, ids, user.actor, reason)
            else:
                raise views.BadFilter("scope", f"scope {scope!r} is not selected or filter")
        except (views.BadFilter, InboxError) as exc:
            return render(
                request,
                "inbox_bulk.html",
                status_code=422,
                nav="exceptions",
                error=exc.message,
                verb=verb,
                q=query,
                done=None,
            )
        return render(
            request,
            "inbox_bulk.html",
            nav="exceptions",
            error=None,
            verb=verb,
            q=query,
            scope=scope,
            reason=reason,
            done=done,
            ok=sum(r.ok for r in done.results),
            refused=sum(not r.ok for r in done.results),
        )

    @router.get("/exceptions/{exception_id}")
    async def show(
        request: Request, exception_id: str, user: User = Depends(require(Role.viewer))
    ) -> Response:
        found = await shown(exception_id)
        return detail_page(request, user, found)

    async def shown(exception_id: str) -> views.Detail:
        try:
            return await run_in_threadpool(views.detail, inbox, _id(exception_id))
        except ExceptionNotFound as exc:
            raise WebProblem(404, exc.message) from None

    def detail_page(
        request: Request,
        user: User,
        found: views.Detail,
        *,
        error: str | None = None,
        message: str | None = None,
        status: int = 200,
        partial: bool = False,
        typed: dict[str, str] | None = None,
        bad: str | None = None,
    ) -> Response:
        return render(
            request,
            "inbox_detail_panel.html" if partial else "inbox_detail.html",
            status_code=status,
            nav="exceptions",
            d=found,
            x=found.view.item,
            can_act=user.can(Role.operator) and found.view.item.row.state == "open",
            operator=user.can(Role.operator),
            error=error,
            message=message,
            typed=typed,  # what the refused form held, shown again
            bad=bad,  # the form field the refusal names, marked aria-invalid
        )

    @router.post("/exceptions/{exception_id}/{verb}")
    async def act(
        request: Request, exception_id: str, verb: str, user: User = Depends(require(Role.operator))
    ) -> Response:
        if verb not in VERBS:
            raise WebProblem(404, f"no action {verb!r} (actions: {', '.join(VERBS)})")
        found = await shown(exception_id)
        form = await request.form()
        xid = found.view.item.row.id
        htmx = request.headers.get("hx-request") == "true"
        try:
            action = _action(inbox, verb, xid, user, form, found)
            done: Done = await run_in_threadpool(action)
        except (views.BadFilter, InboxError) as exc:
            status = 404 if isinstance(exc, ExceptionNotFound) else 409
            if isinstance(exc, views.BadFilter) or exc.code == "invalid_request":
                status = 422
            again = await shown(exception_id)
            typed = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf"}
            typed["verb"] = verb
            bad = exc.where if isinstance(exc, views.BadFilter) else None
            if verb == "discard" and status == 422:
                bad = "reason"
            # htmx swaps only 2xx answers: the refusal is shown in the panel it swaps in
            return detail_page(
                request,
                user,
                again,
                error=exc.message,
                status=200 if htmx else status,
                partial=htmx,
                typed=typed,
                bad=bad,
            )
        if htmx:
            again = await shown(exception_id)
            return detail_page(request, user, again, message=_said(verb, done), partial=True)
        target = f"{base_path(request)}/exceptions/{xid}"
        return RedirectResponse(target, status_code=303, headers=SECURITY_HEADERS)


def _action(
    inbox: Inbox, verb: str, xid: int, user: User, form: FormData, found: views.Detail
) -> Callable[[], Done]:
    """The inbox call the form asks for (its input checked here, before anything runs)."""
    if verb == "retry":
        return lambda: inbox.retry(xid, user.actor)
    if verb == "discard":
        reason = _text(form, "reason")
        return lambda: inbox.discard(xid, user.actor, reason)
    if verb == "assign":
        to = _text(form, "assignee")
        if len(to) > 200:
            raise views.BadFilter("assignee", "assignee: at most 200 characters (a user's name)")
        person = user.name if to == "me" else (to or None)
        return lambda: inbox.assign(xid, user.actor, person)
    payload = found.view.change.payload if found.view.change is not None else {}
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    set_, unset = views.edits_from_form(fields, payload if found.edit_fields else {})
    return lambda: inbox.edit(xid, user.actor, set_=set_, unset=unset)


def _said(verb: str, done: Done) -> str:
    """What an action did, in a sentence for the panel's status line."""
    row = done.item.row
    detail: dict[str, Any] = done.action.detail or {}
    if verb in ("retry", "edit") and "outcome" in detail:
        return f"{verb.capitalize()} sent {detail.get('change_id')}: {detail['outcome']}; the exception is {row.state}."
    if verb == "assign":
        return f"Assigned to {row.assignee}." if row.assignee else "Unassigned."
    return f"{verb.capitalize()} done; the exception is {row.state}."


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def _chosen(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) < 2**63:
        raise views.BadFilter("id", f"id {text[:40]!r} is not an exception's id (a whole number)")
    return int(text)


def _id(text: str) -> int:
    if not text.isdigit() or not 1 <= int(text) < 2**63:
        raise WebProblem(404, f"no exception {text[:40]!r} (an exception's id is a whole number)")
    return int(text)
