"""The hub as a scenario and the demo run it: `create_app(..., deliver=True)` under a real uvicorn
server on a loopback port, in this process's event loop, as `logisync serve` runs it.

The socket is bound first, so the hub's URL is known before the simulated systems start (they
send it their webhooks) and before the sync map is complete (it names the systems' URLs).

Under time compression the hub's own timers are put in sim time: each target's retry schedule
and breaker cooldowns, and each route's SLA, are divided by the compression factor in the copy
the hub runs; the scenario's checks read the sync map as written, in sim seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import socket
from collections.abc import Iterator, Mapping
from typing import Any

import uvicorn

from ..api.app import create_app
from ..config.durations import parse_duration
from ..config.loader import _cross_check
from ..config.model import SyncMap
from ..delivery.retry import WEBHOOK_SCHEDULE
from ..errors import ConfigError
from ..store import Store


def bind_loopback(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


class _Server(uvicorn.Server):
    """uvicorn without its signal handlers: whoever runs the hub decides what a signal means."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class Hub:
    """One hub: start it on a bound socket, stop it (the dispatchers finish, the store stays open)."""

    def __init__(self, syncmap: SyncMap, store: Store, env: Mapping[str, str], sock: socket.socket) -> None:
        self.syncmap = syncmap
        self.store = store
        self.sock = sock
        host, port = sock.getsockname()[:2]
        self.url = f"http://{host}:{port}"
        app = create_app(syncmap, store, env=env, deliver=True)
        config = uvicorn.Config(
            app,
            log_level="warning",
            log_config=None,  # uvicorn prints through logisync's handler (`--log-format`)
            access_log=False,
            server_header=False,
            ws="none",
            lifespan="on",
            timeout_graceful_shutdown=5,
        )
        self.server = _Server(config)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self.server.serve(sockets=[self.sock]))
        while not self.server.started:
            if self._task.done():
                self._task.result()  # raises what stopped it
                raise RuntimeError("the hub stopped while starting")
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        if self._task is None:
            return
        self.server.should_exit = True
        await self._task
        self._task = None


def merge_overrides(base: dict[str, Any], overrides: Mapping[str, Any]) -> dict[str, Any]:
    """`base` with `overrides` deep-merged; `routes` as a mapping merges into the routes by name
    (`{stock-to-shop: {sla: 5m}}`; `null` removes a route), and a key set to `null` is removed."""
    out = copy.deepcopy(base)
    for key, value in overrides.items():
        if key == "routes" and isinstance(value, Mapping):
            routes = {r["name"]: r for r in out.get("routes", [])}
            for name, patch in value.items():
                if patch is None:
                    routes.pop(name, None)
                elif name in routes:
                    routes[name] = merge_overrides(routes[name], patch)
                else:
                    routes[name] = {"name": name, **patch}
            out["routes"] = list(routes.values())
        elif value is None:
            out.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(out.get(key), dict):
            out[key] = merge_overrides(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def validated(data: Mapping[str, Any], where: str) -> SyncMap:
    """A sync map dict checked as `logisync check` would (ConfigError says what and where)."""
    from pydantic import ValidationError

    from ..config.loader import _dotted, _problems

    try:
        syncmap = SyncMap.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(
            "\n".join(f"{where}: syncmap.{_dotted(loc)}: {msg}" for loc, msg in _problems(exc))
        ) from None
    problems = _cross_check(syncmap)
    if problems:
        raise ConfigError("\n".join(f"{where}: syncmap.{_dotted(loc)}: {msg}" for loc, msg in problems))
    return syncmap


def in_sim_time(data: Mapping[str, Any], compression: float) -> dict[str, Any]:
    """The sync map the hub runs: its timers (retry schedule, breaker cooldown, SLAs) over `compression`."""
    out = copy.deepcopy(dict(data))
    if compression == 1:
        return out
    for system in (out.get("systems") or {}).values():
        acks = (system.get("edi") or {}).get("acknowledgments")
        if acks:  # how long a partner's 997 may take: the hub's overdue check runs in real time
            if "overdue" in acks:
                acks["overdue"] = parse_duration(acks["overdue"]) / compression
            acks["sets"] = {
                code: parse_duration(d) / compression for code, d in (acks.get("sets") or {}).items()
            }
        transport = system.setdefault("transport", {}) if system.get("url") else system.get("transport")
        if transport is None:
            continue
        retry = dict(transport.get("retry") or {})
        retry["schedule"] = [d / compression for d in (retry.get("schedule") or WEBHOOK_SCHEDULE)]
        transport["retry"] = retry
        breaker = dict(transport.get("breaker") or {})
        breaker["cooldown"] = parse_duration(breaker.get("cooldown", 30)) / compression
        breaker["max_cooldown"] = parse_duration(breaker.get("max_cooldown", 1800)) / compression
        transport["breaker"] = breaker
    for route in out.get("routes") or []:
        if route.get("sla") is not None:
            route["sla"] = parse_duration(route["sla"]) / compression
    return out
