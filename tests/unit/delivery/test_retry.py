"""The retry policy: the webhook schedule, Retry-After in both forms, jitter, dead deliveries."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from logisync.delivery.errors import DeliveryError, ErrorKind
from logisync.delivery.retry import WEBHOOK_SCHEDULE, Dead, Retry, RetryPolicy, parse_retry_after

NOW = 1_800_000_000.0
DOWN = DeliveryError(ErrorKind.unavailable, "HTTP 503", status=503)


def test_the_default_schedule_is_the_webhook_industrys():
    policy = RetryPolicy(jitter=0)
    delays = []
    for attempt in range(1, 8):
        decision = policy.decide(attempt, DOWN, NOW)
        assert isinstance(decision, Retry)
        assert decision.at == NOW + decision.delay
        delays.append(decision.delay)
    assert delays == [5, 300, 1800, 7200, 18000, 36000, 36000]
    assert policy.attempts == 8 == len(WEBHOOK_SCHEDULE)
    assert isinstance(policy.decide(8, DOWN, NOW), Dead)
    assert policy.window() == 99305  # 27 h 35 min 5 s from the first failure to the last attempt


def test_a_permanent_error_is_dead_at_the_first_attempt():
    decision = RetryPolicy().decide(1, DeliveryError(ErrorKind.rejected, "bad sku", status=422), NOW)
    assert isinstance(decision, Dead)
    assert "permanent" in decision.reason and "422" in decision.reason


def test_exhausted_retries_say_how_many_and_the_last_error():
    decision = RetryPolicy(attempts=3).decide(3, DOWN, NOW)
    assert isinstance(decision, Dead)
    assert "3 attempts" in decision.reason and "unavailable" in decision.reason


def test_retry_after_is_honoured_when_longer_than_the_schedule():
    throttled = DeliveryError(ErrorKind.throttled, "slow down", status=429, retry_after=120)
    decision = RetryPolicy(jitter=0).decide(1, throttled, NOW)
    assert decision == Retry(at=NOW + 120, delay=120)


def test_retry_after_shorter_than_the_schedule_does_not_shorten_it():
    throttled = DeliveryError(ErrorKind.throttled, "slow down", status=429, retry_after=1)
    assert RetryPolicy(jitter=0).decide(2, throttled, NOW) == Retry(at=NOW + 300, delay=300)


def test_retry_after_is_clamped_to_the_maximum_delay():
    throttled = DeliveryError(ErrorKind.throttled, "come back tomorrow", status=429, retry_after=86400)
    decision = RetryPolicy(jitter=0, max_delay=3600).decide(1, throttled, NOW)
    assert decision == Retry(at=NOW + 3600, delay=3600)


def test_jitter_is_a_pure_function_of_the_delivery_and_the_attempt():
    policy = RetryPolicy()
    assert policy.decide(3, DOWN, NOW, key="route-1") == policy.decide(3, DOWN, NOW, key="route-1")
    delays = {policy.delay(3, key=f"route-{i}") for i in range(50)}
    assert len(delays) > 40  # deliveries that failed together come back spread out
    assert all(1800 * 0.9 <= d <= 1800 * 1.1 for d in delays)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("120", 120.0),
        (" 7 ", 7.0),
        ("0", 0.0),
        ("Wed, 21 Oct 2026 07:28:30 GMT", 30.0),  # IMF-fixdate
        ("Wednesday, 21-Oct-26 07:28:30 GMT", 30.0),  # the obsolete RFC 850 form
        ("Wed Oct 21 07:28:30 2026", 30.0),  # the obsolete asctime form (GMT)
        ("Wed, 21 Oct 2026 07:00:00 GMT", 0.0),  # in the past: go now
        ("-5", None),
        ("1.5", None),
        ("soon", None),
        ("", None),
    ],
)
def test_retry_after_in_both_forms(header, expected):
    now = datetime(2026, 10, 21, 7, 28, 0, tzinfo=UTC).timestamp()
    assert parse_retry_after(header, now) == expected


def test_retry_after_date_written_by_the_standard_library_round_trips():
    when = datetime(2030, 1, 1, 12, 0, 0, tzinfo=UTC)
    assert parse_retry_after(format_datetime(when, usegmt=True), when.timestamp() - 90) == 90


@pytest.mark.parametrize(
    "kwargs",
    [
        {"attempts": 0},
        {"schedule": ()},
        {"schedule": (0, 60, 5)},
        {"schedule": (0, -1)},
        {"jitter": 1.0},
        {"max_delay": -1},
    ],
)
def test_nonsense_policies_are_refused(kwargs):
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)


policies = st.builds(
    RetryPolicy.exponential,
    attempts=st.integers(1, 30),
    first=st.floats(0.01, 600),
    factor=st.floats(1, 10),
    max_delay=st.floats(1, 86400),
    jitter=st.floats(0, 0.5),
)


@given(policies)
def test_the_base_schedule_is_monotone_and_capped(policy):
    bases = [policy.base_delay(n) for n in range(1, policy.attempts + 3)]
    assert all(a <= b for a, b in itertools.pairwise(bases))
    assert all(b <= policy.max_delay for b in bases)


@given(policies, st.integers(1, 40), st.text(max_size=20), st.none() | st.floats(0, 10**7))
def test_every_retry_is_within_the_jitter_band_and_the_cap(policy, attempt, key, retry_after):
    error = DeliveryError(ErrorKind.throttled, "x", status=429, retry_after=retry_after)
    decision = policy.decide(attempt, error, NOW, key=key)
    if attempt >= policy.attempts:
        assert isinstance(decision, Dead)
        return
    assert isinstance(decision, Retry)
    base = policy.base_delay(attempt)
    assert 0 <= decision.delay <= policy.max_delay
    assert decision.delay >= base * (1 - policy.jitter) - 1e-9
    if retry_after is not None:
        assert decision.delay >= min(retry_after, policy.max_delay)
    assert decision.at == NOW + decision.delay
