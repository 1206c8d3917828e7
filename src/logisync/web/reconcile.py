"""The Reconciliation pages: the runs and their drift over time, a run's variances a page at a
time, and (operators) starting a reconciliation and approving the corrections a run held.

Runs are read from `reconcile_runs` newest first, a page at a time (keyset on the id); the charts
take the newest `CHART_RUNS` runs, one point per reconciliation and UTC day (its latest run that
day). A run's variances come from its report file (`reconcile.report_pages`). Starting a run
does what `logisync reconcile SYSTEM DOMAIN` does, off the event loop, and the page shows it as
`running` until it is done; approving does what `--approve RUN` does. Both are in the audit log.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from ..config.reconcile import ReconcileConfig
from ..reconcile.errors import SnapshotError
from ..reconcile.report_pages import read_page
from ..reconcile.summary import KINDS
from ..redact import redact_url
from ..store.reconcile_runs import RunRow, get_run, list_runs, run_names
from .session import WebProblem, base_path, require
from .templating import SECURITY_HEADERS, render
from .users import Role, User

if TYPE_CHECKING:
    from .app import Deps

log = logging.getLogger("logisync.web")
PAGE = 25
VARIANCES_PAGE = 50
CHART_RUNS = 400
DAY_S = 86_400


@dataclass(slots=True)
class Startable:
    """A reconciliation of the sync map, and whether it can be started from the page."""

    label: str
    system: str
    domain: str
    source: str | None  # None: no source (it runs from the CLI with --file only)


def startable(deps: Deps) -> list[Startable]:
    out = []
    for c in deps.syncmap.reconcile:
        src = c.source
        where = None
        if src is not None:
            where = src.file or (
                redact_url(src.http.url)
                if src.http
                else f"query ({src.query.url_env})"
                if src.query
                else None
            )
        out.append(Startable(c.label, c.system, c.domain.value, where))
    return out


def config_of(deps: Deps, label: str) -> ReconcileConfig | None:
    return next((c for c in deps.syncmap.reconcile if c.label == label), None)


def day_of(us: int) -> int:
    """The start of a moment's UTC day, in seconds."""
    s = us // 1_000_000
    return s - s % DAY_S


def charts(runs: list[RunRow]) -> list[dict[str, Any]]:
    """Keys with a variance per reconciliation per day, and variances per kind per day."""
    done = sorted((r for r in runs if r.state == "done"), key=lambda r: r.id)
    days = sorted({day_of(r.started_us) for r in done})
    index = {d: i for i, d in enumerate(days)}
    names = sorted({r.name for r in done})
    by_name: dict[str, list[float | None]] = {n: [None] * len(days) for n in names}
    by_kind: dict[str, list[float]] = {k: [0.0] * len(days) for k in KINDS}
    latest: dict[tuple[str, int], RunRow] = {}
    for r in done:  # the latest run of each reconciliation each day
        latest[(r.name, day_of(r.started_us))] = r
    for (name, day), r in latest.items():
        by_name[name][index[day]] = r.variance_keys
        for kind, n in ((r.summary or {}).get("by_kind") or {}).items():
            by_kind.setdefault(kind, [0.0] * len(days))[index[day]] += n
    kinds = [k for k, values in by_kind.items() if any(values)]
    return [
        {
            "id": "reconcile-keys",
            "title": "Keys with a variance, per reconciliation (latest run each day)",
            "data": {
                "x": days,
                "series": [{"label": n, "values": by_name[n]} for n in names],
                "unit": "keys",
            },
            "empty": not days,
            "summary": "Keys with a variance: "
            + "; ".join(
                f"{n} latest {next((v for v in reversed(by_name[n]) if v is not None), '—')}" for n in names
            ),
        },
        {
            "id": "reconcile-kinds",
            "title": "Variances by kind (latest run of each reconciliation each day, summed)",
            "data": {
                "x": days,
                "series": [{"label": k.replace("_", " "), "values": by_kind[k]} for k in kinds],
                "unit": "variances",
            },
            "empty": not days or not kinds,
            "summary": "Variances by kind, latest day: "
            + "; ".join(f"{k} {by_kind[k][-1]:.0f}" for k in kinds),
        },
    ]


