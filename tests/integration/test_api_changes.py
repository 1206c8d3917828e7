"""POST /v1/changes over a real server on loopback, on both stores: ack after commit, auth, limits."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator

import httpx
import pytest

from fixtures.api_live import (
    ADMIN,
    CARRIER,
    KEYS,
    SHOP,
    WMS,
    LiveServer,
    change,
    set_keys,
    snapshot,
    with_admin,
)
from logisync.api import create_app
from logisync.api.changes import result
from logisync.api.schemas import ChangesResult, Problem
from logisync.config.model import Limits
from logisync.domain.change import Change
from logisync.pipeline import Pipeline

LIMITS = Limits(max_batch=5, max_body_bytes=4096)


@pytest.fixture
def hub(store, syncmap, monkeypatch) -> Iterator[httpx.Client]:
    set_keys(monkeypatch)
    app = create_app(with_admin(syncmap, LIMITS), store)
    with LiveServer(app) as live, httpx.Client(base_url=live.url, timeout=10) as client:
        yield client


def post(client: httpx.Client, changes: list, headers: dict | None = None) -> httpx.Response:
    return client.post("/v1/changes", json={"changes": changes}, headers=WMS if headers is None else headers)


def problem(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = Problem.model_validate(response.json()).error
    assert body.code == code
    return body.model_dump()


def test_a_batch_is_answered_after_commit_with_one_outcome_per_change(hub, store):
    first = post(hub, [change("c1", version=2, on_hand=10, allocated=3)])
    assert first.status_code == 200
    response = post(
        hub,
        [
            change("c2", version=1, on_hand=7),  # older than c1: stale
            change("c3", key="SKU-2@DC1", version=1, on_hand=-4),  # a bad value: quarantined
            change("c4", key="SKU-3@DC1", version=1, on_hand=5),
            change("c4", key="SKU-3@DC1", version=1, on_hand=5),  # repeated in the batch
        ],
    )
    assert response.status_code == 200, response.text
    body = ChangesResult.model_validate(response.json())
    assert [(o.id, o.outcome.value) for o in body.outcomes] == [
        ("c2", "stale"),
        ("c3", "quarantined"),
        ("c4", "applied"),
        ("c4", "duplicate"),
    ]
    assert body.counts.model_dump() == {
        "applied": 1,
        "duplicate": 1,
        "stale": 1,
        "rejected": 0,
        "quarantined": 1,
        "insufficient_stock": 0,
    }
    assert "on_hand" in (body.outcomes[1].reason or "")
    # The answer came after the commit: the store already has it all.
    assert store.get_record("inventory", "SKU-1@DC1").fields == {"on_hand": 10, "allocated": 3}
    assert store.get_record("inventory", "SKU-3@DC1").fields == {"on_hand": 5}
    assert store.get_change("wms", "c3").outcome == "quarantined"
    assert store.get_change("wms", "c4").source == "api"
    assert sum(store.outcome_counts().values()) == 5


def test_outcomes_are_shown_exactly_as_outcome_as_dict(store, syncmap):
    """The API formats outcomes itself (once per batch, for speed); the shape is the core's."""
    pipeline = Pipeline(store, syncmap)
    sent = [Change.model_validate(c) for c in (change("d1", version=3), change("d2", version=1))]
    outcomes = pipeline.ingest("wms", sent) + pipeline.ingest("wms", [*sent, sent[0]])
    outcomes += pipeline.ingest("wms", [Change.model_validate(change("d3", on_hand=-1))])
    assert {o.outcome.value for o in outcomes} == {"applied", "stale", "duplicate", "quarantined"}
    assert result(outcomes)["outcomes"] == [o.as_dict() for o in outcomes]


