"""Fault knobs of a simulated system: outages, errors, throttling, latency, webhook mischief."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Window:
    """An interval of sim seconds from the scenario's start, end excluded."""

    start: float
    end: float

    def holds(self, at: float) -> bool:
        return self.start <= at < self.end


_SHARES = (
    "error_rate",
    "throttle_rate",
    "drop_webhooks",
    "duplicate_events",
    "reorder_events",
    "bad_records",
)


@dataclass
class Faults:
    """What goes wrong with a system, and how often (shares are 0..1 of calls or webhooks)."""

    outages: list[Window] = field(default_factory=list)  # 503 to everything, nothing sent
    error_rate: float = 0.0  # share of calls answered 500
    throttle_rate: float = 0.0  # extra share answered 429 (besides the real rate limit)
    retry_after: float = 1.0  # seconds in Retry-After
    latency: tuple[float, float] = (0.0, 0.0)  # seconds, uniform min..max, on each call answered
    drop_webhooks: float = 0.0  # share of webhooks "sent" but never delivered
    duplicate_events: float = 0.0  # share of webhooks sent twice
    reorder_events: float = 0.0  # share of webhooks held back and sent after the next one
    bad_records: float = 0.0  # share of webhooks with a malformed record

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str) -> Faults:
        """Faults from a plain mapping; ValueError names the field (`where.field`) that is wrong."""
        if not isinstance(data, Mapping):
            raise ValueError(f"{where}: faults are a mapping of knob: value")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"{where}.{unknown[0]}: not a fault knob (known: {', '.join(sorted(known))})")
        faults = cls()
        for name in _SHARES:
            if name in data:
                setattr(faults, name, _share(data[name], f"{where}.{name}"))
        if "retry_after" in data:
            faults.retry_after = _seconds(data["retry_after"], f"{where}.retry_after")
        if "latency" in data:
            faults.latency = _latency(data["latency"], f"{where}.latency")
        if "outages" in data:
            faults.outages = _outages(data["outages"], f"{where}.outages")
        return faults

    def active_outage(self, at: float) -> bool:
        return any(window.holds(at) for window in self.outages)


def _number(value: Any, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{where}: expected a number, got {value!r}")
    return float(value)


def _share(value: Any, where: str) -> float:
    number = _number(value, where)
    if not 0.0 <= number <= 1.0:
        raise ValueError(f"{where}: a share is between 0 and 1, got {value!r}")
    return number


def _seconds(value: Any, where: str) -> float:
    number = _number(value, where)
    if number < 0:
        raise ValueError(f"{where}: seconds cannot be negative, got {value!r}")
    return number


def _latency(value: Any, where: str) -> tuple[float, float]:
    if isinstance(value, int | float) and not isinstance(value, bool):
        low = high = _seconds(value, where)
    elif isinstance(value, list | tuple) and len(value) == 2:
        low, high = _seconds(value[0], f"{where}[0]"), _seconds(value[1], f"{where}[1]")
    else:
        raise ValueError(f"{where}: write latency as seconds or [min, max], got {value!r}")
    if low > high:
        raise ValueError(f"{where}: min {low} is above max {high}")
    return (low, high)


def _outages(value: Any, where: str) -> list[Window]:
    if not isinstance(value, list):
        raise ValueError(f"{where}: a list of {{start, end}} windows in sim seconds")
    windows = []
    for i, item in enumerate(value):
        here = f"{where}[{i}]"
        if not isinstance(item, Mapping) or set(item) != {"start", "end"}:
            raise ValueError(f"{here}: an outage is {{start, end}} in sim seconds, got {item!r}")
        start, end = _seconds(item["start"], f"{here}.start"), _seconds(item["end"], f"{here}.end")
        if end <= start:
            raise ValueError(f"{here}: end {end} is not after start {start}")
        windows.append(Window(start, end))
    return windows


@dataclass
class EdiFaults(Faults):
    """A trading partner's faults (`sim/edi_retailer.py`), besides the outage windows of `Faults`
    (while one holds, the partner neither picks up nor drops off files).

    Shares are of the purchase orders it sends (`bad_files`, `duplicate_interchanges`) or of the
    997s it owes the hub (`late_acks`, `no_acks`); `bad_files_at` and `duplicates_at` script one
    each at a sim time (the first purchase order sent at or after it)."""

    bad_files: float = 0.0  # share of 850 files sent with a broken SE01 segment count
    duplicate_interchanges: float = 0.0  # share of 850 interchanges sent again, same ISA13, same bytes
    late_acks: float = 0.0  # share of 997s sent `ack_delay` late
    ack_delay: float = 1800.0  # sim seconds a late 997 waits
    no_acks: float = 0.0  # share of the hub's interchanges never acknowledged
    bad_files_at: list[float] = field(default_factory=list)
    duplicates_at: list[float] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str) -> EdiFaults:
        if not isinstance(data, Mapping):
            raise ValueError(f"{where}: faults are a mapping of knob: value")
        own = {"bad_files", "duplicate_interchanges", "late_acks", "ack_delay", "no_acks"}
        own |= {"bad_files_at", "duplicates_at"}
        base = Faults.from_dict({k: v for k, v in data.items() if k not in own}, where)
        faults = cls(**{f.name: getattr(base, f.name) for f in dataclasses.fields(Faults)})
        for name in ("bad_files", "duplicate_interchanges", "late_acks", "no_acks"):
            if name in data:
                setattr(faults, name, _share(data[name], f"{where}.{name}"))
        if "ack_delay" in data:
            faults.ack_delay = _seconds(data["ack_delay"], f"{where}.ack_delay")
        for name in ("bad_files_at", "duplicates_at"):
            if name in data:
                value = data[name]
                if not isinstance(value, list):
                    raise ValueError(f"{where}.{name}: a list of sim times, e.g. [30m]")
                setattr(faults, name, [_seconds(v, f"{where}.{name}[{i}]") for i, v in enumerate(value)])
        return faults
