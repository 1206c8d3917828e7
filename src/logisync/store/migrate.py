"""Versioned schema migrations: numbered `.sql` files per dialect, applied once, in order."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources

from ..errors import MigrationError

_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def migrations(dialect: str) -> list[Migration]:
    """The migrations shipped for a dialect (`sqlite` or `postgres`), oldest first."""
    folder = resources.files("logisync.store") / "migrations" / dialect
    found = []
    for entry in folder.iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), match.group(2), entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise MigrationError(f"{dialect} migrations are not numbered 1..n without gaps: {versions}")
    return found


def pending(dialect: str, applied: set[int]) -> list[Migration]:
    """What still has to run; refuses a store that is newer than this code."""
    known = migrations(dialect)
    newest = max((m.version for m in known), default=0)
    if applied and max(applied) > newest:
        raise MigrationError(
            f"the store's schema is at version {max(applied)}, newer than this logisync knows ({newest}): "
            "upgrade logisync before using this store"
        )
    return [m for m in known if m.version not in applied]
