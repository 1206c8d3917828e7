"""`logisync users ...` run for real (Typer's runner) on a SQLite store: the first admin and after."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from logisync.cli import app
from logisync.store import open_store
from logisync.store import users as sql
from logisync.web.users import _verify

PASSWORD = "a long enough password"


@pytest.fixture
def url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'hub.db'}"


def run(url: str, *args: str, input: str | None = None, env: dict[str, str] | None = None):
    return CliRunner().invoke(
        app,
        ["users", *args, "--store", url],
        input=input,
        env={"USER": "ann", "COLUMNS": "200", **(env or {})},
    )


def stored(url: str):
    store = open_store(url)
    try:
        return {u.name: u for u in sql.list_users(store)}, sql.list_audit(store, limit=50)
    finally:
        store.close()


def test_the_first_admin_with_a_prompted_password(url):
    result = run(url, "add", "alice", "--role", "admin", input=f"{PASSWORD}\n{PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert PASSWORD not in result.output
    found, audit = stored(url)
    assert found["alice"].role == "admin"
    assert found["alice"].password_hash.startswith("$argon2id$")
    assert _verify(found["alice"].password_hash, PASSWORD)
    assert (audit[0].actor, audit[0].action, audit[0].target) == ("cli:ann", "user_added", "alice")


def test_a_password_from_the_environment_and_the_other_commands(url):
    env = {"PW": PASSWORD}
    assert run(url, "add", "bob", "--role", "operator", "--password-env", "PW", env=env).exit_code == 0
    listed = run(url, "list", "--json")
    assert json.loads(listed.stdout) == [
        {"name": "bob", "role": "operator", "disabled": False, "last_login_us": None}
    ]
    table = run(url, "list")
    assert table.exit_code == 0 and "bob" in table.output and "never" in table.output
    assert run(url, "set-role", "bob", "viewer").exit_code == 0
    assert run(url, "disable", "bob").exit_code == 0
    found, _ = stored(url)
    assert found["bob"].role == "viewer" and found["bob"].disabled
    assert run(url, "enable", "bob").exit_code == 0
    assert run(url, "remove", "bob").exit_code == 0
    found, audit = stored(url)
    assert found == {}
    assert [a.action for a in audit] == [
        "user_removed",
        "user_enabled",
        "user_disabled",
        "role_set",
        "user_added",
    ]


@pytest.mark.parametrize(
    ("args", "input", "message"),
    [
        (["add", "bob", "--role", "boss"], None, "unknown role 'boss'"),
        (["add", "bad name"], None, "bad user name"),
        (["add", "bob"], "short\nshort\n", "too short"),
        (["add", "bob"], f"{PASSWORD}\nsomething else\n", "the two passwords differ"),
        (["add", "bob", "--password-env", "NOPE"], None, "NOPE"),
        (["set-role", "ghost", "admin"], None, "no user 'ghost'"),
        (["disable", "ghost"], None, "no user 'ghost'"),
    ],
)
def test_bad_input_is_refused_with_a_message_and_exit_2(url, args, input, message):
    result = run(url, *args, input=input)
    assert result.exit_code == 2, result.output
    assert message in result.output
    found, _ = stored(url)
    assert found == {}


def test_a_name_is_added_once(url):
    env = {"PW": PASSWORD}
    assert run(url, "add", "bob", "--password-env", "PW", env=env).exit_code == 0
    again = run(url, "add", "bob", "--role", "admin", "--password-env", "PW", env=env)
    assert again.exit_code == 2 and "exists already" in again.output
    assert stored(url)[0]["bob"].role == "viewer"
