"""`logisync users add|list|set-role|set-password|disable|enable|remove`: the dashboard's users.

The first admin is made here (`logisync users add alice --role admin`). A password is asked for
twice at the terminal, or read from the environment variable `--password-env` names (for
scripts; it is never printed). Every change is in the audit log with actor `cli:$USER`.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, cast

import orjson
import typer
from rich.table import Table

from ..domain.change import now_us
from ..web import users
from .connect import opened, store_url
from .exceptions import actor
from .output import fail, out, when

app = typer.Typer(help="Dashboard users: viewer, operator or admin.", no_args_is_help=True)

ConfigOption = typer.Option(
    Path("logisync.yaml"), "--config", "-c", help="the sync map file", envvar="LOGISYNC_CONFIG"
)
StoreOption = typer.Option(
    None, "--store", help="store URL (sqlite:///FILE.db or postgresql://...), overriding the sync map's"
)
PasswordEnv = typer.Option(
    None, "--password-env", help="read the password from this environment variable instead of asking"
)


def _password(env_var: str | None) -> str:
    if env_var:
        value = os.environ.get(env_var)
        if not value:
            raise fail(f"--password-env {env_var}: that environment variable is not set or empty")
        return value
    first = typer.prompt("Password", hide_input=True)
    if typer.prompt("Password again", hide_input=True) != first:
        raise fail("the two passwords differ; nothing was changed")
    return cast(str, first)


def _role(text: str) -> users.Role:
    try:
        return users.Role.parse(text)
    except users.UserError as exc:
        raise fail(str(exc)) from None


def _run(config: Path, store: str | None, change: Any) -> None:
    with opened(store_url(config, store)) as s:
        try:
            change(s)
        except users.UserError as exc:
            raise fail(str(exc)) from None


@app.command("add")
def add(
    name: str = typer.Argument(..., help="the user's sign-in name"),
    role: str = typer.Option("viewer", "--role", help="viewer, operator or admin"),
    password_env: str | None = PasswordEnv,
    config: Path = ConfigOption,
    store: str | None = StoreOption,
) -> None:
    """Add a user (the first admin too)."""
    wanted = _role(role)
    try:
        users.check_name(name)
    except users.UserError as exc:
        raise fail(str(exc)) from None
    password = _password(password_env)
    _run(config, store, lambda s: users.add(s, name, wanted, password, now_us(), actor()))
    out().print(f"added {name} ({wanted.name})")


@app.command("list")
def list_(
    config: Path = ConfigOption,
    store: str | None = StoreOption,
    json: bool = typer.Option(False, "--json", help="print JSON instead of a table"),
) -> None:
    """The users, their roles, and when they last signed in."""
    from ..store import users as sql

    with opened(store_url(config, store)) as s:
        rows = sql.list_users(s)  # type: ignore[arg-type]
    if json:
        shown = [
            {"name": r.name, "role": r.role, "disabled": r.disabled, "last_login_us": r.last_login_us}
            for r in rows
        ]
        typer.echo(orjson.dumps(shown).decode())
        return
    table = Table("name", "role", "status", "last sign-in")
    for r in rows:
        locked = r.locked_until_us > now_us()
        status = "disabled" if r.disabled else "locked out" if locked else "active"
        table.add_row(r.name, r.role, status, when(r.last_login_us) if r.last_login_us else "never")
    out().print(table if rows else "no users yet: add one with `logisync users add NAME --role admin`")


@app.command("set-role")
def set_role(
    name: str = typer.Argument(...),
    role: str = typer.Argument(..., help="viewer, operator or admin"),
    config: Path = ConfigOption,
    store: str | None = StoreOption,
) -> None:
    """Change a user's role (their sessions end: they sign in again)."""
    wanted = _role(role)
    _run(config, store, lambda s: users.set_role(s, name, wanted, now_us(), actor()))
    out().print(f"{name} is now {wanted.name}")


@app.command("set-password")
def set_password(
    name: str = typer.Argument(...),
    password_env: str | None = PasswordEnv,
    config: Path = ConfigOption,
    store: str | None = StoreOption,
) -> None:
    """Set a user's password (ends their sessions and any lockout)."""
    password = _password(password_env)
    _run(config, store, lambda s: users.set_password(s, name, password, now_us(), actor()))
    out().print(f"password of {name} changed")


@app.command("disable")
def disable(
    name: str = typer.Argument(...), config: Path = ConfigOption, store: str | None = StoreOption
) -> None:
    """Stop a user signing in (their sessions end); the audit trail keeps their name."""
    _run(config, store, lambda s: users.set_disabled(s, name, True, now_us(), actor()))
    out().print(f"{name} disabled")


@app.command("enable")
def enable(
    name: str = typer.Argument(...), config: Path = ConfigOption, store: str | None = StoreOption
) -> None:
    """Let a disabled user sign in again."""
    _run(config, store, lambda s: users.set_disabled(s, name, False, now_us(), actor()))
    out().print(f"{name} enabled")


@app.command("remove")
def remove(
    name: str = typer.Argument(...), config: Path = ConfigOption, store: str | None = StoreOption
) -> None:
    """Delete a user (their sessions end). Prefer `disable` to keep who-did-what readable."""
    _run(config, store, lambda s: users.remove(s, name, now_us(), actor()))
    out().print(f"{name} removed")
