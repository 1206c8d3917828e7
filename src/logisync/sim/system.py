"""The base of every simulated system: a real HTTP server on a loopback port, an honest peer.

Each system listens on `POST {url}` for the hub's calls (its `url` is what the sync map names),
and checks every call as a real API would, in this order: outage (503), injected errors (500)
and throttling (429 + Retry-After), its own token-bucket rate limit (429 + Retry-After), the
hub's Standard Webhooks signature (401), a JSON body of its own shape (400, counted); then the
system's handler answers. It sends its own changes to the hub as signed webhooks
(`POST {hub}/v1/webhooks/{system}`) in its scheme, through the webhook faults (drop, duplicate,
reorder, bad record), holding them while it is down and retrying the hub's 429/5xx answers.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import itertools
import json
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
from aiohttp import web

from ..delivery.signing import InvalidSignature, signature_headers, verify
from .clock import SimClock
from .faults import Faults

SEND_ATTEMPTS = 8  # a webhook the hub answers 429/5xx (or cannot be reached) is retried this often


class BadCall(Exception):
    """A call this system rejects with 400: what was wrong, and where."""

    def __init__(self, where: str, message: str) -> None:
        super().__init__(f"{where}: {message}")
        self.where = where


@dataclass
class HubLink:
    """Where a system sends its webhooks, and the secrets on both sides."""

    url: str  # the hub's base URL
    system: str  # the system's name in the sync map
    secret: str  # signs what the system sends the hub (its inbound secret at the hub)
    scheme: str = "standard-webhooks"  # standard-webhooks | shopify | stripe
    call_secret: str | None = None  # whsec_ secret the hub signs its calls with; None: calls unsigned


@dataclass
class SentWebhook:
    """One webhook the system sent (or dropped on purpose): what the hub answered."""

    id: str
    domain: str
    key: str
    dropped: bool = False
    status: int | None = None  # the hub's last answer; None when never delivered
    change_ids: list[str] = field(default_factory=list)  # what the hub acknowledged in its 200
    bad: bool = False  # sent with a malformed record (the bad_records fault)
    duplicate: bool = False  # the second copy of a duplicated webhook


class TokenBucket:
    """`rate` calls a second on average, `burst` at once; `take` says how long to wait when empty."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate, self.burst = rate, burst
        self.tokens = float(burst)
        self.at = time.monotonic()

    def take(self) -> float:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


