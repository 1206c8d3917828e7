"""Running a scenario: the hub and the simulated systems up, the traffic and the faults, then the
faults off and time to settle, then the invariants and the report.

Phases: seeding (products and opening stock, then a wait of at most `SEEDED` real seconds until
the hub holds the opening stock and every checked route delivered it, so the traffic starts from
systems in agreement however slow the machine), then, in sim time from the end of seeding (the
clock's `restart()`), traffic until
`duration` (faults on per their windows and rates), then every system's `quiesce()` and up to
`settle` for the views to converge (the run ends early once every checked route agrees, the
outbox is empty and no system has work under way: a pick, a parcel still moving), then the checks. `progress(phase, done, total)` is called as it goes, in sim
seconds, for the progress bar.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..domain.kinds import Domain
from ..errors import ConfigError
from ..redact import redact_url
from ..store import open_store
from . import invariants
from .edi_invariant import edi_exchange
from .hub import Hub, bind_loopback, in_sim_time, merge_overrides, validated
from .report import Report
from .scenario import Scenario, fault_dict
from .traffic import Traffic

Progress = Callable[[str, float, float], None]
POLL = 0.1  # real seconds between convergence checks while settling
QUIET_POLLS = 3  # consecutive agreeing checks (with an empty outbox) that end the settling early
SEEDED = 60.0  # real seconds the seeding waits at most for the opening stock to reach every system


@dataclass(frozen=True)
class Parts:
    """What a run is made of besides the hub: the clock, the systems and their wiring.

    `Parts.simulated()` is the simulated systems of `sim/` (what `logisync simulate` and the demo
    run); tests of the runner itself may pass fakes of the same shape."""

    clock: Callable[[float], Any]  # compression -> a SimClock
    systems: Callable[[Scenario, Any], dict[str, Any]]  # (scenario, clock) -> systems by name, not started
    wiring: Callable[[list[str], str], Any]  # (names, hub url) -> a SimWiring

    @classmethod
    def simulated(cls) -> Parts:
        from .clock import SimClock
        from .syncmap import SimWiring

        return cls(lambda compression: SimClock(compression=compression), build_systems, SimWiring.create)


def build_systems(scenario: Scenario, clock: Any) -> dict[str, Any]:
    """The scenario's simulated systems, with their knobs and faults (not started)."""
    from .carrier import SimCarrier
    from .edi_retailer import SimEdiRetailer
    from .erp import SimErp
    from .faults import EdiFaults, Faults
    from .marketplace import SimMarketplace
    from .wms import SimWms

    def faults(name: str, kind: type[Faults] = Faults) -> Any:
        raw = scenario.faults.get(name)
        return None if raw is None else kind.from_dict(fault_dict(raw, f"faults.{name}"), f"faults.{name}")

    systems: dict[str, Any] = {}
    for i, (name, options) in enumerate(scenario.systems.items()):
        kind = EdiFaults if name == "retailer" else Faults
        common = {"clock": clock, "faults": faults(name, kind), "seed": scenario.seed * 100 + i}
        if name == "wms":
            systems[name] = SimWms(name=name, **common, **options)
        elif name == "erp":
            systems[name] = SimErp(name=name, **common, **options)
        elif name == "carrier":
            systems[name] = SimCarrier(name=name, **common, **options)
        elif name == "retailer":
            systems[name] = SimEdiRetailer(name, **common, **options)
        else:
            systems[name] = SimMarketplace(name, **{"flavour": name, **options}, **common)
    if "carrier" in systems:
        systems["wms"].attach_carrier(systems["carrier"])
    return systems


