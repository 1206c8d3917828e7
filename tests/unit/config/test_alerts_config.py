"""The sync map's `alerts` section: what loads, and each mistake named with its line and path."""

from __future__ import annotations

import textwrap

import pytest

from logisync.config import parse_syncmap
from logisync.errors import ConfigError

BASE = """\
systems:
  wms: {kind: wms}
  shop: {kind: marketplace}
  acme:
    kind: edi_partner
    connector: edi
    edi: {partner: {qualifier: ZZ, id: ACME}, us: {qualifier: ZZ, id: HUB}}
owners:
  inventory: wms
routes:
  - {name: stock-to-shop, domain: inventory, to: shop, sla: 60s}
  - {name: stock-slow, domain: inventory, to: shop}
"""

GOOD = """\
alerts:
  every: 15s
  channels:
    hook: {webhook: {url: "https://alerts.example/hook", secret_env: ALERT_SECRET}}
    mail:
      email:
        host: smtp.example.com
        username_env: SMTP_USER
        password_env: SMTP_PASSWORD
        from: logisync@example.com
        to: [ops@example.com]
  rules:
    - {name: late, route_lag: {routes: [stock-to-shop], for: 5m}, severity: critical, notify: [hook, mail], renotify: 1h}
    - {name: slow, route_lag: {routes: [stock-slow], over: 10m}, notify: [mail], renotify: never}
    - {name: inbox, exceptions_open: {over: 50, kinds: [dead_delivery], per_kind: true}, notify: [mail]}
    - {name: down, breaker_open: {longer_than: 10m, systems: [shop]}, notify: [hook], resolved: false}
    - {name: edi, ack_overdue: {partners: [acme]}, notify: [mail]}
"""


