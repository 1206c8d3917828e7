"""Scenario files: the systems, the sync map's overrides, the traffic, the faults and the invariants.

A scenario is a YAML file (see `scenarios/` and docs/simulator.md). Times are sim time, written as
durations (`90s`, `20m`, `4h`); `compression` is how many sim seconds pass per real second, so a
simulated day at `compression: 2880` runs in 30 s. Errors name the file, the line and the key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError, model_validator

from ..config.durations import parse_duration
from ..config.loader import _duplicate_keys, _line_index, _locate, _problems
from ..errors import ConfigError

Seconds = Annotated[float, BeforeValidator(parse_duration)]
CHANNELS = ("shop", "market", "retailer")  # the two simulated marketplaces and the EDI retailer
SYSTEMS = ("wms", "erp", "shop", "market", "carrier", "retailer")
SystemName = Literal["wms", "erp", "shop", "market", "carrier", "retailer"]
Channel = Literal["shop", "market", "retailer"]
# sim time, as durations
DURATION_KNOBS = ("pick_delay", "ship_delay", "return_delay", "leg", "late_by", "poll")
EDI_FAULT_TIMES = ("ack_delay",)  # an EDI partner's fault knobs written as durations
EDI_FAULT_LISTS = ("bad_files_at", "duplicates_at")


def _all_systems() -> dict[SystemName, dict[str, Any]]:
    return {"wms": {}, "erp": {}, "shop": {}, "market": {}, "carrier": {}}


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Span(Section):
    """A range `[low, high]`, both included, written as a two-item list."""

    low: float
    high: float

    @model_validator(mode="before")
    @classmethod
    def _from_list(cls, value: Any) -> Any:
        if isinstance(value, int | float) and not isinstance(value, bool):
            return {"low": value, "high": value}
        if isinstance(value, list | tuple):
            if len(value) != 2:
                raise ValueError("write a range as [low, high]")
            return {"low": value[0], "high": value[1]}
        return value

    @model_validator(mode="after")
    def _ordered(self) -> Span:
        if self.low < 0 or self.high < self.low:
            raise ValueError(f"[{self.low}, {self.high}] is not a range of non-negative numbers, low first")
        return self


class Catalog(Section):
    """The products and the stock the scenario starts with."""

    skus: int = Field(default=10, ge=1, le=10_000)  # SKU-001, SKU-002, ...
    prefix: str = Field(default="SKU-", pattern=r"^[A-Z][A-Z0-9\-]{0,10}$")
    locations: list[str] = Field(default_factory=lambda: ["DC1"], min_length=1)
    on_hand: Span = Span(low=20, high=60)  # per position, drawn at random

    def sku_keys(self) -> list[str]:
        width = max(3, len(str(self.skus)))
        return [f"{self.prefix}{i:0{width}d}" for i in range(1, self.skus + 1)]


class CycleCount(Section):
    """At `at`, the WMS counts a position and finds `delta` units more (or fewer) than it holds."""

    at: Seconds
    sku: str
    location: str = "DC1"
    delta: int


class Sale(Section):
    """A burst: at `at`, each channel places `orders[channel]` orders of `quantity` units of `sku` at once."""

    at: Seconds
    sku: str
    orders: dict[Literal["shop", "market"], int]
    quantity: int = Field(default=1, ge=1)


class Movement(Section):
    """A scripted stock movement at the WMS: a receipt (`delta` > 0) or an adjustment."""

    at: Seconds
    sku: str
    location: str = "DC1"
    delta: int
    reason: str = "receipt"


class Traffic(Section):
    """Steady traffic (Poisson arrivals in sim time) and scripted events."""

    orders_per_hour: dict[Channel, float] = Field(default_factory=dict)
    lines: Span = Span(low=1, high=2)
    quantity: Span = Span(low=1, high=2)
    cancel: float = Field(default=0.0, ge=0, le=1)  # share of orders cancelled soon after they were placed
    returns: float = Field(default=0.0, ge=0, le=1)  # share of orders returned (one line) after they shipped
    receipts_per_hour: float = Field(default=0.0, ge=0)  # WMS receipts of `receipt_units` each
    receipt_units: Span = Span(low=10, high=40)
    adjustments_per_hour: float = Field(default=0.0, ge=0)  # damage (-1) and found (+1) at the WMS
    cycle_counts: list[CycleCount] = Field(default_factory=list)
    sales: list[Sale] = Field(default_factory=list)
    movements: list[Movement] = Field(default_factory=list)


class KpiBounds(Section):
    """What the KPIs must stay within (docs/simulator.md lists them); a bound on a KPI with no data
    fails (`invariants.kpis`)."""

    # at least: shipped units / ordered units (less cancelled) of the orders not cancelled
    fill_rate: float | None = Field(default=None, ge=0, le=1)
    # the KPI engine's figures over the run (docs/kpis.md): at least, as ratios
    otif: float | None = Field(default=None, ge=0, le=1)
    order_accuracy: float | None = Field(default=None, ge=0, le=1)
    fill_rate_lines: float | None = Field(default=None, ge=0, le=1)
    edi_acks_on_time: float | None = Field(default=None, ge=0, le=1)
    order_to_ship_p90: Seconds | None = None  # at most (sim time from placed_at to shipped_at)
    lag_p95: Seconds | None = None  # at most, for every route that delivered (sim seconds)
    exceptions: dict[str, int] = Field(default_factory=dict)  # at most this many open, by kind


class Invariants(Section):
    convergence: bool = True
    no_oversell: bool = True
    no_double_shipment: bool = True
    nothing_lost: bool = True
    edi_exchange: bool = True  # with an EDI retailer: every 850 answered, 855 and 856 as shipped
    kpis: KpiBounds = Field(default_factory=KpiBounds)


class Scenario(Section):
    """One scenario file, parsed. `faults` and `systems` are handed to the simulated systems as written."""

    name: str
    description: str = ""
    duration: Seconds  # sim time of traffic and faults
    settle: Seconds = 1800.0  # sim time allowed after the faults stop for every view to converge
    compression: float = Field(default=60.0, gt=0, le=100_000)
    seed: int = 1
    store: str | None = None  # default: a fresh SQLite file in a temporary folder
    systems: dict[SystemName, dict[str, Any]] = Field(default_factory=_all_systems)
    catalog: Catalog = Field(default_factory=Catalog)
    traffic: Traffic = Field(default_factory=Traffic)
    faults: dict[str, dict[str, Any]] = Field(default_factory=dict)
    syncmap: dict[str, Any] = Field(default_factory=dict)  # overrides, see `sim/runner.py`
    invariants: Invariants = Field(default_factory=Invariants)
    source: str = Field(default="<scenario>", exclude=True)

    @property
    def real_seconds(self) -> float:
        """How long the scenario takes in real time (traffic, then at most the settle time)."""
        return (self.duration + self.settle) / self.compression


def _references(scenario: Scenario) -> list[tuple[tuple[str | int, ...], str]]:
    """What the schema cannot see: SKUs, locations and systems named elsewhere in the file."""
    problems: list[tuple[tuple[str | int, ...], str]] = []
    skus = set(scenario.catalog.sku_keys())
    traffic = scenario.traffic
    for i, sale in enumerate(traffic.sales):
        if sale.sku not in skus:
            problems.append((("traffic", "sales", i, "sku"), f"{sale.sku!r} is not in the catalog"))
        for channel in sale.orders:
            if channel not in scenario.systems:
                problems.append((("traffic", "sales", i, "orders", channel), "not one of the systems"))
    for name in ("cycle_counts", "movements"):
        for i, item in enumerate(getattr(traffic, name)):
            if item.sku not in skus:
                problems.append((("traffic", name, i, "sku"), f"{item.sku!r} is not in the catalog"))
            if item.location not in scenario.catalog.locations:
                problems.append(
                    (("traffic", name, i, "location"), f"{item.location!r} is not in the catalog")
                )
    for seller in traffic.orders_per_hour:
        if seller not in scenario.systems:
            problems.append((("traffic", "orders_per_hour", seller), "not one of the systems"))
    for system in scenario.faults:
        if system not in scenario.systems:
            problems.append((("faults", system), f"not one of the systems ({', '.join(scenario.systems)})"))
    if "wms" not in scenario.systems:
        problems.append((("systems",), "a scenario needs the wms (it holds the stock)"))
    return problems


def load_scenario(path: str | Path) -> Scenario:
    """Read and check a scenario file; raise ConfigError naming the file, line and key."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the scenario: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: the scenario is not UTF-8 text (byte {exc.start}: {exc.reason})") from exc
    return parse_scenario(text, str(path))