class Run:
    """One scenario run; `await Run(scenario).run()` returns its `Report`."""

    def __init__(
        self,
        scenario: Scenario,
        *,
        store_url: str | None = None,
        overrides: Mapping[str, Any] | None = None,
        progress: Progress | None = None,
        parts: Parts | None = None,
    ) -> None:
        self.scenario = scenario
        self.parts = parts
        self.store_url = store_url or scenario.store
        self.overrides = overrides or {}
        self.progress = progress or (lambda phase, done, total: None)

    async def run(self) -> Report:
        scenario = self.scenario
        parts = self.parts or Parts.simulated()
        started = time.monotonic()
        with tempfile.TemporaryDirectory(prefix="logisync-sim-") as folder:
            url = self.store_url or f"sqlite:///{Path(folder) / 'hub.db'}"
            clock = parts.clock(scenario.compression)
            systems = parts.systems(scenario, clock)
            for name, system in systems.items():  # a trading partner's folders live with the run
                if hasattr(system, "use_folder"):
                    system.use_folder(Path(folder) / name)
            store = open_store(url)
            if store.count_records():
                store.close()
                raise ConfigError(
                    f"{redact_url(url)} already holds records: a scenario needs an empty store "
                    "(its simulated systems start empty)"
                )
            reader = open_store(url, migrate=False)  # the checks' own connection
            try:
                syncmap, traffic, converged_after = await self._simulate(
                    parts, store, reader, systems, clock, url
                )
                report = self._report(syncmap, reader, systems, traffic, converged_after, clock.elapsed())
            finally:
                reader.close()
                store.close()
        report.real_seconds = time.monotonic() - started
        report.store = redact_url(url) if self.store_url else "a temporary SQLite file"
        return report

    async def _simulate(
        self, parts: Parts, store: Any, reader: Any, systems: dict[str, Any], clock: Any, url: str
    ) -> tuple[Any, Traffic, dict[str, float | None]]:
        """Hub and systems up, seeding, traffic, quiesce, settle; everything stopped again."""
        scenario = self.scenario
        sock = bind_loopback()
        wiring = parts.wiring(list(systems), "http://{}:{}".format(*sock.getsockname()[:2]))
        hub: Hub | None = None
        try:
            for name, system in systems.items():
                await system.start(wiring.links[name])
            data = merge_overrides(wiring.syncmap(systems, url), scenario.syncmap)
            data = merge_overrides(data, self.overrides)
            syncmap = validated(data, scenario.source)  # as written, in sim seconds: for the checks
            hub = Hub(
                validated(in_sim_time(data, scenario.compression), scenario.source), store, wiring.env, sock
            )
            await hub.start()
            traffic = Traffic(scenario, systems, clock, random.Random(scenario.seed))
            self.progress("seeding", 0, scenario.duration)
            await traffic.seed()
            await self._seeded(syncmap, reader, systems)
            clock.restart()
            await self._traffic(traffic, clock)
            for system in systems.values():
                system.quiesce()
            converged_after = await self._settle(syncmap, reader, systems, clock)
            return syncmap, traffic, converged_after
        finally:
            for system in systems.values():
                with contextlib.suppress(Exception):
                    await system.stop()
            if hub is not None:
                await hub.stop()
            else:
                sock.close()

    async def _seeded(self, syncmap: Any, reader: Any, systems: Mapping[str, Any]) -> None:
        """Wait until the hub holds every position the WMS was seeded with and every checked route
        agrees, at most `SEEDED` real seconds (a route that never does is the convergence
        invariant's to report). Without it a scripted sale at 10 sim minutes (2 real seconds at
        300x) could find a channel that had not yet heard of its stock on a loaded machine."""
        opening = list(systems["wms"].view("inventory")) if "wms" in systems else []
        routes = invariants.checked_routes(syncmap, systems)

        def agreed() -> bool:
            return all(reader.get_record(Domain.inventory.value, key) for key in opening) and not any(
                invariants.route_converged(route, reader, systems) for route in routes
            )

        deadline = time.monotonic() + SEEDED
        while not await asyncio.to_thread(agreed) and time.monotonic() < deadline:
            await asyncio.sleep(POLL)

    async def _traffic(self, traffic: Traffic, clock: Any) -> None:
        duration = self.scenario.duration
        running = asyncio.create_task(traffic.run(duration))
        while not running.done():
            self.progress("traffic", min(clock.elapsed(), duration), duration)
            await asyncio.wait([running], timeout=0.2)
        running.result()
        self.progress("traffic", duration, duration)

    async def _settle(
        self, syncmap: Any, reader: Any, systems: Mapping[str, Any], clock: Any
    ) -> dict[str, float | None]:
        """Wait for every checked route to agree (at most `settle` sim seconds); how long each took.

        A route's figure is its longest disagreement after the faults stopped: from the moment it
        was first seen to differ (or from the end of the faults, for one already under way) until
        it was seen to agree again. Traffic scheduled before the end (a parcel still moving) makes
        new, short disagreements while settling; each must be caught up within the SLA. None: the
        route still differs at the end.
        """
        routes = invariants.checked_routes(syncmap, systems)
        checked = {r.name for r in routes}
        quiet_at = clock.elapsed()
        since: dict[str, float | None] = {r.name: 0.0 for r in routes}  # when the open disagreement began
        longest: dict[str, float] = {r.name: 0.0 for r in routes}
        calm = 0
        settle = self.scenario.settle
        while True:
            now = clock.elapsed() - quiet_at
            self.progress("settling", min(now, settle), settle)
            for route in routes:
                same = not await asyncio.to_thread(invariants.route_converged, route, reader, systems)
                began = since[route.name]
                if same and began is not None:
                    longest[route.name] = max(longest[route.name], now - began)
                    since[route.name] = None
                elif not same and began is None:
                    since[route.name] = now
            busy = any(
                route in checked and state in ("pending", "in_flight")
                for (route, state), n in reader.count_outbox().items()
                if n
            )
            working = any(getattr(s, "busy", lambda: False)() for s in systems.values())
            calm = calm + 1 if all(v is None for v in since.values()) and not busy and not working else 0
            if calm >= QUIET_POLLS or now >= settle:
                break
            await asyncio.sleep(POLL)
        self.progress("settling", settle, settle)
        return {name: None if since[name] is not None else longest[name] for name in since}

    def _report(
        self,
        syncmap: Any,
        store: Any,
        systems: Mapping[str, Any],
        traffic: Traffic,
        converged_after: dict[str, float | None],
        sim_seconds: float,
    ) -> Report:
        scenario = self.scenario
        wanted = scenario.invariants
        exceptions: dict[str, dict[str, int]] = {}
        for (kind, state), n in store.count_exceptions().items():
            exceptions.setdefault(kind, {})[state] = n
        open_by_kind = {k: c.get("open", 0) for k, c in exceptions.items()}
        lags = invariants.route_lag_percentiles(store, syncmap, scenario.compression)
        acknowledged = {
            name: [cid for sent in getattr(s, "sent", []) for cid in getattr(sent, "change_ids", None) or []]
            for name, s in systems.items()
        }
        verdicts = []
        if wanted.convergence:
            verdicts.append(invariants.convergence(syncmap, store, systems, converged_after, scenario.settle))
        if wanted.no_oversell:
            verdicts.append(invariants.no_oversell(store, systems["wms"]))
        if wanted.no_double_shipment:
            verdicts.append(invariants.no_double_shipment(store, systems["wms"]))
        if wanted.nothing_lost:
            verdicts.append(invariants.nothing_lost(store, systems, acknowledged))
        if wanted.edi_exchange:
            for system in systems.values():
                if getattr(system, "kind", "") == "edi_partner":
                    verdicts.append(edi_exchange(store, system, systems["wms"]))
        figures = invariants.run_kpis(store)
        verdicts.append(invariants.kpis(wanted.kpis, store, lags, open_by_kind, figures))
        counts = Counter(traffic.counts)
        counts["records_order"] = store.count_records(Domain.order.value)
        return Report(
            scenario=scenario.name,
            source=scenario.source,
            store="",
            sim_seconds=sim_seconds,
            real_seconds=0.0,
            compression=scenario.compression,
            verdicts=verdicts,
            lags=lags,
            exceptions=exceptions,
            traffic=dict(sorted(counts.items())),
            systems={name: dict(getattr(s, "stats", {})) for name, s in systems.items()},
            converged_after=converged_after,
            errors=traffic.errors,
            kpis=[v.as_dict() for v in figures.values()],
        )


def run_scenario(scenario: Scenario, **kw: Any) -> Report:
    """Run a scenario to its report (blocking; see `Run` for the keywords)."""
    return asyncio.run(Run(scenario, **kw).run())
