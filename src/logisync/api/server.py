"""`logisync serve`: open the store, build the app, run uvicorn; close everything on SIGINT or SIGTERM."""

from __future__ import annotations

import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from types import FrameType

import uvicorn

from ..config.model import SyncMap
from ..redact import redact_url
from ..store import open_store
from .app import create_app

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
# On a stop signal, requests in flight get this long to finish; batches already queued are committed.
GRACE_SECONDS = 30


def serve(
    syncmap: SyncMap, *, host: str | None = None, port: int | None = None, store_url: str | None = None
) -> None:
    """Serve the API until SIGINT or SIGTERM; then finish the requests in flight and close the store.

    Prints one line, `logisync listening on http://HOST:PORT (store: URL)`, once the socket is
    listening (with the real port when `port` is 0).
    """
    url = store_url or syncmap.store
    host = host or syncmap.api.host
    port = syncmap.api.port if port is None else port
    with _stoppable():
        store = open_store(url)
        try:
            config = uvicorn.Config(
                create_app(syncmap, store, deliver=True),
                host=host,
                port=port,
                log_level="warning",
                log_config=None,  # uvicorn's loggers print through logisync's handler (`--log-format`)
                access_log=False,
                server_header=False,
                ws="none",
                lifespan="on",
                timeout_graceful_shutdown=GRACE_SECONDS,
            )
            announce = f"logisync listening on http://{_host(host)}:{{port}} (store: {redact_url(url)})"
            _Server(config, lambda bound: print(announce.format(port=bound), flush=True)).run()
        finally:
            store.close()


class _Server(uvicorn.Server):
    """uvicorn's server, telling `on_ready` the port once it listens."""

    def __init__(self, config: uvicorn.Config, on_ready: Callable[[int], None]) -> None:
        super().__init__(config)
        self.on_ready = on_ready

    async def startup(self, sockets: list | None = None) -> None:
        await super().startup(sockets)
        if self.started and not self.should_exit:
            self.on_ready(self.servers[0].sockets[0].getsockname()[1])


class _Stop(BaseException):
    """A stop signal arrived outside uvicorn's own handling (before it started, or as it ends)."""


@contextmanager
def _stoppable() -> Iterator[None]:
    """Make SIGINT and SIGTERM end `serve` normally.

    uvicorn handles both gracefully while it runs, then re-raises the signal with the previous
    handler; this handler turns that (or a signal during startup) into a clean return.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(sig: int, frame: FrameType | None) -> None:
        raise _Stop(sig)

    previous = {sig: signal.signal(sig, stop) for sig in STOP_SIGNALS}
    try:
        yield
    except _Stop:
        print("logisync stopped", file=sys.stderr, flush=True)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
