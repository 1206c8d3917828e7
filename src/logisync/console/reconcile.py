"""`logisync reconcile`: which reconciliation to run, its progress, its summary and its history."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..config.model import SyncMap
from ..config.reconcile import ReconcileConfig, SourceConfig
from ..reconcile.summary import KINDS, Summary
from ..store.reconcile_runs import RunRow
from .output import NONE, when


def choose(
    syncmap: SyncMap, system: str, domain: str, file: Path | None, fmt: str | None
) -> ReconcileConfig | str:
    """The reconciliation of (system, domain) in the sync map, its source replaced by `file` when
    given; without an entry, one made for the file. A string says what is wrong."""
    if system not in syncmap.systems:
        return f"unknown system {system!r} (known: {', '.join(sorted(syncmap.systems)) or 'none defined'})"
    found = [c for c in syncmap.reconcile if c.system == system and c.domain.value == domain]
    try:
        source = SourceConfig(file=str(file), format=fmt) if file is not None else None  # type: ignore[arg-type]
    except ValidationError as exc:
        return str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
    if found:
        config = found[0]
        return config.model_copy(update={"source": source}) if source is not None else config
    if source is None:
        return (
            f"the sync map has no reconciliation of {system} {domain}: give the snapshot with --file "
            "(or add a `reconcile:` entry)"
        )
    try:
        return ReconcileConfig(system=system, domain=domain, source=source)  # type: ignore[arg-type]
    except ValueError as exc:
        return str(exc)


@contextmanager
def progress_bar(console: Console) -> Iterator[Any]:
    """A progress line on stderr: the stage, the rows read (HTTP pages), the time taken."""
    with Progress(
        SpinnerColumn(),
        TextColumn("{task.description}"),
        TextColumn("{task.fields[rows]}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("starting", total=None, rows="")

        def event(stage: str, rows: int | None) -> None:
            progress.update(task, description=stage, rows=f"{rows:,} rows" if rows is not None else "")

        yield event


def _number(v: float | None, digits: int = 0) -> str:
    if v is None:
        return NONE
    return f"{v:,.{digits}f}"


def summary_tables(summary: Summary, title: str) -> list[Table]:
    """The counts, then the worst SKUs and locations (inventory)."""
    counts = Table(title=title, title_justify="left")
    counts.add_column("")
    counts.add_column("", justify="right")
    counts.add_row("keys in the hub", f"{summary.hub_keys:,}")
    counts.add_row("keys in the system", f"{summary.system_keys:,}")
    counts.add_row("keys both hold", f"{summary.matched_keys:,}")
    counts.add_row("explained by deliveries in flight", f"{summary.explained_keys:,}")
    style = "red bold" if summary.variances else "green"
    counts.add_row("keys with a variance", f"{summary.variance_keys:,}", style=style)
    for kind in KINDS:
        n = summary.by_kind.get(kind, 0)
        if n:
            counts.add_row(f"  {kind.replace('_', ' ')}", f"{n:,}")
    counts.add_row("units at stake", _number(summary.units))
    counts.add_row("value at stake", _number(summary.value, 2))
    tables = [counts]
    for name, worst in (("SKU", summary.worst_skus), ("location", summary.worst_locations)):
        if not worst:
            continue
        table = Table(title=f"worst {name}s", title_justify="left")
        for column in (name, "variances", "units", "value"):
            table.add_column(column, justify="left" if column == name else "right")
        for w in worst:
            table.add_row(w.name, f"{w.variances:,}", _number(w.units), _number(w.value, 2))
        tables.append(table)
    return tables


def corrections_line(corrections: dict[str, Any] | None) -> str | None:
    if not corrections:
        return None
    if corrections.get("held"):
        return f"corrections held for approval: {corrections.get('reason')} (exception {corrections.get('exception')})"
    if corrections.get("error"):
        return f"corrections not pushed: {corrections['error']}"
    line = f"corrections pushed: {corrections.get('pushed', 0)} keys via {corrections.get('via')}"
    if corrections.get("manual"):
        line += f"; {len(corrections['manual'])} keys left for a person (unreadable, listed twice, unknown to the hub)"
    return line


def history_table(runs: list[RunRow], title: str) -> Table:
    """Runs newest first, so drift shows as the numbers move."""
    table = Table(title=title, title_justify="left")
    for column in (
        "run",
        "started",
        "state",
        "system keys",
        "variance keys",
        "variances",
        "units",
        "value",
        "explained",
    ):
        table.add_column(column, justify="right" if column not in ("started", "state") else "left")
    for r in runs:
        table.add_row(
            str(r.id),
            when(r.started_us),
            r.state if r.state != "failed" else f"failed: {(r.error or '')[:40]}",
            f"{r.system_keys:,}",
            f"{r.variance_keys:,}",
            f"{r.variances:,}",
            _number(r.units),
            _number(r.value, 2),
            f"{r.explained_keys:,}",
            style="red" if r.state == "failed" else None,
        )
    if not runs:
        table.add_row("none", "", "", "", "", "", "", "", "")
    return table
