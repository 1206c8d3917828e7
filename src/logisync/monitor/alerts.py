"""The alert evaluator: every `alerts.every` seconds, evaluate the rules and send what is due.

One tick: each rule's condition is read (`alert_rules`), the live alerts in the store move as
`alert_state.plan` says, in one transaction, and the notifications that queues are sent from
the store's outbox (`store/alerts.py`), each channel on its own: a failing channel is retried
on `NOTIFY_RETRY`'s schedule and never holds up another. Because the alert state and its
notifications live in the store, a restart neither repeats a notification nor loses one.
Nothing a tick meets ends the loop: a rule that cannot be read, a store that is busy or a
channel that fails is logged (without secrets) and tried again at the next tick.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..config.alerts import AlertsConfig
from ..config.model import SyncMap
from ..delivery.breaker import CircuitBreaker
from ..delivery.errors import DeliveryError, ErrorKind
from ..delivery.retry import Dead, RetryPolicy
from ..store.alerts import AlertBook, AlertPlan, NewNotification, NotificationRow
from ..store.base import Store
from .alert_channels import Channel, build_channels
from .alert_rules import Observation, Snapshot, observe
from .alert_state import message_of, plan

if TYPE_CHECKING:
    from ..delivery.dispatcher import Dispatcher

log = logging.getLogger("logisync.alerts")

# A notification is tried at once, then after about 10 s, 30 s, 90 s, ... up to an hour apart,
# 12 attempts over about 6 hours; a permanent failure (a refused login, a 4xx) is not retried.
NOTIFY_RETRY = RetryPolicy.exponential(attempts=12, first=10.0, factor=3.0, max_delay=3600.0)
LEASE_S = 120.0  # an attempt's lease: a process that stops mid-send leaves it due again after this


@dataclass(slots=True)
class Sent:
    """How one attempt went: `error` None when the channel took it."""

    note: NotificationRow
    error: DeliveryError | None
    final: bool  # sent, or given up: no more attempts


@dataclass(slots=True)
class TickReport:
    plan: AlertPlan | None
    sent: list[Sent] = field(default_factory=list)
    rule_errors: dict[str, str] = field(default_factory=dict)


class AlertEvaluator:
    """Evaluates `config.rules` against the store (and, in `logisync serve`, the dispatcher's
    breakers) and notifies `channels`. Time comes from `clock` (seconds since the epoch)."""

    def __init__(
        self,
        syncmap: SyncMap,
        store: Store,
        channels: Mapping[str, Channel],
        *,
        breakers: Callable[[], Mapping[str, CircuitBreaker]] | None = None,
        clock: Callable[[], float] = time.time,
        retry: RetryPolicy = NOTIFY_RETRY,
    ) -> None:
        self.syncmap = syncmap
        self.config: AlertsConfig = syncmap.alerts or AlertsConfig()
        self.store = store
        self.book = AlertBook(store)  # type: ignore[arg-type]
        self.channels = dict(channels)
        self.breakers = breakers
        self.clock = clock
        self.retry = retry
        self.ticks = 0
        self.last_error: str | None = None

    @classmethod
    def for_syncmap(
        cls,
        syncmap: SyncMap,
        store: Store,
        env: Mapping[str, str] | None = None,
        dispatcher: Dispatcher | None = None,
        **kw: object,
    ) -> AlertEvaluator:
        """The evaluator of a sync map's `alerts`, its channels' secrets read from `env` now."""
        channels = build_channels(syncmap.alerts or AlertsConfig(), env)
        breakers = breakers_of(dispatcher) if dispatcher is not None else None
        return cls(syncmap, store, channels, breakers=breakers, **kw)  # type: ignore[arg-type]

    def _now_us(self) -> int:
        return int(self.clock() * 1_000_000)

    # -- one tick ------------------------------------------------------------------------------
    def evaluate(self) -> TickReport:
        """Read every rule's condition and move the alerts; queue what has to be sent."""
        now_us = self._now_us()
        snap = Snapshot(self.syncmap, self.store, now_us, self.breakers)
        observed: dict[str, Sequence[Observation] | None] = {}
        report = TickReport(None)
        for rule in self.config.rules:
            try:
                observed[rule.name] = observe(rule, snap)
            except Exception as exc:  # this rule waits for the next tick; its alerts stay as they are
                observed[rule.name] = None
                report.rule_errors[rule.name] = f"{type(exc).__name__}: {exc}"
                log.warning(
                    "alert rule %s could not be evaluated: %s", rule.name, report.rule_errors[rule.name]
                )
        report.plan = self.book.evaluate(lambda live: plan(self.config.rules, observed, live, now_us), now_us)
        return report

    async def deliver(self, only: Sequence[int] | None = None) -> list[Sent]:
        """Try every notification due now, all channels at once (of `only` these ids, when given)."""
        now_us = self._now_us()
        due = await asyncio.to_thread(self.book.due, now_us)
        if only is not None:
            due = [n for n in due if n.id in only]
        return list(await asyncio.gather(*(self._attempt(n, now_us) for n in due)))

    async def _attempt(self, due: NotificationRow, now_us: int) -> Sent:
        note = await asyncio.to_thread(self.book.claim, due.id, now_us, int(LEASE_S * 1_000_000))
        if note is None:
            return Sent(due, None, final=False)  # another process took it
        channel = self.channels.get(note.channel)
        if channel is None:
            error: DeliveryError | None = DeliveryError(
                ErrorKind.internal, f"no channel {note.channel!r} in the sync map any more"
            )
        else:
            try:
                error = await channel.send(note)
            except Exception as exc:  # a channel's fault: recorded, never the loop's end
                error = DeliveryError(ErrorKind.internal, f"{type(exc).__name__}: {exc}")
        done_us = self._now_us()
        if error is None:
            await asyncio.to_thread(self.book.settle, note.id, done_us)
            return Sent(note, None, final=True)
        decision = self.retry.decide(note.attempts, error, done_us / 1e6, key=str(note.id))
        if isinstance(decision, Dead):
            log.error(
                "alert notification %s to %s failed for good: %s", note.id, note.channel, decision.reason
            )
            await asyncio.to_thread(self.book.settle, note.id, done_us, error=decision.reason)
            return Sent(note, error, final=True)
        log.warning(
            "alert notification %s to %s failed (attempt %d), retrying in %.0f s: %s",
            note.id,
            note.channel,
            note.attempts,
            decision.delay,
            error,
        )
        await asyncio.to_thread(
            self.book.settle, note.id, done_us, error=str(error), retry_us=int(decision.at * 1_000_000)
        )
        return Sent(note, error, final=False)

    async def tick(self) -> TickReport:
        """Evaluate, then send what is due."""
        report = await asyncio.to_thread(self.evaluate)
        report.sent = await self.deliver()
        self.ticks += 1
        return report

    async def test(self, channels: Sequence[str] | None = None) -> list[Sent]:
        """`logisync alerts test`: one test notification to each channel (or those named), sent now
        and recorded like any other."""
        names = list(channels) if channels else list(self.channels)
        now_us = self._now_us()
        fields = {
            "rule": "test",
            "subject": "*",
            "severity": "info",
            "summary": "a test notification from logisync: this channel works",
        }
        message = message_of("test", fields, now_us)
        ids = await asyncio.to_thread(
            self.book.queue_tests, [NewNotification(name, "test", message) for name in names], now_us
        )
        return await self.deliver(only=ids)

    # -- the loop ------------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        """Tick every `alerts.every` seconds until `stop` is set; close the channels then."""
        try:
            while not stop.is_set():
                try:
                    await self.tick()
                    self.last_error = None
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # a busy store, a bug: the next tick tries again
                    self.last_error = f"{type(exc).__name__}: {exc}"
                    log.warning("alert evaluation failed: %s", self.last_error)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.config.every)
        finally:
            await self.close()

    async def close(self) -> None:
        for channel in self.channels.values():
            with contextlib.suppress(Exception):
                await channel.close()


def breakers_of(dispatcher: Dispatcher) -> Callable[[], Mapping[str, CircuitBreaker]]:
    """Each target system's circuit breaker, as this process's dispatcher holds it (the routes to
    one target share one breaker)."""

    def read() -> Mapping[str, CircuitBreaker]:
        found: dict[str, CircuitBreaker] = {}
        for worker in dispatcher.workers:  # a shadow route's worker has a breaker of its own
            if worker.route.mode == "live" or worker.route.to not in found:
                found[worker.route.to] = worker.breaker
        return found

    return read


def alert_evaluator(
    syncmap: SyncMap, store: Store, env: Mapping[str, str] | None, dispatcher: Dispatcher | None
) -> AlertEvaluator | None:
    """The evaluator `logisync serve` runs, or None when the sync map has no alert rules."""
    if syncmap.alerts is None or not syncmap.alerts.rules:
        return None
    return AlertEvaluator.for_syncmap(syncmap, store, env, dispatcher)
