"""Readiness (`/readyz`): the store answers with its schema current, the ingest worker takes
batches, and (in a hub that delivers) the dispatcher runs. Each check names what is wrong."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Protocol

from ..errors import MigrationError
from ..store.base import Store

STORE_TIMEOUT = 2.0  # seconds the store gets to answer before the hub is not ready


class Worker(Protocol):
    closed: bool

    @property
    def waiting(self) -> int: ...


class Running(Protocol):
    running: bool


@dataclass
class Readiness:
    checks: dict[str, str] = field(default_factory=dict)  # check -> "ok" or why not

    @property
    def ready(self) -> bool:
        return all(v == "ok" for v in self.checks.values())

    @property
    def reasons(self) -> list[str]:
        return [f"{name}: {why}" for name, why in self.checks.items() if why != "ok"]


async def check_ready(
    store: Store,
    ingestor: Worker,
    dispatcher: Running | None,
    *,
    max_queue: int,
    timeout: float = STORE_TIMEOUT,
) -> Readiness:
    out = Readiness()
    out.checks["store"] = await _store(store, timeout)
    if ingestor.closed:
        out.checks["ingest"] = "the ingest worker is stopped"
    elif ingestor.waiting >= max_queue:
        out.checks["ingest"] = f"the ingest queue is full ({ingestor.waiting} batches, limit {max_queue})"
    else:
        out.checks["ingest"] = "ok"
    if dispatcher is not None:
        out.checks["delivery"] = "ok" if dispatcher.running else "the dispatcher is not running"
    return out


async def _store(store: Store, timeout: float) -> str:
    try:
        pending = await asyncio.wait_for(asyncio.to_thread(store.pending_migrations), timeout)
    except TimeoutError:
        return f"the store did not answer within {timeout:g} s"
    except MigrationError as exc:  # a store newer than this code
        return str(exc)
    except Exception as exc:
        return f"the store does not answer ({type(exc).__name__}: {exc})"
    if pending:
        return f"migrations not applied: {', '.join(pending)} (a logisync that opens the store applies them)"
    return "ok"
