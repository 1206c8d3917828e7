"""Route lag and SLAs: the age of each route's oldest undelivered change, against its `sla`.

A route is *in breach* when its oldest undelivered change was accepted longer ago than its SLA.
The first check that finds a breach opens one `sla_breach` exception for the route; later checks
leave it open (one exception per breach, not one per check); the first check that finds the route
back within its SLA resolves it, with the time it lasted in the audit trail's place, the detail.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..config.model import SyncMap
from ..store.base import NewException, Store
from ..store.outbox import OutboxQueue


@dataclass(frozen=True, slots=True)
class RouteLag:
    """One route's backlog as `status` and the dashboard show it."""

    route: str
    pending: int
    in_flight: int
    lag_s: float  # age of the oldest undelivered change (0 when nothing waits)
    sla_s: float | None
    mode: str

    @property
    def breached(self) -> bool:
        return self.sla_s is not None and self.lag_s > self.sla_s

    def as_dict(self) -> dict[str, object]:
        return {
            "route": self.route,
            "pending": self.pending,
            "in_flight": self.in_flight,
            "lag_s": round(self.lag_s, 3),
            "sla_s": self.sla_s,
            "mode": self.mode,
            "breached": self.breached,
        }


def route_lags(syncmap: SyncMap, store: Store, now_us: int) -> list[RouteLag]:
    """Every route of the sync map with its backlog and lag now."""
    backlog = OutboxQueue(store).backlog()  # type: ignore[arg-type]
    lags = []
    for route in syncmap.routes:
        b = backlog.get(route.name)
        lag = 0.0 if b is None or b.oldest_us is None else max(0.0, (now_us - b.oldest_us) / 1e6)
        lags.append(
            RouteLag(
                route.name,
                b.pending if b else 0,
                b.in_flight if b else 0,
                lag,
                route.sla,
                route.mode,
            )
        )
    return lags


def check_slas(syncmap: SyncMap, store: Store, now_us: int) -> list[RouteLag]:
    """Open an `sla_breach` exception for each route newly in breach; resolve those back within."""
    lags = route_lags(syncmap, store, now_us)
    open_breaches(store, [lag for lag in lags if lag.breached], now_us)
    open_by_route = {
        e.route: e for e in store.list_exceptions(state="open", kind="sla_breach", limit=10_000) if e.route
    }
    healed = [open_by_route[lag.route].id for lag in lags if not lag.breached and lag.route in open_by_route]
    if healed:
        store.resolve_exceptions(healed, now_us)
    return lags


def open_breaches(store: Store, breached: list[RouteLag], now_us: int) -> int:
    """One open `sla_breach` per route in `breached`, whoever else checks at the same time.

    Which routes already have one is read inside the transaction that opens the others, under
    a lock every checker takes (PostgreSQL: an advisory lock; SQLite has one writer), so two
    dispatcher processes checking at once open one exception, not two."""
    if not breached:
        return 0
    with store.write() as tx:
        tx.lock_keys([_SLA_LOCK])
        have = {
            e.route for e in store.list_exceptions(state="open", kind="sla_breach", limit=10_000) if e.route
        }
        opened = [
            NewException(
                "sla_breach",
                f"route {lag.route!r}: oldest undelivered change is {lag.lag_s:.0f} s old, over its SLA "
                f"of {lag.sla_s:.0f} s ({lag.pending} pending, {lag.in_flight} in flight)",
                route=lag.route,
                detail=lag.as_dict(),
            )
            for lag in breached
            if lag.route not in have
        ]
        if opened:
            tx.open_exceptions(opened, now_us)
    return len(opened)


_SLA_LOCK = "logisync:sla-check"
