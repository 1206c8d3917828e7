"""The HTTP connector's pure half: settings, SPEC, and the request `encode` builds."""

from __future__ import annotations

import asyncio

import orjson
import pytest
from pydantic import ValidationError

from logisync.connectors.http import (
    SPEC,
    HttpTransport,
    Settings,
    Target,
    batch_id,
    encode,
    encode_batch,
    refused_address,
)
from logisync.delivery.errors import ErrorKind, MappingError
from logisync.delivery.outgoing import Delivery, delivery_id
from logisync.delivery.signing import verify
from logisync.errors import ConfigError

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
OLD_SECRET = "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVo0NTY3ODk="
NOW = 1_800_000_000.0
ENV = {"SHOP_SECRET": SECRET, "SHOP_OLD_SECRET": OLD_SECRET}


def delivery(**overrides) -> Delivery:
    values = {
        "id": delivery_id("stock-to-shop", 42),
        "route": "stock-to-shop",
        "target": "shop",
        "domain": "inventory",
        "key": "SKU-1@DC1",
        "fields": {"sku": "SKU-1", "location": "DC1", "available": 7},
        "revision": 3,
    }
    return Delivery(**{**values, **overrides})


def target(**settings) -> Target:
    return Target.from_settings(
        Settings(
            **{"url": "https://shop.example/hooks/stock", "signing_secret_env": "SHOP_SECRET", **settings}
        ),
        env=ENV,
    )


def test_spec_is_data():
    assert SPEC.name == "http" and SPEC.directions == {"out"}
    assert SPEC.capabilities.batching and SPEC.capabilities.max_batch == 1000
    assert SPEC.capabilities.compare_and_set
    assert SPEC.capabilities.signing == ("standard-webhooks",)
    assert "inventory" in SPEC.domains and "tracking" in SPEC.domains


def test_the_default_request_is_a_signed_post_of_the_whole_record():
    request = encode(delivery(), target(), NOW)
    assert request.method == "POST" and request.url == "https://shop.example/hooks/stock"
    assert orjson.loads(request.body) == {
        "type": "inventory.updated",
        "key": "SKU-1@DC1",
        "revision": 3,
        "data": {"sku": "SKU-1", "location": "DC1", "available": 7},
    }
    h = request.headers
    assert h["content-type"] == "application/json" and h["user-agent"].startswith("logisync/")
    assert h["idempotency-key"] == h["webhook-id"] == "stock-to-shop-42"
    assert h["webhook-timestamp"] == "1800000000"
    assert verify([SECRET], h, request.body, NOW) == "stock-to-shop-42"
    assert request.delivery_ids == ("stock-to-shop-42",)


def test_a_retry_keeps_the_id_and_signs_anew():
    first = encode(delivery(), target(), NOW)
    retry = encode(delivery(attempt=2), target(), NOW + 300)
    assert retry.headers["webhook-id"] == first.headers["webhook-id"]
    assert retry.headers["webhook-timestamp"] == str(int(NOW + 300))
    assert retry.headers["webhook-signature"] != first.headers["webhook-signature"]
    assert retry.body == first.body


def test_during_a_rotation_both_secrets_sign():
    request = encode(delivery(), target(previous_signing_secret_env="SHOP_OLD_SECRET"), NOW)
    assert len(request.headers["webhook-signature"].split()) == 2
    assert verify([OLD_SECRET], request.headers, request.body, NOW)


def test_without_a_secret_the_request_is_unsigned_but_keeps_its_id():
    request = encode(delivery(), target(signing_secret_env=None), NOW)
    assert "webhook-signature" not in request.headers
    assert request.headers["webhook-id"] == "stock-to-shop-42"


def test_static_headers_and_the_method_come_from_the_settings():
    request = encode(delivery(), target(method="PUT", headers={"X-Api-Key": "k"}), NOW)
    assert request.method == "PUT" and request.headers["X-Api-Key"] == "k"


def test_a_declarative_mapping_shapes_the_body():
    t = target(mapping={"sku": "fields.sku", "quantity": "fields.available", "meta.source": "'logisync'"})
    assert orjson.loads(encode(delivery(), t, NOW).body) == {
        "sku": "SKU-1",
        "quantity": 7,
        "meta": {"source": "logisync"},
    }


