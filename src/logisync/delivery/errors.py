"""Delivery failures classified once, in one place: what went wrong, and whether to try again.

Every way a delivery can fail ends up as a `DeliveryError` value (a kind, the HTTP status if
any, a message that says what to do, and the `Retry-After` delay the target asked for). The
kind carries the two facts the rest of the engine reads:

- `transient`: trying the same delivery again later may succeed (the retry policy retries it);
  otherwise the delivery is dead at once and goes to the exceptions inbox.
- `target_wide`: the failure says something about the target, not about this one delivery (the
  circuit breaker counts it; a dead delivery of such a kind points at the target's settings).

Decisions worth knowing (see docs/delivery.md):
- 408, 429 and every 5xx are transient; every other 4xx is permanent.
- A 3xx is permanent: redirects are not followed, the URL in the settings must be fixed (the
  message names the `Location`).
- 409 and 412 are `conflict`: the target refused a compare-and-set because its value is not the
  one the hub last delivered.
- A TLS certificate the hub cannot verify is permanent and target-wide: an expired, self-signed
  or wrong-host certificate does not fix itself within a retry window, and a person must look
  (it may also be an interception). Retrying it silently for two days would only delay the alert.
- An HTTP status outside 200-599 is `protocol` (never defaulted to something that looks normal).
"""

from __future__ import annotations

import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from enum import Enum

from logisync.errors import LogisyncError

from .retry import parse_retry_after


class ErrorKind(Enum):
    """What kind of failure a delivery met (its two traits are in `_TRAITS` below)."""

    timeout = "timeout"  # no complete response within the timeout
    connection = "connection"  # refused, reset, DNS failure, closed mid-response
    unavailable = "unavailable"  # 5xx or 408: the target is down, overloaded or restarting
    throttled = "throttled"  # 429: over the target's rate limit; wait Retry-After
    redirect = "redirect"  # 3xx: the URL moved; redirects are not followed
    unauthorized = "unauthorized"  # 401 or 403: the credentials or the signing secret are wrong
    gone = "gone"  # 410: the target no longer wants these deliveries; pause the route
    tls = "tls"  # the target's certificate does not verify, or the handshake failed
    blocked = "blocked"  # the URL resolves to a private address the settings do not allow
    protocol = "protocol"  # a response no HTTP target should give (an unknown status code)
    rejected = "rejected"  # another 4xx: the target refused this payload
    conflict = "conflict"  # 409 or 412: a compare-and-set found another value than expected
    mapping = "mapping"  # the record could not be mapped to the target's format
    unknown_xref = "unknown_xref"  # the target names things by its own ids and has none for this key
    internal = "internal"  # an unexpected fault in the hub's own code while delivering
    round_failed = "round_failed"  # the hub could not finish a dispatch round (its store, a fault)

    @property
    def transient(self) -> bool:
        """Trying the same delivery again later may succeed."""
        return _TRAITS[self][0]

    @property
    def target_wide(self) -> bool:
        """The failure is about the target (its health or settings), not about this delivery."""
        return _TRAITS[self][1]


# kind: (transient, target_wide), the one table every retry and breaker decision reads
_TRAITS: dict[ErrorKind, tuple[bool, bool]] = {
    ErrorKind.timeout: (True, True),
    ErrorKind.connection: (True, True),
    ErrorKind.unavailable: (True, True),
    ErrorKind.throttled: (True, True),
    ErrorKind.redirect: (False, True),
    ErrorKind.unauthorized: (False, True),
    ErrorKind.gone: (False, True),
    ErrorKind.tls: (False, True),
    ErrorKind.blocked: (False, True),
    ErrorKind.protocol: (False, True),
    ErrorKind.rejected: (False, False),
    ErrorKind.conflict: (False, False),
    ErrorKind.mapping: (False, False),
    ErrorKind.unknown_xref: (False, False),  # retried by a person once the pair is loaded
    ErrorKind.internal: (False, False),
    ErrorKind.round_failed: (True, False),  # tried again on the schedule: a store that was busy recovers
}


@dataclass(frozen=True, slots=True)
class DeliveryError:
    """One failed attempt, as data: the dispatcher stores it, the retry policy decides on it."""

    kind: ErrorKind
    message: str
    status: int | None = None
    retry_after: float | None = None  # seconds the target asked us to wait (Retry-After)

    @property
    def transient(self) -> bool:
        return self.kind.transient

    @property
    def target_wide(self) -> bool:
        return self.kind.target_wide

    def __str__(self) -> str:
        status = f"HTTP {self.status}: " if self.status is not None else ""
        return f"{self.kind.name}: {status}{self.message}"


