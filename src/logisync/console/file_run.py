"""`logisync ingest` for a mapped file (CSV, JSON, NDJSON by an import): progress, bad rows, a summary."""

from __future__ import annotations

import time
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from ..config.files import FileImport
from ..domain.kinds import OutcomeKind
from ..files.importer import BAD_ROW, FileImporter, FileReport, Note
from ..pipeline import Pipeline
from ..store.base import Store
from .output import when

ROWS = [*(k.value for k in OutcomeKind), BAD_ROW]


def run_file(
    pipeline: Pipeline,
    store: Store,
    system: str,
    spec: FileImport,
    path: Path,
    *,
    batch: int,
    console: Console,
    show: int = 20,
) -> tuple[FileReport, float]:
    """Import `path` with a progress bar on a terminal, printing bad and held rows as they come."""
    shown = 0

    def note(n: Note) -> None:
        nonlocal shown
        if shown < show:
            shown += 1
            label = "bad row" if n.outcome == BAD_ROW else n.outcome
            style = "red" if n.outcome == BAD_ROW else "yellow"
            console.print(f"{path}: {n.where}: {label}: {n.reason}", style=style)

    progress = Progress(
        TextColumn("importing {task.fields[name]}", markup=False),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )
    started = time.perf_counter()
    with progress:
        task = progress.add_task("import", total=path.stat().st_size, name=path.name)
        importer = FileImporter(
            pipeline,
            store,
            system,
            spec,
            batch=batch,
            on_note=note,
            on_progress=lambda offset: progress.update(task, completed=offset),
        )
        report = importer.run(path)
    if report.noteworthy > shown:
        console.print(
            f"… and {report.noteworthy - shown} more bad, rejected or quarantined rows", style="yellow"
        )
    return report, time.perf_counter() - started


def report_table(report: FileReport, unit: str) -> Table:
    table = Table()
    table.add_column("outcome")
    table.add_column(f"{unit}s", justify="right")
    for name in ROWS:
        n = report.counts.get(name, 0)
        label = "bad rows (quarantined)" if name == BAD_ROW else name
        table.add_row(label, str(n), style="red" if name == BAD_ROW and n else "")
    uncommitted = report.rows - sum(report.counts.values())
    if uncommitted:
        table.add_row("not committed", str(uncommitted), style="red")
    table.add_row(f"{unit}s read", str(report.rows), style="bold", end_section=True)
    return table


def duplicate_line(path: Path, report: FileReport) -> str:
    seen = report.duplicate_of
    assert seen is not None
    return (
        f"{path}: already received from {seen.system} as {seen.name} at {when(seen.received_us)} "
        f"(same SHA-256 {seen.sha256[:12]}…, {seen.rows} rows); nothing was applied"
    )
