"""KPIs for a window or as a time series: windows read from what people write (`7d`, an ISO
time), the store read once, each bucket computed by the same engine."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..config.durations import parse_duration
from ..domain.change import from_us, now_us, to_us
from ..store.kpi_reads import read_kpi_tables
from .engine import HOUR_US, KpiEngine, KpiValue

if TYPE_CHECKING:
    from ..config.model import SyncMap
    from ..store import Store

MAX_BUCKETS = 1000


def parse_moment(text: str, now: int, what: str) -> int:
    """µs since the epoch for an ISO time (naive is UTC) or a duration ago (`7d`, `12h`)."""
    try:
        return now - int(parse_duration(text) * 1_000_000)
    except ValueError:
        pass
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            f"{what} {text!r}: write a duration ago (7d, 12h) or an ISO time (2026-11-01T00:00:00Z)"
        ) from None
    return to_us(moment if moment.tzinfo else moment.replace(tzinfo=UTC))


@dataclass(slots=True)
class Window:
    since_us: int
    until_us: int

    @classmethod
    def parse(cls, since: str, until: str | None = None, *, now: int | None = None) -> Window:
        now = now_us() if now is None else now
        start = parse_moment(since, now, "since")
        end = parse_moment(until, now, "until") if until else now
        if end <= start:
            raise ValueError(
                f"the window is empty: since {from_us(start).isoformat()} is not before until {from_us(end).isoformat()}"
            )
        return cls(start, end)

    def as_dict(self) -> dict[str, str]:
        return {"since": from_us(self.since_us).isoformat(), "until": from_us(self.until_us).isoformat()}


def _engine(store: Store, syncmap: SyncMap | None, window: Window, otif_within_h: float) -> KpiEngine:
    tables = read_kpi_tables(store, window.since_us, window.until_us)  # type: ignore[arg-type]
    targets = {r.name: r.to for r in syncmap.routes} if syncmap is not None else {}
    return KpiEngine(tables, route_targets=targets, otif_within_us=int(otif_within_h * HOUR_US))


def compute(
    store: Store,
    window: Window,
    *,
    by: str | None = None,
    syncmap: SyncMap | None = None,
    otif_within_h: float = 48,
) -> list[KpiValue]:
    """Every KPI over the window."""
    with _engine(store, syncmap, window, otif_within_h) as engine:
        return engine.compute(window.since_us, window.until_us, by)


def series(
    store: Store,
    window: Window,
    bucket_s: float,
    *,
    by: str | None = None,
    syncmap: SyncMap | None = None,
    otif_within_h: float = 48,
) -> list[dict[str, Any]]:
    """The KPIs bucket by bucket across the window: `[{start, end, kpis: [...]}]`, oldest first."""
    step = int(bucket_s * 1_000_000)
    if step <= 0:
        raise ValueError("a bucket must be longer than 0")
    if (window.until_us - window.since_us) / step > MAX_BUCKETS:
        raise ValueError(f"more than {MAX_BUCKETS} buckets: choose a longer bucket or a shorter window")
    out = []
    with _engine(store, syncmap, window, otif_within_h) as engine:
        start = window.since_us
        while start < window.until_us:
            end = min(start + step, window.until_us)
            out.append(
                {
                    "start": from_us(start).isoformat(),
                    "end": from_us(end).isoformat(),
                    "kpis": [v.as_dict() for v in engine.compute(start, end, by)],
                }
            )
            start = end
    return out
