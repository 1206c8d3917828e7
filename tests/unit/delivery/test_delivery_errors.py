"""Classifying failures: every HTTP status and transport exception to one kind, as data."""

from __future__ import annotations

import ssl
from datetime import UTC, datetime

import pytest

from logisync.delivery.errors import (
    DeliveryError,
    ErrorKind,
    MappingError,
    classify_exception,
    classify_response,
    kind_of_status,
)

NOW = datetime(2026, 10, 21, 7, 28, 0, tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("status", "kind"),
    [
        (200, None),
        (201, None),
        (204, None),
        (299, None),
        (301, ErrorKind.redirect),
        (302, ErrorKind.redirect),
        (307, ErrorKind.redirect),
        (308, ErrorKind.redirect),
        (304, ErrorKind.redirect),
        (400, ErrorKind.rejected),
        (404, ErrorKind.rejected),
        (422, ErrorKind.rejected),
        (401, ErrorKind.unauthorized),
        (403, ErrorKind.unauthorized),
        (408, ErrorKind.unavailable),
        (409, ErrorKind.conflict),
        (412, ErrorKind.conflict),
        (410, ErrorKind.gone),
        (429, ErrorKind.throttled),
        (500, ErrorKind.unavailable),
        (502, ErrorKind.unavailable),
        (503, ErrorKind.unavailable),
        (504, ErrorKind.unavailable),
        (599, ErrorKind.unavailable),
        (100, ErrorKind.protocol),
        (600, ErrorKind.protocol),
        (0, ErrorKind.protocol),
    ],
)
def test_every_status_has_one_kind(status, kind):
    assert kind_of_status(status) is kind


def test_transient_and_permanent_as_the_issue_says():
    transient = {k for k in ErrorKind if k.transient}
    target = {ErrorKind.timeout, ErrorKind.connection, ErrorKind.unavailable, ErrorKind.throttled}
    # and the hub's own failed round (its store was busy): retried, never counted against the target
    assert transient == target | {ErrorKind.round_failed} and not ErrorKind.round_failed.target_wide
    assert not ErrorKind.mapping.transient and not ErrorKind.rejected.transient
    assert ErrorKind.tls.target_wide and not ErrorKind.tls.transient
    assert not ErrorKind.rejected.target_wide and not ErrorKind.conflict.target_wide


def test_a_success_is_no_error():
    assert classify_response(200, {}, b"ok", NOW) is None


def test_429_carries_retry_after_in_seconds():
    error = classify_response(429, {"Retry-After": "30"}, b"", NOW)
    assert error == DeliveryError(ErrorKind.throttled, "no response body", status=429, retry_after=30.0)
    assert error.transient


def test_503_carries_retry_after_as_an_http_date():
    error = classify_response(503, {"Retry-After": "Wed, 21 Oct 2026 07:30:00 GMT"}, b"maintenance", NOW)
    assert error is not None
    assert error.kind is ErrorKind.unavailable and error.retry_after == 120.0
    assert "maintenance" in error.message


def test_retry_after_on_a_permanent_error_is_ignored():
    error = classify_response(400, {"Retry-After": "30"}, b'{"error": "bad sku"}', NOW)
    assert error is not None and error.retry_after is None
    assert error.kind is ErrorKind.rejected and not error.transient
    assert "bad sku" in error.message


def test_a_redirect_names_its_location():
    error = classify_response(301, {"Location": "https://new.example/hook"}, b"", NOW)
    assert error is not None and error.kind is ErrorKind.redirect
    assert "https://new.example/hook" in error.message and "not followed" in error.message
    assert str(error).startswith("redirect: HTTP 301: ")


def test_a_long_response_body_is_cut():
    error = classify_response(500, {}, b"x" * 10_000, NOW)
    assert error is not None and len(error.message) < 300


def test_a_timeout_is_transient():
    error = classify_exception(TimeoutError())
    assert error.kind is ErrorKind.timeout and error.transient


def test_a_refused_connection_is_transient():
    error = classify_exception(ConnectionRefusedError(111, "Connection refused"))
    assert error.kind is ErrorKind.connection and error.transient
    assert "refused" in error.message


def test_any_other_client_error_is_a_connection_failure():
    class ServerDisconnected(Exception):
        pass

    assert classify_exception(ServerDisconnected("closed")).kind is ErrorKind.connection


def test_a_certificate_that_does_not_verify_is_permanent_and_target_wide():
    exc = ssl.SSLCertVerificationError(1, "certificate verify failed")
    exc.verify_message = "self-signed certificate"
    error = classify_exception(exc)
    assert error.kind is ErrorKind.tls and not error.transient and error.target_wide
    assert "self-signed certificate" in error.message


def test_another_tls_failure_is_tls():
    assert classify_exception(ssl.SSLError(1, "wrong version number")).kind is ErrorKind.tls


def test_a_mapping_error_is_permanent_and_names_the_path():
    error = classify_exception(MappingError("quantity", "'fields.available' is missing"))
    assert error.kind is ErrorKind.mapping and not error.transient
    assert "quantity" in error.message and "fields.available" in error.message
