"""The circuit breaker: opens on consecutive target failures, probes after a growing cool-down."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from logisync.delivery.breaker import (
    TRANSITIONS,
    BreakerPolicy,
    BreakerState,
    CircuitBreaker,
    Permit,
    counts_as_failure,
)
from logisync.delivery.errors import DeliveryError, ErrorKind

DOWN = DeliveryError(ErrorKind.unavailable, "HTTP 503", status=503)
BAD_PAYLOAD = DeliveryError(ErrorKind.rejected, "HTTP 422", status=422)
BUSY = DeliveryError(ErrorKind.throttled, "HTTP 429", status=429, retry_after=1)


def fail(breaker: CircuitBreaker, now: float, times: int = 1) -> None:
    for _ in range(times):
        permit = breaker.allow(now)
        assert permit is not None
        breaker.record(permit, DOWN, now)


def test_it_opens_after_threshold_consecutive_failures():
    breaker = CircuitBreaker(BreakerPolicy(threshold=3, cooldown=10))
    fail(breaker, 0.0, 2)
    assert breaker.state is BreakerState.closed
    fail(breaker, 1.0)
    assert breaker.state is BreakerState.open and breaker.opened_at == 1.0
    assert breaker.retry_at == 11.0
    assert breaker.allow(5.0) is None
    assert breaker.counts() == {
        "opens": 1,
        "rejected": 1,
        "successes": 0,
        "failures": 3,
        "consecutive_failures": 3,
    }


def test_a_success_resets_the_count():
    breaker = CircuitBreaker(BreakerPolicy(threshold=3))
    fail(breaker, 0.0, 2)
    permit = breaker.allow(0.0)
    assert permit is not None
    breaker.record(permit, None, 0.0)
    fail(breaker, 0.0, 2)
    assert breaker.state is BreakerState.closed


@pytest.mark.parametrize("error", [BAD_PAYLOAD, BUSY, DeliveryError(ErrorKind.mapping, "x")])
def test_answers_from_a_live_target_do_not_count(error):
    assert not counts_as_failure(error)
    breaker = CircuitBreaker(BreakerPolicy(threshold=2))
    for _ in range(10):
        permit = breaker.allow(0.0)
        assert permit is not None
        breaker.record(permit, error, 0.0)
    assert breaker.state is BreakerState.closed


@pytest.mark.parametrize("kind", [ErrorKind.timeout, ErrorKind.connection, ErrorKind.tls, ErrorKind.gone])
def test_target_failures_count(kind):
    assert counts_as_failure(DeliveryError(kind, "x"))


def test_after_the_cool_down_one_probe_goes_and_its_success_closes():
    breaker = CircuitBreaker(BreakerPolicy(threshold=1, cooldown=10))
    fail(breaker, 0.0)
    probe = breaker.allow(10.0)
    assert probe == Permit(probe=True) and breaker.state is BreakerState.half_open
    assert breaker.allow(10.0) is None  # only one probe at a time
    breaker.record(probe, None, 10.5)
    assert breaker.state is BreakerState.closed and breaker.opened_at is None
    assert breaker.allow(10.5) == Permit(probe=False)


def test_a_failed_probe_reopens_with_a_growing_capped_cool_down():
    breaker = CircuitBreaker(BreakerPolicy(threshold=1, cooldown=10, factor=3, max_cooldown=100))
    fail(breaker, 0.0)
    now, cooldowns = 0.0, []
    for _ in range(5):
        assert breaker.retry_at is not None
        cooldowns.append(breaker.retry_at - now)
        now = breaker.retry_at
        assert breaker.allow(now - 0.001) is None
        fail(breaker, now)
        assert breaker.state is BreakerState.open and breaker.opened_at == now
    assert cooldowns == [10, 30, 90, 100, 100]
    assert breaker.opens == 6


def test_a_late_answer_from_before_the_opening_does_not_decide_the_probe():
    breaker = CircuitBreaker(BreakerPolicy(threshold=1, cooldown=10))
    old = breaker.allow(0.0)
    fail(breaker, 0.0)
    probe = breaker.allow(10.0)
    assert old is not None and probe is not None
    breaker.record(old, None, 10.1)
    assert breaker.state is BreakerState.half_open
    breaker.record(probe, DOWN, 10.2)
    assert breaker.state is BreakerState.open


def test_an_abandoned_probe_lets_another_go():
    breaker = CircuitBreaker(BreakerPolicy(threshold=1, cooldown=10))
    fail(breaker, 0.0)
    probe = breaker.allow(10.0)
    assert probe is not None
    breaker.abandon(probe)
    assert breaker.allow(10.0) == Permit(probe=True)


def test_closing_resets_the_cool_down():
    breaker = CircuitBreaker(BreakerPolicy(threshold=1, cooldown=10))
    fail(breaker, 0.0)
    fail(breaker, 10.0)  # failed probe: next cool-down 20
    probe = breaker.allow(30.0)
    assert probe is not None
    breaker.record(probe, None, 30.0)
    fail(breaker, 31.0)
    assert breaker.retry_at == 41.0


@pytest.mark.parametrize(
    "kwargs", [{"threshold": 0}, {"cooldown": 0}, {"cooldown": 10, "max_cooldown": 5}, {"factor": 0.5}]
)
def test_nonsense_policies_are_refused(kwargs):
    with pytest.raises(ValueError):
        BreakerPolicy(**kwargs)


events = st.lists(
    st.tuples(
        st.sampled_from(["call", "call", "finish", "abandon"]),
        st.floats(0, 50),
        st.sampled_from([None, DOWN, BAD_PAYLOAD, BUSY]),
    ),
    max_size=80,
)


@given(events)
def test_any_sequence_moves_only_along_the_table_with_one_probe_at_most(script):
    breaker = CircuitBreaker(BreakerPolicy(threshold=2, cooldown=5, max_cooldown=40))
    now, out = 0.0, []
    seen = [breaker.state]
    for action, gap, error in script:
        now += gap
        before = breaker.state
        if action == "call":
            permit = breaker.allow(now)
            if permit is not None:
                out.append(permit)
            if before is BreakerState.open and breaker.retry_at is not None:
                assert permit is None
        elif out:
            permit = out.pop(0)
            if action == "finish":
                breaker.record(permit, error, now)
            else:
                breaker.abandon(permit)
        if breaker.state is not before:
            assert breaker.state in TRANSITIONS[before]
        seen.append(breaker.state)
        probes_out = sum(p.probe for p in out)
        assert probes_out <= 1
        if breaker.state is BreakerState.open:
            assert breaker.opened_at is not None and breaker.opened_at <= now
