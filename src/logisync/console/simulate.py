"""`logisync simulate`: a scenario file run to its report, with a progress bar on a terminal.

Exit status: 0 when every invariant holds, 1 when one fails, 2 when the scenario cannot run (a
bad file, named by file and line as `logisync check` does; a store that already holds records).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

from ..errors import LogisyncError
from ..sim.report import Report
from ..sim.runner import Parts, Run
from ..sim.runner import Progress as ProgressCallback
from ..sim.scenario import Scenario, load_scenario

PHASES = ("seeding", "traffic", "settling")


def prepared(path: Path, *, compression: float | None = None, seed: int | None = None) -> Scenario:
    """The scenario at `path` with the command line's overrides (raises ConfigError when bad)."""
    scenario = load_scenario(path)
    if compression is not None:
        if not 0 < compression <= 100_000:
            raise LogisyncError(f"--compression: between 0 (excluded) and 100000, not {compression:g}")
        scenario.compression = compression
    if seed is not None:
        scenario.seed = seed
    return scenario


@contextmanager
def progress_bar(console: Console, scenario: Scenario) -> Iterator[ProgressCallback]:
    """A Rich progress bar per phase, in sim time (shown only on a terminal)."""
    bar = Progress(
        TextColumn("[bold]{task.description:<9}"),
        BarColumn(),
        TextColumn("{task.fields[sim]}"),
        TimeElapsedColumn(),
        console=console,
        transient=False,
        disable=not console.is_terminal,
    )
    tasks: dict[str, TaskID] = {}

    def update(phase: str, done: float, total: float) -> None:
        if phase not in tasks:
            tasks[phase] = bar.add_task(phase, total=max(total, 1.0), sim="")
        bar.update(tasks[phase], completed=min(done, total), sim=f"{_clock(done)} / {_clock(total)} sim")

    with bar:
        yield update


def run(
    scenario: Scenario,
    *,
    console: Console,
    store_url: str | None = None,
    overrides: dict[str, Any] | None = None,
    parts: Parts | None = None,
) -> Report:
    """Run `scenario` with a progress bar on `console` (raises LogisyncError when it cannot run)."""
    console.print(
        f"{scenario.name}: {_clock(scenario.duration)} of traffic, up to {_clock(scenario.settle)} "
        f"to settle, x{scenario.compression:g} (at most {scenario.real_seconds:.0f} s)",
        style="dim",
    )
    with progress_bar(console, scenario) as update:
        return asyncio.run(
            Run(scenario, store_url=store_url, overrides=overrides, progress=update, parts=parts).run()
        )


def _clock(seconds: float) -> str:
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
