"""The rate budget of one target: requests per second with a burst, and a cap on requests in flight."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]

_EPSILON = 1e-9  # float slack, so a token that is due at exactly `now` is granted at `now`


@dataclass(frozen=True)
class RateLimit:
    """A target's allowance: `rate` requests per second, `burst` at once, `concurrency` in flight.

    A token bucket of capacity `burst`, refilled at `rate` tokens per second, that starts full:

        tokens(t) = min(burst, tokens(t0) + rate * (t - t0))

    A request takes one token when tokens ≥ 1, else it waits (1 - tokens) / rate seconds. So over
    any window of T seconds at most rate * T + burst requests start, and a sender that always has
    work starts exactly floor(rate * T) + burst: the allowance is respected and fully used. Independently,
    at most `concurrency` requests are in flight (None: no cap).
    """

    rate: float
    burst: int = 1
    concurrency: int | None = None

    def __post_init__(self) -> None:
        if self.rate <= 0:
            raise ValueError("rate must be positive (requests per second)")
        if self.burst < 1:
            raise ValueError("burst must be at least 1")
        if self.concurrency is not None and self.concurrency < 1:
            raise ValueError("concurrency must be at least 1 (or None for no cap)")


@dataclass(frozen=True, slots=True)
class Wait:
    """Not now: try again in `seconds` (a token is missing or the target asked for a pause)."""

    seconds: float


@dataclass(frozen=True, slots=True)
class Busy:
    """Not now: `concurrency` requests are in flight; try again after a `release`."""


GRANTED = None  # what try_acquire returns when the request may start


class RateBudget:
    """The running state of one target's `RateLimit`; time comes from the caller (`now`)."""

    def __init__(self, limit: RateLimit, now: float) -> None:
        self.limit = limit
        self.tokens = float(limit.burst)
        self.updated = now
        self.in_flight = 0
        self.hold_until = now  # no grant before this (a 429's Retry-After)
        self.granted = 0  # counters for metrics
        self.waited = 0
        self._slot_waiters: deque[asyncio.Future[None]] = deque()

    def _refill(self, now: float) -> None:
        if now > self.updated:
            self.tokens = min(float(self.limit.burst), self.tokens + self.limit.rate * (now - self.updated))
            self.updated = now

    def try_acquire(self, now: float) -> Wait | Busy | None:
        """Take a token and a slot for one request starting at `now` (None), or say how to wait."""
        self._refill(now)
        if now < self.hold_until:
            self.waited += 1
            return Wait(self.hold_until - now)
        cap = self.limit.concurrency
        if cap is not None and self.in_flight >= cap:
            self.waited += 1
            return Busy()
        if self.tokens < 1 - _EPSILON:
            self.waited += 1
            return Wait((1 - self.tokens) / self.limit.rate)
        self.tokens = max(0.0, self.tokens - 1)
        self.in_flight += 1
        self.granted += 1
        return GRANTED

    def release(self) -> None:
        """One request finished: its slot is free for the next."""
        if self.in_flight <= 0:
            raise RuntimeError("release without a matching acquire")
        self.in_flight -= 1
        self._wake_one()

    def _wake_one(self) -> None:
        while self._slot_waiters:
            waiter = self._slot_waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def hold(self, until: float) -> None:
        """Grant nothing before `until` (the target answered 429 with a Retry-After)."""
        self.hold_until = max(self.hold_until, until)

    async def acquire(self, clock: Clock, sleep: Sleep = asyncio.sleep) -> None:
        """Wait until a request may start, sleeping through `sleep` (inject a fake in tests)."""
        while True:
            grant = self.try_acquire(clock())
            if grant is None:
                return
            if isinstance(grant, Wait):
                await sleep(grant.seconds)
                continue
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._slot_waiters.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self._wake_one()  # woken, then cancelled: pass the free slot on
                raise

    @asynccontextmanager
    async def slot(self, clock: Clock, sleep: Sleep = asyncio.sleep) -> AsyncIterator[None]:
        """`async with budget.slot(clock):` acquire, run the request, release."""
        await self.acquire(clock, sleep)
        try:
            yield
        finally:
            self.release()
