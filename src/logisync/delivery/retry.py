"""The retry policy: when a failed delivery is tried again, and when it is dead."""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .errors import DeliveryError

# The webhook industry's schedule (Standard Webhooks, Svix): the delay before each attempt.
WEBHOOK_SCHEDULE: tuple[float, ...] = (0, 5, 5 * 60, 30 * 60, 2 * 3600, 5 * 3600, 10 * 3600, 10 * 3600)


@dataclass(frozen=True, slots=True)
class Retry:
    """Try again at `at` (seconds since the epoch), `delay` seconds after the failure."""

    at: float
    delay: float


@dataclass(frozen=True, slots=True)
class Dead:
    """Do not try again: the delivery is dead and goes to the exceptions inbox."""

    reason: str


@dataclass(frozen=True)
class RetryPolicy:
    """Attempts, a backoff schedule, jitter and a maximum delay.

    `schedule[k]` is the delay before attempt k + 1 (so `schedule[0]`, normally 0, is the first
    attempt's). After attempt n (1-based) fails with a transient error and n < `attempts`:

        base  = schedule[min(n, len(schedule) - 1)]          (the last delay repeats)
        delay = min(max_delay, base * (1 + jitter * (2u - 1)))
        delay = max(delay, min(retry_after, max_delay))      (when the target sent Retry-After)

    where u ∈ [0, 1) is drawn from a hash of (key, n): the jitter spreads deliveries that failed
    together, yet `decide` stays a pure function (same inputs, same answer). A permanent error,
    or attempt n = `attempts`, is `Dead`. The defaults are the webhook industry's: 8 attempts over
    about 27.6 hours (0, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h), ±10 % jitter, at most 10 h.
    """

    attempts: int = len(WEBHOOK_SCHEDULE)
    schedule: tuple[float, ...] = WEBHOOK_SCHEDULE
    jitter: float = 0.1
    max_delay: float = 10 * 3600

    def __post_init__(self) -> None:
        if self.attempts < 1:
            raise ValueError("attempts must be at least 1")
        if not self.schedule or any(d < 0 for d in self.schedule):
            raise ValueError("the schedule needs at least one delay, none negative")
        if any(b < a for a, b in itertools.pairwise(self.schedule)):
            raise ValueError("the schedule's delays must not decrease")
        if not 0 <= self.jitter < 1:
            raise ValueError("jitter is a fraction in [0, 1)")
        if self.max_delay < 0:
            raise ValueError("max_delay must not be negative")

    @classmethod
    def exponential(
        cls, attempts: int, first: float, factor: float = 2.0, max_delay: float = 3600, jitter: float = 0.1
    ) -> RetryPolicy:
        """Immediately, then `first`, `first * factor`, ... capped at `max_delay`."""
        delays = [0.0] + [min(max_delay, first * factor**k) for k in range(max(attempts - 1, 0))]
        return cls(attempts=attempts, schedule=tuple(delays), jitter=jitter, max_delay=max_delay)

    def base_delay(self, attempt: int) -> float:
        """The delay after failed attempt `attempt` (1-based), before jitter and the cap."""
        return self.schedule[min(attempt, len(self.schedule) - 1)]

    def delay(self, attempt: int, key: str = "") -> float:
        """The jittered, capped delay after failed attempt `attempt` (see the class docstring)."""
        u = _unit(f"{key}\x00{attempt}")
        return min(self.max_delay, self.base_delay(attempt) * (1 + self.jitter * (2 * u - 1)))

    def window(self) -> float:
        """The longest a delivery can stay undelivered before it is dead (without jitter)."""
        return sum(min(self.base_delay(n), self.max_delay) for n in range(1, self.attempts))

    def decide(self, attempt: int, error: DeliveryError, now: float, key: str = "") -> Retry | Dead:
        """What to do after attempt `attempt` (1-based) failed with `error` at `now`.

        `key` (the delivery id) seeds the jitter, so two deliveries that failed together come
        back at different moments, and the same delivery's answer never changes.
        """
        if not error.transient:
            return Dead(f"permanent failure ({error})")
        if attempt >= self.attempts:
            return Dead(f"gave up after {attempt} attempts (last: {error})")
        delay = self.delay(attempt, key)
        if error.retry_after is not None:
            delay = max(delay, min(error.retry_after, self.max_delay))
        return Retry(at=now + delay, delay=delay)


def parse_retry_after(value: str, now: float) -> float | None:
    """Seconds to wait from a `Retry-After` header: delta-seconds or an HTTP-date (RFC 9110 §10.2.3).

    A date in the past means 0; a value that is neither form is None (ignored, never guessed).
    `now` is the wall clock in seconds since the epoch.
    """
    text = value.strip()
    if text.isascii() and text.isdigit():
        return float(int(text))
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # the obsolete asctime form carries no zone: HTTP dates are GMT
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now)


def _unit(seed: str) -> float:
    """A number in [0, 1) that depends only on `seed`."""
    digest = hashlib.blake2b(seed.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64
