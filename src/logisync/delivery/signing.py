"""Standard Webhooks signatures: sign outbound deliveries, verify inbound webhooks.

The scheme (https://www.standardwebhooks.com, symmetric `v1`):

    webhook-id:        a unique id, the same on every retry (the receiver's idempotency key)
    webhook-timestamp: the attempt's time, integer seconds since the epoch
    webhook-signature: "v1," + base64(HMAC-SHA256(secret, f"{id}.{timestamp}.{body}"))

`body` is the raw bytes sent. The signature header is a space-separated list, so a message can
be signed with the new and the old secret during a rotation; a receiver accepts it when any one
matches. Secrets are written `whsec_<base64>` (bare base64 is read the same way, as the reference
libraries do); raw secret bytes are accepted as `bytes`.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets as _random
from collections.abc import Iterable, Mapping

from logisync.errors import LogisyncError

PREFIX = "whsec_"
TOLERANCE = 300  # seconds a timestamp may be off from the receiver's clock, either way

Secret = str | bytes


class InvalidSignature(LogisyncError):
    """An inbound webhook whose signature headers are missing, stale or do not match."""

    code = "invalid_signature"
    transient = False


def decode_secret(secret: Secret) -> bytes:
    """The key bytes of a `whsec_<base64>` (or bare base64) secret; `bytes` are the key itself."""
    if isinstance(secret, bytes):
        key = secret
    else:
        text = secret.removeprefix(PREFIX)
        try:
            key = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(
                "a signing secret is written whsec_<base64> (pass bytes for a raw secret)"
            ) from None
    if not key:
        raise ValueError("the signing secret is empty")
    return key


def new_secret() -> str:
    """A fresh random secret in the `whsec_` form (32 bytes, within the spec's 24 to 64)."""
    return PREFIX + base64.b64encode(_random.token_bytes(32)).decode()


def sign(secret: Secret, msg_id: str, timestamp: int, body: bytes) -> str:
    """One `v1,<base64>` signature of `body` sent as `msg_id` at `timestamp`."""
    if "." in msg_id or not msg_id:
        raise ValueError(f"a webhook id must be non-empty and contain no '.': {msg_id!r}")
    content = f"{msg_id}.{int(timestamp)}.".encode() + body
    digest = hmac.new(decode_secret(secret), content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signature_headers(secrets: Iterable[Secret], msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three `webhook-*` headers, signed with each secret (several during a rotation)."""
    signatures = [sign(secret, msg_id, timestamp, body) for secret in secrets]
    if not signatures:
        raise ValueError("signing needs at least one secret")
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(timestamp)),
        "webhook-signature": " ".join(signatures),
    }


def verify(
    secrets: Iterable[Secret],
    headers: Mapping[str, str],
    body: bytes,
    now: float,
    tolerance: float = TOLERANCE,
) -> str:
    """Check an inbound webhook's signature on its raw `body`; return its `webhook-id`.

    Raises `InvalidSignature` (saying why) when a header is missing, the timestamp is more than
    `tolerance` seconds from `now` (either way: a replay, or a sender's clock far off), or no
    `v1` signature in the header matches any of `secrets`. Comparison is constant-time.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    msg_id = lowered.get("webhook-id")
    stamp = lowered.get("webhook-timestamp")
    header = lowered.get("webhook-signature")
    if not msg_id or not stamp or not header:
        raise InvalidSignature("webhook-id, webhook-timestamp and webhook-signature headers are required")
    if not (stamp.isascii() and stamp.isdigit()):
        raise InvalidSignature(f"webhook-timestamp is not integer seconds: {stamp[:40]!r}")
    timestamp = int(stamp)
    if abs(now - timestamp) > tolerance:
        raise InvalidSignature(
            f"webhook-timestamp is {now - timestamp:+.0f} s from now (tolerance {tolerance:.0f} s): "
            "a replay, or the sender's clock is off"
        )
    if "." in msg_id:
        raise InvalidSignature("webhook-id must not contain '.'")
    offered: list[bytes] = []
    for item in header.split():
        version, _, signature = item.partition(",")
        if version == "v1":
            offered.append(signature.encode())
    if not offered:
        raise InvalidSignature("webhook-signature carries no v1 signature")
    content = f"{msg_id}.{timestamp}.".encode() + body
    matched = False
    for secret in secrets:
        mac = base64.b64encode(hmac.new(decode_secret(secret), content, hashlib.sha256).digest())
        for candidate in offered:
            matched |= hmac.compare_digest(mac, candidate)
    if not matched:
        raise InvalidSignature("no signature matches: wrong secret, or the body was changed on the way")
    return msg_id
