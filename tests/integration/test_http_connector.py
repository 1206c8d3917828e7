"""The HTTP connector against real HTTP servers on loopback: no mock of the network anywhere.

An aiohttp.web server started in the test (port 0) verifies signatures with an implementation
of Standard Webhooks written here from the spec, and answers 2xx, 3xx, 4xx, 5xx, 429 with
Retry-After, sleeps past the timeout, or serves TLS with a self-signed certificate.
"""

from __future__ import annotations

import asyncio
import base64
import hmac
import shutil
import socket
import ssl
import subprocess
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from email.utils import formatdate
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp import web

from logisync.connectors.http import HttpTransport, Sent, Settings, Target, encode, encode_batch
from logisync.delivery.breaker import BreakerPolicy, BreakerState, CircuitBreaker
from logisync.delivery.errors import DeliveryError, ErrorKind
from logisync.delivery.outgoing import Delivery
from logisync.delivery.retry import Retry, RetryPolicy

SECRET = "whsec_c2VjcmV0LWZvci10aGUtbG9vcGJhY2stdGFyZ2V0LTAx"
ENV = {"TARGET_SECRET": SECRET}
WALL = 1_800_000_000.0  # the injected wall clock: signatures, Retry-After dates


def spec_signature_ok(secret: str, headers: Any, body: bytes, now: float) -> bool:
    """Standard Webhooks verification written from the spec text, independent of logisync."""
    key = base64.b64decode(secret.split("_", 1)[1])
    msg_id, stamp = headers["webhook-id"], headers["webhook-timestamp"]
    if abs(now - int(stamp)) > 300:
        return False
    mac = base64.b64encode(hmac.digest(key, f"{msg_id}.{stamp}.".encode() + body, "sha256")).decode()
    return any(
        sig.startswith("v1,") and hmac.compare_digest(sig[3:], mac)
        for sig in headers["webhook-signature"].split()
    )


