"""The sync map's `alerts` section: where alerts go (channels) and when they fire (rules).

```yaml
alerts:
  every: 30s                                   # how often the rules are evaluated
  channels:
    ops-hook:
      webhook: {url: "https://alerts.example/hook", secret_env: ALERT_WEBHOOK_SECRET}
    ops-mail:
      email:
        host: smtp.example.com                 # port 587 and STARTTLS unless told otherwise
        username_env: SMTP_USER
        password_env: SMTP_PASSWORD
        from: logisync@example.com
        to: [ops@example.com]
  rules:
    - {name: stock-late, route_lag: {routes: [stock-to-shop], for: 5m}, severity: critical,
       notify: [ops-hook, ops-mail], renotify: 1h}
    - {name: inbox-piling-up, exceptions_open: {over: 50}, notify: [ops-mail]}
    - {name: target-down, breaker_open: {longer_than: 10m}, notify: [ops-hook]}
    - {name: edi-997-late, ack_overdue: {}, notify: [ops-mail]}
```

Secrets (the webhook's signing secret, the SMTP password) are named by the variable that holds
them, never written in the file.
"""

from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from .durations import parse_duration
from .urls import HttpUrl

if TYPE_CHECKING:
    from .model import SyncMap

Seconds = Annotated[float, BeforeValidator(parse_duration)]
EnvName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
AlertName = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_\-]{0,49}$")]
Address = Annotated[str, Field(pattern=r"^[^@\s<>,]+@[^@\s<>,]+$", max_length=254)]
Severity = Literal["info", "warning", "critical"]
CONDITIONS = ("route_lag", "exceptions_open", "breaker_open", "ack_overdue")
DEFAULT_RENOTIFY = 4 * 3600.0


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class WebhookChannel(_Section):
    """An alert sent as a JSON POST, signed per Standard Webhooks with the secret in `secret_env`
    (a `whsec_` secret; without one the call is not signed). The `webhook-id` of a notification
    is the same on every retry. Loopback and private addresses are refused unless allowed."""

    url: HttpUrl
    secret_env: EnvName | None = None
    timeout: Seconds = Field(default=10.0, gt=0)
    allow_private_network: bool = False

    @field_validator("url")
    @classmethod
    def _no_credentials(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.username or parts.password:
            raise ValueError("put no credentials in the URL: sign the calls with secret_env")
        return url


class EmailChannel(_Section):
    """An alert sent by email through an SMTP server.

    `security`: `starttls` (the default, port 587), `tls` (TLS from the first byte, port 465) or
    `plain` (no encryption: only to a relay on this machine, 127.0.0.1, ::1 or localhost).
    `username_env` and `password_env` name the variables holding the login (none: no login).
    """

    host: str = Field(min_length=1)
    port: int | None = Field(default=None, ge=1, le=65535)  # default: 587, 465 for tls, 25 for plain
    security: Literal["starttls", "tls", "plain"] = "starttls"
    username_env: EnvName | None = None
    password_env: EnvName | None = None
    sender: Address = Field(alias="from")
    to: list[Address] = Field(min_length=1, max_length=100)
    timeout: Seconds = Field(default=30.0, gt=0)
    ca_file: str | None = None  # trust this CA bundle (a private relay's) instead of the system's

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    @model_validator(mode="after")
    def _consistent(self) -> EmailChannel:
        if (self.username_env is None) != (self.password_env is None):
            raise ValueError("give both username_env and password_env, or neither")
        if self.security == "plain" and not _loopback(self.host):
            raise ValueError(
                f"security: plain sends mail and passwords unencrypted; it is only for a relay on this "
                f"machine (127.0.0.1, ::1, localhost), not {self.host!r}: use starttls or tls"
            )
        return self

    @property
    def effective_port(self) -> int:
        if self.port is not None:
            return self.port
        return {"starttls": 587, "tls": 465, "plain": 25}[self.security]


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


class ChannelConfig(_Section):
    """One place alerts go: exactly one of `webhook` or `email`."""

    webhook: WebhookChannel | None = None
    email: EmailChannel | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> ChannelConfig:
        given = [name for name in ("webhook", "email") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"a channel is one of webhook, email (given: {', '.join(given) or 'none'})")
        return self

    @property
    def kind(self) -> str:
        return "webhook" if self.webhook is not None else "email"


class RouteLagRule(_Section):
    """A route's oldest undelivered change is older than its SLA (or `over`) for `for` seconds.

    `routes`: the routes watched (none: every route with an SLA, or every route when `over` is
    given). One alert per route."""

    routes: list[str] | None = Field(default=None, min_length=1)
    over: Seconds | None = Field(default=None, gt=0)  # default: each route's own `sla`
    hold: Seconds = Field(default=0.0, alias="for")

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class ExceptionsOpenRule(_Section):
    """More than `over` exceptions are open (of `kinds`, when given) for `for` seconds. One alert
    for them all, or with `per_kind` one alert per kind over the threshold."""

    over: int = Field(ge=0)
    kinds: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = Field(default=None, min_length=1)
    per_kind: bool = False
    hold: Seconds = Field(default=0.0, alias="for")

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class BreakerOpenRule(_Section):
    """A target's circuit breaker has not closed for `longer_than` seconds (open, or half-open
    probing). `systems`: the targets watched (none: all). One alert per target."""

    longer_than: Seconds = 0.0
    systems: list[str] | None = Field(default=None, min_length=1)


class AckOverdueRule(_Section):
    """A trading partner has groups of ours whose 997 is overdue (past `acknowledgments.overdue`)
    for `for` seconds; a late 997 clears it. `partners`: those watched (none: all). One alert per
    partner."""

    partners: list[str] | None = Field(default=None, min_length=1)
    hold: Seconds = Field(default=0.0, alias="for")

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def _renotify(value: Any) -> Any:
    if value in (None, "never"):
        return None
    return parse_duration(value)


class RuleConfig(_Section):
    """One alert rule: a name, exactly one condition, its severity, the channels it notifies, and
    how often a firing alert is sent again (`renotify`, default 4h; `never`: once per firing).
    With `resolved: false` no notice is sent when the condition clears."""

    name: AlertName
    route_lag: RouteLagRule | None = None
    exceptions_open: ExceptionsOpenRule | None = None
    breaker_open: BreakerOpenRule | None = None
    ack_overdue: AckOverdueRule | None = None
    severity: Severity = "warning"
    notify: list[str] = Field(min_length=1)
    renotify: Annotated[float | None, BeforeValidator(_renotify)] = Field(default=DEFAULT_RENOTIFY, gt=0)
    resolved: bool = True
    description: str | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _one_condition(self) -> RuleConfig:
        given = [name for name in CONDITIONS if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(
                f"a rule has exactly one condition: {', '.join(CONDITIONS)} (given: {', '.join(given) or 'none'})"
            )
        return self

    @property
    def condition(self) -> str:
        return next(name for name in CONDITIONS if getattr(self, name) is not None)

    @property
    def hold_s(self) -> float:
        """How long the condition must hold before the alert fires."""
        if self.breaker_open is not None:
            return self.breaker_open.longer_than
        settings = self.route_lag or self.exceptions_open or self.ack_overdue
        assert settings is not None
        return settings.hold


class AlertsConfig(_Section):
    """The `alerts` section (see the module docstring)."""

    every: Seconds = Field(default=30.0, ge=1)
    channels: dict[AlertName, ChannelConfig] = {}
    rules: list[RuleConfig] = []


def check_alerts(syncmap: SyncMap) -> list[tuple[tuple[str | int, ...], str]]:
    """What the schema cannot see: the channels, routes, systems and partners a rule names."""
    alerts = syncmap.alerts
    problems: list[tuple[tuple[str | int, ...], str]] = []
    if alerts is None:
        return problems
    channels = ", ".join(alerts.channels) or "none defined"
    routes = {r.name: r for r in syncmap.routes}
    seen: dict[str, int] = {}
    for i, rule in enumerate(alerts.rules):
        where: tuple[str | int, ...] = ("alerts", "rules", i)
        if rule.name in seen:
            problems.append(
                (
                    (*where, "name"),
                    f"two rules are named {rule.name!r} (first at alerts.rules[{seen[rule.name]}])",
                )
            )
        seen.setdefault(rule.name, i)
        for j, channel in enumerate(rule.notify):
            if channel not in alerts.channels:
                problems.append(((*where, "notify", j), f"unknown channel {channel!r} (known: {channels})"))
        if rule.route_lag is not None:
            lag = rule.route_lag
            named = lag.routes or []
            for j, name in enumerate(named):
                if name not in routes:
                    known = ", ".join(routes) or "none defined"
                    problems.append(
                        ((*where, "route_lag", "routes", j), f"unknown route {name!r} (known: {known})")
                    )
                elif lag.over is None and routes[name].sla is None:
                    problems.append(
                        (
                            (*where, "route_lag", "routes", j),
                            f"route {name!r} has no sla: give it one, or give this rule `over: DURATION`",
                        )
                    )
            if not named and lag.over is None and not any(r.sla is not None for r in syncmap.routes):
                problems.append(
                    (
                        (*where, "route_lag"),
                        "no route has an sla: give routes one, or this rule `over: DURATION`",
                    )
                )
        if rule.breaker_open is not None:
            for j, name in enumerate(rule.breaker_open.systems or []):
                if name not in syncmap.systems:
                    known = ", ".join(syncmap.systems) or "none defined"
                    problems.append(
                        ((*where, "breaker_open", "systems", j), f"unknown system {name!r} (known: {known})")
                    )
        if rule.ack_overdue is not None:
            partners = [n for n, s in syncmap.systems.items() if s.edi is not None]
            for j, name in enumerate(rule.ack_overdue.partners or []):
                if name not in partners:
                    problems.append(
                        (
                            (*where, "ack_overdue", "partners", j),
                            f"{name!r} is not a trading partner with an edi section "
                            f"(partners: {', '.join(partners) or 'none'})",
                        )
                    )
            if not partners:
                problems.append(
                    ((*where, "ack_overdue"), "no system has an edi section: no 997 is ever awaited")
                )
    return problems
