"""`logisync xref load` (a CSV of (external id, canonical key) pairs into a system's table, with
progress) and `logisync xref list` (a table shown)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from ..domain.change import from_us
from ..domain.xref import BadRow, XrefReader
from ..store.xrefs import Loaded, Xref, XrefTable
from .output import NONE, when


@dataclass
class XrefReport:
    """What became of a file: pairs loaded (new, changed, unchanged) and bad rows."""

    path: str
    system: str
    kind: str
    loaded: Loaded = field(default_factory=Loaded)
    bad: int = 0
    seconds: float = 0.0

    @property
    def pairs(self) -> int:
        return self.loaded.new + self.loaded.changed + self.loaded.unchanged

    def summary(self) -> str:
        counts = self.loaded
        bad = f"; {self.bad} bad row{'s' if self.bad != 1 else ''}" if self.bad else ""
        return (
            f"{self.path}: {self.pairs} pair{'s' if self.pairs != 1 else ''} loaded into {self.system}'s {self.kind} table "
            f"({counts.new} new, {counts.changed} changed, {counts.unchanged} unchanged){bad} "
            f"in {self.seconds:.2f}s"
        )


class XrefLoad:
    """Streams one file into the store in batches; tells the user about bad rows as it goes.

    Each batch is one transaction, so a file stopped midway has loaded its earlier batches;
    loading it again is safe (a pair already known is left as it is).
    """

    def __init__(
        self,
        table: XrefTable,
        system: str,
        kind: str,
        names: Sequence[str],
        path: Path,
        *,
        console: Console,
        batch: int = 5000,
        show: int = 20,
    ) -> None:
        self.table = table
        self.system = system
        self.kind = kind
        self.names = names
        self.path = path
        self.console = console
        self.batch = batch
        self.show = show
        self.report = XrefReport(str(path), system, kind)
        self._pending: list[tuple[str, str, str]] = []

    def run(self) -> XrefReport:
        """Load the file; raises XrefFileError when its header is unusable (nothing is loaded)."""
        started = time.perf_counter()
        size = self.path.stat().st_size
        progress = Progress(
            TextColumn("loading {task.fields[name]}", markup=False),
            BarColumn(),
            DownloadColumn(),
            TimeRemainingColumn(),
            console=self.console,
            transient=True,
            disable=not self.console.is_terminal,
        )
        with self.path.open("rb") as stream, progress:
            task = progress.add_task("xref", total=size, name=self.path.name)
            reader = XrefReader(stream, self.kind, self.names)
            for row in reader:
                if isinstance(row, BadRow):
                    self._bad(row)
                    continue
                self._pending.append((row.external_id, row.canonical, f"{self.path}:{row.line}"))
                if len(self._pending) >= self.batch:
                    self._flush()
                    progress.update(task, completed=reader.offset)
            self._flush()
            progress.update(task, completed=size)
        if self.report.bad > self.show:
            self.console.print(f"… and {self.report.bad - self.show} more bad rows", style="red")
        self.report.seconds = time.perf_counter() - started
        return self.report

    def _flush(self) -> None:
        if not self._pending:
            return
        done = self.table.load(self.system, self.kind, self._pending)
        total = self.report.loaded
        total.new, total.changed, total.unchanged = (
            total.new + done.new,
            total.changed + done.changed,
            total.unchanged + done.unchanged,
        )
        self._pending = []

    def _bad(self, row: BadRow) -> None:
        self.report.bad += 1
        if self.report.bad <= self.show:
            self.console.print(f"{self.path}:{row.line}: {row.problem}", style="red")


def xref_json(pairs: Sequence[Xref]) -> list[dict[str, Any]]:
    return [
        {
            "id": p.external_id,
            "canonical": p.canonical,
            "source": p.source,
            "recorded_at": from_us(p.updated_us).isoformat(),
        }
        for p in pairs
    ]


def xref_table(system: str, kind: str, rows: Sequence[Xref] | Sequence[dict[str, Any]]) -> Table:
    """A page of pairs (id, key, source, when), or ids looked up both ways (id -> key, key -> id)."""
    table = Table(title=f"{system}'s {kind} table", title_justify="left")
    if rows and isinstance(rows[0], dict):
        for column in ("given", f"as {system}'s id: the {kind}", f"as a {kind}: {system}'s id"):
            table.add_column(column, overflow="fold")
        for row in rows:
            assert isinstance(row, dict)
            table.add_row(row["id"], row["canonical"] or NONE, row["sent_as"] or NONE)
        return table
    for column in ("id", kind, "source", "recorded"):
        table.add_column(column, overflow="fold")
    for pair in rows:
        assert isinstance(pair, Xref)
        table.add_row(pair.external_id, pair.canonical, pair.source, when(pair.updated_us))
    if not rows:
        table.add_row(NONE, NONE, NONE, NONE)
    return table
