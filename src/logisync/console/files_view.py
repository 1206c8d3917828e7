"""`logisync check`: each system's files: imports, exports, and the folders and SFTP they travel by."""

from __future__ import annotations

import os

from rich.table import Table
from rich.text import Text

from ..config.files import SftpSettings
from ..config.model import SyncMap


def files_table(syncmap: SyncMap) -> Table:
    table = Table(title="files", title_justify="left")
    for column in ("system", "what", "name", "reads / writes", "schedule", "where"):
        table.add_column(column)
    for name, system in syncmap.systems.items():
        files = system.files
        if files is None:
            continue
        if files.inbox is not None:
            table.add_row(
                name, "inbox", "", "", files.inbox.schedule, _where(files.inbox.folder, files.inbox.sftp)
            )
        for spec in files.imports:
            fields = ", ".join(spec.fields) or "(the EDI engine)"
            table.add_row(
                name,
                "import",
                spec.name,
                f"{spec.match or '*.' + spec.format} -> {spec.domain.value}: {fields}",
                "",
                "",
            )
        for export in files.exports:
            columns = ", ".join(export.columns or {}) or "key and every field"
            table.add_row(
                name,
                "export",
                export.name,
                f"{export.domain.value} -> {export.format}: {columns}",
                export.schedule,
                "",
            )
        if files.outbox is not None:
            table.add_row(name, "outbox", "", "", "", _where(files.outbox.folder, files.outbox.sftp))
    return table


def _where(folder: str, sftp: SftpSettings | None) -> Text:
    text = Text(folder)
    if sftp is not None:
        text.append(f"\nsftp {sftp.user}@{sftp.host}:{sftp.port} {sftp.path} ")
        for env in (sftp.key_path_env, sftp.password_env):
            if env is not None:
                state, style = ("set", "green") if os.environ.get(env) else ("not set", "red")
                text.append(f"{env} ({state}) ", style=style)
    return text
