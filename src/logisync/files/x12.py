"""The hook where X12 files meet the EDI engine: a file from a partner through its transaction sets.

The folder and SFTP transports and `logisync ingest` send every `.x12`/`.edi` file (or a file an
import with `format: x12` matches) here. The engine's runner (issue 6, `logisync.edi`) plugs in at
`run_x12`; until it does, an X12 file is refused whole, with a reason, and nothing is applied.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from .importer import FileRejected, FileReport

if TYPE_CHECKING:
    from ..pipeline import Pipeline
    from ..store.base import Store


def run_x12(pipeline: Pipeline, store: Store, system: str, path: Path, name: str | None = None) -> FileReport:
    """Run one X12 file from `system` through the pipeline; FileRejected when it cannot be."""
    raise FileRejected(
        f"{name or path.name}: X12 files cannot be read yet (the EDI transaction sets are not in this "
        "build); the file was not applied"
    )
