"""The inbound signature verifier, against senders written from each scheme's description
(`fixtures.webhook_signers`): any secret of a rotation passes, any changed byte fails."""

from __future__ import annotations

import base64
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from fixtures import webhook_signers as sign
from logisync.connectors.webhook_schemes import SCHEMES, InvalidSignature, keys_of, verify

NOW = 1_800_000_000


def whsec(raw: bytes) -> str:
    return "whsec_" + base64.b64encode(raw).decode()


standard_secrets = st.lists(
    st.binary(min_size=24, max_size=64).map(whsec), min_size=1, max_size=4, unique=True
)
text_secrets = st.lists(
    st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=8, max_size=40),
    min_size=1,
    max_size=4,
    unique=True,
)


def signed(scheme: str, secret: str, body: bytes, at: int = NOW) -> dict[str, str]:
    if scheme == "standard-webhooks":
        return sign.standard([secret], "msg_1", body, at)
    if scheme == "shopify":
        return sign.shopify(secret, "msg_1", body)
    return sign.stripe([secret], body, at)


@st.composite
def cases(draw):
    scheme = draw(st.sampled_from(SCHEMES))
    secrets = draw(standard_secrets if scheme == "standard-webhooks" else text_secrets)
    signer = draw(st.sampled_from(secrets))
    body = draw(st.binary(min_size=1, max_size=300))
    return scheme, secrets, signer, body


@given(cases())
def test_any_secret_of_a_rotation_passes(case):
    scheme, secrets, signer, body = case
    got = verify(scheme, keys_of(scheme, secrets), signed(scheme, signer, body), body, NOW)
    assert got == (None if scheme == "stripe" else "msg_1")


@given(cases(), st.data())
def test_any_changed_byte_of_the_body_fails(case, data):
    scheme, secrets, signer, body = case
    at = data.draw(st.integers(0, len(body) - 1))
    flip = data.draw(st.integers(1, 255))
    tampered = body[:at] + bytes([body[at] ^ flip]) + body[at + 1 :]
    with pytest.raises(InvalidSignature):
        verify(scheme, keys_of(scheme, secrets), signed(scheme, signer, body), tampered, NOW)


@given(cases(), st.data())
def test_a_body_signed_with_a_secret_not_configured_fails(case, data):
    scheme, secrets, signer, body = case
    configured = [s for s in secrets if s != signer]
    with pytest.raises(InvalidSignature):
        verify(scheme, keys_of(scheme, configured), signed(scheme, signer, body), body, NOW)


@given(cases(), st.data())
def test_any_changed_character_of_the_signature_fails(case, data):
    scheme, secrets, signer, body = case
    headers = signed(scheme, signer, body)
    name = {
        "standard-webhooks": "webhook-signature",
        "shopify": "X-Shopify-Hmac-Sha256",
        "stripe": "Stripe-Signature",
    }[scheme]
    value = headers[name]
    start = {"standard-webhooks": 3, "shopify": 0, "stripe": value.find("v1=") + 3}[scheme]
    at = data.draw(st.integers(start, len(value) - 1))
    replacement = data.draw(st.sampled_from("0123456789abcdefABCDEF+/").filter(lambda c: c != value[at]))
    headers[name] = value[:at] + replacement + value[at + 1 :]
    with pytest.raises(InvalidSignature):
        verify(scheme, keys_of(scheme, secrets), headers, body, NOW)


@pytest.mark.parametrize("scheme", ["standard-webhooks", "stripe"])
@pytest.mark.parametrize(("offset", "passes"), [(-300, True), (300, True), (-301, False), (301, False)])
def test_timestamps_within_300_seconds_pass_either_way(scheme, offset, passes):
    secret = whsec(b"k" * 32)
    body = b'{"a": 1}'
    headers = signed(scheme, secret, body, at=NOW + offset)
    if passes:
        verify(scheme, keys_of(scheme, [secret]), headers, body, NOW)
    else:
        with pytest.raises(InvalidSignature, match="tolerance 300 s"):
            verify(scheme, keys_of(scheme, [secret]), headers, body, NOW)


def test_no_secret_refuses_everything_and_messages_never_hold_a_secret():
    secret = whsec(b"s" * 32)
    body = b"{}"
    with pytest.raises(InvalidSignature, match="no secret"):
        verify("standard-webhooks", (), signed("standard-webhooks", secret, body), body, NOW)
    with pytest.raises(InvalidSignature) as info:
        verify(
            "stripe",
            keys_of("stripe", ["whsec_other"]),
            sign.stripe([secret], body, int(time.time())),
            body,
            time.time(),
        )
    assert secret not in str(info.value) and "whsec_other" not in str(info.value)


def test_a_standard_secret_that_is_not_base64_is_refused_without_showing_it():
    with pytest.raises(ValueError) as info:
        keys_of("standard-webhooks", ["whsec_not base64!!"])
    assert "not base64!!" not in str(info.value)