def test_a_resent_batch_is_all_duplicates_carrying_the_first_outcomes(hub, store):
    batch = [change("r1", version=5, on_hand=3), change("r2", version=4, on_hand=9)]
    first = post(hub, batch).json()
    before = store.count_changes()
    again = post(hub, batch).json()
    assert again["counts"]["duplicate"] == 2
    assert [o["original"]["outcome"] for o in again["outcomes"]] == ["applied", "stale"]
    assert [o["original"]["received_at"] for o in again["outcomes"]] == [
        o["received_at"] for o in first["outcomes"]
    ]
    assert store.count_changes() == before
    assert store.outcome_counts()[("wms", "inventory", "duplicate")] == 2


def test_an_empty_batch_is_fine(hub, store):
    response = post(hub, [])
    assert response.status_code == 200
    assert response.json() == {
        "outcomes": [],
        "counts": {
            "applied": 0,
            "duplicate": 0,
            "stale": 0,
            "rejected": 0,
            "quarantined": 0,
            "insufficient_stock": 0,
        },
    }


def test_the_key_may_come_as_x_api_key(hub, store):
    response = post(hub, [change("k1")], headers={"X-API-Key": KEYS["TEST_WMS_KEY"]})
    assert response.status_code == 200
    assert store.get_change("wms", "k1") is not None


UNAUTHORIZED = [
    ({}, "no API key"),
    ({"Authorization": "Bearer not-a-key"}, "unknown API key"),
    ({"X-API-Key": "not-a-key"}, "unknown API key"),
    ({"Authorization": KEYS["TEST_WMS_KEY"]}, "is not `Bearer KEY`"),
    ({"Authorization": "Basic d21zOndtcw=="}, "is not `Bearer KEY`"),
    ({"Authorization": "Bearer"}, "is not `Bearer KEY`"),
    ({"Authorization": f"Bearer {KEYS['TEST_WMS_KEY']}x"}, "unknown API key"),
    ({"Authorization": f"Bearer {KEYS['TEST_WMS_KEY'][:-1]}"}, "unknown API key"),
]


def test_no_key_or_an_unknown_one_is_401_and_changes_nothing(hub, store):
    before = snapshot(store)
    for headers, says in UNAUTHORIZED:
        response = post(hub, [change("a1")], headers=headers)
        error = problem(response, 401, "unauthorized")
        assert says in error["message"], headers
        assert response.headers["www-authenticate"] == "Bearer"
        assert KEYS["TEST_WMS_KEY"] not in response.text
    assert snapshot(store) == before


def test_a_batch_outside_the_write_scopes_is_refused_whole(hub, store):
    before = snapshot(store)
    order = {"id": "o1", "domain": "order", "key": "SO-1", "fields": {"channel": "web"}}
    response = post(hub, [order, change("s1"), change("s2", key="SKU-2@DC1")], headers=SHOP)
    error = problem(response, 403, "forbidden")
    assert error["message"].startswith(
        "system 'shop' may not write inventory (its write scopes: order, product)"
    )
    assert "nothing in this batch was applied" in error["message"]
    assert [e["path"] for e in error["errors"]] == ["changes[1].domain", "changes[2].domain"]
    assert snapshot(store) == before


def test_a_system_without_write_scopes_is_refused(hub, store):
    before = snapshot(store)
    error = problem(post(hub, [change("t1")], headers=CARRIER), 403, "forbidden")
    assert "system 'carrier' may not write inventory (its write scopes: tracking)" in error["message"]
    assert snapshot(store) == before


def test_the_admin_key_sends_no_changes(hub, store):
    before = snapshot(store)
    error = problem(post(hub, [change("a1")], headers=ADMIN), 403, "forbidden")
    assert "admin" in error["message"]
    assert snapshot(store) == before


def test_a_body_declared_too_large_is_413_before_it_is_read(hub, store):
    before = snapshot(store)
    body = b'{"changes": []}' + b" " * LIMITS.max_body_bytes
    response = hub.post("/v1/changes", content=body, headers={**WMS, "Content-Type": "application/json"})
    error = problem(response, 413, "payload_too_large")
    assert f"{len(body):,} bytes" in error["message"]
    assert snapshot(store) == before
    assert post(hub, [change("after")]).status_code == 200  # the server is fine afterwards