class MappingError(LogisyncError):
    """A record could not be turned into the target's body; the message names the path and why."""

    code = "mapping_error"
    transient = False

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"mapping {path!r}: {reason}")
        self.path = path
        self.reason = reason


class BlockedAddress(LogisyncError):
    """The target's URL is, or resolves to, an address deliveries may not go to (SSRF guard)."""

    code = "blocked_address"
    transient = False


def kind_of_status(status: int) -> ErrorKind | None:
    """The kind of failure an HTTP status means; None for a success (2xx)."""
    if 200 <= status <= 299:
        return None
    if 300 <= status <= 399:
        return ErrorKind.redirect
    if status == 429:
        return ErrorKind.throttled
    if status == 408 or 500 <= status <= 599:
        return ErrorKind.unavailable
    if status in (401, 403):
        return ErrorKind.unauthorized
    if status == 410:
        return ErrorKind.gone
    if status in (409, 412):
        return ErrorKind.conflict
    if 400 <= status <= 499:
        return ErrorKind.rejected
    return ErrorKind.protocol


_ADVICE = {
    ErrorKind.redirect: "redirects are not followed: set the route's URL to the new location",
    ErrorKind.unauthorized: "check the target's credentials and signing secret",
    ErrorKind.gone: "the target no longer accepts these deliveries: pause or remove the route",
    ErrorKind.conflict: "the target holds another value than the hub last delivered (compare-and-set)",
    ErrorKind.rejected: "the target refused the payload: check the mapping",
    ErrorKind.protocol: "the target answered with a status code HTTP does not define",
}


def classify_response(
    status: int, headers: Mapping[str, str], body: bytes, now: float
) -> DeliveryError | None:
    """The failure a response means (None for 2xx), with `Retry-After` parsed against `now`.

    `headers` must be looked up case-insensitively (aiohttp's and httpx's headers are); `now`
    is the wall clock in seconds since the epoch, needed for the HTTP-date form of Retry-After.
    """
    kind = kind_of_status(status)
    if kind is None:
        return None
    retry_after = None
    raw = headers.get("Retry-After")
    if raw is not None and kind in (ErrorKind.throttled, ErrorKind.unavailable):
        retry_after = parse_retry_after(raw, now)
    snippet = body[:200].decode("utf-8", "replace").strip()
    parts = []
    if kind is ErrorKind.redirect:
        parts.append(f"redirected to {headers.get('Location', '(no Location header)')}")
    if kind in _ADVICE:
        parts.append(_ADVICE[kind])
    if snippet:
        parts.append(f"response: {snippet}")
    message = "; ".join(parts) or "no response body"
    return DeliveryError(kind, message, status=status, retry_after=retry_after)


def classify_exception(exc: BaseException) -> DeliveryError:
    """The failure an exception raised while sending a request means.

    For exceptions from the transport (the HTTP client, the socket, TLS) and from the mapping,
    not for bugs: a transport catches only its client's errors, `OSError` and `TimeoutError`.
    A timeout, whatever raised it, is `timeout`; a certificate that does not verify, or another
    TLS failure, is `tls`; a `MappingError` is `mapping`; a `BlockedAddress` is `blocked`;
    anything else the client raises (refused, reset, DNS, a connection closed mid-response) is
    `connection`.
    """
    if isinstance(exc, MappingError):
        return DeliveryError(ErrorKind.mapping, exc.message)
    if isinstance(exc, BlockedAddress):
        return DeliveryError(ErrorKind.blocked, exc.message)
    if isinstance(exc, TimeoutError):
        return DeliveryError(ErrorKind.timeout, "no complete response within the timeout")
    if isinstance(exc, ssl.SSLCertVerificationError):
        cause = getattr(exc, "certificate_error", exc)  # aiohttp wraps the ssl module's error
        reason = getattr(cause, "verify_message", None) or getattr(cause, "reason", None) or str(exc)
        return DeliveryError(
            ErrorKind.tls, f"the target's TLS certificate does not verify ({reason}): fix or renew it"
        )
    if isinstance(exc, ssl.SSLError):
        return DeliveryError(ErrorKind.tls, f"TLS handshake failed: {getattr(exc, 'reason', None) or exc}")
    text = str(exc) or type(exc).__name__
    return DeliveryError(ErrorKind.connection, f"{type(exc).__name__}: {text}")
