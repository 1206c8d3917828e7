"""`logisync demo`: the hub on SQLite with the simulated systems making steady traffic, until stopped.

The hub is the real one (`create_app(..., deliver=True)` under uvicorn, as `logisync serve` runs
it) on a fixed port; the WMS, the ERP, the two marketplaces and the carrier are the simulated
systems of `sim/`, on loopback ports, sending signed webhooks and taking the hub's calls, and the
EDI retailer trades X12 through a folder drop in a temporary folder (850s in; 846, 855, 856 and
997s out). The traffic is a small merchant's day at `compression` times real speed (60 by
default: a sim hour per real minute): orders on the three channels, cancellations, returns,
receipts and damage, and now and then a fault (the market down for ten minutes every few hours,
the shop's API failing a call in a hundred, carrier events late, twice or out of order, a
malformed stock message, a broken X12 file, a late 997). The sim clock starts in the past
(`sim_start`), so the orders' `placed_at` and `shipped_at` fall in the KPI windows that end now.

It runs until SIGINT or SIGTERM, then stops the traffic, lets the systems send what they still
hold, stops the hub (its dispatchers finish the calls in flight) and closes the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import shutil
import signal
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from ..redact import redact_url
from ..store import open_store
from .clock import SimClock
from .hub import Hub, bind_loopback, in_sim_time, validated
from .ops import SECRET_ENV, OpsDesk
from .runner import build_systems
from .scenario import Scenario
from .syncmap import SimWiring
from .traffic import Traffic

DEFAULT_STORE = "sqlite:///logisync-demo.db"
# How far back the simulated systems' clock starts: the business times they stamp (an order
# placed, shipped) run `compression` times faster than the wall clock, and the KPI windows end
# now, so starting in the past keeps them inside the window for the first real hour (at most 23
# hours back, so that "the last 24 hours" holds all of them). At 60x the sim reaches the wall
# clock after 23 real minutes; after that its newest times lie ahead and a window counts them as
# the wall clock reaches them.
BEHIND_AT_MOST = 23 * 3600.0
HORIZON = 30 * 86400.0  # sim seconds of fault windows laid out ahead (a month: days of real time)
OUTAGE_EVERY, OUTAGE_FOR = 3 * 3600.0, 600.0  # the market: down ten minutes every three sim hours


def sim_start(compression: float, now: datetime | None = None) -> datetime:
    """When the demo's sim clock starts (see `BEHIND_AT_MOST`): the sim reaches the wall clock after
    a real hour, or 23 sim hours back at most; at 1x or slower, now."""
    now = now or datetime.now(UTC)
    return now - timedelta(seconds=min(BEHIND_AT_MOST, max(0.0, compression - 1) * 3600))


def demo_scenario(compression: float = 60.0, seed: int = 1) -> Scenario:
    """The demo's systems, catalogue, traffic and faults, as a scenario that never ends."""
    outages = [
        {"at": at, "for": OUTAGE_FOR}
        for at in (OUTAGE_EVERY * (i + 1) - 1800 for i in range(int(HORIZON // OUTAGE_EVERY)))
    ]
    return Scenario.model_validate(
        {
            "name": "demo",
            "description": "a small merchant's day, steady, with an occasional fault",
            "duration": HORIZON,
            "compression": compression,
            "seed": seed,
            "systems": {
                "wms": {"pick_delay": 600, "ship_delay": 1800, "short_ship_rate": 0.02, "return_delay": 7200},
                "erp": {},
                "shop": {},
                "market": {},
                "carrier": {"leg": 2 * 3600, "late_rate": 0.1, "late_by": 3600},
                "retailer": {"po_prefix": "BM", "poll": 300},
            },
            "catalog": {"skus": 20, "locations": ["DC1"], "on_hand": [40, 120]},
            "traffic": {
                "orders_per_hour": {"shop": 60, "market": 40, "retailer": 12},
                "lines": [1, 3],
                "quantity": [1, 2],
                "cancel": 0.03,
                "returns": 0.05,
                "receipts_per_hour": 8,
                "receipt_units": [20, 60],
                "adjustments_per_hour": 2,
            },
            "faults": {
                "market": {"outages": outages},
                "shop": {"error_rate": 0.01},
                "carrier": {"duplicate_events": 0.05, "reorder_events": 0.05},
                "wms": {"bad_records": 0.002},
                "retailer": {"bad_files": 0.01, "late_acks": 0.1, "ack_delay": 1800},
            },
        }
    )


@dataclass
class Started:
    """What the demo tells its user once it is up."""

    api: str
    admin_key: str
    store: str
    systems: dict[str, str]  # name -> its API url
    seconds: float  # from the start of `run` until the API answered


class Demo:
    """One demo run: `await Demo(...).run(stop)` until `stop` is set; `on_ready` hears when it is up."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 8400,
        store_url: str | None = None,
        compression: float = 60.0,
        seed: int = 1,
        on_ready: Callable[[Started], None] | None = None,
        on_alert: Callable[[dict[str, Any]], None] | None = None,
    ) -> None:
        self.host, self.port = host, port
        self.store_url = store_url or DEFAULT_STORE
        self.fresh = store_url is None  # the default store is the demo's own: it starts empty each time
        self.scenario = demo_scenario(compression, seed)
        self.on_ready = on_ready or (lambda started: None)
        self.ops = OpsDesk(on_alert or (lambda alert: None))  # where the hub's alerts go
        self.traffic: Traffic | None = None

    def _open_store(self) -> Any:
        if self.fresh:
            path = Path(self.store_url.removeprefix("sqlite:///"))
            for suffix in ("", "-wal", "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    Path(f"{path}{suffix}").unlink()
        store = open_store(self.store_url)
        if store.count_records():
            store.close()
            raise ConfigError(
                f"{redact_url(self.store_url)} already holds records: the demo needs an empty store "
                "(its simulated systems start empty); leave out --store to use its own"
            )
        return store

    async def run(self, stop: asyncio.Event) -> dict[str, int]:
        """Run until `stop` is set; the outcome counts of what the hub received."""
        started = time.monotonic()
        scenario = self.scenario
        try:
            sock = bind_loopback(self.host, self.port)
        except OSError as exc:
            raise ConfigError(
                f"cannot listen on {self.host}:{self.port}: {exc.strerror or exc} (use --port to pick another)"
            ) from None
        clock = SimClock(compression=scenario.compression, start=sim_start(scenario.compression))
        systems = build_systems(scenario, clock)
        folder = Path(tempfile.mkdtemp(prefix="logisync-demo-"))  # the EDI retailer's folder drop
        for name, system in systems.items():
            if hasattr(system, "use_folder"):
                system.use_folder(folder / name)
        try:
            store = self._open_store()
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            sock.close()
            raise
        hub: Hub | None = None
        running: asyncio.Task[None] | None = None
        try:
            host, port = sock.getsockname()[:2]
            wiring = SimWiring.create(list(systems), f"http://{host}:{port}")
            for name, system in systems.items():
                await system.start(wiring.links[name])
            data = wiring.syncmap(systems, self.store_url)
            data["api"]["host"], data["api"]["port"] = host, port
            await self.ops.start(host)
            data["alerts"] = self.ops.alerts_section(scenario.compression)
            syncmap = validated(in_sim_time(data, scenario.compression), "demo")
            hub = Hub(syncmap, store, {**wiring.env, SECRET_ENV: self.ops.secret}, sock)
            await hub.start()
            self.on_ready(
                Started(
                    api=hub.url,
                    admin_key=wiring.env["SIM_ADMIN_KEY"],
                    store=redact_url(self.store_url),
                    systems={name: s.url for name, s in systems.items()},
                    seconds=time.monotonic() - started,
                )
            )
            self.traffic = Traffic(scenario, systems, clock, random.Random(scenario.seed))
            running = asyncio.create_task(self._drive(self.traffic))
            await _first(stop.wait(), running)
        finally:
            if running is not None:
                running.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await running
            for system in systems.values():
                with contextlib.suppress(Exception):
                    await system.stop()
            if hub is not None:
                await hub.stop()
            else:
                sock.close()
            await self.ops.stop()
            counts: dict[str, int] = {}
            for (_, _, outcome), n in store.outcome_counts().items():
                counts[outcome] = counts.get(outcome, 0) + n
            store.close()
            shutil.rmtree(folder, ignore_errors=True)
        if running is not None and not running.cancelled() and running.exception() is not None:
            raise running.exception()  # type: ignore[misc]
        return counts

    async def _drive(self, traffic: Traffic) -> None:
        await traffic.seed()
        await traffic.run(self.scenario.duration)


async def _first(waiting: Any, task: asyncio.Task[None]) -> None:
    """Until `waiting` finishes or `task` ends (the traffic stopping on its own is an error)."""
    waiter = asyncio.ensure_future(waiting)
    try:
        await asyncio.wait([waiter, task], return_when=asyncio.FIRST_COMPLETED)
    finally:
        waiter.cancel()


def run_demo(**kw: Any) -> dict[str, int]:
    """Run the demo in this thread until SIGINT or SIGTERM (the CLI's entry point)."""

    async def main() -> dict[str, int]:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        try:
            return await Demo(**kw).run(stop)
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.remove_signal_handler(sig)

    return asyncio.run(main())
