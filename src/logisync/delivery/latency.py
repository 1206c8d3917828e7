"""A route's delivery latency as a histogram: from accepting the oldest change a delivered outbox
row carries to the target acknowledging it, bucketed as each row is delivered (a bisect and two
additions), read by `/metrics` as `logisync_delivery_latency_seconds`."""

from __future__ import annotations

from bisect import bisect_left
from dataclasses import dataclass, field

# upper bounds in seconds: a quick target answers in well under a second; a route that waits for
# its batch, its rate budget, retries or an open breaker takes minutes to hours
BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0)


@dataclass(slots=True)
class LatencyHistogram:
    """Counts per bucket (`counts[i]`: at most `BUCKETS[i]`, over the one before; the last: above
    every bound) and the sum of the observed seconds."""

    counts: list[int] = field(default_factory=lambda: [0] * (len(BUCKETS) + 1))
    total: float = 0.0

    def observe(self, seconds: float) -> None:
        """One delivered row; a negative time (another host's clock ahead of ours) counts as 0."""
        seconds = max(seconds, 0.0)
        self.counts[bisect_left(BUCKETS, seconds)] += 1
        self.total += seconds

    def cumulative(self) -> list[tuple[str, int]]:
        """Prometheus' buckets: (`le`, rows at most that long), ending with `+Inf` (every row)."""
        out: list[tuple[str, int]] = []
        running = 0
        for bound, n in zip([*map(str, BUCKETS), "+Inf"], list(self.counts), strict=True):
            running += n
            out.append((bound, running))
        return out
