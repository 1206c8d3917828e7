"""From the sync map to live targets: one HTTP transport, rate budget and breaker per system.

A system that routes deliver to is a target. Its `url` and `signing.secret_env`, and its
`transport` section, make the HTTP connector's `Settings`:

    transport:
      method: POST              # or PUT, PATCH
      timeout: 15s
      headers: {x-api-key: ...} # static headers
      compare_and_set: true     # bodies carry `expected`: what the hub last delivered
      rate: 50                  # requests per second...
      burst: 10                 # ...with this many at once
      concurrency: 8            # calls in flight at most
      allow_private_network: false
      retry: {attempts: 8}      # or a schedule in seconds
      breaker: {threshold: 5, cooldown: 30s}

Routes to the same system share its transport, budget and breaker, so the target's limits hold
whatever the number of routes. A shadow route needs no target: it never sends. A live route to a
system without a `url` is not dispatched: its rows wait in the outbox, and `logisync status`
shows the route's lag growing (and its SLA breached, if it has one) until the url is set.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from ..config.durations import parse_duration
from ..config.model import RouteConfig, SyncMap, SystemConfig
from ..connectors.http import HttpTransport, Sent, Settings, Target, encode_bodies, encode_body
from ..domain.catalog import describe_validation_error
from ..errors import ConfigError
from .breaker import BreakerPolicy, CircuitBreaker
from .budget import RateBudget, RateLimit
from .errors import DeliveryError, ErrorKind
from .outgoing import Delivery
from .readback import Reader
from .retry import WEBHOOK_SCHEDULE, RetryPolicy

_POLICY_KEYS = ("rate", "burst", "retry", "breaker")


class RetrySettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    attempts: int = Field(len(WEBHOOK_SCHEDULE), ge=1, le=100)
    schedule: list[float] | None = None  # seconds before each attempt; default: the webhook schedule
    jitter: float = Field(0.1, ge=0, lt=1)

    def policy(self) -> RetryPolicy:
        schedule = tuple(self.schedule) if self.schedule else WEBHOOK_SCHEDULE
        return RetryPolicy(attempts=self.attempts, schedule=schedule, jitter=self.jitter)


class BreakerSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    threshold: int = Field(5, ge=1)
    cooldown: float = Field(30.0, gt=0)
    max_cooldown: float = Field(1800.0, gt=0)

    def policy(self) -> BreakerPolicy:
        return BreakerPolicy(
            self.threshold, self.cooldown, max_cooldown=max(self.cooldown, self.max_cooldown)
        )


@dataclass
class LiveTarget:
    """One system as the dispatchers send to it."""

    name: str
    target: Target
    transport: HttpTransport
    budget: RateBudget
    breaker: CircuitBreaker
    retry: RetryPolicy


class HttpSender:
    """A `Sender` over the HTTP connector: signs, sends, and returns the classified outcome."""

    def __init__(self, target: LiveTarget) -> None:
        self.target = target

    async def send(self, delivery: Delivery, body: Any) -> DeliveryError | None:
        request = encode_body(delivery.id, body, self.target.target, time.time())
        result = await self.target.transport.send(request)
        return None if isinstance(result, Sent) else result

    async def send_batch(self, deliveries: list[Delivery], bodies: list[Any]) -> DeliveryError | None:
        request = encode_bodies([d.id for d in deliveries], bodies, self.target.target, time.time())
        result = await self.target.transport.send(request)
        return None if isinstance(result, Sent) else result


class Unreachable:
    """A `Sender` for a system with no URL (a shadow route's target needs none): it never sends."""

    def __init__(self, system: str) -> None:
        self.system = system

    async def send(self, delivery: Delivery, body: Any) -> DeliveryError | None:
        return DeliveryError(
            ErrorKind.rejected, f"system {self.system!r} has no url in the sync map: nothing to deliver to"
        )

    async def send_batch(self, deliveries: list[Delivery], bodies: list[Any]) -> DeliveryError | None:
        return await self.send(deliveries[0], bodies)


def settings_for(name: str, system: SystemConfig) -> Settings:
    """The HTTP connector's settings for a system (ConfigError names the system and the key)."""
    raw: dict[str, Any] = {k: v for k, v in (system.transport or {}).items() if k not in _POLICY_KEYS}
    raw["url"] = system.url
    if system.signing is not None:
        raw.setdefault("signing_secret_env", system.signing.secret_env)
    try:
        return Settings.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"systems.{name}: {describe_validation_error(exc)}") from None


def build_target(name: str, system: SystemConfig, env: Mapping[str, str] | None = None) -> LiveTarget:
    settings = settings_for(name, system)
    transport = dict(system.transport or {})
    try:
        rate = float(transport.get("rate", 1000))
        burst = int(transport.get("burst", max(1, int(rate))))
        retry = RetrySettings.model_validate(transport.get("retry") or {})
        breaker_raw = dict(transport.get("breaker") or {})
        for key in ("cooldown", "max_cooldown"):
            if key in breaker_raw:
                breaker_raw[key] = parse_duration(breaker_raw[key])
        breaker = BreakerSettings.model_validate(breaker_raw)
        limit = RateLimit(rate=rate, burst=burst, concurrency=settings.concurrency)
    except (ValidationError, ValueError, TypeError) as exc:
        detail = describe_validation_error(exc) if isinstance(exc, ValidationError) else str(exc)
        raise ConfigError(f"systems.{name}.transport: {detail}") from None
    return LiveTarget(
        name,
        Target.from_settings(settings, env),
        HttpTransport(settings),
        RateBudget(limit, time.time()),  # the dispatchers' clock: seconds since the epoch
        CircuitBreaker(breaker.policy()),
        retry.policy(),
    )


def build_targets(syncmap: SyncMap, env: Mapping[str, str] | None = None) -> dict[str, LiveTarget]:
    """A target for every system a live route delivers to and that has a URL."""
    wanted = {r.to for r in syncmap.routes if r.mode == "live"}
    return {
        name: build_target(name, syncmap.systems[name], env)
        for name in sorted(wanted)
        if syncmap.systems[name].url is not None
    }


def build_readers(
    syncmap: SyncMap, targets: Mapping[str, LiveTarget], env: Mapping[str, str] | None = None
) -> dict[str, Reader]:
    """A reader for every system a shadow route targets that has a `read` section.

    The reads use the system's transport headers, signing and TLS settings, and count against its
    rate budget (shared with its live routes, when it has any)."""
    wanted = {r.to for r in syncmap.routes if r.mode == "shadow"}
    readers: dict[str, Reader] = {}
    for name in sorted(wanted):
        system = syncmap.systems[name]
        if system.read is None:
            continue
        as_target = system.model_copy(update={"url": system.read.url.replace("{key}", "key")})
        own = build_target(name, as_target, env)
        live = targets.get(name)
        budget = live.budget if live is not None else own.budget
        readers[name] = Reader(name, system.read, own.target, own.transport, budget)
    return readers


def route_policies(
    route: RouteConfig, targets: Mapping[str, LiveTarget], readers: Mapping[str, Reader] | None = None
) -> dict[str, Any]:
    """The sender and shared policies a route's worker uses (a shadow route: its reader, if any)."""
    target = targets.get(route.to)
    reader = (readers or {}).get(route.to) if route.mode == "shadow" else None
    if target is None:
        return {"sender": Unreachable(route.to), "reader": reader}
    return {
        "reader": reader,
        "sender": HttpSender(target),
        "retry": target.retry,
        "breaker": target.breaker,
        "budget": target.budget,
        "compare_and_set": target.target.settings.compare_and_set,
    }