def list_data(deps: Deps, name: str | None, before: int | None, after: int | None = None) -> dict[str, Any]:
    """The run history a page at a time, newest first: older than run `before`, or (going back)
    the page just newer than run `after`; `older` and `newer` are the neighbouring pages' cursors."""
    if after is not None:
        found = list_runs(deps.sql, name=name, limit=PAGE + 1, after_id=after)  # the extra is the newest
        runs, newer_left = found[-PAGE:], len(found) > PAGE
        older_left = bool(runs) and bool(list_runs(deps.sql, name=name, limit=1, before_id=runs[-1].id))
    else:
        found = list_runs(deps.sql, name=name, limit=PAGE + 1, before_id=before)
        runs, older_left = found[:PAGE], len(found) > PAGE
        newer_left = (
            before is not None
            and bool(runs)
            and bool(list_runs(deps.sql, name=name, limit=1, after_id=runs[0].id))
        )
    recent = list_runs(deps.sql, name=name, limit=CHART_RUNS)
    latest: dict[str, RunRow] = {}
    for r in recent:
        latest.setdefault(r.name, r)
    return {
        "runs": runs,
        "older": runs[-1].id if older_left and runs else None,
        "newer": runs[0].id if newer_left and runs else None,
        "charts": charts(recent),
        "latest": sorted(latest.values(), key=lambda r: r.name),
        "names": sorted({*run_names(deps.sql), *(c.label for c in deps.syncmap.reconcile)}),
    }


def corrections_text(corrections: dict[str, Any] | None) -> str | None:
    """What a run's corrections did, as the CLI says it."""
    if not corrections:
        return None
    if corrections.get("held"):
        return f"held for approval: {corrections.get('reason')}"
    if corrections.get("error"):
        return f"not pushed: {corrections['error']}"
    text = f"pushed {corrections.get('pushed', 0)} keys"
    if corrections.get("via"):
        text += f" via {corrections['via']}"
    if corrections.get("manual"):
        text += f"; {len(corrections['manual'])} keys left for a person"
    if corrections.get("approved"):
        text += " (approved)"
    return text


def awaiting_approval(run: RunRow) -> bool:
    held = run.corrections or {}
    return bool(held.get("held"))


def when_day(s: int) -> str:
    return datetime.fromtimestamp(s, UTC).strftime("%Y-%m-%d")


