"""The outbound HTTP connector: deliveries as signed webhook or REST calls to one target.

The shape every connector has: `Settings` (one target's), `SPEC` (capabilities as data), a
pure `encode` (delivery -> request: mapped JSON body, idempotency key, Standard Webhooks
signature) and `HttpTransport`, the only code here that does I/O, over one keep-alive
`aiohttp.ClientSession`. The transport verifies TLS, applies timeouts, follows no redirect,
refuses private addresses unless allowed, and returns the outcome as data: `Sent` for a 2xx,
else a `DeliveryError` classified by `logisync.delivery.errors`.

Compare-and-set: with `compare_and_set` on, a delivery carries `previous`, the fields the hub
last delivered to this target (None the first time). A declarative mapping places it where the
target wants it (`"expected": "previous.available?"`); without a mapping the default body gains
`"expected": previous`. A target that finds another value than expected answers 409 or 412,
which is a `conflict`: permanent, and the dispatcher opens an exception instead of overwriting.
"""

from __future__ import annotations

import hashlib
import ipaddress
import os
import socket
import ssl
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

import aiohttp
import orjson
from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver
from pydantic import BaseModel, ConfigDict, Field, field_validator

from logisync import __version__
from logisync.config.model import EnvName, Seconds
from logisync.config.urls import HttpUrl
from logisync.delivery.errors import (
    BlockedAddress,
    DeliveryError,
    MappingError,
    classify_exception,
    classify_response,
)
from logisync.delivery.mapping import Mapper, compile_mapping, default_body
from logisync.delivery.outgoing import Delivery
from logisync.delivery.signing import signature_headers
from logisync.errors import ConfigError

from .spec import Capabilities, ConnectorSpec

NAME = "http"
MAX_BATCH = 1000
USER_AGENT = f"logisync/{__version__}"

SPEC = ConnectorSpec(
    name=NAME,
    summary="webhooks and REST calls out: mapped JSON, Standard Webhooks signatures, compare-and-set",
    directions=frozenset({"out"}),
    capabilities=Capabilities(
        batching=True, max_batch=MAX_BATCH, compare_and_set=True, signing=("standard-webhooks",)
    ),
)


