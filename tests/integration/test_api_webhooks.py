"""POST /v1/webhooks/{system} over a real server on loopback: every scheme, rotation, tolerance,
each error status, idempotent redelivery, and the exception that keeps an unmappable webhook.

The webhooks are signed by `fixtures.webhook_signers`, written from each scheme's description.
"""

from __future__ import annotations

import base64
import json
import logging
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from fixtures import webhook_signers as sign
from fixtures.api_live import ADMIN, KEYS, LiveServer, set_keys, snapshot, with_admin
from logisync.api import create_app
from logisync.api.schemas import ChangesResult, Problem
from logisync.config import parse_syncmap
from logisync.config.model import SyncMap
from logisync.errors import ConfigError
from logisync.store.base import Store

SECRETS = {
    "WH_WMS_NEW": "whsec_" + "bmV3LXdtcy1zZWNyZXQtMDEyMzQ1Njc4OWFiY2RlZg==",
    "WH_WMS_OLD": "whsec_" + "b2xkLXdtcy1zZWNyZXQtMDEyMzQ1Njc4OWFiY2RlZg==",
    "WH_SHOP": "shpss_shop-secret-0123456789",
    "WH_ERP_NEW": "whsec_erp-new-0123456789",
    "WH_ERP_OLD": "whsec_erp-old-0123456789",
    "WH_WEB": "whsec_" + "d2ViLXNlY3JldC0wMTIzNDU2Nzg5YWJjZGVmMDEyMzQ=",
}
STRANGER = "whsec_" + "c3RyYW5nZXItc2VjcmV0LTAxMjM0NTY3ODlhYmNkZWY="

SYNCMAP = """\
limits: {max_body_bytes: 4096}
systems:
  wms:
    kind: wms
    auth: {api_key_env: TEST_WMS_KEY}
    webhooks:
      signing: {scheme: standard-webhooks, secret_envs: [WH_WMS_NEW, WH_WMS_OLD]}
      mapping:
        domain: inventory
        key: "{sku}@{site}"
        fields: {on_hand: "$.on_hand | int", allocated: "$.allocated?"}
        version: "$.seq?"
  erp:
    kind: erp
    auth: {api_key_env: TEST_ERP_KEY}
    webhooks:
      signing: {scheme: stripe, secret_envs: [WH_ERP_NEW, WH_ERP_OLD]}
      mapping: {domain: product, each: $.data.items, key: $.sku, fields: {name: $.name}}
  shop:
    kind: marketplace
    auth: {api_key_env: TEST_SHOP_KEY}
    webhooks:
      signing: {scheme: shopify, secret_env: WH_SHOP}
      mapping: "fixtures.mappings:shop_order"
  carrier: {kind: carrier, auth: {api_key_env: TEST_CARRIER_KEY}}
  web:
    kind: storefront
    writes: [order]
    webhooks: {signing: {secret_env: WH_WEB}, mapping: "fixtures.mappings:as_sent"}
owners:
  product: erp
  inventory.quantities: wms
  order.lines: shop
  order.fulfillment: wms
  tracking: carrier
routes:
  - {name: stock-to-shop, domain: inventory, to: shop}
"""

NEW, OLD = SECRETS["WH_WMS_NEW"], SECRETS["WH_WMS_OLD"]


def syncmap_for_webhooks() -> SyncMap:
    return parse_syncmap(SYNCMAP, "webhooks.yaml", env={})


class Hub:
    def __init__(self, client: httpx.Client, store: Store, app: Any) -> None:
        self.client, self.store, self.app = client, store, app

    def post(self, system: str, body: bytes, headers: dict[str, str]) -> httpx.Response:
        return self.client.post(f"/v1/webhooks/{system}", content=body, headers=headers)

    def wms(
        self, msg_id: str, payload: Any, secrets: list[str] | None = None, at: int | None = None
    ) -> httpx.Response:
        body = json.dumps(payload).encode()
        return self.post("wms", body, sign.standard(secrets or [NEW], msg_id, body, at))


@contextmanager
def start(store: Store, monkeypatch: Any, syncmap: SyncMap | None = None) -> Iterator[Hub]:
    set_keys(monkeypatch)
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    app = create_app(with_admin(syncmap or syncmap_for_webhooks()), store)
    with LiveServer(app) as live, httpx.Client(base_url=live.url, timeout=20) as client:
        yield Hub(client, store, app)


@pytest.fixture
def hub(store, monkeypatch) -> Iterator[Hub]:
    with start(store, monkeypatch) as running:
        yield running