def add_routes(router: APIRouter, deps: Deps) -> None:
    running: set[str] = set()  # reconciliations started from the page and not finished yet
    tasks: set[asyncio.Task[None]] = set()

    @router.get("/reconcile")
    async def runs_page(
        request: Request,
        name: str = "",
        before: int | None = None,
        after: int | None = None,
        user: User = Depends(require(Role.viewer)),
    ) -> Response:
        for label, given in (("before", before), ("after", after)):
            if given is not None and not 1 <= given < 2**63:
                raise WebProblem(422, f"{label} {given}: a run id (a positive number)")
        if before is not None and after is not None:
            raise WebProblem(422, "give before (older runs) or after (newer runs), not both")
        data = await run_in_threadpool(list_data, deps, name or None, before, after)
        return render(
            request,
            "reconcile.html",
            nav="reconcile",
            chosen=name,
            startable=startable(deps),
            running=sorted(running),
            can_act=user.can(Role.operator),
            corrections_text=corrections_text,
            awaiting_approval=awaiting_approval,
            started=request.query_params.get("started"),
            **data,
        )

    @router.get("/reconcile/runs/{run_id}")
    async def run_page(
        request: Request,
        run_id: int,
        kind: str = "",
        after: int = -1,
        before: int | None = None,
        user: User = Depends(require(Role.viewer)),
    ) -> Response:
        if not -1 <= after < 2**62:
            raise WebProblem(422, f"after {after}: a position in the report (0 or more)")
        if before is not None and not 0 <= before < 2**62:
            raise WebProblem(422, f"before {before}: a position in the report (0 or more)")
        if before is not None and after >= 0:
            raise WebProblem(422, "give after (the next page) or before (the previous one), not both")
        if kind and kind not in KINDS:
            raise WebProblem(422, f"kind {kind!r}: choose one of {', '.join(KINDS)}, or nothing")
        run = await run_in_threadpool(get_run, deps.sql, run_id)
        if run is None:
            raise WebProblem(404, f"no reconciliation run {run_id}")
        page, problem = None, None
        if run.report:
            try:
                page = await run_in_threadpool(
                    lambda: read_page(
                        Path(run.report or ""),
                        kind=kind or None,
                        after=after,
                        before=before,
                        limit=VARIANCES_PAGE,
                    )
                )
            except SnapshotError as exc:
                problem = str(exc)
        return render(
            request,
            "reconcile_run.html",
            nav="reconcile",
            run=run,
            summary=run.summary or {},
            kinds=KINDS,
            kind=kind,
            after=after,
            before=before,
            page=page,
            problem=problem,
            corrections=corrections_text(run.corrections),
            can_approve=user.can(Role.operator)
            and awaiting_approval(run)
            and config_of(deps, run.name) is not None,
        )

    @router.post("/reconcile/start")
    async def start(
        request: Request,
        name: str = Form(""),
        user: User = Depends(require(Role.operator)),
    ) -> Response:
        if not name.strip():
            raise WebProblem(422, "choose the reconciliation to start (the form sent no name)")
        config = config_of(deps, name)
        if config is None:
            raise WebProblem(404, f"the sync map has no reconciliation named {name[:200]!r}")
        if config.source is None:
            raise WebProblem(
                422,
                f"reconciliation {name!r} has no source in the sync map: run it with "
                f"`logisync reconcile {config.system} {config.domain.value} --file SNAPSHOT`",
            )
        if name in running:
            raise WebProblem(409, f"reconciliation {name!r} is already running: wait for it to finish")
        running.add(name)
        await run_in_threadpool(deps.audit, user, "reconcile_start", name)
        task = asyncio.create_task(_run(deps, config, running))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
        return RedirectResponse(
            f"{base_path(request)}/reconcile?name={quote(name)}&started=1",
            status_code=303,
            headers=SECURITY_HEADERS,
        )

    @router.post("/reconcile/runs/{run_id}/approve")
    async def approve(
        request: Request, run_id: int, user: User = Depends(require(Role.operator))
    ) -> Response:
        run = await run_in_threadpool(get_run, deps.sql, run_id)
        if run is None:
            raise WebProblem(404, f"no reconciliation run {run_id}")
        config = config_of(deps, run.name)
        if config is None:
            raise WebProblem(404, f"the sync map has no reconciliation named {run.name!r} any more")
        from ..reconcile.run import Reconciler

        try:
            done = await run_in_threadpool(Reconciler(deps.store, deps.syncmap).approve, config, run_id)
        except SnapshotError as exc:
            raise WebProblem(409, str(exc)) from None
        await run_in_threadpool(
            deps.audit, user, "reconcile_approve", f"run {run_id}", pushed=done.get("pushed")
        )
        if deps.dispatcher is not None:
            deps.dispatcher.notify()
        return RedirectResponse(
            f"{base_path(request)}/reconcile/runs/{run_id}", status_code=303, headers=SECURITY_HEADERS
        )


async def _run(deps: Deps, config: ReconcileConfig, running: set[str]) -> None:
    """One reconciliation off the event loop; a failure is in the run history (and the log)."""
    from ..reconcile.run import Reconciler

    try:
        await asyncio.to_thread(Reconciler(deps.store, deps.syncmap).run, config)
    except Exception as exc:
        log.warning("reconciliation %s failed: %s", config.label, exc)
    finally:
        running.discard(config.label)
    if deps.dispatcher is not None:
        deps.dispatcher.notify()
