"""The busy-retry policy: bounded tries, full-jitter exponential waits under a cap."""

from __future__ import annotations

import pytest

from logisync.pipeline.contention import BusyRetry


def test_waits_grow_to_the_cap_and_stop_after_the_last_try():
    policy = BusyRetry(attempts=8, base_s=0.01, cap_s=0.25)
    ceilings = [policy.decide(n, 0.999999) for n in range(1, 8)]
    assert ceilings == pytest.approx([0.01, 0.02, 0.04, 0.08, 0.16, 0.25, 0.25], rel=1e-4)
    assert policy.decide(8, 0.5) is None
    assert sum(c for c in ceilings if c) < 0.82  # the whole wait is bounded


def test_the_wait_is_spread_from_zero_to_its_ceiling():
    policy = BusyRetry()
    assert policy.decide(3, 0.0) == 0.0
    assert policy.decide(3, 0.5) == pytest.approx(0.02)
    waits = {policy.decide(2, u / 10) for u in range(10)}
    assert len(waits) == 10  # two writers that collided draw different waits


def test_a_policy_that_makes_no_sense_is_refused():
    with pytest.raises(ValueError, match="at least 1"):
        BusyRetry(attempts=0)
    with pytest.raises(ValueError, match="negative"):
        BusyRetry(base_s=-1)
