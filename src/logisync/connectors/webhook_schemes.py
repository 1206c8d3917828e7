"""Verifying inbound webhook signatures on the raw body: Standard Webhooks, Shopify-style, Stripe-style.

Every scheme is an HMAC-SHA256 over the exact bytes received; every configured secret is tried
against every signature offered, each comparison in constant time and none cut short, so a
rotation (several secrets, or a sender signing with two) costs nothing in safety.

| scheme | headers | signed content | key | timestamp | webhook id |
| --- | --- | --- | --- | --- | --- |
| `standard-webhooks` | `webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<b64> ...` | `{id}.{timestamp}.{body}` | `whsec_<base64>` decoded | ±`tolerance` | `webhook-id` |
| `shopify` | `X-Shopify-Hmac-Sha256: <b64>`, `X-Shopify-Webhook-Id` | the body | the secret's UTF-8 bytes | not signed: none checked | `X-Shopify-Webhook-Id` (else `X-Shopify-Event-Id`) |
| `stripe` | `Stripe-Signature: t=<ts>,v1=<hex>[,v1=<hex>]` | `{t}.{body}` | the secret's UTF-8 bytes (`whsec_...` as written) | ±`tolerance` | the body's `id` (read after parsing) |

`verify` returns the webhook id the headers carry (None for Stripe: its id is in the body) or
raises `InvalidSignature` saying what is wrong, never which secret was tried or what it is.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping, Sequence
from typing import Literal

from logisync.delivery.signing import TOLERANCE, InvalidSignature, decode_secret
from logisync.delivery.signing import verify as verify_standard

Scheme = Literal["standard-webhooks", "shopify", "stripe"]
SCHEMES: tuple[Scheme, ...] = ("standard-webhooks", "shopify", "stripe")

__all__ = ["SCHEMES", "TOLERANCE", "InvalidSignature", "Scheme", "keys_of", "verify"]


def keys_of(scheme: Scheme, secrets: Sequence[str]) -> tuple[bytes, ...]:
    """The HMAC keys of `secrets` in `scheme`; ValueError for a Standard Webhooks secret that is not
    `whsec_<base64>` (the message never contains the secret)."""
    if scheme == "standard-webhooks":
        return tuple(decode_secret(s) for s in secrets)
    return tuple(s.encode() for s in secrets)


def verify(
    scheme: Scheme,
    keys: Sequence[bytes],
    headers: Mapping[str, str],
    body: bytes,
    now: float,
    tolerance: float = TOLERANCE,
) -> str | None:
    """Check the signature of a webhook received as `headers` + raw `body` at `now` (epoch seconds)."""
    if not keys:
        raise InvalidSignature("the hub has no secret to verify this system's webhooks with (none is set)")
    lowered = {name.lower(): value for name, value in headers.items()}
    if scheme == "standard-webhooks":
        return verify_standard(keys, lowered, body, now, tolerance)
    if scheme == "shopify":
        return _shopify(keys, lowered, body)
    if scheme == "stripe":
        _stripe(keys, lowered, body, now, tolerance)
        return None
    raise ValueError(f"unknown webhook signing scheme {scheme!r}")


def _ascii(text: str) -> bytes:
    return text.encode("utf-8", "replace")


def _any_match(expected: Sequence[bytes], offered: Sequence[bytes]) -> bool:
    """Whether any offered signature equals any expected one; every pair is compared in constant time."""
    matched = False
    for mac in expected:
        for candidate in offered:
            matched |= hmac.compare_digest(mac, candidate)
    return matched


def _shopify(keys: Sequence[bytes], headers: Mapping[str, str], body: bytes) -> str | None:
    offered = headers.get("x-shopify-hmac-sha256")
    if not offered:
        raise InvalidSignature("the X-Shopify-Hmac-Sha256 header is required")
    expected = [base64.b64encode(hmac.new(k, body, hashlib.sha256).digest()) for k in keys]
    if not _any_match(expected, [_ascii(offered.strip())]):
        raise InvalidSignature("no signature matches: wrong secret, or the body was changed on the way")
    return headers.get("x-shopify-webhook-id") or headers.get("x-shopify-event-id") or None


def _stripe(
    keys: Sequence[bytes], headers: Mapping[str, str], body: bytes, now: float, tolerance: float
) -> None:
    header = headers.get("stripe-signature")
    if not header:
        raise InvalidSignature("the Stripe-Signature header is required")
    stamp = None
    offered: list[bytes] = []
    for item in header.split(","):
        name, _, value = item.strip().partition("=")
        if name == "t":
            stamp = value
        elif name == "v1":
            offered.append(_ascii(value))
    if stamp is None or not (stamp.isascii() and stamp.isdigit()):
        raise InvalidSignature("Stripe-Signature has no timestamp t=<integer seconds>")
    if not offered:
        raise InvalidSignature("Stripe-Signature carries no v1 signature")
    timestamp = int(stamp)
    if abs(now - timestamp) > tolerance:
        raise InvalidSignature(
            f"the Stripe-Signature timestamp is {now - timestamp:+.0f} s from now (tolerance {tolerance:.0f} s): "
            "a replay, or the sender's clock is off"
        )
    content = f"{timestamp}.".encode() + body
    expected = [_ascii(hmac.new(k, content, hashlib.sha256).hexdigest()) for k in keys]
    if not _any_match(expected, offered):
        raise InvalidSignature("no signature matches: wrong secret, or the body was changed on the way")