@pytest.fixture
def sqlite_hub(sqlite_store, monkeypatch) -> Iterator[Hub]:
    with start(sqlite_store, monkeypatch) as running:
        yield running


def ok(response: httpx.Response) -> ChangesResult:
    assert response.status_code == 200, response.text
    return ChangesResult.model_validate(response.json())


def problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body = Problem.model_validate(response.json()).error
    assert body.code == code, body
    return body.model_dump()


STOCK = {"sku": "SKU-1", "site": "DC1", "on_hand": 12, "allocated": 2, "seq": 5}


# -- Standard Webhooks -------------------------------------------------------------------------------


def test_a_standard_webhook_is_verified_mapped_and_applied_as_its_system(hub):
    body = ok(hub.wms("msg_1", STOCK))
    assert [(o.id, o.outcome.value) for o in body.outcomes] == [("msg_1", "applied")]
    record = hub.store.get_record("inventory", "SKU-1@DC1")
    assert record is not None and record.fields["on_hand"] == 12 and record.fields["allocated"] == 2
    entry = hub.store.get_change("wms", "msg_1")
    assert entry is not None and entry.source == "webhook" and entry.stamp == 5


def test_a_redelivered_webhook_is_a_duplicate_not_applied_twice(hub):
    ok(hub.wms("msg_1", STOCK))
    before = snapshot(hub.store)
    again = ok(hub.wms("msg_1", {**STOCK, "on_hand": 99}))  # a retry, signed anew later
    assert [(o.id, o.outcome.value) for o in again.outcomes] == [("msg_1", "duplicate")]
    assert again.outcomes[0].original is not None and again.outcomes[0].original.outcome.value == "applied"
    after = snapshot(hub.store)
    assert after[1][("wms", "inventory", "duplicate")] == 1  # counted as received, nothing else
    assert after[:1] + after[2:] == before[:1] + before[2:]
    assert hub.store.get_record("inventory", "SKU-1@DC1").fields["on_hand"] == 12


def test_every_secret_of_a_rotation_is_accepted(sqlite_hub):
    ok(sqlite_hub.wms("new", STOCK, [NEW]))
    ok(sqlite_hub.wms("old", {**STOCK, "seq": 6}, [OLD]))
    ok(sqlite_hub.wms("both", {**STOCK, "seq": 7}, [STRANGER, OLD]))  # one of several signatures matches


def test_a_wrong_secret_a_changed_body_or_missing_headers_are_401_and_nothing_is_kept(sqlite_hub):
    hub = sqlite_hub
    before = snapshot(hub.store)
    problem(hub.wms("m1", STOCK, [STRANGER]), 401, "invalid_signature")
    body = json.dumps(STOCK).encode()
    headers = sign.standard([NEW], "m2", body)
    tampered = body.replace(b"12", b"13")
    assert (
        "body was changed" in problem(hub.post("wms", tampered, headers), 401, "invalid_signature")["message"]
    )
    for missing in ("webhook-id", "webhook-timestamp", "webhook-signature"):
        partial = {k: v for k, v in headers.items() if k != missing}
        problem(hub.post("wms", body, partial), 401, "invalid_signature")
    assert snapshot(hub.store) == before


def test_the_timestamp_tolerance_is_300_seconds_either_way(sqlite_hub):
    now = int(time.time())
    ok(sqlite_hub.wms("recent", STOCK, at=now - 290))
    ok(sqlite_hub.wms("ahead", {**STOCK, "seq": 6}, at=now + 290))
    stale = problem(sqlite_hub.wms("stale", STOCK, at=now - 310), 401, "invalid_signature")
    assert "tolerance 300 s" in stale["message"]
    problem(sqlite_hub.wms("future", STOCK, at=now + 310), 401, "invalid_signature")


# -- Shopify-style -------------------------------------------------------------------------------------


ORDER = {"id": "SHOP-1", "line_items": [{"sku": "SKU-1", "quantity": 2, "line_number": 1}]}


def test_a_shopify_webhook_becomes_the_shop_s_order(hub):
    body = json.dumps(ORDER).encode()
    answer = ok(hub.post("shop", body, sign.shopify(SECRETS["WH_SHOP"], "shopify-wh-1", body)))
    assert [(o.id, o.outcome.value) for o in answer.outcomes] == [("shopify-wh-1", "applied")]
    record = hub.store.get_record("order", "SHOP-1")
    assert record is not None and record.fields["channel"] == "shop"  # the mapping saw context.system
    again = ok(hub.post("shop", body, sign.shopify(SECRETS["WH_SHOP"], "shopify-wh-1", body)))
    assert again.outcomes[0].outcome.value == "duplicate"


