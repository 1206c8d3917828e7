"""Standard Webhooks signing, checked against the spec's published vector and an independent verifier."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from logisync.delivery.signing import (
    InvalidSignature,
    decode_secret,
    new_secret,
    sign,
    signature_headers,
    verify,
)

# The test vector the Standard Webhooks reference libraries publish (and every one of them checks).
VECTOR_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
VECTOR_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
VECTOR_TIMESTAMP = 1614265330
VECTOR_BODY = b'{"test": 2432232314}'
VECTOR_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


class SpecReceiver:
    """A receiver written from the spec's text alone (standardwebhooks.com, "Verifying webhook
    authenticity"), not from logisync's code: strip `whsec_`, base64-decode the key, HMAC-SHA256
    over `{msg_id}.{timestamp}.{payload}`, base64, compare each `v1,` entry in constant time,
    and refuse timestamps more than five minutes away."""

    def __init__(self, secret: str) -> None:
        assert secret.startswith("whsec_")
        self.key = base64.standard_b64decode(secret[len("whsec_") :])

    def expected(self, msg_id: str, timestamp: str, payload: bytes) -> str:
        to_sign = msg_id.encode("utf-8") + b"." + timestamp.encode("ascii") + b"." + payload
        mac = hmac.digest(self.key, to_sign, "sha256")
        return base64.standard_b64encode(mac).decode("ascii")

    def accepts(self, headers: dict[str, str], payload: bytes, now: int) -> bool:
        h = {k.lower(): v for k, v in headers.items()}
        msg_id, timestamp, signatures = h["webhook-id"], h["webhook-timestamp"], h["webhook-signature"]
        if abs(now - int(timestamp)) > 5 * 60:
            return False
        wanted = self.expected(msg_id, timestamp, payload)
        for entry in signatures.split(" "):
            scheme, _, value = entry.partition(",")
            if scheme == "v1" and hmac.compare_digest(value, wanted):
                return True
        return False


def test_the_published_vector_signs_exactly():
    assert sign(VECTOR_SECRET, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY) == VECTOR_SIGNATURE


def test_the_independent_receiver_reproduces_the_vector_too():
    receiver = SpecReceiver(VECTOR_SECRET)
    assert "v1," + receiver.expected(VECTOR_ID, str(VECTOR_TIMESTAMP), VECTOR_BODY) == VECTOR_SIGNATURE


def test_the_published_vector_verifies():
    headers = {
        "webhook-id": VECTOR_ID,
        "webhook-timestamp": str(VECTOR_TIMESTAMP),
        "webhook-signature": VECTOR_SIGNATURE,
    }
    assert verify([VECTOR_SECRET], headers, VECTOR_BODY, now=VECTOR_TIMESTAMP + 10) == VECTOR_ID


secrets = st.binary(min_size=24, max_size=64).map(lambda b: "whsec_" + base64.b64encode(b).decode())
ids = st.from_regex(r"msg_[A-Za-z0-9_\-]{1,30}", fullmatch=True)


@given(secret=secrets, msg_id=ids, timestamp=st.integers(0, 2**33), body=st.binary(max_size=300))
def test_what_we_sign_the_independent_receiver_accepts(secret, msg_id, timestamp, body):
    headers = signature_headers([secret], msg_id, timestamp, body)
    assert SpecReceiver(secret).accepts(headers, body, now=timestamp)


@given(secret=secrets, msg_id=ids, timestamp=st.integers(0, 2**33), body=st.binary(max_size=300))
def test_what_the_independent_sender_signs_we_accept(secret, msg_id, timestamp, body):
    signature = SpecReceiver(secret).expected(msg_id, str(timestamp), body)
    headers = {
        "Webhook-Id": msg_id,
        "Webhook-Timestamp": str(timestamp),
        "Webhook-Signature": f"v1,{signature}",
    }
    assert verify([secret], headers, body, now=timestamp + 299) == msg_id


def test_during_a_rotation_both_secrets_sign_and_either_verifies():
    old, new = new_secret(), new_secret()
    headers = signature_headers([new, old], "msg_1", 1000, b"{}")
    assert len(headers["webhook-signature"].split(" ")) == 2
    assert SpecReceiver(old).accepts(headers, b"{}", 1000)
    assert SpecReceiver(new).accepts(headers, b"{}", 1000)
    assert verify([old], headers, b"{}", 1000) == "msg_1"
    assert verify([new_secret(), new], headers, b"{}", 1000) == "msg_1"
    with pytest.raises(InvalidSignature, match="no signature matches"):
        verify([new_secret()], headers, b"{}", 1000)


def test_a_changed_body_does_not_verify():
    headers = signature_headers([VECTOR_SECRET], "msg_1", 1000, b'{"qty": 5}')
    with pytest.raises(InvalidSignature, match="no signature matches"):
        verify([VECTOR_SECRET], headers, b'{"qty": 50}', 1000)


@pytest.mark.parametrize(
    ("now", "ok"), [(1000 + 300, True), (1000 - 300, True), (1000 + 301, False), (1000 - 301, False)]
)
def test_timestamps_are_accepted_within_five_minutes_either_way(now, ok):
    headers = signature_headers([VECTOR_SECRET], "msg_1", 1000, b"{}")
    if ok:
        assert verify([VECTOR_SECRET], headers, b"{}", now) == "msg_1"
    else:
        with pytest.raises(InvalidSignature, match="tolerance 300 s"):
            verify([VECTOR_SECRET], headers, b"{}", now)


def test_the_tolerance_can_be_set():
    headers = signature_headers([VECTOR_SECRET], "msg_1", 1000, b"{}")
    assert verify([VECTOR_SECRET], headers, b"{}", 1000 + 3600, tolerance=3600) == "msg_1"


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({}, "headers are required"),
        ({"webhook-id": "m", "webhook-timestamp": "1000"}, "headers are required"),
        ({"webhook-id": "m", "webhook-timestamp": "1e3", "webhook-signature": "v1,x"}, "not integer seconds"),
        ({"webhook-id": "m", "webhook-timestamp": "1000", "webhook-signature": "v1a,abc"}, "no v1 signature"),
        ({"webhook-id": "m.x", "webhook-timestamp": "1000", "webhook-signature": "v1,x"}, "must not contain"),
    ],
)
def test_malformed_headers_are_refused_with_a_reason(headers, reason):
    with pytest.raises(InvalidSignature, match=reason):
        verify([VECTOR_SECRET], headers, b"{}", 1000)


def test_secrets_in_every_accepted_form():
    key = base64.b64decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    assert decode_secret(VECTOR_SECRET) == key
    assert decode_secret("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw") == key  # bare base64, as the reference libraries
    assert sign(key, VECTOR_ID, VECTOR_TIMESTAMP, VECTOR_BODY) == VECTOR_SIGNATURE  # raw bytes
    raw = b"plain text shared secret"
    expected = base64.b64encode(hmac.new(raw, b"m.1.{}", hashlib.sha256).digest()).decode()
    assert sign(raw, "m", 1, b"{}") == f"v1,{expected}"


@pytest.mark.parametrize("secret", ["whsec_not base64!", "plain-text-key", "whsec_", b""])
def test_unusable_secrets_are_refused(secret):
    with pytest.raises(ValueError):
        decode_secret(secret)


def test_new_secrets_are_32_random_bytes():
    a, b = new_secret(), new_secret()
    assert a != b and a.startswith("whsec_") and len(decode_secret(a)) == 32


def test_an_id_with_a_dot_cannot_be_signed():
    with pytest.raises(ValueError, match=r"no '\.'"):
        sign(VECTOR_SECRET, "route.1", 1, b"")
