"""`logisync check`: the sync map's `alerts` as two tables, its channels and its rules."""

from __future__ import annotations

import os

from rich.table import Table
from rich.text import Text

from ..config.alerts import AlertsConfig, RuleConfig
from .output import seconds


def channels_table(alerts: AlertsConfig) -> Table:
    table = Table(
        title=f"alert channels · rules evaluated every {seconds(alerts.every)}", title_justify="left"
    )
    for column in ("channel", "kind", "to", "secrets (env var)"):
        table.add_column(column)
    for name, channel in alerts.channels.items():
        secrets = Text()
        if channel.webhook is not None:
            hook = channel.webhook
            where = hook.url + (" (private network allowed)" if hook.allow_private_network else "")
            if hook.secret_env is not None:
                secrets.append("signing: ")
                secrets.append_text(_env_name(hook.secret_env))
            else:
                secrets.append("not signed", style="yellow")
        else:
            mail = channel.email
            assert mail is not None
            where = f"{', '.join(mail.to)} via {mail.host}:{mail.effective_port} ({mail.security})"
            if mail.username_env is not None and mail.password_env is not None:
                secrets.append("login: ")
                secrets.append_text(_env_name(mail.username_env))
                secrets.append(", ")
                secrets.append_text(_env_name(mail.password_env))
            else:
                secrets.append("no login", style="dim")
        table.add_row(name, channel.kind, where, secrets)
    return table


def rules_table(alerts: AlertsConfig) -> Table:
    table = Table(title="alert rules", title_justify="left")
    for column in ("rule", "fires when", "severity", "notify", "renotify", "resolved notice"):
        table.add_column(column)
    for rule in alerts.rules:
        table.add_row(
            rule.name,
            condition(rule),
            rule.severity,
            ", ".join(rule.notify),
            seconds(rule.renotify) if rule.renotify is not None else "never",
            "yes" if rule.resolved else "no",
        )
    return table


def condition(rule: RuleConfig) -> str:
    """The rule's condition in words, e.g. `route lag over its SLA for 5m (stock-to-shop)`."""
    hold = f" for {seconds(rule.hold_s)}" if rule.hold_s else ""
    if rule.route_lag is not None:
        lag = rule.route_lag
        limit = f"over {seconds(lag.over)}" if lag.over is not None else "over its SLA"
        return f"route lag {limit}{hold} ({', '.join(lag.routes) if lag.routes else 'every route'})"
    if rule.exceptions_open is not None:
        exc = rule.exceptions_open
        kinds = ", ".join(exc.kinds) if exc.kinds else "any kind"
        per = ", per kind" if exc.per_kind else ""
        return f"more than {exc.over} exceptions open ({kinds}{per}){hold}"
    if rule.breaker_open is not None:
        systems = ", ".join(rule.breaker_open.systems) if rule.breaker_open.systems else "any target"
        return f"circuit breaker not closed{hold or ' (at once)'} ({systems})"
    assert rule.ack_overdue is not None
    partners = ", ".join(rule.ack_overdue.partners) if rule.ack_overdue.partners else "any partner"
    return f"997 overdue{hold} ({partners})"


def _env_name(name: str) -> Text:
    """An environment variable's name and whether it is set; never its value."""
    is_set = bool(os.environ.get(name))
    return Text.assemble(name, " ", ("(set)", "green") if is_set else ("(not set)", "yellow"))