def test_a_shopify_webhook_with_a_wrong_hmac_is_401(sqlite_hub):
    body = json.dumps(ORDER).encode()
    headers = sign.shopify("not-the-secret", "shopify-wh-1", body)
    problem(sqlite_hub.post("shop", body, headers), 401, "invalid_signature")
    del headers["X-Shopify-Hmac-Sha256"]
    problem(sqlite_hub.post("shop", body, headers), 401, "invalid_signature")


def test_a_shopify_webhook_without_an_id_is_named_by_its_body(sqlite_hub):
    body = json.dumps(ORDER).encode()
    first = ok(sqlite_hub.post("shop", body, sign.shopify(SECRETS["WH_SHOP"], None, body)))
    assert first.outcomes[0].id.startswith("sha256-") and first.outcomes[0].outcome.value == "applied"
    again = ok(sqlite_hub.post("shop", body, sign.shopify(SECRETS["WH_SHOP"], None, body)))
    assert again.outcomes[0].outcome.value == "duplicate"


# -- Stripe-style ---------------------------------------------------------------------------------------


def event(evt: str, *items: tuple[str, str]) -> bytes:
    data = {"items": [{"sku": sku, "name": name} for sku, name in items]}
    return json.dumps({"id": evt, "type": "product.updated", "data": data}).encode()


def test_a_stripe_event_takes_its_id_from_the_body_and_numbers_further_changes(hub):
    body = event("evt_1", ("SKU-1", "Widget"), ("SKU-2", "Gadget"), ("SKU-3", "Gizmo"))
    answer = ok(hub.post("erp", body, sign.stripe([SECRETS["WH_ERP_OLD"]], body)))
    assert [o.id for o in answer.outcomes] == ["evt_1", "evt_1:2", "evt_1:3"]
    assert {o.outcome.value for o in answer.outcomes} == {"applied"}
    assert hub.store.get_record("product", "SKU-3").fields["name"] == "Gizmo"
    again = ok(hub.post("erp", body, sign.stripe([SECRETS["WH_ERP_NEW"]], body)))
    assert [o.outcome.value for o in again.outcomes] == ["duplicate"] * 3


def test_stripe_signatures_rotation_and_tolerance(sqlite_hub):
    body = event("evt_2", ("SKU-1", "Widget"))
    ok(sqlite_hub.post("erp", body, sign.stripe(["whsec_stranger", SECRETS["WH_ERP_NEW"]], body)))
    problem(sqlite_hub.post("erp", body, sign.stripe(["whsec_stranger"], body)), 401, "invalid_signature")
    stale = sign.stripe([SECRETS["WH_ERP_NEW"]], body, at=int(time.time()) - 301)
    problem(sqlite_hub.post("erp", body, stale), 401, "invalid_signature")
    headers = sign.stripe([SECRETS["WH_ERP_NEW"]], body)
    problem(sqlite_hub.post("erp", body + b" ", headers), 401, "invalid_signature")


# -- refusals ---------------------------------------------------------------------------------------------


def test_unknown_systems_and_systems_without_webhooks_are_404(sqlite_hub):
    body = json.dumps(STOCK).encode()
    problem(sqlite_hub.post("nobody", body, sign.standard([NEW], "m", body)), 404, "not_found")
    problem(sqlite_hub.post("carrier", body, sign.standard([NEW], "m", body)), 404, "not_found")


def test_a_body_past_the_limit_is_413_before_any_check(sqlite_hub):
    body = json.dumps({**STOCK, "pad": "x" * 5000}).encode()
    before = snapshot(sqlite_hub.store)
    problem(sqlite_hub.post("wms", body, sign.standard([NEW], "big", body)), 413, "payload_too_large")

    def chunks() -> Iterator[bytes]:  # no Content-Length: refused as the body passes the limit
        for i in range(0, len(body), 1000):
            yield body[i : i + 1000]

    chunked = sqlite_hub.client.post(
        "/v1/webhooks/wms", content=chunks(), headers=sign.standard([NEW], "big", body)
    )
    problem(chunked, 413, "payload_too_large")
    assert snapshot(sqlite_hub.store) == before


