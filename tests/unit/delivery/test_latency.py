"""A route's delivery latency histogram: each row in the first bucket that holds it, cumulative
as Prometheus reads it, a clock behind the sender's counted as 0."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from logisync.delivery.latency import BUCKETS, LatencyHistogram


def test_a_row_falls_in_the_first_bucket_at_least_as_long():
    h = LatencyHistogram()
    for seconds in (0.05, 0.1, 0.2, 3600.0, 7200.0):
        h.observe(seconds)
    got = dict(h.cumulative())
    assert got["0.1"] == 2  # 0.05 and exactly 0.1 (le: at most)
    assert got["0.25"] == 3
    assert got["3600.0"] == 4
    assert got["+Inf"] == 5
    assert h.total == 0.05 + 0.1 + 0.2 + 3600.0 + 7200.0


def test_a_negative_time_counts_as_zero():
    h = LatencyHistogram()
    h.observe(-2.0)
    assert dict(h.cumulative())["0.1"] == 1 and h.total == 0.0


@given(st.lists(st.floats(min_value=-10, max_value=1e6, allow_nan=False), max_size=200))
def test_cumulative_counts_match_a_direct_count(values):
    h = LatencyHistogram()
    for v in values:
        h.observe(v)
    got = h.cumulative()
    assert [le for le, _ in got] == [*map(str, BUCKETS), "+Inf"]
    for le, n in got:
        bound = float("inf") if le == "+Inf" else float(le)
        assert n == sum(1 for v in values if max(v, 0.0) <= bound)
