"""`logisync alerts` and `logisync alerts test` run for real: a test mail through STARTTLS with a
login from the environment to a real SMTP server, a signed test webhook to a real receiver; the
list of firing and resolved alerts after real evaluations. `logisync check` shows the section."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from fixtures.alert_sinks import HookReceiver, hook_in_thread, self_signed, smtp_server
from fixtures.loopback_target import free_port
from logisync.cli import app
from logisync.config import load_syncmap
from logisync.domain.change import Change
from logisync.domain.kinds import Domain
from logisync.monitor.alerts import AlertEvaluator
from logisync.pipeline import Pipeline
from logisync.store import open_store

SECRET = "whsec_Y2xpLWFsZXJ0LXRlc3Qtc2VjcmV0LWZvci10aGUtaG9vaw=="
PASSWORD = "s3cret-smtp-passw0rd"


def config(tmp_path: Path, hook_url: str, smtp_port: int, cert: Path | None = None, rules: str = "") -> Path:
    mail = (
        f"{{host: 127.0.0.1, port: {smtp_port}, security: starttls, ca_file: {cert}, "
        "username_env: SMTP_USER, password_env: SMTP_PASSWORD, from: hub@example.com, to: [ops@example.com]}"
        if cert is not None
        else f"{{host: 127.0.0.1, port: {smtp_port}, security: plain, from: hub@example.com, to: [ops@example.com]}}"
    )
    path = tmp_path / "hub.yaml"
    path.write_text(
        f"""\
store: sqlite:///{tmp_path / "hub.db"}
systems:
  wms: {{kind: wms}}
owners:
  inventory: wms
alerts:
  channels:
    hook: {{webhook: {{url: "{hook_url}", secret_env: ALERT_SECRET, allow_private_network: true}}}}
    mail: {{email: {mail}}}
  rules:
    - {{name: inbox, exceptions_open: {{over: 0}}, notify: [hook, mail]}}
{rules}"""
    )
    return path


ENV = {"ALERT_SECRET": SECRET, "SMTP_USER": "hub", "SMTP_PASSWORD": PASSWORD, "COLUMNS": "200"}


def run(*args: object, env: dict[str, str] | None = None):
    return CliRunner().invoke(app, [str(a) for a in args], env=env if env is not None else ENV)


def test_alerts_test_reaches_every_channel(tmp_path):
    tls, cert = self_signed(tmp_path)
    receiver = HookReceiver(SECRET)
    with smtp_server(login=("hub", PASSWORD), tls=tls) as (box, port), hook_in_thread(receiver) as url:
        path = config(tmp_path, url, port, cert)
        result = run("alerts", "test", "--config", path)
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["✓ hook (webhook): sent", "✓ mail (email): sent"]
    assert box.logins == [("hub", PASSWORD)]  # over STARTTLS, with the login from the environment
    [mail] = box.messages
    assert mail["Subject"] == "[logisync] TEST: channel mail works"
    assert "a test notification from logisync: this channel works" in mail.get_content()
    assert PASSWORD not in mail.as_string()
    [body] = receiver.bodies
    assert body["type"] == "alert.test" and body["data"]["channel"] == "hook"
    assert receiver.bad_signatures == 0
    listed = run("alerts", "--config", path, "--json")
    assert json.loads(listed.output) == []  # a test belongs to no alert


def test_alerts_test_says_which_channel_failed_and_exits_1(tmp_path):
    with smtp_server() as (box, port):
        path = config(tmp_path, f"http://127.0.0.1:{free_port()}/alerts", port)  # nothing listens there
        result = run("alerts", "test", "--config", path)
        only = run("alerts", "test", "--channel", "mail", "--config", path)
        unknown = run("alerts", "test", "--channel", "pager", "--config", path)
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert lines[0].startswith("✗ hook (webhook): connection: ") and lines[1] == "✓ mail (email): sent"
    assert only.exit_code == 0 and only.output.splitlines() == ["✓ mail (email): sent"]
    assert len(box.messages) == 2
    assert unknown.exit_code == 2 and "unknown channel 'pager' (known in" in unknown.output


def test_a_missing_secret_is_named_not_shown(tmp_path):
    with smtp_server() as (_box, port):
        path = config(tmp_path, "http://127.0.0.1:9/alerts", port)
        result = run("alerts", "test", "--config", path, env={"COLUMNS": "200", "ALERT_SECRET": ""})
    assert result.exit_code == 2
    assert "alerts.channels.hook.webhook.secret_env: the variable ALERT_SECRET is not set" in result.output


def test_alerts_lists_firing_then_resolved(tmp_path, monkeypatch):
    receiver = HookReceiver(SECRET)
    with smtp_server() as (box, port), hook_in_thread(receiver) as url:
        path = config(tmp_path, url, port)
        for name, value in ENV.items():
            monkeypatch.setenv(name, value)
        syncmap = load_syncmap(path)
        store = open_store(syncmap.store)
        try:
            Pipeline(store, syncmap).ingest(  # a negative count: quarantined, one open exception
                "wms", [Change(id="c1", domain=Domain.inventory, key="SKU-1@DC1", fields={"on_hand": -3})]
            )
            [exc] = store.list_exceptions()
            evaluator = AlertEvaluator.for_syncmap(syncmap, store)

            async def ticks() -> Any:
                await evaluator.tick()
                firing = run("alerts", "--config", path)  # while it fires
                store.resolve_exceptions([exc.id], exc.created_us + 1)
                await evaluator.tick()
                await evaluator.close()
                return firing

            firing = asyncio.run(ticks())
        finally:
            store.close()
        listed = run("alerts", "--config", path, "--json")
        live = run("alerts", "--firing", "--config", path)
    assert firing.exit_code == 0, firing.output
    assert "firing" in firing.output and "inbox" in firing.output and "2 sent" in firing.output
    assert f"1 exceptions are open, over 0 (1 {exc.kind})" in firing.output
    [alert] = json.loads(listed.output)
    assert (alert["rule"], alert["state"], alert["subject"]) == ("inbox", "resolved", "*")
    assert [(n["channel"], n["event"], n["state"]) for n in alert["notifications"]] == [
        ("hook", "firing", "sent"),
        ("mail", "firing", "sent"),
        ("hook", "resolved", "sent"),
        ("mail", "resolved", "sent"),
    ]
    assert live.output.strip() == "no alerts firing"
    assert len(box.messages) == 2 and len(receiver.bodies) == 2


def test_check_shows_channels_and_rules_and_whether_secrets_are_set(tmp_path):
    path = config(tmp_path, "https://alerts.example/hook", 2525)
    result = run("check", path, env={"COLUMNS": "200", "ALERT_SECRET": SECRET})
    assert result.exit_code == 0, result.output
    assert "alert channels · rules evaluated every 30s" in result.output
    assert "signing: ALERT_SECRET (set)" in result.output
    assert "more than 0 exceptions open (any kind)" in result.output
    assert SECRET not in result.output
