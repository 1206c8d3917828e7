"""Sim time: the scenario's clock, running `compression` times faster than the wall clock."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta


class SimClock:
    """sim time = start + (real seconds elapsed) * compression."""

    def __init__(self, compression: float = 1.0, start: datetime | None = None) -> None:
        if compression <= 0:
            raise ValueError(f"compression must be above 0, not {compression}")
        self.compression = compression
        self.start = (start or datetime.now(UTC)).astimezone(UTC)
        self._t0 = time.monotonic()

    def elapsed(self) -> float:
        """Sim seconds since the start."""
        return (time.monotonic() - self._t0) * self.compression

    def now(self) -> datetime:
        """The sim time, aware UTC."""
        return self.start + timedelta(seconds=self.elapsed())

    def restart(self) -> None:
        """Count sim seconds from now again (the traffic's zero); `now()` goes on, never back."""
        self.start, self._t0 = self.now(), time.monotonic()

    def real(self, sim_seconds: float) -> float:
        """Wall-clock seconds that `sim_seconds` take."""
        return max(0.0, sim_seconds) / self.compression

    async def sleep(self, sim_seconds: float) -> None:
        await asyncio.sleep(self.real(sim_seconds))
