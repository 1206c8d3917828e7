"""One file a system sent, read the way its sync map says: by an import, or by the EDI engine."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .dispatch import NoImport, choose
from .importer import FileImporter, FileRejected, FileReport
from .x12 import run_x12

if TYPE_CHECKING:
    from ..pipeline import Pipeline
    from ..store.base import Store


def receive_file(
    pipeline: Pipeline, store: Store, system: str, path: Path, *, batch: int = 1000
) -> FileReport:
    """Read `path` from `system`; FileRejected (nothing applied) when no import reads it.

    A transport has nobody to print bad lines to, so an `.ndjson` file of canonical changes (which
    `logisync ingest` reads) is refused here: give the system an import for it, or send it to the API.
    """
    config = pipeline.syncmap.systems.get(system)
    try:
        choice = choose(config.files if config is not None else None, path.name)
    except NoImport as exc:
        raise FileRejected(str(exc)) from None
    if choice.kind == "x12":
        return run_x12(pipeline, store, system, path)
    if choice.kind == "changes" or choice.spec is None:
        raise FileRejected(
            f"{path.name}: no import of {system} reads it; a file of canonical changes is for "
            "`logisync ingest` or the API, where its bad lines are answered"
        )
    return FileImporter(pipeline, store, system, choice.spec, batch=batch).run(path)
