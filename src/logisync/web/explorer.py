"""The records explorer pages: `/ui/records` (search by SKU, order, shipment or tracking number) and
`/ui/records/{domain}/{key}` (fields with provenance, the timeline, the state at a chosen time)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from ..inbox import Inbox
from . import explorer_view as views
from .inbox_view import BadFilter
from .session import WebProblem, require
from .templating import render
from .users import Role, User

if TYPE_CHECKING:
    from .app import Deps


def add_routes(router: APIRouter, deps: Deps) -> None:
    inbox = Inbox(deps.store)  # reads only: the exceptions about a record

    @router.get("/records")
    async def records(
        request: Request,
        q: str = "",
        kind: str = "any",
        domain: str = "",
        after: str = "",
        before: str = "",
        user: User = Depends(require(Role.viewer)),
    ) -> Response:
        try:
            found = await run_in_threadpool(
                views.search, deps.store, q, kind, domain=domain, after=after, before=before
            )
        except BadFilter as exc:
            found, error = views.Search(q[:200], "any", ""), exc.message
            return render(
                request,
                "explorer.html",
                status_code=422,
                nav="records",
                s=found,
                kinds=views.SEARCH_KINDS,
                error=error,
            )
        return render(request, "explorer.html", nav="records", s=found, kinds=views.SEARCH_KINDS, error=None)

    @router.get("/records/{domain}/{key:path}")
    async def record(
        request: Request,
        domain: str,
        key: str,
        as_of: str = "",
        before: str = "",
        user: User = Depends(require(Role.viewer)),
    ) -> Response:
        error = bad = None
        try:
            at_us = views.parse_moment(as_of) if as_of.strip() else None
            older = _position(before)
        except BadFilter as exc:
            # the record as it is now, the form keeping what was typed and saying what is wrong with it
            at_us, older, error, bad = None, None, exc.message, exc.where
        try:
            found = await run_in_threadpool(
                views.record_page, deps.store, inbox, domain, key, as_of_us=at_us, before=older
            )
        except BadFilter as exc:
            raise WebProblem(422, exc.message) from None
        if found is None:
            when = f" at {as_of}" if at_us is not None else ""
            raise WebProblem(404, f"no {domain} record {key!r}{when} (it did not exist yet, or never)")
        return render(
            request,
            "explorer_record.html",
            status_code=422 if error else 200,
            nav="records",
            r=found,
            as_of_text=as_of.strip()[:200],
            error=error,
            bad=bad,
        )


def _position(text: str) -> int | None:
    if not text:
        return None
    if not text.isdigit() or not 1 <= int(text) < 2**63:
        raise BadFilter("before", f"before {text[:40]!r} is not a log position (a whole number)")
    return int(text)
