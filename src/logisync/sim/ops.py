"""The demo's operations desk: a webhook receiver on loopback that the hub's alerts go to.

It verifies each call's Standard Webhooks signature, answers 204, and hands the alert to
`on_alert` (the demo prints it), so `logisync demo` shows alerts firing and resolving as the
simulated faults come and go. `alerts_section` is the sync map section that points the hub at it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import orjson
from aiohttp import web

from ..delivery.signing import InvalidSignature, new_secret, verify

SECRET_ENV = "SIM_ALERT_SECRET"


class OpsDesk:
    """Receives the hub's alert webhooks at `url` once `start`ed."""

    def __init__(self, on_alert: Callable[[dict[str, Any]], None]) -> None:
        self.on_alert = on_alert
        self.secret = new_secret()
        self.received: list[dict[str, Any]] = []
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def _hook(self, request: web.Request) -> web.Response:
        body = await request.read()
        try:
            verify([self.secret], request.headers, body, time.time())
        except InvalidSignature:
            return web.Response(status=401)
        alert = orjson.loads(body)
        self.received.append(alert)
        self.on_alert(alert)
        return web.Response(status=204)

    async def start(self, host: str = "127.0.0.1") -> None:
        app = web.Application()
        app.router.add_post("/alerts", self._hook)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://{host}:{port}/alerts"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    def alerts_section(self, compression: float) -> dict[str, Any]:
        """The demo's alert rules, their times in sim seconds brought to real ones (SLAs are too):
        a target down five sim minutes, a route behind its SLA for two, the inbox past 25."""
        return {
            "every": "2s",
            "channels": {
                "ops": {"webhook": {"url": self.url, "secret_env": SECRET_ENV, "allow_private_network": True}}
            },
            "rules": [
                {
                    "name": "target-down",
                    "breaker_open": {"longer_than": 300 / compression},
                    "severity": "critical",
                    "notify": ["ops"],
                },
                {"name": "route-late", "route_lag": {"for": 120 / compression}, "notify": ["ops"]},
                {
                    "name": "inbox-piling-up",
                    "exceptions_open": {"over": 25},
                    "notify": ["ops"],
                    "renotify": "never",
                },
            ],
        }