def parse_scenario(text: str, filename: str = "<scenario>") -> Scenario:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{filename}:{mark.line + 1}" if mark else filename
        raise ConfigError(f"{where}: not valid YAML: {getattr(exc, 'problem', None) or exc}") from exc
    duplicates = _duplicate_keys(node, filename)
    if duplicates:
        raise ConfigError("\n".join(duplicates))
    if not isinstance(data, dict):
        raise ConfigError(f"{filename}:1: a scenario is a mapping (name:, duration:, traffic:, ...)")
    lines = _line_index(node)
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        problems = [_locate(filename, lines, loc, msg) for loc, msg in _problems(exc)]
        raise ConfigError("\n".join(dict.fromkeys(problems))) from None
    problems = [_locate(filename, lines, loc, msg) for loc, msg in _references(scenario)]
    if problems:
        raise ConfigError("\n".join(problems))
    scenario.source = filename
    if scenario.faults:
        _check_faults(scenario, filename, lines)
    _check_systems(scenario, filename, lines)
    return scenario


def _check_systems(scenario: Scenario, filename: str, lines: dict[Any, int]) -> None:
    """Each system's knobs are ones its simulated system takes, so a typo fails here, not mid-run."""
    import inspect

    from .carrier import SimCarrier
    from .edi_retailer import SimEdiRetailer
    from .erp import SimErp
    from .marketplace import SimMarketplace
    from .system import SimSystem
    from .wms import SimWms

    classes: dict[str, type] = {
        "wms": SimWms,
        "erp": SimErp,
        "carrier": SimCarrier,
        "retailer": SimEdiRetailer,
    }
    base = {"rate", "burst"}  # SimSystem's own knobs every system passes on
    fixed = {"name", "clock", "faults", "seed", "kw"}  # set by the runner
    for system, options in scenario.systems.items():
        cls = classes.get(system, SimMarketplace)
        if cls is SimEdiRetailer:  # a folder, not an HTTP server: no rate limit of its own
            known = set(inspect.signature(cls).parameters) - fixed - {"folder"}
        else:
            known = (set(inspect.signature(cls).parameters) | base) - fixed
            known |= set(inspect.signature(SimSystem.__init__).parameters) - fixed - {"self"}
        for name, value in options.items():
            where = _locate(filename, lines, ("systems", system, name), "")
            if name not in known:
                raise ConfigError(f"{where}not a knob of the {system} (known: {', '.join(sorted(known))})")
            if name in DURATION_KNOBS:
                try:
                    options[name] = parse_duration(value)
                except ValueError as exc:
                    raise ConfigError(f"{where}{exc}") from None


