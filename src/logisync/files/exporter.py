"""Snapshot exports: a domain's golden records written to a CSV, JSON or NDJSON file, atomically.

The file is written as `.NAME.part` in the outbox folder (a dot file: the folder watcher, an SFTP
push and most partners' pollers skip it), flushed and synced to disk, then renamed to NAME; the
folder is synced too. A reader of the folder sees the whole file or none. Records are read a page
at a time, so an export of a million positions holds one page in memory.
"""

from __future__ import annotations

import csv
import io
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from ..domain.catalog import CATALOG, split_inventory_key
from ..domain.kinds import Domain
from ..domain.record import RecordState

if TYPE_CHECKING:
    from ..config.files import FileExport
    from ..store.base import Store

FILENAME_NAMES = ("name", "stamp", "date")


@dataclass(frozen=True, slots=True)
class Exported:
    path: Path
    rows: int


def file_name(spec: FileExport, at: datetime) -> str:
    """The export's file name at `at`: its `filename` template, or `NAME-20260601T020000Z.csv`."""
    values = {"name": spec.name, "stamp": at.strftime("%Y%m%dT%H%M%SZ"), "date": at.strftime("%Y-%m-%d")}
    template = spec.filename or "{name}-{stamp}." + spec.format
    return template.format_map(values)


def _getter(domain: Domain, source: str) -> Callable[[RecordState, dict[str, Any]], Any]:
    """How one column is read from a record (`key`, `sku`/`location` of an inventory key, a field,
    a derived field such as `available`, or a dotted path into a field)."""
    if source == "key":
        return lambda rec, _: rec.key
    if domain is Domain.inventory and source in ("sku", "location"):
        index = 0 if source == "sku" else 1
        return lambda rec, _: split_inventory_key(rec.key)[index]
    parts = source.split(".")

    def get(rec: RecordState, fields: dict[str, Any]) -> Any:
        value: Any = fields
        for part in parts:
            if isinstance(value, dict):
                value = value.get(part)
            elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
                value = value[int(part)]
            else:
                return None
        return value

    return get


def row_maker(spec: FileExport) -> Callable[[RecordState], dict[str, Any]]:
    """The function that turns one record into the export's row (pure)."""
    domain = Domain(spec.domain)
    derive = CATALOG[domain].derive
    columns = spec.columns
    getters = {name: _getter(domain, source) for name, source in (columns or {}).items()}

    def row(rec: RecordState) -> dict[str, Any]:
        fields = dict(rec.fields)
        if derive is not None:
            fields.update(derive(fields))
        if columns is None:
            return {"key": rec.key, **fields}
        return {name: get(rec, fields) for name, get in getters.items()}

    return row


def _rows(store: Store, spec: FileExport) -> Iterator[dict[str, Any]]:
    row = row_maker(spec)
    for rec in store.iter_records(spec.domain.value, prefix=spec.key_prefix):
        yield row(rec)


def export(store: Store, spec: FileExport, folder: Path, *, at: datetime | None = None) -> Exported:
    """Write one export of `spec` into `folder` now (see the module docstring)."""
    at = at or datetime.now(UTC)
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / file_name(spec, at)
    part = folder / f".{final.name}.part"
    rows = 0
    try:
        with part.open("wb") as out:
            if spec.format == "csv":
                rows = _write_csv(out, spec, _rows(store, spec))
            elif spec.format == "ndjson":
                for row in _rows(store, spec):
                    out.write(orjson.dumps(row) + b"\n")
                    rows += 1
            else:
                out.write(b"[")
                for row in _rows(store, spec):
                    out.write((b",\n" if rows else b"\n") + orjson.dumps(row))
                    rows += 1
                out.write(b"\n]\n")
            out.flush()
            os.fsync(out.fileno())
        os.replace(part, final)
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    _sync_dir(folder)
    return Exported(final, rows)


def _write_csv(out: Any, spec: FileExport, rows: Iterator[dict[str, Any]]) -> int:
    text = io.TextIOWrapper(out, encoding=spec.csv.encoding, newline="", write_through=True)
    writer = csv.writer(
        text, delimiter=spec.csv.delimiter, quotechar=spec.csv.quotechar, lineterminator="\r\n"
    )
    header = list(spec.columns or {})
    writer.writerow(header)
    count = 0
    for row in rows:
        writer.writerow([_cell(row.get(name)) for name in header])
        count += 1
    text.flush()
    text.detach()
    return count


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    return value


def _sync_dir(folder: Path) -> None:
    """Make the rename durable (a directory's entries are synced through its own descriptor)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
