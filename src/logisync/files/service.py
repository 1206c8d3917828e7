"""The file transports inside `logisync serve`: each system's inbox and exports on their cron schedules.

For every system with a `files` section:

- `inbox` (at each tick of its `schedule`): pull from its SFTP folder when it has one, then read
  every complete file of the local folder (`folder.FolderInbox`) and move it on;
- each export (at each tick of its own `schedule`): write the snapshot into the `outbox` folder;
- `outbox` with `sftp` (at each export, and at each inbox tick): push the outbox folder's files.

Blocking work (the store, the disk) runs in threads, so the API's event loop never waits. A tick
that fails is logged and kept in `stats`; the next tick tries again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

from croniter import croniter

from ..config.files import FileExport, FilesConfig
from ..config.model import SyncMap
from ..domain.change import now_us
from ..pipeline import Pipeline
from ..store.base import NewException, Store
from .exporter import export
from .folder import FolderInbox, Processed
from .importer import FileReport
from .receive import receive_file
from .sftp import SftpFolder

log = logging.getLogger("logisync.files")
TRANSPORT_FAILED = "transport_failed"  # the exception kind of a pull, push or export that fails
Clock = Callable[[], float]


@dataclass
class FileStats:
    """What one system's transports did, for `status` and the tests."""

    ticks: int = 0
    processed: list[Processed] = field(default_factory=list)
    pulled: list[str] = field(default_factory=list)
    pushed: list[str] = field(default_factory=list)
    exported: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class SystemFiles:
    """One system's inbox, exports and outbox."""

    def __init__(
        self,
        system: str,
        files: FilesConfig,
        pipeline: Pipeline,
        store: Store,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.system = system
        self.files = files
        self.pipeline = pipeline
        self.store = store
        self.stats = FileStats()
        inbox = files.inbox
        self.inbox = FolderInbox(inbox.folder, self._read, settle=inbox.settle) if inbox is not None else None
        self.pull_from = (
            SftpFolder(inbox.sftp, env, settle=inbox.settle) if inbox is not None and inbox.sftp else None
        )
        outbox = files.outbox
        self.push_to = SftpFolder(outbox.sftp, env) if outbox is not None and outbox.sftp else None
        self._alerts: dict[str, int] | None = None  # open transport_failed exceptions by transfer

    def _read(self, path: Path) -> FileReport:
        return receive_file(self.pipeline, self.store, self.system, path)

    async def inbox_tick(self) -> None:
        """Pull (SFTP), then read the folder; then push what the outbox holds (997s, exports)."""
        assert self.files.inbox is not None and self.inbox is not None
        self.stats.ticks += 1
        if self.pull_from is not None:
            pull_from, folder = self.pull_from, Path(self.files.inbox.folder)

            async def pull() -> list[str]:
                pulled = await pull_from.pull(folder)
                self.stats.pulled += pulled.files
                return pulled.errors

            await self._step("pull", pull)
        self.stats.processed += await asyncio.to_thread(self.inbox.process)
        await self.push()

    async def export_tick(self, spec: FileExport) -> None:
        assert self.files.outbox is not None
        folder = Path(self.files.outbox.folder)

        async def write() -> list[str]:
            done = await asyncio.to_thread(export, self.store, spec, folder)
            self.stats.exported.append(done.path.name)
            log.info("%s: exported %s (%d rows)", self.system, done.path.name, done.rows)
            return []

        await self._step(f"export {spec.name}", write)
        await self.push()

    async def push(self) -> None:
        if self.push_to is not None and self.files.outbox is not None:
            push_to, folder = self.push_to, Path(self.files.outbox.folder)

            async def push() -> list[str]:
                pushed = await push_to.push(folder)
                self.stats.pushed += pushed.files
                return pushed.errors

            await self._step("push", push)

    async def _step(self, what: str, work: Callable[[], Awaitable[list[str]]]) -> None:
        """Run one transfer; while it fails, one open `transport_failed` exception says so (opened on
        the first failure, resolved by the first success after it): someone is told, once."""
        try:
            errors = await work()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            errors = [f"{type(exc).__name__}: {exc}"]
        if errors:
            self.stats.errors += errors
            log.warning("%s: %s failed: %s", self.system, what, "; ".join(errors))
            await asyncio.to_thread(self._alert, what, errors)
        else:
            await asyncio.to_thread(self._clear, what)

    def _open_alerts(self) -> dict[str, int]:
        rows = self.store.list_exceptions(kind=TRANSPORT_FAILED, limit=1000)
        return {str((r.detail or {}).get("transport")): r.id for r in rows if r.system == self.system}

    def _alert(self, what: str, errors: list[str]) -> None:
        if self._alerts is None:
            self._alerts = self._open_alerts()
        if what in self._alerts:
            return
        reason = f"{self.system}: {what} failed: {errors[0]}" + (
            f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        )
        exception = NewException(
            TRANSPORT_FAILED, reason, system=self.system, detail={"transport": what, "errors": errors[:20]}
        )
        with self.store.write() as tx:
            tx.open_exceptions([exception], now_us())
        self._alerts = self._open_alerts()

    def _clear(self, what: str) -> None:
        if self._alerts is None:
            self._alerts = self._open_alerts()
        found = self._alerts.pop(what, None)
        if found is not None:
            self.store.resolve_exceptions([found], now_us())


class FileService:
    """Runs every system's `SystemFiles` on their schedules until stopped."""

    def __init__(self, systems: list[SystemFiles], clock: Clock = time.time) -> None:
        self.systems = systems
        self.clock = clock

    @classmethod
    def for_syncmap(
        cls, syncmap: SyncMap, store: Store, env: Mapping[str, str] | None = None, clock: Clock = time.time
    ) -> FileService:
        pipeline = Pipeline(store, syncmap)  # its own: the API's ingest worker keeps the other
        systems = [
            SystemFiles(name, system.files, pipeline, store, env)
            for name, system in syncmap.systems.items()
            if system.files is not None
        ]
        return cls(systems, clock)

    @property
    def active(self) -> bool:
        return any(s.files.inbox is not None or s.files.exports for s in self.systems)

    async def run(self, stop: asyncio.Event) -> None:
        tasks = []
        for system in self.systems:
            if system.files.inbox is not None:
                tasks.append(self._every(system.files.inbox.schedule, system, system.inbox_tick, stop))
            for spec in system.files.exports:
                tasks.append(self._every(spec.schedule, system, partial(system.export_tick, spec), stop))
        running = [asyncio.create_task(t) for t in tasks]
        try:
            await stop.wait()
        finally:
            # once `stop` is set each loop ends after the tick under way: that tick reads files and
            # writes the store in a thread, which a cancel would abandon, not stop (it would go on
            # using the store after the hub closed it). Cancelled from outside, there is no waiting.
            if not stop.is_set():
                for task in running:
                    task.cancel()
            await asyncio.gather(*running, return_exceptions=True)

    async def _every(
        self, schedule: str, system: SystemFiles, tick: Callable[[], Awaitable[None]], stop: asyncio.Event
    ) -> None:
        while not stop.is_set():
            now = datetime.fromtimestamp(self.clock(), UTC)
            due = croniter(schedule, now).get_next(datetime)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=max(0.0, due.timestamp() - self.clock()))
            if stop.is_set():
                return
            try:
                await tick()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the next tick tries again; the reason is kept
                message = f"{type(exc).__name__}: {exc}"
                system.stats.errors.append(message)
                log.warning("%s: files tick failed: %s", system.system, message)