class Settings(BaseModel):
    """One target's HTTP settings (a system's `transport` section in the sync map)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: HttpUrl
    method: Literal["POST", "PUT", "PATCH"] = "POST"
    timeout: Seconds = Field(15.0, gt=0)  # the whole call: connect, send, response
    connect_timeout: Seconds = Field(5.0, gt=0)
    headers: dict[str, str] = Field(default_factory=dict)  # static headers (e.g. an API key)
    signing_secret_env: EnvName | None = None  # the variable holding the whsec_ secret
    previous_signing_secret_env: EnvName | None = None  # also sign with the old one (rotation)
    compare_and_set: bool = False
    mapping: dict[str, Any] | str | None = None  # see logisync.delivery.mapping
    batch_max: int = Field(1, ge=1, le=MAX_BATCH)  # 1: one delivery per call
    concurrency: int = Field(8, ge=1, le=256)  # keep-alive connections to the target
    ca_file: str | None = None  # trust this CA bundle (a partner's private CA) instead of the system's
    allow_private_network: bool = False  # loopback, private and link-local addresses are refused otherwise

    @field_validator("mapping")
    @classmethod
    def _mapping_compiles(cls, mapping: dict[str, Any] | str | None) -> dict[str, Any] | str | None:
        compile_mapping(mapping)
        return mapping

    @field_validator("headers")
    @classmethod
    def _no_reserved_headers(cls, headers: dict[str, str]) -> dict[str, str]:
        reserved = {"webhook-id", "webhook-timestamp", "webhook-signature", "idempotency-key", "content-type"}
        clash = sorted(name for name in headers if name.lower() in reserved)
        if clash:
            raise ValueError(f"headers {', '.join(clash)} are set by the connector")
        return headers


@dataclass(frozen=True)
class Target:
    """Everything `encode` needs, resolved once from the settings and the environment."""

    settings: Settings
    mapper: Mapper
    secrets: tuple[bytes | str, ...]  # signing secrets, the current one first

    @classmethod
    def from_settings(cls, settings: Settings, env: Mapping[str, str] | None = None) -> Target:
        """Compile the mapping and read the signing secrets; ConfigError names a missing variable."""
        env = os.environ if env is None else env
        secrets: list[bytes | str] = []
        for name in (settings.signing_secret_env, settings.previous_signing_secret_env):
            if name is None:
                continue
            value = env.get(name)
            if not value:
                raise ConfigError(f"the signing secret variable {name} is not set")
            secrets.append(value)
        return cls(settings, compile_mapping(settings.mapping), tuple(secrets))


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """One call, fully built: what the transport sends, byte for byte."""

    method: str
    url: str
    headers: Mapping[str, str]
    body: bytes
    delivery_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Sent:
    """A 2xx answer: the target took the delivery."""

    status: int
    body: bytes
    seconds: float


def _body(delivery: Delivery, target: Target) -> Any:
    context = delivery.context()
    body = target.mapper(delivery.fields, context)
    if target.settings.compare_and_set and target.mapper is default_body:
        body["expected"] = None if delivery.previous is None else dict(delivery.previous)
    return body


def _dump(body: Any, what: str) -> bytes:
    try:
        return orjson.dumps(body)
    except TypeError as exc:
        raise MappingError(what, f"the body is not JSON: {exc}") from None


def _request(target: Target, msg_id: str, ids: tuple[str, ...], body: bytes, now: float) -> HttpRequest:
    settings = target.settings
    headers = {
        **settings.headers,
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "idempotency-key": msg_id,
    }
    if target.secrets:
        headers.update(signature_headers(target.secrets, msg_id, int(now), body))
    else:
        headers["webhook-id"] = msg_id
        headers["webhook-timestamp"] = str(int(now))
    return HttpRequest(settings.method, settings.url, headers, body, ids)


def encode(delivery: Delivery, target: Target, now: float) -> HttpRequest:
    """The call that carries one delivery, signed at `now` (seconds since the epoch).

    The delivery id is the `webhook-id` and the `idempotency-key`: the same on every retry,
    while the timestamp and signature are those of the attempt. Raises `MappingError`.
    """
    body = _dump(_body(delivery, target), delivery.id)
    return _request(target, delivery.id, (delivery.id,), body, now)


def encode_body(delivery_id: str, body: Any, target: Target, now: float) -> HttpRequest:
    """The call that carries a body already mapped (the dispatcher maps, for shadow mode too)."""
    return _request(target, delivery_id, (delivery_id,), _dump(body, delivery_id), now)


def encode_bodies(
    delivery_ids: Sequence[str], bodies: Sequence[Any], target: Target, now: float
) -> HttpRequest:
    """One call carrying bodies already mapped, as a JSON array in order (a route's `batch`)."""
    msg_id = _batch_id(delivery_ids)
    return _request(target, msg_id, tuple(delivery_ids), _dump(list(bodies), msg_id), now)


def _batch_id(ids: Sequence[str]) -> str:
    digest = hashlib.blake2b("\n".join(ids).encode(), digest_size=12).hexdigest()
    return f"batch-{digest}"


def batch_id(deliveries: Sequence[Delivery]) -> str:
    """A stable id for a batch: the same deliveries in the same order give the same id."""
    return _batch_id([d.id for d in deliveries])


def encode_batch(deliveries: Sequence[Delivery], target: Target, now: float) -> HttpRequest:
    """One call carrying several deliveries: a JSON array of their mapped bodies, in order."""
    if not deliveries:
        raise ValueError("a batch needs at least one delivery")
    if len(deliveries) > target.settings.batch_max:
        raise ValueError(
            f"{len(deliveries)} deliveries exceed the target's batch_max {target.settings.batch_max}"
        )
    msg_id = batch_id(deliveries)
    body = _dump([_body(d, target) for d in deliveries], msg_id)
    return _request(target, msg_id, tuple(d.id for d in deliveries), body, now)


def refused_address(address: str) -> str | None:
    """Why deliveries may not go to `address` unless the settings allow it (None: a public address)."""
    ip = ipaddress.ip_address(address.split("%")[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    for reason, test in (
        ("loopback", ip.is_loopback),
        ("unspecified", ip.is_unspecified),
        ("link-local", ip.is_link_local),
        ("private", ip.is_private),
        ("multicast", ip.is_multicast),
        ("reserved", ip.is_reserved),
    ):
        if test:
            return f"{address} is a {reason} address (set allow_private_network to deliver there)"
    return None


class _GuardedResolver(AbstractResolver):
    """Resolves names, then refuses private addresses: checked at connect time, so a DNS answer
    that changes between a check and the call (rebinding) cannot slip through."""

    def __init__(self) -> None:
        self._inner = DefaultResolver()

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        results = await self._inner.resolve(host, port, family)
        for result in results:
            reason = refused_address(result["host"])
            if reason:
                raise BlockedAddress(f"{host} resolves to {reason}")
        return results

    async def close(self) -> None:
        await self._inner.close()


MAX_RESPONSE = 1 << 20  # bytes of a response body kept; a target's answer is small


async def _read_capped(response: aiohttp.ClientResponse) -> bytes:
    """The response body, up to `MAX_RESPONSE` bytes (the rest is not read: the connection closes)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.content.iter_chunked(64 * 1024):
        chunks.append(chunk)
        size += len(chunk)
        if size >= MAX_RESPONSE:
            break
    return b"".join(chunks)[:MAX_RESPONSE]


class HttpTransport:
    """All the I/O of one target: a keep-alive session, TLS verified, no redirects followed.

    Use as `async with HttpTransport(settings) as transport: outcome = await transport.send(req)`.
    `wall_clock` (seconds since the epoch) reads the HTTP-date form of Retry-After.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        wall_clock: Callable[[], float] = time.time,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.settings = settings
        self.wall_clock = wall_clock
        if ssl_context is None:
            ssl_context = ssl.create_default_context(cafile=settings.ca_file)  # verifies host and chain
        self._ssl = ssl_context
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None:
            settings = self.settings
            connector = aiohttp.TCPConnector(
                limit=settings.concurrency,
                ssl=self._ssl,
                resolver=None if settings.allow_private_network else _GuardedResolver(),
                keepalive_timeout=30,
            )
            timeout = aiohttp.ClientTimeout(total=settings.timeout, connect=settings.connect_timeout)
            self._session = aiohttp.ClientSession(
                connector=connector,
                timeout=timeout,
                auto_decompress=True,
                cookie_jar=aiohttp.DummyCookieJar(),
            )
        return self._session

    async def send(self, request: HttpRequest) -> Sent | DeliveryError:
        """Send one request; a 2xx is `Sent`, anything else a classified `DeliveryError`."""
        if not self.settings.allow_private_network:
            host = urlsplit(request.url).hostname or ""
            try:
                reason = refused_address(host)
            except ValueError:  # a name, not an address: the resolver checks what it resolves to
                reason = None
            if reason:
                return classify_exception(BlockedAddress(reason))
        session = self._open()
        start = time.perf_counter()
        try:
            async with session.request(
                request.method,
                request.url,
                data=request.body,
                headers=request.headers,
                allow_redirects=False,
            ) as response:
                body = await _read_capped(response)
                error = classify_response(response.status, response.headers, body, self.wall_clock())
                if error is not None:
                    return error
                return Sent(response.status, body, time.perf_counter() - start)
        except (aiohttp.ClientError, OSError, TimeoutError, BlockedAddress) as exc:
            return classify_exception(exc)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> HttpTransport:
        self._open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