def test_a_chunked_body_that_grows_too_large_is_413(hub, store):
    before = snapshot(store)

    def chunks() -> Iterator[bytes]:
        yield b'{"changes": ['
        for i in range(200):
            yield b'{"id": "c%d", "domain": "inventory", "key": "SKU-1@DC1", "fields": {"on_hand": 1}},' % i
        yield b"]}"

    response = hub.post("/v1/changes", content=chunks(), headers={**WMS, "Content-Type": "application/json"})
    assert "content-length" not in response.request.headers
    problem(response, 413, "payload_too_large")
    assert snapshot(store) == before


def test_a_batch_with_too_many_changes_is_413(hub, store):
    before = snapshot(store)
    response = post(hub, [change(f"m{i}", key=f"SKU-{i}@DC1") for i in range(LIMITS.max_batch + 1)])
    error = problem(response, 413, "payload_too_large")
    assert "6 changes, more than the limit of 5" in error["message"]
    assert snapshot(store) == before
    assert (
        post(hub, [change(f"m{i}", key=f"SKU-{i}@DC1") for i in range(LIMITS.max_batch)]).status_code == 200
    )


def test_a_body_that_is_not_declared_json_is_415(hub, store):
    before = snapshot(store)
    for content_type in (None, "text/plain", "application/x-www-form-urlencoded", "application/jsonx"):
        headers = dict(WMS)
        if content_type:
            headers["Content-Type"] = content_type
        response = hub.post("/v1/changes", content=b'{"changes": []}', headers=headers)
        error = problem(response, 415, "unsupported_media_type")
        assert "application/json" in error["message"]
    assert snapshot(store) == before


def test_json_with_a_charset_or_a_json_suffix_is_accepted(hub):
    for content_type in ("application/json; charset=utf-8", "application/vnd.logisync+json"):
        response = hub.post(
            "/v1/changes", content=b'{"changes": []}', headers={**WMS, "Content-Type": content_type}
        )
        assert response.status_code == 200, content_type


def test_a_malformed_batch_names_the_field_and_applies_nothing(hub, store):
    before = snapshot(store)
    good = [change(f"g{i}", key=f"SKU-{i}@DC1") for i in range(3)]
    bad = {"domain": "inventory", "key": "SKU-9@DC1", "fields": {"on_hand": 1}}
    error = problem(post(hub, [*good, bad]), 422, "invalid_request")
    assert error["errors"] == [{"path": "changes[3].id", "message": "required"}]
    assert snapshot(store) == before


def test_invalid_json_is_422(hub, store):
    before = snapshot(store)
    response = hub.post(
        "/v1/changes", content=b'{"changes": [', headers={**WMS, "Content-Type": "application/json"}
    )
    error = problem(response, 422, "invalid_json")
    assert error["errors"][0]["path"] == "(body)"
    assert snapshot(store) == before


def test_a_client_that_hangs_up_mid_body_changes_nothing_and_logs_no_error(hub, store, caplog):
    before = snapshot(store)
    host, port = hub.base_url.host, hub.base_url.port
    head = (
        f"POST /v1/changes HTTP/1.1\r\nHost: {host}\r\nAuthorization: {WMS['Authorization']}\r\n"
        "Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n"
    )
    with (
        caplog.at_level(logging.WARNING, logger="uvicorn.error"),
        socket.create_connection((host, port)) as sock,
    ):
        sock.sendall(head.encode() + b'{"changes": [')
    assert post(hub, [change("after-hangup")]).status_code == 200  # served after the hang-up
    assert "Exception" not in caplog.text
    after = snapshot(store)
    assert after[0] == {"applied": before[0].get("applied", 0) + 1}
