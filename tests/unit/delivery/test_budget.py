"""The rate budget: a target's allowance respected and fully used, on an injected clock."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logisync.delivery.budget import Busy, RateBudget, RateLimit, Wait


def greedy(limit: RateLimit, seconds: float) -> list[float]:
    """A sender that always has work, on a fake clock: the times its requests start."""
    budget = RateBudget(limit, now=0.0)
    now, started = 0.0, []
    while True:
        grant = budget.try_acquire(now)
        if grant is None:
            started.append(now)
            budget.release()
            continue
        assert isinstance(grant, Wait)
        now += grant.seconds
        if now > seconds:
            return started


@pytest.mark.parametrize(
    ("rate", "burst", "seconds"), [(10, 5, 10), (1, 1, 60), (40, 40, 3), (2.5, 3, 4), (1000, 100, 2)]
)
def test_a_greedy_sender_gets_exactly_rate_times_t_plus_burst(rate, burst, seconds):
    started = greedy(RateLimit(rate=rate, burst=burst), seconds)
    assert len(started) == rate * seconds + burst
    assert started[:burst] == [0.0] * burst  # the burst goes at once


def test_after_the_burst_requests_are_spaced_at_the_rate():
    budget = RateBudget(RateLimit(rate=4, burst=2), now=100.0)
    assert budget.try_acquire(100.0) is None
    assert budget.try_acquire(100.0) is None
    assert budget.try_acquire(100.0) == Wait(0.25)
    wait = budget.try_acquire(100.1)
    assert isinstance(wait, Wait) and wait.seconds == pytest.approx(0.15)
    assert budget.try_acquire(100.25) is None
    assert budget.granted == 3 and budget.waited == 2


def test_the_bucket_holds_no_more_than_the_burst():
    budget = RateBudget(RateLimit(rate=10, burst=3), now=0.0)
    grants = [budget.try_acquire(3600.0) for _ in range(4)]
    assert grants[:3] == [None, None, None] and isinstance(grants[3], Wait)


def test_the_concurrency_cap_holds_requests_until_a_release():
    budget = RateBudget(RateLimit(rate=100, burst=100, concurrency=2), now=0.0)
    assert budget.try_acquire(0.0) is None
    assert budget.try_acquire(0.0) is None
    assert budget.try_acquire(0.0) == Busy()
    budget.release()
    assert budget.try_acquire(0.0) is None
    assert budget.in_flight == 2


def test_a_refused_request_takes_no_token():
    budget = RateBudget(RateLimit(rate=1, burst=1, concurrency=1), now=0.0)
    assert budget.try_acquire(0.0) is None
    assert budget.try_acquire(5.0) == Busy()
    budget.release()
    assert budget.try_acquire(5.0) is None


def test_hold_pauses_the_budget_as_a_429_asks():
    budget = RateBudget(RateLimit(rate=10, burst=10), now=0.0)
    budget.hold(30.0)
    assert budget.try_acquire(10.0) == Wait(20.0)
    assert budget.try_acquire(30.0) is None


def test_release_without_acquire_is_a_bug():
    with pytest.raises(RuntimeError):
        RateBudget(RateLimit(rate=1), now=0.0).release()


@pytest.mark.parametrize("kwargs", [{"rate": 0}, {"rate": 1, "burst": 0}, {"rate": 1, "concurrency": 0}])
def test_nonsense_limits_are_refused(kwargs):
    with pytest.raises(ValueError):
        RateLimit(**kwargs)


@settings(max_examples=200)
@given(
    rate=st.floats(0.5, 200),
    burst=st.integers(1, 20),
    gaps=st.lists(st.floats(0, 0.5), min_size=1, max_size=150),
)
def test_no_window_ever_sees_more_than_rate_times_t_plus_burst(rate, burst, gaps):
    budget = RateBudget(RateLimit(rate=rate, burst=burst), now=0.0)
    now, started = 0.0, []
    for gap in gaps:  # any pattern of attempts, granted or not
        now += gap
        if budget.try_acquire(now) is None:
            started.append(now)
            budget.release()
    for i, first in enumerate(started):
        for j in range(i, len(started)):
            assert j - i + 1 <= rate * (started[j] - first) + burst + 1e-6


class FakeTime:
    """A clock and a sleep that moves it: `acquire` waits without waiting."""

    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds
        await asyncio.sleep(0)


def test_acquire_sleeps_through_the_injected_sleep():
    time = FakeTime()
    budget = RateBudget(RateLimit(rate=5, burst=1), now=0.0)

    async def run() -> list[float]:
        started = []
        for _ in range(6):
            async with budget.slot(time.clock, time.sleep):
                started.append(time.now)
        return started

    assert asyncio.run(run()) == pytest.approx([0.0, 0.2, 0.4, 0.6, 0.8, 1.0])


def test_acquire_waits_for_a_free_slot():
    time = FakeTime()
    budget = RateBudget(RateLimit(rate=1000, burst=1000, concurrency=2), now=0.0)
    log: list[str] = []

    async def call(name: str, gate: asyncio.Event) -> None:
        async with budget.slot(time.clock, time.sleep):
            log.append(f"start {name}")
            await gate.wait()
        log.append(f"end {name}")

    async def run() -> None:
        gates = [asyncio.Event() for _ in range(3)]
        tasks = [asyncio.create_task(call(str(i), gates[i])) for i in range(3)]
        await asyncio.sleep(0.01)
        assert log == ["start 0", "start 1"] and budget.in_flight == 2
        gates[1].set()
        await asyncio.sleep(0.01)
        assert log == ["start 0", "start 1", "end 1", "start 2"]
        gates[0].set()
        gates[2].set()
        await asyncio.gather(*tasks)

    asyncio.run(run())
    assert budget.in_flight == 0


def test_a_cancelled_waiter_passes_its_wake_up_on():
    time = FakeTime()
    budget = RateBudget(RateLimit(rate=1000, burst=1000, concurrency=1), now=0.0)

    async def run() -> None:
        await budget.acquire(time.clock, time.sleep)
        first = asyncio.create_task(budget.acquire(time.clock, time.sleep))
        second = asyncio.create_task(budget.acquire(time.clock, time.sleep))
        await asyncio.sleep(0.01)
        budget.release()  # wakes `first` ...
        first.cancel()  # ... which is cancelled before it runs
        await asyncio.wait_for(second, 1)
        assert budget.in_flight == 1

    asyncio.run(run())