def test_compare_and_set_with_a_mapping_sends_the_last_delivered_value():
    t = target(compare_and_set=True, mapping={"value": "fields.available", "expected": "previous.available?"})
    assert orjson.loads(encode(delivery(previous={"available": 5}), t, NOW).body) == {
        "value": 7,
        "expected": 5,
    }
    assert orjson.loads(encode(delivery(previous=None), t, NOW).body) == {"value": 7}


def test_compare_and_set_without_a_mapping_adds_expected_to_the_default_body():
    t = target(compare_and_set=True)
    body = orjson.loads(encode(delivery(previous={"available": 5}), t, NOW).body)
    assert body["expected"] == {"available": 5} and body["data"]["available"] == 7
    assert orjson.loads(encode(delivery(), t, NOW).body)["expected"] is None


def test_a_mapping_error_names_the_target_path():
    t = target(mapping={"product.gtin": "fields.gtin"})
    with pytest.raises(MappingError, match=r"product\.gtin"):
        encode(delivery(), t, NOW)


def test_a_body_json_cannot_encode_is_a_mapping_error():
    with pytest.raises(MappingError, match="not JSON"):
        encode(delivery(fields={"when": {1, 2}}), target(), NOW)


def test_a_batch_is_an_array_with_a_stable_id():
    batch = [delivery(id=f"stock-to-shop-{i}", key=f"SKU-{i}@DC1") for i in range(3)]
    t = target(batch_max=3)
    request = encode_batch(batch, t, NOW)
    assert [b["key"] for b in orjson.loads(request.body)] == ["SKU-0@DC1", "SKU-1@DC1", "SKU-2@DC1"]
    assert (
        request.headers["webhook-id"]
        == batch_id(batch)
        == encode_batch(batch, t, NOW + 5).headers["webhook-id"]
    )
    assert request.delivery_ids == ("stock-to-shop-0", "stock-to-shop-1", "stock-to-shop-2")
    assert batch_id(batch[::-1]) != batch_id(batch)
    with pytest.raises(ValueError, match="batch_max 2"):
        encode_batch(batch, target(batch_max=2), NOW)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"url": "ftp://shop.example/x"}, "not an http"),
        ({"url": "https:///nohost"}, "not an http"),
        ({"url": "https://a.example", "headers": {"Webhook-Signature": "x"}}, "set by the connector"),
        ({"url": "https://a.example", "mapping": {"x": "nope"}}, "a path starts with one of"),
        ({"url": "https://a.example", "batch_max": 1001}, "less than or equal to 1000"),
        ({"url": "https://a.example", "timeout": 0}, "greater than 0"),
        ({"url": "https://a.example", "retries": 3}, "Extra inputs"),
    ],
)
def test_bad_settings_are_refused_with_the_reason(settings, message):
    with pytest.raises(ValidationError, match=message):
        Settings(**settings)


def test_durations_may_be_written_with_units():
    assert Settings(url="https://a.example", timeout="30s").timeout == 30


def test_a_missing_secret_variable_is_a_config_error():
    with pytest.raises(ConfigError, match="NOPE is not set"):
        Target.from_settings(Settings(url="https://a.example", signing_secret_env="NOPE"), env={})


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("192.168.0.10", "private"),
        ("172.16.5.4", "private"),
        ("169.254.169.254", "link-local"),  # the cloud metadata endpoint
        ("fe80::1", "link-local"),
        ("::ffff:127.0.0.1", "loopback"),
        ("0.0.0.0", "unspecified"),
        ("93.184.215.14", None),
        ("2606:2800:21f:cb07:6820:80da:af6b:8b2c", None),
    ],
)
def test_private_addresses_are_refused(address, reason):
    got = refused_address(address)
    assert (got is None) if reason is None else (reason in got and "allow_private_network" in got)


def test_a_private_literal_address_is_blocked_before_any_connection():
    async def run():
        async with HttpTransport(Settings(url="http://127.0.0.1:9/hook")) as transport:
            return await transport.send(encode(delivery(), target(url="http://127.0.0.1:9/hook"), NOW))

    error = asyncio.run(run())
    assert error.kind is ErrorKind.blocked and not error.transient and "loopback" in error.message