def test_a_system_whose_secrets_are_not_set_has_every_webhook_refused(sqlite_store, monkeypatch):
    set_keys(monkeypatch)
    monkeypatch.delenv("WH_SHOP", raising=False)
    app = create_app(syncmap_for_webhooks(), sqlite_store, env={**KEYS})
    with LiveServer(app) as live, httpx.Client(base_url=live.url, timeout=20) as client:
        body = json.dumps(ORDER).encode()
        answer = client.post("/v1/webhooks/shop", content=body, headers=sign.shopify("", "x", body))
        assert "no secret" in problem(answer, 401, "invalid_signature")["message"]


# -- unmappable webhooks are kept -------------------------------------------------------------------------


def exceptions(store: Store) -> list[Any]:
    return [x for x in store.list_exceptions(state=None, limit=1000) if x.kind == "unmappable_webhook"]


def test_an_unmappable_webhook_is_422_and_kept_in_the_inbox_once(hub):
    payload = {"sku": "SKU-1", "on_hand": 3}  # no site: the key's template cannot be filled
    refused = problem(hub.wms("msg_bad", payload), 422, "unmappable_webhook")
    assert "$.site is missing" in refused["message"]
    [kept] = exceptions(hub.store)
    assert kept.state == "open" and kept.system == "wms" and kept.change_id == "msg_bad"
    assert "$.site is missing" in kept.reason
    assert json.loads(kept.detail["raw"]) == payload  # the payload, as received
    problem(hub.wms("msg_bad", payload), 422, "unmappable_webhook")  # the sender retries
    assert len(exceptions(hub.store)) == 1
    problem(hub.wms("msg_bad_2", payload), 422, "unmappable_webhook")
    assert len(exceptions(hub.store)) == 2
    assert hub.store.count_records() == 0


def test_the_inbox_says_how_to_clear_an_unmappable_webhook(sqlite_hub):
    hub = sqlite_hub
    problem(hub.wms("msg_bad", {"sku": "SKU-1"}), 422, "unmappable_webhook")
    [kept] = exceptions(hub.store)
    retry = hub.client.post(f"/v1/exceptions/{kept.id}/retry", headers=ADMIN)
    assert "never became a change" in problem(retry, 409, "action_refused")["message"]
    groups = hub.client.get("/v1/exceptions/groups", headers=ADMIN).json()
    assert "wms webhooks its mapping cannot take" in json.dumps(groups)
    discarded = hub.client.post(f"/v1/exceptions/{kept.id}/discard", json={"reason": "fixed"}, headers=ADMIN)
    assert discarded.status_code == 200, discarded.text


def test_a_body_that_is_not_json_is_422_and_kept_byte_for_byte(hub):
    body = b'{"sku": "SKU-1", \xff\x00 not json'
    refused = problem(hub.post("wms", body, sign.standard([NEW], "msg_junk", body)), 422, "invalid_json")
    assert refused["errors"][0]["path"] == "(body)"
    [kept] = exceptions(hub.store)
    assert kept.change_id == "msg_junk"
    assert base64.b64decode(kept.detail["raw_base64"]) == body


def test_mapped_changes_the_envelope_refuses_are_422_naming_the_place(sqlite_hub):
    refused = problem(sqlite_hub.wms("msg_v", {**STOCK, "seq": "soon"}), 422, "unmappable_webhook")
    assert refused["errors"][0]["path"] == "changes[0].version"
    assert len(exceptions(sqlite_hub.store)) == 1


def test_a_stripe_event_that_does_not_map_keeps_its_event_id(sqlite_hub):
    body = json.dumps({"id": "evt_9", "type": "product.updated", "data": {"items": [{"name": "x"}]}}).encode()
    refused = problem(
        sqlite_hub.post("erp", body, sign.stripe([SECRETS["WH_ERP_NEW"]], body)), 422, "unmappable_webhook"
    )
    assert "$.data.items[0]" in refused["message"]
    [kept] = exceptions(sqlite_hub.store)
    assert kept.change_id == "evt_9" and kept.detail["scheme"] == "stripe"


def test_data_problems_are_outcomes_not_refusals(sqlite_hub):
    answer = ok(sqlite_hub.wms("neg", {**STOCK, "on_hand": -1}))
    assert answer.outcomes[0].outcome.value == "quarantined"
    assert answer.counts.quarantined == 1


# -- overload ---------------------------------------------------------------------------------------------


