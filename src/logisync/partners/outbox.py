"""Where the files the hub owes a partner go: a folder, written atomically (never read half-written)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol


class Outbox(Protocol):
    """Takes an outbound file; returns where it went (for the report and the log)."""

    def send(self, name: str, data: bytes) -> str: ...


class FolderOutbox:
    """Writes each file as `.NAME.part`, flushed to disk, then renamed to NAME: a reader of the
    folder sees a whole file or none."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def send(self, name: str, data: bytes) -> str:
        if "/" in name or name.startswith("."):
            raise ValueError(f"{name!r} is not a plain file name")
        self.folder.mkdir(parents=True, exist_ok=True)
        final = self.folder / name
        part = self.folder / f".{name}.part"
        with part.open("wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(part, final)
        return str(final)


class MemoryOutbox:
    """Keeps the files (tests, and a partner with no outbox: the report carries them)."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}

    def send(self, name: str, data: bytes) -> str:
        self.files[name] = data
        return f"memory:{name}"
