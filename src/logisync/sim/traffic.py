"""The traffic of a scenario: the catalogue seeded, then orders, cancellations, returns and stock
movements over sim time, through the simulated systems' own calls (never straight into the hub).

Steady traffic is a Poisson process per kind (`orders_per_hour` per channel, `receipts_per_hour`,
`adjustments_per_hour`): the gaps are exponential in sim seconds, drawn from the scenario's seed.
Scripted events (`sales`, `cycle_counts`, `movements`) happen at their sim time. What was done is
counted in `Traffic.counts`; a call a system refused or failed is counted, never raised, so one
refusal does not end the scenario (the invariants judge the outcome).
"""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from functools import partial
from typing import Any

from .scenario import Scenario, Span

RETURN_AFTER = 1200.0  # sim seconds after an order is placed before its customer may send it back
RETURN_POLL = 300.0  # how often a pending return looks whether its order has shipped
CANCEL_AFTER = (30.0, 240.0)  # sim seconds after placing: cancellations come early, before picking
SHIPPED = {"shipped", "partially_shipped", "delivered"}


def draw(rng: random.Random, span: Span) -> int:
    return rng.randint(int(span.low), int(span.high))


class Traffic:
    """Drives the systems of one scenario (`systems` by name: wms, erp, shop, market, carrier)."""

    def __init__(
        self, scenario: Scenario, systems: Mapping[str, Any], clock: Any, rng: random.Random
    ) -> None:
        self.scenario = scenario
        self.systems = systems
        self.clock = clock
        self.rng = rng
        self.skus = scenario.catalog.sku_keys()
        self.counts: Counter[str] = Counter()
        self.errors: list[str] = []
        self.orders: dict[str, str] = {}  # order key -> channel
        self._tasks: set[asyncio.Task[Any]] = set()

    # -- seeding ---------------------------------------------------------------------------------
    async def seed(self) -> None:
        """Products at the ERP, then the opening stock received at the WMS (each system tells the hub).

        The calls of each step go at once (the hub commits concurrent batches together), so
        seeding takes little sim time before the traffic starts."""
        erp = self.systems.get("erp")
        if erp is not None:
            await asyncio.gather(
                *(self._call("products", erp.upsert_product(sku, f"Product {sku}")) for sku in self.skus)
            )
        wms = self.systems["wms"]
        opening = self.scenario.catalog.on_hand
        await asyncio.gather(
            *(
                self._call("opening_stock", wms.receive(sku, location, draw(self.rng, opening)))
                for sku in self.skus
                for location in self.scenario.catalog.locations
            )
        )

    # -- running ---------------------------------------------------------------------------------
    async def run(self, until: float) -> None:
        """Generate traffic until sim second `until`; then stop everything still pending."""
        t = self.scenario.traffic
        loops: list[Awaitable[None]] = [
            self._poisson(rate, partial(self._order, channel), until)
            for channel, rate in t.orders_per_hour.items()
            if channel in self.systems
        ]
        loops.append(self._poisson(t.receipts_per_hour, self._receipt, until))
        loops.append(self._poisson(t.adjustments_per_hour, self._adjustment, until))
        scripted: list[tuple[float, Callable[[], Awaitable[None]]]] = []
        scripted += [(s.at, partial(self._sale, s)) for s in t.sales]
        scripted += [(c.at, partial(self._count, c)) for c in t.cycle_counts]
        scripted += [(m.at, partial(self._movement, m)) for m in t.movements]
        loops += [
            self._at(at, action) for at, action in sorted(scripted, key=lambda item: item[0]) if at < until
        ]
        try:
            await asyncio.gather(*loops)
            await self._sleep_until(until)
        finally:
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _poisson(self, per_hour: float, action: Callable[[], Awaitable[None]], until: float) -> None:
        if per_hour <= 0:
            return
        while True:
            await self.clock.sleep(self.rng.expovariate(per_hour / 3600.0))
            if self.clock.elapsed() >= until:
                return
            await action()

    async def _at(self, at: float, action: Callable[[], Awaitable[None]]) -> None:
        await self._sleep_until(at)
        await action()

    async def _sleep_until(self, at: float) -> None:
        wait = at - self.clock.elapsed()
        if wait > 0:
            await self.clock.sleep(wait)

    def _later(self, work: Awaitable[Any]) -> None:
        task = asyncio.ensure_future(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _call(self, what: str, work: Awaitable[Any]) -> Any:
        """Run one system call; count it, or count and keep its error."""
        try:
            result = await work
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.counts[f"{what}_failed"] += 1
            if len(self.errors) < 50:
                self.errors.append(f"{what}: {type(exc).__name__}: {exc}")
            return None
        self.counts[what] += 1
        return result

    # -- the kinds of traffic ----------------------------------------------------------------------
    async def _order(self, channel: str, lines: list[tuple[str, int]] | None = None) -> None:
        t = self.scenario.traffic
        if lines is None:
            skus = self.rng.sample(self.skus, min(len(self.skus), draw(self.rng, t.lines)))
            lines = [(sku, max(1, draw(self.rng, t.quantity))) for sku in skus]
        key = await self._call("order_calls", self.systems[channel].place_order(lines))
        if key is None:
            self.counts["orders_not_sold"] += 1  # the channel's own view had too little to sell
            return
        self.counts[f"orders_{channel}"] += 1
        self.orders[key] = channel
        if self.rng.random() < t.cancel:
            self._later(self._cancel(channel, key))
        elif self.rng.random() < t.returns and hasattr(self.systems[channel], "request_return"):
            # (an EDI retailer sends no returns: its customers bring them to its stores)
            self._later(self._return(channel, key, lines[0][0]))

    async def _cancel(self, channel: str, key: str) -> None:
        await self.clock.sleep(self.rng.uniform(*CANCEL_AFTER))
        await self._call("cancellations", self.systems[channel].cancel(key))

    async def _return(self, channel: str, key: str, sku: str) -> None:
        await self.clock.sleep(RETURN_AFTER)
        market = self.systems[channel]
        while (market.view("order").get(key) or {}).get("status") not in SHIPPED:
            await self.clock.sleep(RETURN_POLL)
        await self._call("returns", market.request_return(key, [(sku, 1)]))

    async def _receipt(self) -> None:
        sku = self.rng.choice(self.skus)
        location = self.rng.choice(self.scenario.catalog.locations)
        await self._call(
            "receipts",
            self.systems["wms"].receive(sku, location, draw(self.rng, self.scenario.traffic.receipt_units)),
        )

    async def _adjustment(self) -> None:
        wms = self.systems["wms"]
        sku = self.rng.choice(self.skus)
        location = self.rng.choice(self.scenario.catalog.locations)
        on_hand = int((wms.view("inventory").get(f"{sku}@{location}") or {}).get("on_hand") or 0)
        if on_hand > 0 and self.rng.random() < 0.7:
            await self._call("adjustments", wms.adjust(sku, location, -1, "damage"))
        else:
            await self._call("adjustments", wms.adjust(sku, location, 1, "found"))

    async def _sale(self, sale: Any) -> None:
        """Every order of the burst at once, across the channels: the race the oversell guard is for."""
        placed = [
            self._order(channel, [(sale.sku, sale.quantity)])
            for channel, n in sale.orders.items()
            for _ in range(n)
        ]
        self.rng.shuffle(placed)
        await asyncio.gather(*placed)
        self.counts["sales"] += 1

    async def _count(self, count: Any) -> None:
        wms = self.systems["wms"]
        on_hand = int((wms.view("inventory").get(f"{count.sku}@{count.location}") or {}).get("on_hand") or 0)
        await self._call("cycle_counts", wms.count(count.sku, count.location, max(0, on_hand + count.delta)))

    async def _movement(self, movement: Any) -> None:
        wms = self.systems["wms"]
        if movement.delta > 0 and movement.reason == "receipt":
            await self._call("receipts", wms.receive(movement.sku, movement.location, movement.delta))
        else:
            await self._call(
                "adjustments", wms.adjust(movement.sku, movement.location, movement.delta, movement.reason)
            )
