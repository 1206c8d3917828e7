"""A watched folder: files that arrive in it are read once, then moved to `processed/` or `failed/`.

The rule for partial files: a file is taken only when (1) its name does not start with a dot and
does not end in `.part`, `.tmp`, `.filepart`, `.partial` or `.crdownload` (what uploaders, WinSCP
and browsers write while a transfer runs), and (2) its size and modification time are the same at
two looks `settle` seconds apart. A sender that writes in place without renaming is caught by (2)
as long as it pauses less than `settle` between writes; one that writes `NAME.part` and renames
is never read half-written.

After a file is read it is moved, with an atomic rename inside the folder, to `processed/` (its
rows are applied; bad rows are in the exceptions inbox) or to `failed/` beside `NAME.reason.txt`
saying why nothing was applied (the reason file is written first, so a failed file always has
one). A file whose bytes were received before goes to `processed/` with `NAME.duplicate.txt`.
A file left behind by a crash between applying and moving is seen again at the next look: its
receipt makes it a duplicate, and it is moved then. A fault of the store leaves the file where it
is, to be tried at the next look. A name already taken in `processed/` or `failed/` gets the
time appended (`stock.csv.20260601T020000Z`).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from .importer import FileRejected, FileReport

PARTIAL_SUFFIXES = (".part", ".tmp", ".filepart", ".partial", ".crdownload")
PROCESSED, FAILED = "processed", "failed"
log = logging.getLogger("logisync.files")


def is_candidate(name: str) -> bool:
    """Not hidden, and not named like a transfer in progress."""
    return not name.startswith(".") and not name.lower().endswith(PARTIAL_SUFFIXES)


def stable_files(folder: Path, settle: float, sleep: Callable[[float], None] = time.sleep) -> list[Path]:
    """The folder's complete files (see the module docstring), oldest first."""

    def look() -> dict[Path, tuple[int, int]]:
        seen = {}
        with os.scandir(folder) as entries:
            for entry in entries:
                if entry.is_file(follow_symlinks=False) and is_candidate(entry.name):
                    st = entry.stat(follow_symlinks=False)
                    seen[Path(entry.path)] = (st.st_size, st.st_mtime_ns)
        return seen

    first = look()
    if not first:
        return []
    if settle > 0:
        sleep(settle)
    second = look()
    same = [path for path, sig in first.items() if second.get(path) == sig]
    return sorted(same, key=lambda p: (first[p][1], p.name))


@dataclass(frozen=True, slots=True)
class Processed:
    name: str
    state: str  # processed, duplicate, failed, kept (a store fault: tried again later)
    moved_to: Path | None
    report: FileReport | None = None
    reason: str | None = None


class FolderInbox:
    """One system's incoming folder; `handle` reads a file (and raises FileRejected to refuse it)."""

    def __init__(
        self,
        folder: str | Path,
        handle: Callable[[Path], FileReport],
        *,
        settle: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.folder = Path(folder)
        self.handle = handle
        self.settle = settle
        self.sleep = sleep

    def process(self) -> list[Processed]:
        """Read every complete file now in the folder, moving each one when it is done."""
        self.folder.mkdir(parents=True, exist_ok=True)
        return [self._one(path) for path in stable_files(self.folder, self.settle, self.sleep)]

    def _one(self, path: Path) -> Processed:
        try:
            report = self.handle(path)
        except FileRejected as exc:
            reason = str(exc)
            moved = _move(path, self.folder / FAILED, note=("reason", reason))
            log.warning("%s: failed: %s", path.name, reason)
            return Processed(path.name, "failed", moved, reason=reason)
        except Exception as exc:  # the store or the disk: leave it for the next look
            log.warning("%s: kept for the next look: %s: %s", path.name, type(exc).__name__, exc)
            return Processed(path.name, "kept", None, reason=f"{type(exc).__name__}: {exc}")
        if report.duplicate_of is not None:
            seen = report.duplicate_of
            when = datetime.fromtimestamp(seen.received_us / 1e6, UTC).isoformat(timespec="seconds")
            text = f"already received as {seen.name} at {when} (SHA-256 {seen.sha256}); nothing was applied"
            moved = _move(path, self.folder / PROCESSED, note=("duplicate", text))
            return Processed(path.name, "duplicate", moved, report, text)
        moved = _move(path, self.folder / PROCESSED)
        log.info("%s: %s", path.name, dict(report.counts))
        return Processed(path.name, "processed", moved, report)


def _move(path: Path, into: Path, note: tuple[str, str] | None = None) -> Path:
    """Rename `path` into the folder `into` (same file system: atomic), with a note file beside it
    written first; a taken name gets the time appended."""
    into.mkdir(exist_ok=True)
    target = into / path.name
    if target.exists():
        target = into / f"{path.name}.{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%fZ')}"
    if note is not None:
        kind, text = note
        write_atomically(into / f"{target.name}.{kind}.txt", (text.rstrip("\n") + "\n").encode())
    os.replace(path, target)
    return target


def write_atomically(path: Path, data: bytes) -> None:
    """Write `path` as `.NAME.part`, synced, then renamed: a reader sees all of it or nothing."""
    part = path.with_name(f".{path.name}.part")
    with part.open("wb") as out:
        out.write(data)
        out.flush()
        os.fsync(out.fileno())
    os.replace(part, path)
