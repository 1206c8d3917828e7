"""The files connector: CSV, JSON and NDJSON imports and snapshot exports, over a folder or SFTP.

The shape every connector has: `Settings` (a system's `files` section), `SPEC`, pure `decode`
(one row of a file -> a change, through an import's mapping) and `encode` (one record -> a row of
an export), and the transports that do all the I/O: `files.folder.FolderInbox` (a watched folder)
and `files.sftp.SftpFolder` (asyncssh pull and push), run on the sync map's cron schedules by
`files.service`. Whole files go through `files.importer.FileImporter` and `files.exporter.export`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from logisync.config.files import FileExport, FileImport, FilesConfig
from logisync.domain.change import Change
from logisync.domain.record import RecordState
from logisync.files.exporter import row_maker
from logisync.files.mapping import RowMapper

from .spec import Capabilities, ConnectorSpec

NAME = "files"
Settings = FilesConfig

SPEC = ConnectorSpec(
    name=NAME,
    summary="CSV, JSON and NDJSON files in (mapped, bad rows quarantined, each file once) and snapshots out, "
    "through a watched folder or SFTP on cron schedules",
    directions=frozenset({"in", "out"}),
    capabilities=Capabilities(batching=True, max_batch=100_000),
)


def decode(spec: FileImport, row: Any, default_id: str, header: Sequence[str] | None = None) -> Change:
    """One row (a CSV row's cells with the file's `header`, or a JSON object) as a change.

    Raises `files.mapping.RowError` naming the column; cross-references are not translated here
    (the importer does that for a whole batch against the store).
    """
    mapper = RowMapper(spec, header)
    return mapper.change(mapper.read(row), default_id)


def encode(spec: FileExport, record: RecordState) -> dict[str, Any]:
    """One record as a row of the export (column -> value)."""
    return row_maker(spec)(record)