def problems(alerts: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_syncmap(BASE + textwrap.dedent(alerts), "hub.yaml", env={})
    return str(info.value).splitlines()


def test_a_full_alerts_section_loads():
    alerts = parse_syncmap(BASE + GOOD, "hub.yaml", env={}).alerts
    assert alerts is not None and alerts.every == 15
    mail = alerts.channels["mail"].email
    assert mail is not None and mail.sender == "logisync@example.com" and mail.effective_port == 587
    late, slow, inbox, down, edi = alerts.rules
    assert (late.condition, late.hold_s, late.renotify, late.severity) == ("route_lag", 300, 3600, "critical")
    assert (slow.renotify, slow.route_lag.over) == (None, 600)  # type: ignore[union-attr]
    assert inbox.exceptions_open.per_kind and inbox.renotify == 4 * 3600  # type: ignore[union-attr]
    assert (down.hold_s, down.resolved) == (600, False)
    assert edi.condition == "ack_overdue" and edi.severity == "warning"


def test_no_alerts_section_is_none():
    assert parse_syncmap(BASE, "hub.yaml", env={}).alerts is None


def test_references_are_checked_with_their_lines():
    found = problems(
        """\
        alerts:
          channels:
            mail: {email: {host: 127.0.0.1, security: plain, from: a@hub.example, to: [ops@example.com]}}
          rules:
            - {name: late, route_lag: {routes: [nope, stock-slow]}, notify: [mail, pager]}
            - {name: late, breaker_open: {systems: [erp]}, notify: [mail]}
            - {name: edi, ack_overdue: {partners: [shop]}, notify: [mail]}
        """
    )
    assert found == [
        "hub.yaml:17: alerts.rules[0].notify[1]: unknown channel 'pager' (known: mail)",
        "hub.yaml:17: alerts.rules[0].route_lag.routes[0]: unknown route 'nope' (known: stock-to-shop, stock-slow)",
        "hub.yaml:17: alerts.rules[0].route_lag.routes[1]: route 'stock-slow' has no sla: give it one, or give this rule `over: DURATION`",
        "hub.yaml:18: alerts.rules[1].name: two rules are named 'late' (first at alerts.rules[0])",
        "hub.yaml:18: alerts.rules[1].breaker_open.systems[0]: unknown system 'erp' (known: wms, shop, acme)",
        "hub.yaml:19: alerts.rules[2].ack_overdue.partners[0]: 'shop' is not a trading partner with an edi section (partners: acme)",
    ]


def test_channel_mistakes():
    found = problems(
        """\
        alerts:
          channels:
            a: {webhook: {url: "ftp://alerts.example"}}
            b: {webhook: {url: "https://user:pw@alerts.example/hook"}}
            c: {email: {host: smtp.example.com, security: plain, from: a@hub.example, to: [ops@example.com]}}
            d: {email: {host: smtp.example.com, username_env: U, from: a@hub.example, to: [ops@example.com]}}
            e: {email: {host: smtp.example.com, from: not-an-address, to: []}}
            f: {}
            g: {webhook: {url: "https://alerts.example"}, email: {host: h, from: a@b.c, to: [a@b.c]}}
            h: {webhook: {url: "https://alerts.example", secret_env: "not a name"}}
        """
    )
    assert found == [
        "hub.yaml:15: alerts.channels.a.webhook.url: 'ftp://alerts.example' is not an http:// or https:// URL with a host",
        "hub.yaml:16: alerts.channels.b.webhook.url: put no credentials in the URL: sign the calls with secret_env",
        "hub.yaml:17: alerts.channels.c.email: security: plain sends mail and passwords unencrypted; it is only for a "
        "relay on this machine (127.0.0.1, ::1, localhost), not 'smtp.example.com': use starttls or tls",
        "hub.yaml:18: alerts.channels.d.email: give both username_env and password_env, or neither",
        "hub.yaml:19: alerts.channels.e.email.from: String should match pattern '^[^@\\s<>,]+@[^@\\s<>,]+$'",
        "hub.yaml:19: alerts.channels.e.email.to: List should have at least 1 item after validation, not 0",
        "hub.yaml:20: alerts.channels.f: a channel is one of webhook, email (given: none)",
        "hub.yaml:21: alerts.channels.g: a channel is one of webhook, email (given: webhook, email)",
        "hub.yaml:22: alerts.channels.h.webhook.secret_env: String should match pattern '^[A-Za-z_][A-Za-z0-9_]*$'",
    ]


def test_rule_mistakes():
    found = problems(
        """\
        alerts:
          channels:
            hook: {webhook: {url: "https://alerts.example/hook"}}
          rules:
            - {name: two, exceptions_open: {over: 1}, breaker_open: {}, notify: [hook]}
            - {name: none, notify: [hook]}
            - {name: bad, exceptions_open: {over: -1, per: 2}, notify: [], severity: urgent, renotify: soon}
            - {name: Bad Name, route_lag: {for: 5 minutes}, notify: [hook]}
        """
    )
    assert found == [
        "hub.yaml:17: alerts.rules[0]: a rule has exactly one condition: route_lag, exceptions_open, breaker_open, "
        "ack_overdue (given: exceptions_open, breaker_open)",
        "hub.yaml:18: alerts.rules[1]: a rule has exactly one condition: route_lag, exceptions_open, breaker_open, "
        "ack_overdue (given: none)",
        "hub.yaml:19: alerts.rules[2].exceptions_open.over: Input should be greater than or equal to 0",
        "hub.yaml:19: alerts.rules[2].exceptions_open.per: unknown key",
        "hub.yaml:19: alerts.rules[2].severity: Input should be 'info', 'warning' or 'critical'",
        "hub.yaml:19: alerts.rules[2].notify: List should have at least 1 item after validation, not 0",
        "hub.yaml:19: alerts.rules[2].renotify: 'soon' is not a duration (write e.g. 30s, 5m, 2h, 3d)",
        "hub.yaml:20: alerts.rules[3].name: String should match pattern '^[a-z][a-z0-9_\\-]{0,49}$'",
        "hub.yaml:20: alerts.rules[3].route_lag.for: '5 minutes' is not a duration (write e.g. 30s, 5m, 2h, 3d)",
    ]


def test_a_lag_rule_needs_a_limit_somewhere():
    text = BASE.replace(", sla: 60s", "")
    with pytest.raises(ConfigError) as info:
        parse_syncmap(
            text + "alerts:\n  channels: {h: {webhook: {url: 'https://a.example'}}}\n"
            "  rules: [{name: lag, route_lag: {}, notify: [h]}]\n",
            "hub.yaml",
            env={},
        )
    assert str(info.value) == (
        "hub.yaml:15: alerts.rules[0].route_lag: no route has an sla: give routes one, or this rule `over: DURATION`"
    )


def test_every_is_at_least_a_second_and_env_can_override_it():
    assert problems("alerts: {every: 100ms}") == [
        "hub.yaml:13: alerts.every: Input should be greater than or equal to 1"
    ]
    syncmap = parse_syncmap(BASE + GOOD, "hub.yaml", env={"LOGISYNC__ALERTS__EVERY": "2m"})
    assert syncmap.alerts is not None and syncmap.alerts.every == 120


def test_the_example_in_docs_alerts_md_loads():
    """docs/alerts.md's sync map example, with the routes and partner it names."""
    from pathlib import Path

    text = (Path(__file__).parents[3] / "docs" / "alerts.md").read_text()
    example = text.split("```yaml\n", 1)[1].split("```", 1)[0]
    syncmap = parse_syncmap(BASE + example, "alerts.md", env={})
    assert syncmap.alerts is not None
    assert [r.name for r in syncmap.alerts.rules] == [
        "stock-late",
        "inbox-piling-up",
        "dead-deliveries",
        "target-down",
        "edi-997-late",
    ]
    assert set(syncmap.alerts.channels) == {"ops-hook", "ops-mail"}


def test_the_commented_example_in_examples_logisync_yaml_loads():
    from pathlib import Path

    example = Path(__file__).parents[3] / "examples" / "logisync.yaml"
    text = example.read_text()
    lines = text.splitlines()
    start = lines.index("# alerts:")
    block = "\n".join(line.removeprefix("# ") for line in lines[start:] if line.startswith("# "))
    syncmap = parse_syncmap(text + "\n" + block + "\n", str(example), env={})
    assert syncmap.alerts is not None and len(syncmap.alerts.rules) == 4
