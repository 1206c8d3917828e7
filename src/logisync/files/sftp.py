"""SFTP (asyncssh): pull a partner's files into a local inbox folder, push an outbox folder to it.

Pull: the remote folder is listed; a file is taken when its name is not a partial one (see
`folder.is_candidate`) and its size and time are the same at two looks `settle` seconds apart. It
is downloaded as `.NAME.part` in the local inbox, synced, renamed to NAME, and only then moved on
the server into `processed/` (created when missing). A crash between the two leaves the file on
the server: the next pull downloads it again and its receipt makes it a duplicate, never a
second apply. A name still waiting in the local inbox is not downloaded over.

Push: every complete file of the local outbox folder is uploaded as `.NAME.part`, renamed to
NAME on the server (a partner's poller never sees half a file), then moved locally into `sent/`.

Secrets come only from the environment: `password_env` and `key_path_env` name the variables
(the key's path, not the key). The server's host key is checked against `known_hosts` (or
`~/.ssh/known_hosts`); an unknown host is refused. Nothing secret is logged.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any

from ..config.files import SftpSettings
from ..errors import ConfigError
from .folder import is_candidate, stable_files

log = logging.getLogger("logisync.files")
REMOTE_DONE = "processed"
SENT = "sent"


@dataclass
class Transfer:
    """What one pull or push moved, and what it could not."""

    files: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def connect_options(settings: SftpSettings, env: Mapping[str, str] | None = None) -> dict[str, Any]:
    """asyncssh.connect's arguments; ConfigError names a variable that is not set (never a value)."""
    env = os.environ if env is None else env
    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        "username": settings.user,
        "connect_timeout": settings.timeout,
        "login_timeout": settings.timeout,
    }
    if settings.known_hosts is not None:
        options["known_hosts"] = settings.known_hosts
    if settings.password_env is not None:
        password = env.get(settings.password_env)
        if not password:
            raise ConfigError(
                f"{settings.password_env} is not set: it holds the SFTP password for {settings.user}@{settings.host}"
            )
        options["password"] = password
    if settings.key_path_env is not None:
        key_path = env.get(settings.key_path_env)
        if not key_path:
            raise ConfigError(
                f"{settings.key_path_env} is not set: it holds the path of the SFTP key for {settings.user}@{settings.host}"
            )
        options["client_keys"] = [key_path]
    else:
        options["client_keys"] = None
    return options


class SftpFolder:
    """One remote folder: `pull` into a local inbox, `push` from a local outbox."""

    def __init__(
        self, settings: SftpSettings, env: Mapping[str, str] | None = None, *, settle: float = 1.0
    ) -> None:
        self.settings = settings
        self.env = env
        self.settle = settle
        self.remote = PurePosixPath(settings.path)

    def _connect(self) -> Any:
        import asyncssh

        return asyncssh.connect(**connect_options(self.settings, self.env))

    async def pull(self, inbox: Path) -> Transfer:
        """Download the remote folder's complete files into `inbox` (see the module docstring)."""
        done = Transfer()
        inbox.mkdir(parents=True, exist_ok=True)
        async with self._connect() as conn, conn.start_sftp_client() as sftp:
            first = await self._listing(sftp)
            if not first:
                return done
            if self.settle > 0:
                await asyncio.sleep(self.settle)
            second = await self._listing(sftp)
            for name, sig in sorted(first.items(), key=lambda item: (item[1][1], item[0])):
                if second.get(name) != sig:
                    done.skipped.append(name)  # still growing: the next pull takes it
                    continue
                if (inbox / name).exists():
                    done.skipped.append(name)  # the last copy is not read yet
                    continue
                try:
                    await self._download(sftp, name, inbox)
                except Exception as exc:  # one file's fault is not the others'
                    done.errors.append(f"{name}: {type(exc).__name__}: {exc}")
                    continue
                done.files.append(name)
        return done

    async def _listing(self, sftp: Any) -> dict[str, tuple[int, int]]:
        import asyncssh

        found = {}
        for entry in await sftp.readdir(str(self.remote)):
            attrs = entry.attrs
            if attrs.type == asyncssh.FILEXFER_TYPE_REGULAR and is_candidate(entry.filename):
                found[entry.filename] = (attrs.size or 0, attrs.mtime or 0)
        return found

    async def _download(self, sftp: Any, name: str, inbox: Path) -> None:
        remote = str(self.remote / name)
        part = inbox / f".{name}.part"
        try:
            await sftp.get(remote, str(part))
            with part.open("rb") as fh:
                os.fsync(fh.fileno())
            os.replace(part, inbox / name)
        except BaseException:
            part.unlink(missing_ok=True)
            raise
        done = self.remote / REMOTE_DONE
        await sftp.makedirs(str(done), exist_ok=True)
        target = done / name
        if await sftp.exists(str(target)):
            target = done / f"{name}.{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%fZ')}"
        await sftp.rename(remote, str(target))
        log.info("sftp %s@%s: pulled %s", self.settings.user, self.settings.host, name)

    async def push(self, outbox: Path) -> Transfer:
        """Upload the outbox folder's complete files, then move each into `outbox/sent/`."""
        done = Transfer()
        if not outbox.is_dir():
            return done
        files = await asyncio.to_thread(stable_files, outbox, 0.0)
        if not files:
            return done
        sent = outbox / SENT
        sent.mkdir(exist_ok=True)
        async with self._connect() as conn, conn.start_sftp_client() as sftp:
            await sftp.makedirs(str(self.remote), exist_ok=True)
            for path in files:
                name = path.name
                part = str(self.remote / f".{name}.part")
                final = str(self.remote / name)
                try:
                    await sftp.put(str(path), part)
                    if await sftp.exists(final):
                        await sftp.remove(final)
                    await sftp.rename(part, final)
                except Exception as exc:
                    done.errors.append(f"{name}: {type(exc).__name__}: {exc}")
                    continue
                target = sent / name
                if target.exists():
                    target = sent / f"{name}.{datetime.now(UTC).strftime('%Y%m%dT%H%M%S%fZ')}"
                os.replace(path, target)
                done.files.append(name)
                log.info("sftp %s@%s: pushed %s", self.settings.user, self.settings.host, name)
        return done
