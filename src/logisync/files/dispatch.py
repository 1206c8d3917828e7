"""Which import reads a file: by the import's name, its `match` glob, or the file's extension.

The choice, in order: the import named (`logisync ingest --import NAME`); else the imports whose
`match` glob fits the file name; else the imports without `match` whose format is the file's
extension (`.csv`, `.json`, `.ndjson`/`.jsonl`, `.x12`/`.edi`). One candidate is the answer;
several are an error asking for a name. With none, an `.ndjson` file is read as canonical changes
(one change per line, as `logisync ingest` always did) and an X12 file goes to the EDI engine.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import PurePath
from typing import Literal

from ..config.files import FileImport, FilesConfig

EXTENSIONS = {
    ".csv": "csv",
    ".json": "json",
    ".ndjson": "ndjson",
    ".jsonl": "ndjson",
    ".x12": "x12",
    ".edi": "x12",
}


class NoImport(ValueError):
    """No import, or more than one, fits the file: the message says which exist."""


@dataclass(frozen=True, slots=True)
class Choice:
    """How a file is read: by an import, as canonical changes (NDJSON), or as X12 interchanges."""

    kind: Literal["import", "changes", "x12"]
    spec: FileImport | None = None


def file_format(name: str) -> str | None:
    return EXTENSIONS.get(PurePath(name).suffix.lower())


def choose(files: FilesConfig | None, name: str, wanted: str | None = None) -> Choice:
    """How to read the file `name` sent by a system with these `files` settings (see the module doc)."""
    imports = files.imports if files is not None else []
    if wanted is not None:
        for spec in imports:
            if spec.name == wanted:
                return Choice("x12" if spec.format == "x12" else "import", spec)
        known = ", ".join(s.name for s in imports) or "none"
        raise NoImport(f"no import called {wanted!r} (this system's imports: {known})")
    base = PurePath(name).name
    fitting = [s for s in imports if s.match is not None and fnmatch.fnmatchcase(base, s.match)]
    fmt = file_format(base)
    if not fitting:
        fitting = [s for s in imports if s.match is None and s.format == fmt]
    if len(fitting) == 1:
        spec = fitting[0]
        return Choice("x12" if spec.format == "x12" else "import", spec)
    if len(fitting) > 1:
        names = ", ".join(s.name for s in fitting)
        raise NoImport(f"{base}: several imports fit ({names}); name one with --import")
    if fmt == "ndjson":
        return Choice("changes")
    if fmt == "x12":
        return Choice("x12")
    known = ", ".join(f"{s.name} ({s.match or '*.' + s.format})" for s in imports) or "none"
    raise NoImport(
        f"{base}: no import of this system reads it (its imports: {known}); "
        "an .ndjson file of canonical changes needs none"
    )
