"""Scheduled reconciliations: each `reconcile` entry with a `schedule` (cron) and a `source` runs at
its ticks inside `logisync serve`, one at a time, off the event loop."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from croniter import croniter

from ..config.reconcile import ReconcileConfig
from ..domain.change import now_us
from ..store.reconcile_runs import list_runs

if TYPE_CHECKING:
    from ..config.model import SyncMap
    from ..store import Store

log = logging.getLogger("logisync.reconcile")
POLL_SECONDS = 30.0


def scheduled(syncmap: SyncMap) -> list[ReconcileConfig]:
    """The reconciliations that run on a schedule."""
    return [c for c in syncmap.reconcile if c.schedule and c.source is not None]


def next_tick(schedule: str, after_us: int) -> int:
    """The first tick of a cron schedule strictly after a moment (µs since the epoch, UTC)."""
    base = datetime.fromtimestamp(after_us / 1_000_000, tz=UTC)
    return int(croniter(schedule, base).get_next(datetime).timestamp() * 1_000_000)


def due(config: ReconcileConfig, last_started_us: int | None, started_us: int, now: int) -> bool:
    """Whether a reconciliation is due: a tick has passed since its last run (or, never run, since
    the hub started: a restart does not run every reconciliation at once)."""
    assert config.schedule is not None
    return next_tick(config.schedule, last_started_us or started_us) <= now


async def run_schedule(
    store: Store,
    syncmap: SyncMap,
    stop: asyncio.Event,
    *,
    env: Mapping[str, str] | None = None,
    on_done: Callable[[], None] | None = None,
    clock: Callable[[], int] = now_us,
    poll: float = POLL_SECONDS,
) -> None:
    """Run each scheduled reconciliation when it is due, until `stop` is set. A failed run is
    recorded as failed in the run history (and logged); the schedule goes on."""
    from .run import Reconciler

    configs = scheduled(syncmap)
    if not configs:
        return
    started = clock()
    reconciler = Reconciler(store, syncmap, env=env)
    while not stop.is_set():
        for config in configs:
            if stop.is_set():
                return
            runs = list_runs(store, name=config.label, limit=1)  # type: ignore[arg-type]
            if not due(config, runs[0].started_us if runs else None, started, clock()):
                continue
            try:
                await asyncio.to_thread(reconciler.run, config)
            except Exception as exc:  # recorded in the run history by the reconciler
                log.warning("reconciliation %s failed: %s", config.label, exc)
            if on_done is not None:
                on_done()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=poll)
