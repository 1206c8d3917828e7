"""The circuit breaker of one target: stop calling a target that keeps failing, probe, resume."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from .errors import DeliveryError, ErrorKind


class BreakerState(Enum):
    closed = "closed"  # calls go through; consecutive target failures are counted
    open = "open"  # no calls until the cool-down has passed
    half_open = "half_open"  # the cool-down has passed: one probe call goes through, the rest wait


# The only moves a breaker makes; `CircuitBreaker._move` refuses any other.
TRANSITIONS: dict[BreakerState, frozenset[BreakerState]] = {
    BreakerState.closed: frozenset({BreakerState.open}),
    BreakerState.open: frozenset({BreakerState.half_open}),
    BreakerState.half_open: frozenset({BreakerState.closed, BreakerState.open}),
}


def counts_as_failure(error: DeliveryError | None) -> bool:
    """Whether an attempt's outcome says the target is unhealthy.

    Target-wide failures count (timeouts, refused connections, 5xx, TLS, 401/403, 410, 3xx).
    A success, a failure of one payload (400, 409, 422, a mapping error) and a 429 (the target
    is up, only busy: the rate budget holds off) all show the target answering: they do not.
    """
    return error is not None and error.target_wide and error.kind is not ErrorKind.throttled


@dataclass(frozen=True, slots=True)
class Permit:
    """Leave to make one call; `probe` when it is the half-open breaker's single probe."""

    probe: bool = False


@dataclass(frozen=True)
class BreakerPolicy:
    """When a target's breaker opens and how long it stays open.

    It opens after `threshold` consecutive target failures (see `counts_as_failure`). The n-th
    cool-down in a row (n = 0 after closing) lasts

        cooldown(n) = min(max_cooldown, cooldown * factor^n)

    so a target that keeps failing its probes is probed less and less often, down to once per
    `max_cooldown`. Consecutive failures rather than a failure ratio: deliveries to one target
    are few and bursty, a ratio needs a window and a minimum volume to mean anything, and a target
    that fails only some calls is already served by per-delivery retries.
    """

    threshold: int = 5
    cooldown: float = 30.0
    factor: float = 2.0
    max_cooldown: float = 30 * 60.0

    def __post_init__(self) -> None:
        if self.threshold < 1:
            raise ValueError("threshold must be at least 1")
        if self.cooldown <= 0 or self.max_cooldown < self.cooldown or self.factor < 1:
            raise ValueError("need 0 < cooldown <= max_cooldown and factor >= 1")

    def cooldown_for(self, reopenings: int) -> float:
        """The cool-down after the breaker opened `reopenings` times since it last closed."""
        return min(self.max_cooldown, self.cooldown * self.factor**reopenings)


class CircuitBreaker:
    """The running state of one target's breaker; time comes from the caller (`now`)."""

    def __init__(self, policy: BreakerPolicy | None = None) -> None:
        self.policy = policy or BreakerPolicy()
        self.state = BreakerState.closed
        self.opened_at: float | None = None  # when it last opened (None: never, or closed since)
        self.consecutive_failures = 0
        self.reopenings = 0  # failed probes since it last closed
        self.probing = False  # a half-open probe is in flight
        # counters for metrics
        self.opens = 0
        self.rejected = 0
        self.successes = 0
        self.failures = 0

    @property
    def retry_at(self) -> float | None:
        """When an open breaker lets a probe through (None unless open)."""
        if self.state is not BreakerState.open or self.opened_at is None:
            return None
        return self.opened_at + self.policy.cooldown_for(self.reopenings)

    def allow(self, now: float) -> Permit | None:
        """Leave for a call starting at `now`, or None while the breaker holds calls back."""
        if self.state is BreakerState.open:
            retry_at = self.retry_at
            if retry_at is not None and now >= retry_at:
                self._move(BreakerState.half_open)
            else:
                self.rejected += 1
                return None
        if self.state is BreakerState.half_open:
            if self.probing:
                self.rejected += 1
                return None
            self.probing = True
            return Permit(probe=True)
        return Permit()

    def record(self, permit: Permit, error: DeliveryError | None, now: float) -> None:
        """The outcome of a permitted call: `error` None for a success.

        A call that started before the breaker opened and ends after only moves the counters:
        only the probe decides whether a half-open breaker closes or opens again.
        """
        failed = counts_as_failure(error)
        if failed:
            self.failures += 1
        else:
            self.successes += 1
        if permit.probe and self.state is BreakerState.half_open:
            self.probing = False
            if failed:
                self.reopenings += 1
                self._open(now)
            else:
                self._move(BreakerState.closed)
                self.reopenings = 0
                self.opened_at = None
                self.consecutive_failures = 0
            return
        if self.state is not BreakerState.closed:
            return
        if not failed:
            self.consecutive_failures = 0
            return
        self.consecutive_failures += 1
        if self.consecutive_failures >= self.policy.threshold:
            self._open(now)

    def abandon(self, permit: Permit) -> None:
        """A permitted call ended without an outcome (cancelled): another probe may go."""
        if permit.probe:
            self.probing = False

    def counts(self) -> dict[str, int]:
        """Counters for metrics and the dashboard."""
        return {
            "opens": self.opens,
            "rejected": self.rejected,
            "successes": self.successes,
            "failures": self.failures,
            "consecutive_failures": self.consecutive_failures,
        }

    def _open(self, now: float) -> None:
        self._move(BreakerState.open)
        self.opened_at = now
        self.opens += 1

    def _move(self, to: BreakerState) -> None:
        if to not in TRANSITIONS[self.state]:
            raise RuntimeError(f"circuit breaker cannot go from {self.state.value} to {to.value}")
        self.state = to
