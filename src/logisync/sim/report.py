"""A scenario's report: the invariants with their evidence, the KPIs, lag per route, exceptions, traffic."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from .invariants import Verdict


@dataclass
class Report:
    scenario: str
    source: str
    store: str
    sim_seconds: float  # traffic, then settling
    real_seconds: float
    compression: float
    verdicts: list[Verdict]
    lags: dict[str, dict[str, Any]]  # route -> delivered, p50, p95, p99, max (sim seconds), sla
    exceptions: dict[str, dict[str, int]]  # kind -> state -> count
    traffic: dict[str, int]
    systems: dict[str, dict[str, int]]  # system -> its stats (calls, throttled, webhooks_sent, ...)
    converged_after: dict[str, float | None] = field(default_factory=dict)  # route -> sim s after the faults
    errors: list[str] = field(default_factory=list)  # traffic calls that failed, first ones
    kpis: list[dict[str, Any]] = field(default_factory=list)  # the KPI engine's figures over the run

    @property
    def passed(self) -> bool:
        return all(v.passed for v in self.verdicts)

    def verdict(self, name: str) -> Verdict:
        return next(v for v in self.verdicts if v.name == name)

    def as_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "source": self.source,
            "store": self.store,
            "passed": self.passed,
            "sim_seconds": round(self.sim_seconds, 1),
            "real_seconds": round(self.real_seconds, 2),
            "compression": self.compression,
            "invariants": [v.as_dict() for v in self.verdicts],
            "lag": self.lags,
            "converged_after": {
                k: None if v is None else round(v, 1) for k, v in self.converged_after.items()
            },
            "exceptions": self.exceptions,
            "traffic": self.traffic,
            "systems": self.systems,
            "errors": self.errors,
            "kpis": self.kpis,
        }

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2, sort_keys=False, default=str)

    def render(self) -> RenderableType:
        """The report as Rich tables: invariants first, then lag, exceptions and traffic."""
        head = Text.assemble(
            (f"{self.scenario}", "bold"),
            f"  ({self.source}): {_duration(self.sim_seconds)} simulated in {self.real_seconds:.1f} s "
            f"(x{self.compression:g}), store {self.store}",
        )
        checks = Table(title="invariants", title_justify="left")
        checks.add_column("invariant")
        checks.add_column("result")
        checks.add_column("evidence", overflow="fold")
        for v in self.verdicts:
            mark = Text("pass", style="green bold") if v.passed else Text("FAIL", style="red bold")
            evidence = v.summary
            if v.evidence:
                shown = "\n".join(json.dumps(e, default=str, sort_keys=True) for e in v.evidence[:5])
                more = f"\n... and {v.failures - 5} more" if v.failures > 5 else ""
                evidence = f"{v.summary}\n{shown}{more}"
            checks.add_row(v.name, mark, evidence)

        lag = Table(title="lag per route (sim seconds, accepted to delivered)", title_justify="left")
        lag.add_column("route", no_wrap=True)
        for column in ("delivered", "p50", "p95", "p99", "max", "SLA", "converged after"):
            lag.add_column(column, justify="right")
        for route, f in self.lags.items():
            took = self.converged_after.get(route)
            after = (
                "—" if route not in self.converged_after else ("never" if took is None else f"{took:.0f} s")
            )
            sla = "—" if f.get("sla") is None else f"{f['sla']:.0f} s"
            cells = [str(f.get(k, "—")) for k in ("p50", "p95", "p99", "max")]
            lag.add_row(route, str(f.get("delivered", 0)), *cells, sla, after)

        exc = Table(title="exceptions by kind", title_justify="left")
        states = sorted({s for c in self.exceptions.values() for s in c}) or ["open"]
        exc.add_column("kind")
        for s in states:
            exc.add_column(s, justify="right")
        for kind, counts in sorted(self.exceptions.items()):
            exc.add_row(kind, *(str(counts.get(s, 0)) for s in states))
        if not self.exceptions:
            exc.add_row("none", *("0" for _ in states), style="green")

        figures = Table(title="KPIs over the run (sim time; docs/kpis.md)", title_justify="left")
        figures.add_column("KPI")
        figures.add_column("value", justify="right")
        figures.add_column("over", justify="right")
        for k in self.kpis:
            figures.add_row(k["kpi"], _kpi_value(k), str(k["count"]))
        if not self.kpis:
            figures.add_row("none", "—", "0")

        traffic = Table(title="traffic", title_justify="left")
        traffic.add_column("what")
        traffic.add_column("count", justify="right")
        for what, n in sorted(self.traffic.items()):
            traffic.add_row(what, str(n))
        systems = Table(title="simulated systems", title_justify="left")
        stat_names = sorted({s for c in self.systems.values() for s in c})
        systems.add_column("system")
        for s in stat_names:
            systems.add_column(s.replace("_", " "), justify="right")
        for name, stats in sorted(self.systems.items()):
            systems.add_row(name, *(str(stats.get(s, 0)) for s in stat_names))
        verdict = (
            Text("every invariant holds", style="green bold")
            if self.passed
            else Text(f"{sum(not v.passed for v in self.verdicts)} invariants failed", style="red bold")
        )
        parts: list[RenderableType] = [head, checks, figures, lag, exc, traffic, systems]
        if self.errors:
            parts.append(
                Text("traffic calls that failed:\n  " + "\n  ".join(self.errors[:10]), style="yellow")
            )
        parts.append(verdict)
        return Group(*parts)


def _kpi_value(k: dict[str, Any]) -> str:
    value = k["value"]
    if value is None:
        return "no data"
    if k["unit"] == "ratio":
        return f"{value:.1%}"
    if k["unit"] == "hours":
        return f"{value:.2f} h"
    if k["unit"] == "seconds":
        return f"{value:.2f} s"
    return f"{value:g}"


def _duration(seconds: float) -> str:
    if seconds >= 3600:
        return f"{seconds / 3600:.1f} h"
    if seconds >= 60:
        return f"{seconds / 60:.0f} min"
    return f"{seconds:.0f} s"
