"""One file through its import: rows read, mapped, translated and run through the pipeline in batches.

Every row ends in one outcome. A row that cannot be read or mapped (not CSV, a value of the wrong
type, an id the cross-reference table does not know) is a *bad row*: it is quarantined as an
exception in the inbox (kind `bad_row`, or `unknown_xref`) naming the file, the line and the
column, counted as `quarantined` for its system and domain, and the other rows still go in.
Before anything is read the file's SHA-256 is looked up: bytes this system sent before are not
applied again, and the report says when and under which name they came. The receipt is written
once the last row is committed; a file stopped midway can simply be run again: its applied rows
come back as duplicates, and its bad rows (known by the change id they would have had, the
file's hash and their line, kept as the exception's `change_id`) are not quarantined twice.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from ..domain.change import Change, now_us
from ..domain.kinds import OutcomeKind
from ..store.base import NewException, Store
from ..store.file_receipts import FileReceipts, Receipt
from ..store.xrefs import XrefTable
from .mapping import FileShapeError, Mapped, RowError, RowMapper
from .readers import CsvReader, JsonReader, NdjsonReader, Row, Unreadable

if TYPE_CHECKING:
    from ..config.files import FileImport
    from ..pipeline import Pipeline

BAD_ROW = "bad_row"
HELD = frozenset({OutcomeKind.rejected, OutcomeKind.quarantined, OutcomeKind.insufficient_stock})
MAX_CELL = 200  # characters of a cell kept in an exception's detail
MAX_CELLS = 60


class FileRejected(ValueError):
    """The file as a whole cannot be read by its import (no header, a column missing): nothing applied."""


@dataclass(frozen=True, slots=True)
class Note:
    """A row worth telling about: a bad row, or a change rejected or quarantined by the pipeline."""

    where: str  # "line 12" or "item 12"
    outcome: str  # bad_row, rejected, quarantined, insufficient_stock
    reason: str


@dataclass
class FileReport:
    """What became of every row of a file: counts by outcome that add up to `rows`."""

    name: str
    system: str
    import_name: str | None
    sha256: str = ""
    rows: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    notes: list[Note] = field(default_factory=list)  # the first `keep` noteworthy rows
    noteworthy: int = 0
    duplicate_of: Receipt | None = None
    committed_through: int = 0

    @property
    def balanced(self) -> bool:
        return sum(self.counts.values()) == self.rows


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while block := stream.read(chunk):
            digest.update(block)
    return digest.hexdigest()


class FileImporter:
    """Runs files through one system's import (see the module docstring)."""

    def __init__(
        self,
        pipeline: Pipeline,
        store: Store,
        system: str,
        spec: FileImport,
        *,
        batch: int = 1000,
        keep: int = 20,
        on_note: Callable[[Note], None] | None = None,
        on_progress: Callable[[int], None] | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.store = store
        self.system = system
        self.spec = spec
        self.batch = batch
        self.keep = keep
        self.on_note = on_note
        self.on_progress = on_progress
        self.receipts = FileReceipts(store)  # type: ignore[arg-type]
        self.xrefs = XrefTable(store)  # type: ignore[arg-type]

    def run(self, path: Path, name: str | None = None) -> FileReport:
        """Import one file; FileRejected when it cannot be read at all (nothing is applied then)."""
        name = name or path.name
        report = FileReport(name, self.system, self.spec.name)
        report.sha256 = sha256_file(path)
        seen = self.receipts.get(self.system, report.sha256)
        if seen is not None:
            report.duplicate_of = seen
            return report
        with path.open("rb") as stream:
            _FileRun(self, report, stream).run()
        self.receipts.record(
            self.system, report.sha256, name, self.spec.name, report.rows, dict(report.counts)
        )
        return report


class _FileRun:
    """The state of one file's import: the batch being gathered and the bad rows to quarantine."""

    def __init__(self, importer: FileImporter, report: FileReport, stream: BinaryIO) -> None:
        self.im = importer
        self.report = report
        self.stream = stream
        spec = importer.spec
        self.unit = "item" if spec.format == "json" else "line"
        self.pending: list[tuple[Row, Mapped]] = []
        self.bad: list[NewException] = []
        self.id_prefix = report.sha256[:16]

    def _rows(self) -> tuple[Iterator[Row | Unreadable], RowMapper, Callable[[], int]]:
        spec = self.im.spec
        try:
            if spec.format == "csv":
                reader = CsvReader(self.stream, spec.csv)
                header = reader.read_header()
                try:
                    mapper = RowMapper(spec, header)
                except FileShapeError:
                    reader.close()
                    raise
                return iter(reader), mapper, lambda: reader.offset
            if spec.format == "ndjson":
                nd = NdjsonReader(self.stream)
                return iter(nd), RowMapper(spec), lambda: nd.offset
            if spec.format == "json":
                js = JsonReader(self.stream, spec.items)
                return iter(js), RowMapper(spec), lambda: js.offset
        except (ValueError, FileShapeError) as exc:
            raise FileRejected(str(exc)) from None
        raise FileRejected(f"the import {spec.name!r} reads {spec.format} files, which this reader cannot")

    def run(self) -> None:
        rows, mapper, offset = self._rows()
        self.mapper = mapper
        report = self.report
        for item in rows:
            report.rows += 1
            if isinstance(item, Unreadable):
                self._bad(item.number, None, item.problem, None)
                continue
            try:
                mapped = mapper.read(item.data)
            except RowError as exc:
                self._bad(item.number, exc, str(exc), item.data)
                continue
            self.pending.append((item, mapped))
            if len(self.pending) >= self.im.batch:
                self._flush(offset())
        self._flush(offset())

    # -- a batch ----------------------------------------------------------------------------------
    def _flush(self, offset: int) -> None:
        changes: list[tuple[Row, Change]] = []
        if self.pending:
            self._translate()
            for row, mapped in self.pending:
                try:
                    change = self.mapper.change(mapped, f"{self.id_prefix}:{row.number}")
                except RowError as exc:
                    self._bad(row.number, exc, str(exc), row.data)
                    continue
                changes.append((row, change))
            self.pending = []
        self._quarantine()
        if changes:
            numbers = [row.number for row, _ in changes]
            first, last = numbers[0], numbers[-1]
            where = f"{first}" if first == last else f"{first}-{last}"
            source = f"{self.report.name}:{where}" if self.unit == "line" else f"{self.report.name}[{where}]"
            outcomes = self.im.pipeline.ingest(self.im.system, [c for _, c in changes], source=source)
            for number, outcome in zip(numbers, outcomes, strict=True):
                kind = outcome.outcome
                self.report.counts[kind.value] += 1
                if kind in HELD:
                    self._note(Note(f"{self.unit} {number}", kind.value, outcome.reason or ""))
            self.report.committed_through = last
        if self.im.on_progress is not None:
            self.im.on_progress(offset)

    def _translate(self) -> None:
        """Replace every cross-referenced value of the batch by its canonical key; rows naming an id
        the system's table does not know become bad rows."""
        wanted: dict[str, set[str]] = {}
        for _, mapped in self.pending:
            for _, kind, external in mapped.xrefs:
                wanted.setdefault(kind, set()).add(external)
        if not wanted:
            return
        found = {
            kind: self.im.xrefs.resolve(self.im.system, kind, sorted(ids)) for kind, ids in wanted.items()
        }
        kept: list[tuple[Row, Mapped]] = []
        for row, mapped in self.pending:
            unknown = None
            for name, kind, external in mapped.xrefs:
                canonical = found[kind].get(external)
                if canonical is None:
                    unknown = (name, kind, external)
                    break
                mapped.values[name] = canonical
            if unknown is None:
                kept.append((row, mapped))
                continue
            name, kind, external = unknown
            column = self.mapper.columns.get(name)
            reason = f"column {column}: {external!r} is not a known {self.im.system} {kind} id (load it with `logisync xref load`)"
            self._bad(
                row.number,
                None,
                reason,
                row.data,
                kind="unknown_xref",
                extra={
                    "rule": "unknown_xref",
                    "field": name,
                    "value": external,
                    "system": self.im.system,
                    "kind": kind,
                    "column": column,
                },
            )
        self.pending = kept

    # -- bad rows ---------------------------------------------------------------------------------
    def _bad(
        self,
        number: int,
        error: RowError | None,
        reason: str,
        data: Any,
        *,
        kind: str = BAD_ROW,
        extra: dict[str, Any] | None = None,
    ) -> None:
        report = self.report
        where = f"{self.unit} {number}"
        detail: dict[str, Any] = {"file": report.name, self.unit: number, "import": self.im.spec.name}
        if error is not None:
            detail["column"] = error.column
            if error.value is not None:
                detail["value"] = _cell(error.value)
        if extra:
            detail.update(extra)
        if data is not None:
            detail["row"] = self._row_detail(data)
        place = f"{report.name}:{number}" if self.unit == "line" else f"{report.name} item {number}"
        self.bad.append(
            NewException(
                kind,
                f"{place}: {reason}",
                self.im.spec.domain.value,
                None,
                self.im.system,
                f"{self.id_prefix}:{number}",  # the row's would-be change id: the same bytes, the same row
                detail=detail,
            )
        )
        report.counts[BAD_ROW] += 1
        self._note(Note(where, BAD_ROW, reason))

    def _row_detail(self, data: Any) -> Any:
        if isinstance(data, list):
            header = getattr(self.mapper, "header", None)
            names = header or [str(i) for i in range(len(data))]
            return {str(k): _cell(v) for k, v in list(zip(names, data, strict=False))[:MAX_CELLS]}
        if isinstance(data, dict):
            return {str(k): _cell(v) for k, v in list(data.items())[:MAX_CELLS]}
        return _cell(data)

    def _quarantine(self) -> None:
        """Open the bad rows' exceptions and count them as quarantined, in one transaction."""
        if not self.bad:
            return
        domain, system = self.im.spec.domain.value, self.im.system
        seen = self.im.receipts.quarantined_rows(system, [x.change_id for x in self.bad if x.change_id])
        new = [x for x in self.bad if x.change_id not in seen]
        counts = {
            (system, domain, OutcomeKind.quarantined.value): len(new),
            (system, domain, OutcomeKind.duplicate.value): len(self.bad)
            - len(new),  # a run again after a stop
        }
        with self.im.store.write() as tx:
            tx.open_exceptions(new, now_us())
            tx.count_outcomes(counts)
        self.bad = []

    def _note(self, note: Note) -> None:
        self.report.noteworthy += 1
        if len(self.report.notes) < self.im.keep:
            self.report.notes.append(note)
        if self.im.on_note is not None:
            self.im.on_note(note)


def _cell(value: Any) -> Any:
    if isinstance(value, str):
        return value if len(value) <= MAX_CELL else value[:MAX_CELL] + "…"
    if isinstance(value, dict | list):
        return _cell(repr(value))
    return value
