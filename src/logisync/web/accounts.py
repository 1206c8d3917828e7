"""The Users page (admins only): who may sign in, with which role; add, change role, disable.

The same functions as `logisync users`, with actor `user:NAME` in the audit log. An admin cannot
lower their own role or disable themselves here (the last admin could lock everyone out); the
CLI can.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter, Depends, Form, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response

from ..domain.change import now_us
from ..store import users as sql
from . import users
from .session import WebProblem, base_path, require
from .templating import SECURITY_HEADERS, render
from .users import Role, User

if TYPE_CHECKING:
    from .app import Deps


def add_routes(router: APIRouter, deps: Deps) -> None:
    def page(
        request: Request,
        *,
        error: str | None = None,
        status: int = 200,
        adding: dict[str, str] | None = None,
    ) -> Response:
        """The page; `adding` is a refused add form's name and role, shown again with `error` in it."""
        rows = sql.list_users(deps.sql)
        audit = sql.list_audit(deps.sql, limit=20)
        return render(
            request,
            "accounts.html",
            status_code=status,
            nav="users",
            rows=rows,
            roles=[r.name for r in Role],
            audit=audit,
            error=None if adding is not None else error,
            add_error=error if adding is not None else None,
            adding=adding or {},
            now=now_us(),
        )

    def done(request: Request) -> Response:
        return RedirectResponse(base_path(request) + "/users", status_code=303, headers=SECURITY_HEADERS)

    async def attempt(request: Request, change: object, adding: dict[str, str] | None = None) -> Response:
        try:
            await run_in_threadpool(change)  # type: ignore[arg-type]
        except users.UserError as exc:
            return await run_in_threadpool(page, request, error=str(exc), status=422, adding=adding)
        return done(request)

    @router.get("/users")
    async def accounts(request: Request, user: User = Depends(require(Role.admin))) -> Response:
        return await run_in_threadpool(page, request)

    @router.post("/users/add")
    async def add(
        request: Request,
        name: str = Form(""),
        role: str = Form("viewer"),
        password: str = Form(""),
        user: User = Depends(require(Role.admin)),
    ) -> Response:
        # lengths checked here, not by Form(max_length=...): FastAPI would answer its JSON problem
        def change() -> None:
            if len(password) > 1000:
                raise users.UserError("password: at most 1000 characters")
            users.add(
                deps.sql,
                users.check_name(name.strip()),
                Role.parse(role[:40]),
                password,
                now_us(),
                user.actor,
            )

        return await attempt(request, change, adding={"name": name.strip()[:200], "role": role[:40]})

    @router.post("/users/{name}/role")
    async def set_role(
        request: Request,
        name: str,
        role: str = Form(""),
        user: User = Depends(require(Role.admin)),
    ) -> Response:
        wanted = _parse(role)
        if name == user.name and wanted < Role.admin:
            raise WebProblem(422, "you cannot lower your own role here (use `logisync users set-role`)")
        return await attempt(request, lambda: users.set_role(deps.sql, name, wanted, now_us(), user.actor))

    @router.post("/users/{name}/disable")
    async def disable(request: Request, name: str, user: User = Depends(require(Role.admin))) -> Response:
        if name == user.name:
            raise WebProblem(422, "you cannot disable yourself here (use `logisync users disable`)")
        return await attempt(request, lambda: users.set_disabled(deps.sql, name, True, now_us(), user.actor))

    @router.post("/users/{name}/enable")
    async def enable(request: Request, name: str, user: User = Depends(require(Role.admin))) -> Response:
        return await attempt(request, lambda: users.set_disabled(deps.sql, name, False, now_us(), user.actor))


def _parse(role: str) -> Role:
    try:
        return Role.parse(role[:40])
    except users.UserError as exc:
        raise WebProblem(422, f"role: {exc}") from None