class Target_:
    """The loopback target: what it received, and how it answers."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.peers: set[Any] = set()
        self.stock = 5  # for the compare-and-set endpoint

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/hook", self.hook)
        app.router.add_post("/status/{code}", self.status)
        app.router.add_post("/slow", self.slow)
        app.router.add_post("/stock", self.stock_cas)
        app.router.add_post("/hangup", self.hangup)
        return app

    async def _take(self, request: web.Request) -> bytes:
        body = await request.read()
        self.peers.add(request.transport.get_extra_info("peername") if request.transport else None)
        self.received.append({"path": request.path, "headers": request.headers.copy(), "body": body})
        return body

    async def hook(self, request: web.Request) -> web.Response:
        body = await self._take(request)
        if not spec_signature_ok(SECRET, request.headers, body, WALL):
            return web.Response(status=401, text="bad signature")
        return web.Response(status=204)

    async def status(self, request: web.Request) -> web.Response:
        await self._take(request)
        code = int(request.match_info["code"])
        headers = {}
        if "retry_after" in request.query:
            headers["Retry-After"] = request.query["retry_after"]
        if 300 <= code < 400:
            headers["Location"] = "https://elsewhere.example/hook"
        return web.Response(status=code, headers=headers, text=f"answer {code}")

    async def slow(self, request: web.Request) -> web.Response:
        await self._take(request)
        await asyncio.sleep(0.8)
        return web.Response(status=204)

    async def stock_cas(self, request: web.Request) -> web.Response:
        body = orjson.loads(await self._take(request))
        if "expected" in body and body["expected"] != self.stock:
            return web.json_response({"error": "stale", "actual": self.stock}, status=409)
        self.stock = body["value"]
        return web.json_response({"value": self.stock})

    async def hangup(self, request: web.Request) -> web.Response:
        await self._take(request)
        assert request.transport is not None
        request.transport.close()
        await asyncio.sleep(0.05)
        return web.Response(status=204)


@asynccontextmanager
async def serve(target: Target_, ssl_context: ssl.SSLContext | None = None) -> AsyncIterator[str]:
    runner = web.AppRunner(target.app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=ssl_context)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    try:
        yield f"{'https' if ssl_context else 'http'}://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def delivery(n: int = 1, **overrides: Any) -> Delivery:
    values: dict[str, Any] = {
        "id": f"stock-to-shop-{n}",
        "route": "stock-to-shop",
        "target": "shop",
        "domain": "inventory",
        "key": f"SKU-{n}@DC1",
        "fields": {"sku": f"SKU-{n}", "available": 7},
        "revision": n,
    }
    return Delivery(**{**values, **overrides})


def settings(url: str, **extra: Any) -> Settings:
    return Settings(url=url, signing_secret_env="TARGET_SECRET", allow_private_network=True, **extra)


def run(scenario: Callable[[Target_, str], Awaitable[Any]], ssl_context: ssl.SSLContext | None = None) -> Any:
    async def main() -> Any:
        target = Target_()
        async with serve(target, ssl_context) as base:
            return await scenario(target, base)

    return asyncio.run(main())


async def send(url: str, d: Delivery | None = None, **extra: Any) -> Sent | DeliveryError:
    s = settings(url, **extra)
    async with HttpTransport(s, wall_clock=lambda: WALL) as transport:
        return await transport.send(encode(d or delivery(), Target.from_settings(s, ENV), WALL))


def test_a_signed_delivery_verifies_with_the_independent_implementation():
    async def scenario(target: Target_, base: str) -> Any:
        return await send(f"{base}/hook"), target.received

    outcome, received = run(scenario)
    assert isinstance(outcome, Sent) and outcome.status == 204
    (got,) = received
    assert got["headers"]["webhook-id"] == got["headers"]["Idempotency-Key"] == "stock-to-shop-1"
    assert got["headers"]["Content-Type"] == "application/json"
    assert orjson.loads(got["body"])["data"] == {"sku": "SKU-1", "available": 7}


def test_a_wrong_secret_is_unauthorized_and_permanent():
    async def scenario(target: Target_, base: str) -> Any:
        s = settings(f"{base}/hook")
        wrong = Target.from_settings(s, {"TARGET_SECRET": "whsec_" + base64.b64encode(b"x" * 32).decode()})
        async with HttpTransport(s, wall_clock=lambda: WALL) as transport:
            return await transport.send(encode(delivery(), wrong, WALL))

    error = run(scenario)
    assert isinstance(error, DeliveryError)
    assert error.kind is ErrorKind.unauthorized and error.status == 401 and not error.transient
    assert "bad signature" in error.message


@pytest.mark.parametrize(
    ("code", "kind", "transient"),
    [
        (200, None, None),
        (202, None, None),
        (400, ErrorKind.rejected, False),
        (404, ErrorKind.rejected, False),
        (410, ErrorKind.gone, False),
        (422, ErrorKind.rejected, False),
        (408, ErrorKind.unavailable, True),
        (500, ErrorKind.unavailable, True),
        (502, ErrorKind.unavailable, True),
        (503, ErrorKind.unavailable, True),
    ],
)
def test_each_answer_is_classified(code, kind, transient):
    async def scenario(target: Target_, base: str) -> Any:
        return await send(f"{base}/status/{code}")

    outcome = run(scenario)
    if kind is None:
        assert isinstance(outcome, Sent) and outcome.status == code
    else:
        assert isinstance(outcome, DeliveryError)
        assert (outcome.kind, outcome.status, outcome.transient) == (kind, code, transient)
        assert f"answer {code}" in outcome.message


@pytest.mark.parametrize("code", [301, 302, 307, 308])
def test_a_redirect_is_not_followed_and_names_the_location(code):
    async def scenario(target: Target_, base: str) -> Any:
        return await send(f"{base}/status/{code}"), target.received

    error, received = run(scenario)
    assert isinstance(error, DeliveryError) and error.kind is ErrorKind.redirect and not error.transient
    assert "https://elsewhere.example/hook" in error.message
    assert len(received) == 1  # only the first call: nothing followed


def test_429_with_retry_after_seconds_schedules_the_retry_after_it():
    async def scenario(target: Target_, base: str) -> Any:
        return await send(f"{base}/status/429?retry_after=120")

    error = run(scenario)
    assert isinstance(error, DeliveryError) and error.kind is ErrorKind.throttled and error.retry_after == 120
    assert RetryPolicy(jitter=0).decide(1, error, WALL) == Retry(at=WALL + 120, delay=120)


def test_503_with_retry_after_as_a_date_is_read_against_the_wall_clock():
    when = formatdate(WALL + 600, usegmt=True)

    async def scenario(target: Target_, base: str) -> Any:
        return await send(f"{base}/status/503?retry_after={when.replace(' ', '%20')}")

    error = run(scenario)
    assert isinstance(error, DeliveryError) and error.kind is ErrorKind.unavailable
    assert error.retry_after == 600


def test_a_target_slower_than_the_timeout_is_a_transient_timeout():
    async def scenario(target: Target_, base: str) -> Any:
        loop = asyncio.get_running_loop()
        start = loop.time()
        outcome = await send(f"{base}/slow", timeout=0.2)
        return outcome, loop.time() - start

    error, seconds = run(scenario)
    assert isinstance(error, DeliveryError) and error.kind is ErrorKind.timeout and error.transient
    assert seconds < 0.7  # given up at the timeout, not when the target answered


def test_a_refused_connection_is_transient():
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]

    error = asyncio.run(send(f"http://127.0.0.1:{port}/hook"))
    assert isinstance(error, DeliveryError) and error.kind is ErrorKind.connection and error.transient


def test_a_connection_closed_mid_request_is_transient():
    async def scenario(target: Target_, base: str) -> Any:
        return await send(f"{base}/hangup")

    error = run(scenario)
    assert isinstance(error, DeliveryError) and error.kind is ErrorKind.connection and error.transient


def test_calls_reuse_one_keep_alive_connection():
    async def scenario(target: Target_, base: str) -> Any:
        s = settings(f"{base}/hook")
        t = Target.from_settings(s, ENV)
        async with HttpTransport(s, wall_clock=lambda: WALL) as transport:
            outcomes = [await transport.send(encode(delivery(n), t, WALL)) for n in range(20)]
        return outcomes, target.peers

    outcomes, peers = run(scenario)
    assert all(isinstance(o, Sent) for o in outcomes)
    assert len(peers) == 1


def test_compare_and_set_sends_the_last_delivered_value_and_a_mismatch_is_a_conflict():
    cas = {"value": "fields.available", "expected": "previous.available?"}

    async def scenario(target: Target_, base: str) -> Any:
        url = f"{base}/stock"
        first = await send(url, delivery(fields={"available": 9}, previous={"available": 5}), mapping=cas)
        stale = await send(url, delivery(fields={"available": 3}, previous={"available": 5}), mapping=cas)
        return first, stale, target.stock, [orjson.loads(r["body"]) for r in target.received]

    first, stale, stock, bodies = run(scenario)
    assert isinstance(first, Sent) and orjson.loads(first.body) == {"value": 9}
    assert isinstance(stale, DeliveryError) and stale.kind is ErrorKind.conflict and not stale.transient
    assert '"actual": 9' in stale.message
    assert stock == 9  # the stale write did not land
    assert bodies == [{"value": 9, "expected": 5}, {"value": 3, "expected": 5}]


def test_a_batch_goes_in_one_signed_call():
    async def scenario(target: Target_, base: str) -> Any:
        s = settings(f"{base}/hook", batch_max=10)
        async with HttpTransport(s, wall_clock=lambda: WALL) as transport:
            request = encode_batch([delivery(n) for n in range(10)], Target.from_settings(s, ENV), WALL)
            return await transport.send(request), target.received

    outcome, received = run(scenario)
    assert isinstance(outcome, Sent) and len(received) == 1
    assert [b["key"] for b in orjson.loads(received[0]["body"])] == [f"SKU-{n}@DC1" for n in range(10)]


def test_a_name_resolving_to_loopback_is_blocked_unless_allowed():
    async def scenario(target: Target_, base: str) -> Any:
        url = base.replace("127.0.0.1", "localhost") + "/hook"
        blocked = Settings(url=url, signing_secret_env="TARGET_SECRET")
        async with HttpTransport(blocked, wall_clock=lambda: WALL) as transport:
            refused = await transport.send(encode(delivery(), Target.from_settings(blocked, ENV), WALL))
        return refused, target.received

    refused, received = run(scenario)
    assert isinstance(refused, DeliveryError) and refused.kind is ErrorKind.blocked
    assert "localhost resolves to" in refused.message and received == []


def test_the_breaker_opens_on_a_failing_target_and_closes_when_it_recovers():
    policy = BreakerPolicy(threshold=3, cooldown=30, factor=2)

    async def scenario(target: Target_, base: str) -> Any:
        breaker, now, log = CircuitBreaker(policy), 0.0, []
        paths = ["/status/503"] * 4 + ["/hook"]  # down for four calls, then up
        while paths:
            permit = breaker.allow(now)
            if permit is None:
                log.append("held")
                now += 30
                continue
            outcome = await send(base + paths.pop(0))
            breaker.record(permit, outcome if isinstance(outcome, DeliveryError) else None, now)
            log.append(breaker.state.value)
        return log, breaker, len(target.received)

    log, breaker, calls = run(scenario)
    # opens after 3 failures; the probe at 30 s fails, so the next waits 60 s; that one succeeds
    assert log == ["closed", "closed", "open", "held", "open", "held", "held", "closed"]
    assert breaker.state is BreakerState.closed and calls == 5
    assert breaker.counts()["opens"] == 2


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


def _server_tls(cert: Path, key: Path) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


def test_tls_is_verified_a_self_signed_certificate_is_refused(self_signed):
    cert, key = self_signed

    async def scenario(target: Target_, base: str) -> Any:
        return await send(f"{base}/hook"), target.received

    error, received = run(scenario, _server_tls(cert, key))
    assert isinstance(error, DeliveryError) and error.kind is ErrorKind.tls
    assert not error.transient and error.target_wide and "self-signed" in error.message
    assert received == []


def test_tls_with_the_targets_ca_trusted_delivers(self_signed):
    cert, key = self_signed

    async def scenario(target: Target_, base: str) -> Any:
        return await send(f"{base}/hook", ca_file=str(cert))

    outcome = run(scenario, _server_tls(cert, key))
    assert isinstance(outcome, Sent) and outcome.status == 204


def test_a_huge_answer_is_cut_not_held_in_memory():
    async def big(request: web.Request) -> web.StreamResponse:
        await request.read()
        response = web.StreamResponse(status=200)
        await response.prepare(request)
        for _ in range(64):  # 4 MiB
            await response.write(b"x" * 65536)
        return response

    async def main() -> Any:
        app = web.Application()
        app.router.add_post("/big", big)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        try:
            return await send(f"http://127.0.0.1:{port}/big")
        finally:
            await runner.cleanup()

    outcome = asyncio.run(main())
    assert isinstance(outcome, Sent) and len(outcome.body) == 1 << 20
