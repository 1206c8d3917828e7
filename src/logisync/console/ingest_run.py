"""`logisync ingest`: an NDJSON file through the pipeline in batches, with progress and a summary."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from ..domain.change import Change
from ..domain.kinds import OutcomeKind
from ..pipeline import Pipeline
from .ndjson import read_changes

MALFORMED = "malformed"
ROWS = [*(k.value for k in OutcomeKind), MALFORMED]
NOTEWORTHY = {
    OutcomeKind.rejected,
    OutcomeKind.quarantined,
    OutcomeKind.insufficient_stock,
}  # printed line by line, like malformed
HELD = "held"


@dataclass
class IngestReport:
    """What became of every line read: outcome counts that balance to `lines`."""

    path: str
    counts: Counter[str] = field(default_factory=Counter)
    lines: int = 0  # non-blank lines read
    blank: int = 0
    committed_through: int = 0  # the last line whose batch is committed
    seconds: float = 0.0
    shown: Counter[str] = field(default_factory=Counter)

    @property
    def balanced(self) -> bool:
        return sum(self.counts.values()) == self.lines

    def table(self) -> Table:
        table = Table()
        table.add_column("outcome")
        table.add_column("lines", justify="right")
        for name in ROWS:
            n = self.counts.get(name, 0)
            style = "red" if name == MALFORMED and n else ""
            table.add_row(name, str(n), style=style)
        uncommitted = self.lines - sum(self.counts.values())
        if uncommitted:
            table.add_row("not committed", str(uncommitted), style="red")
        table.add_row("lines read", str(self.lines), style="bold", end_section=True)
        return table


class IngestStopped(Exception):
    """The store failed on a batch: earlier batches are committed, this one and later are not."""

    def __init__(self, report: IngestReport, first_line: int, cause: BaseException) -> None:
        super().__init__(str(cause))
        self.report = report
        self.first_line = first_line
        self.cause = cause


class IngestRun:
    """Streams one file: reads, batches, ingests, and tells the user about bad lines as it goes."""

    def __init__(
        self,
        pipeline: Pipeline,
        system: str,
        path: Path,
        *,
        batch: int,
        max_line: int,
        console: Console,
        show: int = 20,
    ) -> None:
        self.pipeline = pipeline
        self.system = system
        self.path = path
        self.batch = batch
        self.max_line = max_line
        self.console = console
        self.show = show
        self.report = IngestReport(str(path))
        self._pending: list[tuple[int, Change]] = []

    def run(self) -> IngestReport:
        started = time.perf_counter()
        size = self.path.stat().st_size
        progress = Progress(
            TextColumn("ingesting {task.fields[name]}", markup=False),
            BarColumn(),
            DownloadColumn(),
            TimeRemainingColumn(),
            console=self.console,
            transient=True,
            disable=not self.console.is_terminal,
        )
        with self.path.open("rb") as stream, progress:
            task = progress.add_task("ingest", total=size, name=self.path.name)
            for line in read_changes(stream, max_line=self.max_line):
                if line.blank:
                    self.report.blank += 1
                    continue
                self.report.lines += 1
                if line.change is None:
                    self._note(MALFORMED, line.number, line.problem or "", style="red")
                    continue
                self._pending.append((line.number, line.change))
                if len(self._pending) >= self.batch:
                    self._flush()
                    progress.update(task, completed=line.offset)
            self._flush()
            progress.update(task, completed=size)
        self.report.seconds = time.perf_counter() - started
        for group, label, style in (
            (MALFORMED, "malformed", "red"),
            (HELD, "rejected, quarantined or short of stock", "yellow"),
        ):
            hidden = self._total(group) - self.report.shown[group]
            if hidden > 0:
                self.console.print(f"… and {hidden} more {label} lines", style=style)
        return self.report

    def _flush(self) -> None:
        if not self._pending:
            return
        lines = [n for n, _ in self._pending]
        first, last = lines[0], lines[-1]
        source = f"{self.path}:{first}" if first == last else f"{self.path}:{first}-{last}"
        try:
            outcomes = self.pipeline.ingest(self.system, [c for _, c in self._pending], source=source)
        except Exception as exc:
            raise IngestStopped(self.report, first, exc) from exc
        for number, outcome in zip(lines, outcomes, strict=True):
            if outcome.outcome in NOTEWORTHY:
                self._note(outcome.outcome.value, number, outcome.reason or "", style="yellow")
            else:
                self.report.counts[outcome.outcome.value] += 1
        self.report.committed_through = last
        self._pending.clear()

    def _note(self, kind: str, number: int, problem: str, *, style: str) -> None:
        """Count a line; print it in full while fewer than `show` of its sort were printed."""
        self.report.counts[kind] += 1
        group = MALFORMED if kind == MALFORMED else HELD
        if self.report.shown[group] < self.show:
            self.report.shown[group] += 1
            label = "" if kind == MALFORMED else f"{kind}: "
            self.console.print(f"{self.path}:{number}: {label}{problem}", style=style)

    def _total(self, group: str) -> int:
        if group == MALFORMED:
            return self.report.counts[MALFORMED]
        return sum(self.report.counts[k.value] for k in NOTEWORTHY)
