"""Feeding the pipeline from the event loop: one worker thread, with group commit of concurrent batches.

Batches that arrive while another is being committed wait in line. The worker then takes the
waiting batches of the same system (and source), in arrival order and up to `GROUP_CHANGES` changes in all,
and runs them through the pipeline as one store transaction; each request is answered with its
own slice of the outcomes, after the commit. The transaction's fixed costs (its fsync above all)
are shared, and nothing waits on a timer: a lone sender's batch is committed at once, alone.

If a group fails, its batches are retried one at a time (the failed transaction applied nothing),
so a fault is reported only to the request that caused it.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import suppress
from dataclasses import dataclass

from ..domain.change import Change, Outcome
from ..domain.kinds import OutcomeKind
from ..monitor.logs import bound, context, new_id
from ..pipeline import Pipeline

log = logging.getLogger("logisync.api")

SOURCE = "api"  # what the change log says these changes came through
GROUP_CHANGES = 1000  # at most this many changes in one grouped transaction (a larger batch goes alone)
RECEIVED_BEFORE = "this id was received before; nothing was done"


@dataclass(slots=True)
class _Job:
    system: str
    source: str
    changes: list[Change]
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future[list[Outcome]]
    request_id: str | None = None  # the request's, for the log lines of its commit


class Ingestor:
    """Runs `pipeline.ingest` off the event loop; `await ingest(...)` returns after the commit."""

    def __init__(
        self,
        pipeline: Pipeline,
        group_changes: int = GROUP_CHANGES,
        on_commit: Callable[[], None] | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.group_changes = group_changes
        self.on_commit = on_commit  # told after each commit (the dispatchers look at the outbox)
        self._queue: deque[_Job] = deque()
        self._lock = threading.Lock()
        self._busy = False
        self._executor: ThreadPoolExecutor | None = None
        self.closed = False  # `close` was called: the worker takes nothing more (`/readyz` says so)

    async def ingest(self, system: str, changes: list[Change], source: str = SOURCE) -> list[Outcome]:
        """Commit `changes` from `system` (the change log names `source`: `api`, `webhook`)."""
        loop = asyncio.get_running_loop()
        job = _Job(system, source, changes, loop, loop.create_future(), context().get("request_id"))
        with self._lock:
            self._queue.append(job)
            idle, self._busy = not self._busy, True
        if idle:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(1, thread_name_prefix="logisync-ingest")
            self._executor.submit(self._drain)
        return await job.future

    @property
    def waiting(self) -> int:
        """Batches waiting for the worker (the one being committed not included)."""
        return len(self._queue)

    def close(self) -> None:
        """Commit what is waiting, then stop the worker."""
        self.closed = True
        if self._executor is not None:
            self._executor.shutdown(wait=True)
            self._executor = None

    def _drain(self) -> None:
        while True:
            with self._lock:
                if not self._queue:
                    self._busy = False
                    return
                group = [self._queue.popleft()]
                size = len(group[0].changes)
                while (
                    self._queue
                    and self._queue[0].system == group[0].system
                    and self._queue[0].source == group[0].source
                    and size + len(self._queue[0].changes) <= self.group_changes
                ):
                    size += len(self._queue[0].changes)
                    group.append(self._queue.popleft())
            self._commit(group)
            if self.on_commit is not None:
                try:
                    self.on_commit()
                except Exception:  # a nudge that failed: the dispatchers' poll finds the rows anyway
                    log.exception("on_commit callback failed; the ingest worker carries on")

    def _commit(self, group: list[_Job]) -> None:
        changes = group[0].changes if len(group) == 1 else [c for job in group for c in job.changes]
        ids: dict[str, object] = {"batch_id": new_id()}  # the log lines of this commit carry it
        requests = [job.request_id for job in group if job.request_id]
        if requests:
            ids.update({"request_id": requests[0]} if len(group) == 1 else {"request_ids": requests})
        try:
            with bound(**ids):
                outcomes = self.pipeline.ingest(group[0].system, changes, source=group[0].source)
        except BaseException as exc:
            if len(group) == 1:
                _settle(group[0], exc)
            else:
                for job in group:
                    self._commit([job])
            return
        if len(group) == 1:
            _settle(group[0], outcomes)
            return
        start = 0
        for job in group:
            end = start + len(job.changes)
            _settle(job, _own(outcomes[start:end], outcomes))
            start = end


def _own(mine: list[Outcome], everyone: list[Outcome]) -> list[Outcome]:
    """A request's outcomes in a group: a duplicate of an id that another request of the group
    brought is, for this request, an id received before (as it would be without grouping)."""
    own = {id(o) for o in mine}
    others = {id(o) for o in everyone} - own
    for outcome in mine:
        if outcome.outcome is OutcomeKind.duplicate and id(outcome.original) in others:
            outcome.reason = RECEIVED_BEFORE
    return mine


def _settle(job: _Job, answer: list[Outcome] | BaseException) -> None:
    """Hand the answer to the request's event loop (it may have gone: the server stopped)."""

    def settle() -> None:
        if job.future.done():
            return
        if isinstance(answer, BaseException):
            job.future.set_exception(answer)
        else:
            job.future.set_result(answer)

    with suppress(RuntimeError):  # the loop is closed
        job.loop.call_soon_threadsafe(settle)