def _check_faults(scenario: Scenario, filename: str, lines: dict[Any, int]) -> None:
    """Each system's faults through the simulator's own parser, so a typo fails here, not mid-run."""
    from .faults import EdiFaults, Faults

    for system, raw in scenario.faults.items():
        where = _locate(filename, lines, ("faults", system), "").rstrip(": ")
        try:
            (EdiFaults if system == "retailer" else Faults).from_dict(fault_dict(raw, where), where)
        except (ValueError, TypeError) as exc:
            raise ConfigError(str(exc)) from None


def fault_dict(raw: dict[str, Any], where: str) -> dict[str, Any]:
    """A scenario's faults as `Faults.from_dict` takes them: outage windows `{at, for}` in sim seconds."""
    data = dict(raw)
    outages = []
    for i, window in enumerate(data.get("outages") or []):
        if not isinstance(window, dict) or set(window) != {"at", "for"}:
            raise ValueError(f"{where}.outages[{i}]: write an outage as {{at: 20m, for: 10m}}")
        try:
            start = parse_duration(window["at"])
            outages.append({"start": start, "end": start + parse_duration(window["for"])})
        except ValueError as exc:
            raise ValueError(f"{where}.outages[{i}]: {exc}") from None
    if "outages" in data:
        data["outages"] = outages
    try:
        for name in EDI_FAULT_TIMES:
            if isinstance(data.get(name), str):
                data[name] = parse_duration(data[name])
        for name in EDI_FAULT_LISTS:
            if isinstance(data.get(name), list):
                data[name] = [parse_duration(v) if isinstance(v, str) else v for v in data[name]]
    except ValueError as exc:
        raise ValueError(f"{where}.{name}: {exc}") from None
    return data


__all__ = ["Scenario", "fault_dict", "load_scenario", "parse_scenario"]