class SimSystem:
    """A simulated system. Subclasses set `kind`, answer `handle(body, request)` and keep views."""

    kind = "system"
    scheme = "standard-webhooks"  # how it signs its webhooks to the hub

    def __init__(
        self,
        name: str,
        *,
        clock: SimClock | None = None,
        faults: Faults | None = None,
        seed: int = 0,
        rate: float = 50.0,
        burst: int = 100,
    ) -> None:
        self.name = name
        self.clock = clock or SimClock()
        self.faults = faults or Faults()
        self.random = random.Random(seed)
        self.bucket = TokenBucket(rate, burst)
        self.stats: Counter[str] = Counter()
        self.sent: list[SentWebhook] = []
        self.rejected: list[str] = []  # why each 400 was answered
        self.url = ""
        self.hub: HubLink | None = None
        self._ids = itertools.count(1)
        self._held: list[tuple[Any, ...]] = []  # a reordered webhook waiting
        self._send_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._runner: web.AppRunner | None = None
        self._client: httpx.AsyncClient | None = None

    # -- lifecycle --------------------------------------------------------------------------------

    async def start(self, hub: HubLink, host: str = "127.0.0.1", port: int = 0) -> None:
        self.hub = hub
        app = web.Application(client_max_size=8 * 1024 * 1024)
        app.router.add_post("/api", self._call)
        app.router.add_get("/api/view/{domain}", self._view)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        bound = site._server.sockets[0].getsockname()  # type: ignore[union-attr]
        self.url = f"http://{bound[0]}:{bound[1]}/api"
        self._client = httpx.AsyncClient(timeout=15)

    async def stop(self) -> None:
        # the server first: a call the hub makes meanwhile would start work (a WMS's picking)
        # that outlives the client it needs to report back
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task
        if self._held:
            self._held, held = [], self._held
            for item in held:
                await self._deliver(*item)
        if self._client is not None:
            await self._client.aclose()

    def quiesce(self) -> None:
        """Faults off from now on (a held, reordered webhook goes out with the next send or stop)."""
        self.faults = Faults()

    def spawn(self, coro: Any) -> asyncio.Task[Any]:
        """Run `coro` in the background, kept until done (and cancelled by `stop`)."""
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    def busy(self) -> bool:
        """Work still under way: a background task (a pick, a parcel moving) or a held webhook."""
        return any(not t.done() for t in self._tasks) or bool(self._held)

    def down(self) -> bool:
        return self.faults.active_outage(self.clock.elapsed())

    def view(self, domain: str) -> dict[str, dict[str, Any]]:
        """What the system believes now, by canonical key with canonical field names."""
        return {}

    # -- the hub's calls ----------------------------------------------------------------------------

    async def _view(self, request: web.Request) -> web.Response:
        return web.json_response(self.view(request.match_info["domain"]))

    async def _call(self, request: web.Request) -> web.Response:
        self.stats["calls"] += 1
        faults = self.faults
        low, high = faults.latency
        if high > 0:
            await asyncio.sleep(self.random.uniform(low, high))
        if self.down():
            self.stats["outage"] += 1
            return web.json_response({"error": "unavailable"}, status=503)
        roll = self.random.random()
        if roll < faults.error_rate:
            self.stats["errors"] += 1
            return web.json_response({"error": "internal error"}, status=500)
        if roll < faults.error_rate + faults.throttle_rate:
            return self._throttled(faults.retry_after)
        wait = self.bucket.take()
        if wait > 0:
            return self._throttled(wait)
        raw = await request.read()
        if self.hub is not None and self.hub.call_secret is not None:
            try:
                verify([self.hub.call_secret], request.headers, raw, time.time())
            except InvalidSignature as exc:
                self.stats["rejected_signature"] += 1
                return web.json_response({"error": "invalid_signature", "detail": str(exc)}, status=401)
        try:
            body = json.loads(raw)
            answer = await self.handle(body, request)
        except (ValueError, BadCall) as exc:
            self.stats["rejected_malformed"] += 1
            self.rejected.append(str(exc))
            return web.json_response({"error": "bad_request", "detail": str(exc)}, status=400)
        if isinstance(answer, web.Response):
            return answer
        self.stats["accepted"] += 1
        return web.json_response(answer if answer is not None else {"ok": True})

    def _throttled(self, seconds: float) -> web.Response:
        self.stats["throttled"] += 1
        wait = max(1, int(seconds + 0.999))
        return web.json_response({"error": "rate_limited"}, status=429, headers={"Retry-After": str(wait)})

    async def handle(self, body: Any, request: web.Request) -> Any:
        """Answer one call of the hub's (raise BadCall for a malformed one)."""
        raise BadCall("$", f"{self.name} takes no calls")

    # -- webhooks to the hub ------------------------------------------------------------------------

    def next_id(self, prefix: str = "wh") -> str:
        return f"{self.name}-{prefix}-{next(self._ids)}"

    def spoil(self, payload: Any) -> Any:
        """A malformed copy of `payload` (the bad_records fault); subclasses break a record field."""
        return {"malformed": True}

    async def send(self, domain: str, key: str, payload: Any, topic: str | None = None) -> SentWebhook | None:
        """Send one webhook through the faults; the record of the (last) copy, None when held back."""
        msg_id = self.next_id()
        while self.down():
            await self.clock.sleep(30)
        faults = self.faults
        if self.random.random() < faults.drop_webhooks:
            self.stats["webhooks_dropped"] += 1
            record = SentWebhook(msg_id, domain, key, dropped=True)
            self.sent.append(record)
            return record
        bad = self.random.random() < faults.bad_records
        if bad:
            payload = self.spoil(payload)
        item = (msg_id, domain, key, topic, payload, bad)
        if not self._held and self.random.random() < faults.reorder_events:
            self.stats["webhooks_reordered"] += 1
            self._held.append(item)
            return None
        held, self._held = self._held, []
        record = await self._deliver(*item)
        if self.random.random() < faults.duplicate_events:
            self.stats["webhooks_duplicated"] += 1
            record = await self._deliver(*item, duplicate=True)
        for other in held:
            await self._deliver(*other)
        return record

    async def _deliver(
        self,
        msg_id: str,
        domain: str,
        key: str,
        topic: str | None,
        payload: Any,
        bad: bool = False,
        duplicate: bool = False,
    ) -> SentWebhook:
        assert self.hub is not None and self._client is not None, "start the system first"
        record = SentWebhook(msg_id, domain, key, bad=bad, duplicate=duplicate)
        self.sent.append(record)
        body = json.dumps(payload, separators=(",", ":")).encode()
        url = f"{self.hub.url}/v1/webhooks/{self.hub.system}"
        for attempt in range(SEND_ATTEMPTS):
            headers = {"content-type": "application/json", **self.sign(msg_id, topic, body)}
            try:
                answer = await self._client.post(url, content=body, headers=headers)
            except httpx.HTTPError:
                record.status = None
                await asyncio.sleep(min(2.0, 0.05 * 2**attempt))
                continue
            record.status = answer.status_code
            if answer.status_code == 200:
                self.stats["webhooks_sent"] += 1
                with contextlib.suppress(ValueError, KeyError, TypeError):
                    record.change_ids = [o["id"] for o in answer.json()["outcomes"]]
                return record
            if answer.status_code != 429 and answer.status_code < 500:
                break
            retry_after = answer.headers.get("retry-after")
            pause = float(retry_after) if retry_after and retry_after.isdigit() else 0.05 * 2**attempt
            await asyncio.sleep(min(2.0, pause))
        self.stats["webhooks_failed"] += 1
        return record

    def sign(self, msg_id: str, topic: str | None, body: bytes) -> dict[str, str]:
        """The signature headers of one webhook in this system's scheme."""
        assert self.hub is not None
        return sign_webhook(self.hub.scheme, self.hub.secret, msg_id, topic, body)


def sign_webhook(scheme: str, secret: str, msg_id: str, topic: str | None, body: bytes) -> dict[str, str]:
    now = int(time.time())
    if scheme == "standard-webhooks":
        return signature_headers([secret], msg_id, now, body)
    if scheme == "shopify":
        digest = hmac.new(secret.encode(), body, hashlib.sha256).digest()
        headers = {
            "X-Shopify-Hmac-Sha256": base64.b64encode(digest).decode(),
            "X-Shopify-Webhook-Id": msg_id,
            "X-Shopify-Triggered-At": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
        }
        if topic:
            headers["X-Shopify-Topic"] = topic
        return headers
    if scheme == "stripe":
        signed = hmac.new(secret.encode(), f"{now}.".encode() + body, hashlib.sha256).hexdigest()
        return {"Stripe-Signature": f"t={now},v1={signed}"}
    raise ValueError(f"unknown signing scheme {scheme!r}")