def test_an_overloaded_ingest_queue_answers_503_with_retry_after(sqlite_store, monkeypatch):
    syncmap = syncmap_for_webhooks()
    syncmap = syncmap.model_copy(update={"limits": syncmap.limits.model_copy(update={"max_ingest_queue": 1})})
    with start(sqlite_store, monkeypatch, syncmap) as hub:
        ingestor = hub.app.state.ingestor
        path = sqlite_store.url.removeprefix("sqlite:///")
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")  # the ingest worker waits for the write lock
        answers: dict[str, httpx.Response] = {}

        def send(name: str, seq: int) -> None:
            answers[name] = hub.wms(name, {**STOCK, "seq": seq})

        threads = [threading.Thread(target=send, args=("a", 1))]
        threads[0].start()
        deadline = time.monotonic() + 10
        while ingestor._busy is False and time.monotonic() < deadline:
            time.sleep(0.01)
        threads.append(threading.Thread(target=send, args=("b", 2)))
        threads[1].start()
        while ingestor.waiting < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert ingestor.waiting == 1
        refused = hub.wms("c", {**STOCK, "seq": 3})
        problem(refused, 503, "overloaded")
        assert refused.headers["retry-after"] == "1"
        blocker.execute("ROLLBACK")
        blocker.close()
        for thread in threads:
            thread.join(timeout=20)
        assert answers["a"].status_code == 200 and answers["b"].status_code == 200
        assert sqlite_store.get_change("wms", "c") is None


def test_a_change_outside_the_write_scopes_is_rejected_and_kept_not_refused(sqlite_hub):
    hub = sqlite_hub
    changes = [{"domain": "inventory", "key": "SKU-1@DC1", "fields": {"on_hand": 5}}]
    body = json.dumps({"changes": changes}).encode()
    answer = ok(hub.post("web", body, sign.standard([SECRETS["WH_WEB"]], "web_1", body)))
    assert [(o.id, o.outcome.value) for o in answer.outcomes] == [("web_1", "rejected")]
    assert "may not write inventory" in answer.outcomes[0].reason
    assert [x.kind for x in hub.store.list_exceptions(limit=10)] == ["scope"]
    assert hub.store.get_record("inventory", "SKU-1@DC1") is None


@pytest.mark.parametrize(
    ("changes", "path"),
    [
        ("not a list", "(body)"),
        (["not an object"], "changes[0]"),
        ([{"domain": "order", "key": "O-1", "fields": {}, "sku": "x"}], "changes[0].sku"),
        ([{"domain": "order", "key": "O\x00", "fields": {}}], "changes[0].key"),
        ([{"id": "x" * 201, "domain": "order", "key": "O-1", "fields": {}}], "changes[0].id"),
    ],
)
def test_what_a_mapping_function_gives_is_checked_as_post_changes_checks_it(sqlite_hub, changes, path):
    body = json.dumps({"changes": changes}).encode()
    refused = problem(
        sqlite_hub.post("web", body, sign.standard([SECRETS["WH_WEB"]], "w", body)), 422, "unmappable_webhook"
    )
    assert refused["errors"][0]["path"] == path, refused


def test_a_mapping_function_that_raises_is_a_mapping_error_not_a_500(sqlite_hub):
    body = b'{"no_changes_here": true}'
    refused = problem(
        sqlite_hub.post("web", body, sign.standard([SECRETS["WH_WEB"]], "w", body)), 422, "unmappable_webhook"
    )
    assert "fixtures.mappings:as_sent raised KeyError" in refused["message"]


def test_no_secret_ever_reaches_the_log(sqlite_store, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)
    with start(sqlite_store, monkeypatch) as hub:
        hub.wms("m1", STOCK, [STRANGER])  # 401
        hub.wms("m2", {"sku": "SKU-1"})  # 422
        body = event("evt_1", ("SKU-1", "Widget"))
        hub.post("erp", body, sign.stripe(["whsec_wrong"], body))  # 401
        ok(hub.wms("m3", STOCK))
    assert "refused" in caplog.text  # the refusals are logged...
    for secret in [*SECRETS.values(), STRANGER]:  # ...without any secret
        assert secret not in caplog.text
        assert secret.removeprefix("whsec_") not in caplog.text


def test_a_standard_secret_that_is_not_whsec_base64_stops_the_start_naming_the_variable(sqlite_store):
    env = {**SECRETS, "WH_WMS_OLD": "whsec_!!not-base64!!"}
    with pytest.raises(ConfigError) as info:
        create_app(syncmap_for_webhooks(), sqlite_store, env=env)
    assert "WH_WMS_NEW, WH_WMS_OLD" in str(info.value) and "not-base64" not in str(info.value)
