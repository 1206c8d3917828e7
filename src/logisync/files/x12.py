"""Where X12 files meet the EDI engine: a file from a partner through `partners.inbound.receive`.

The folder and SFTP transports and `logisync ingest` send every `.x12`/`.edi` file (or a file an
import with `format: x12` matches) here. The engine checks the envelopes, detects repeated
interchanges (sender + ISA13), maps each set, applies the accepted ones through the pipeline and
writes the 997s: to the partner's `edi.outbox`, else to its `files.outbox` folder (so an SFTP
outbox pushes them), else keeps them in memory. This module turns its report into a `FileReport`
like any other file's: outcomes of the changes, and the rejected interchanges and sets as notes.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import ConfigError
from .importer import FileRejected, FileReport, Note, sha256_file

if TYPE_CHECKING:
    from ..config.model import SyncMap
    from ..pipeline import Pipeline
    from ..store.base import Store


def run_x12(
    pipeline: Pipeline, store: Store, system: str, path: Path, name: str | None = None, *, keep: int = 20
) -> FileReport:
    """Run one X12 file from `system` (a partner with an `edi` section) through the pipeline."""
    from ..partners.inbound import receive
    from ..partners.outbox import FolderOutbox, Outbox

    name = name or path.name
    syncmap: SyncMap = pipeline.syncmap
    config = syncmap.systems.get(system)
    files = config.files if config is not None else None
    outbox: Outbox | None = None
    if config is not None and config.edi is not None and not config.edi.outbox and files and files.outbox:
        outbox = FolderOutbox(files.outbox.folder)
    try:
        with path.open("rb") as stream:
            result = receive(
                stream,
                partner=system,
                syncmap=syncmap,
                pipeline=pipeline,
                store=store,  # type: ignore[arg-type]
                outbox=outbox,
                name=name,
            )
    except ConfigError as exc:
        raise FileRejected(f"{name}: {exc}") from None
    report = FileReport(name, system, "x12", sha256=sha256_file(path))
    report.counts.update(result.outcomes)
    report.rows = sum(report.counts.values())
    for problem in result.problems:
        _note(report, Note("file", "rejected", problem), keep)
    for ic in result.interchanges:
        if ic.state != "applied":
            reason = "; ".join(ic.problems) or f"interchange {ic.state}"
            _note(report, Note(f"interchange {ic.control}", ic.state, reason), keep)
        for s in ic.sets:
            if s.status == "R":
                why = "; ".join(s.problems) or "rejected"
                _note(report, Note(f"set {s.code} {s.group}/{s.control}", "rejected", why), keep)
    return report


def _note(report: FileReport, note: Note, keep: int) -> None:
    report.noteworthy += 1
    if len(report.notes) < keep:
        report.notes.append(note)
