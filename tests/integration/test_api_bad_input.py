"""Bad input to POST /v1/changes, on both stores: always a 4xx naming the field, never a 500, nothing stored."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from fixtures.api_live import WMS, InProcess, change, set_keys, snapshot, with_admin
from logisync.api import create_app
from logisync.config.model import Limits

LIMITS = Limits(max_batch=50, max_body_bytes=64 * 1024)


def nested(depth: int) -> str:
    return "[" * depth + "1" + "]" * depth


def batch(*changes: dict | str) -> bytes:
    """A batch body; a change given as a string is spliced in as raw JSON."""
    parts = [c if isinstance(c, str) else json.dumps(c) for c in changes]
    return ('{"changes": [' + ", ".join(parts) + "]}").encode()


GOOD = change("ok-1")
# (case, body, status, error code, the path of the first error)
CASES = [
    ("not json", b"hello", 422, "invalid_json", "(body)"),
    ("empty body", b"", 422, "invalid_json", "(body)"),
    ("truncated json", b'{"changes": [{"id": "a"', 422, "invalid_json", "(body)"),
    ("json array", b"[]", 422, "invalid_request", "(body)"),
    ("json string", b'"changes"', 422, "invalid_request", "(body)"),
    ("json null", b"null", 422, "invalid_request", "(body)"),
    ("missing changes", b"{}", 422, "invalid_request", "changes"),
    ("changes not a list", b'{"changes": {"id": "a"}}', 422, "invalid_request", "changes"),
    ("changes null", b'{"changes": null}', 422, "invalid_request", "changes"),
    ("a change not an object", batch(GOOD, "7"), 422, "invalid_request", "changes[1]"),
    ("system in the body", b'{"system": "erp", "changes": []}', 422, "invalid_request", "system"),
    ("change missing id", batch({k: v for k, v in GOOD.items() if k != "id"}), 422, "invalid_request", "changes[0].id"),
    ("id empty", batch({**GOOD, "id": ""}), 422, "invalid_request", "changes[0].id"),
    ("id too long", batch({**GOOD, "id": "x" * 201}), 422, "invalid_request", "changes[0].id"),
    ("id a number", batch({**GOOD, "id": 7}), 422, "invalid_request", "changes[0].id"),
    ("id with NUL", batch({**GOOD, "id": "a\u0000b"}), 422, "invalid_request", "changes[0].id"),
    ("key missing", batch({k: v for k, v in GOOD.items() if k != "key"}), 422, "invalid_request", "changes[0].key"),
    ("key too long", batch({**GOOD, "key": "K" * 201}), 422, "invalid_request", "changes[0].key"),
    ("key with NUL", batch({**GOOD, "key": "SKU-1\u0000@DC1"}), 422, "invalid_request", "changes[0].key"),
    ("unknown domain", batch({**GOOD, "domain": "invoices"}), 422, "invalid_request", "changes[0].domain"),
    ("domain wrong case", batch({**GOOD, "domain": "Inventory"}), 422, "invalid_request", "changes[0].domain"),
    ("version negative", batch({**GOOD, "version": -1}), 422, "invalid_request", "changes[0].version"),
    ("version past 64 bits", batch({**GOOD, "version": 2**63}), 422, "invalid_request", "changes[0].version"),
    ("version huge", batch({**GOOD, "version": 10**40}), 422, "invalid_request", "changes[0].version"),
    ("version a word", batch({**GOOD, "version": "new"}), 422, "invalid_request", "changes[0].version"),
    ("version fractional", batch({**GOOD, "version": 1.5}), 422, "invalid_request", "changes[0].version"),
    ("occurred_at not a time", batch({**GOOD, "occurred_at": "yesterday"}), 422, "invalid_request", "changes[0].occurred_at"),
    ("occurred_at without an offset", batch({**GOOD, "occurred_at": "2026-03-01T12:00:00"}), 422, "invalid_request", "changes[0].occurred_at"),
    ("occurred_at a date", batch({**GOOD, "occurred_at": "2026-03-01"}), 422, "invalid_request", "changes[0].occurred_at"),
    ("occurred_at epoch", batch({**GOOD, "occurred_at": 1772366400}), 422, "invalid_request", "changes[0].occurred_at"),
    ("fields missing", batch({k: v for k, v in GOOD.items() if k != "fields"}), 422, "invalid_request", "changes[0].fields"),
    ("fields a list", batch({**GOOD, "fields": [1, 2]}), 422, "invalid_request", "changes[0].fields"),
    ("unknown key in a change", batch({**GOOD, "sku": "SKU-1"}), 422, "invalid_request", "changes[0].sku"),
    ("bad 4th change", batch(GOOD, change("b"), change("c"), {**GOOD, "id": None}), 422, "invalid_request", "changes[3].id"),
    ("NaN", batch('{"id": "n", "domain": "inventory", "key": "SKU-1@DC1", "fields": {"on_hand": NaN}}'), 422, "invalid_json", "(body)"),
    ("Infinity", batch('{"id": "n", "domain": "inventory", "key": "SKU-1@DC1", "fields": {"on_hand": 1e999}}'), 422, "invalid_json", "(body)"),
    ("lone surrogate", batch('{"id": "\\ud800", "domain": "inventory", "key": "SKU-1@DC1", "fields": {}}'), 422, "invalid_json", "(body)"),
    ("not UTF-8", b'{"changes": [{"id": "\xff\xfe", "domain": "inventory"}]}', 422, "invalid_json", "(body)"),
    ("nested past the JSON limit", batch(f'{{"id": "d", "domain": "inventory", "key": "SKU-1@DC1", "fields": {{"x": {nested(2000)}}}}}'), 422, "invalid_json", "(body)"),
    ("too many changes", batch(*[change(f"m{i}") for i in range(LIMITS.max_batch + 1)]), 413, "payload_too_large", None),
    ("huge body", b'{"changes": [], "pad": "' + b"x" * LIMITS.max_body_bytes + b'"}', 413, "payload_too_large", None),
]  # fmt: skip


@pytest.fixture
def client(store, syncmap, monkeypatch) -> Iterator[InProcess]:
    set_keys(monkeypatch)
    with InProcess(create_app(with_admin(syncmap, LIMITS), store)) as client:
        yield client


def send(client: InProcess, body: bytes, content_type: str = "application/json") -> dict:
    response = client.post("/v1/changes", content=body, headers={**WMS, "Content-Type": content_type})
    assert response.headers["content-type"] == "application/json"
    return {"status": response.status_code, **response.json()}


@pytest.mark.parametrize(("case", "body", "status", "code", "path"), CASES, ids=[c[0] for c in CASES])
def test_bad_input_is_a_4xx_that_says_where_and_stores_nothing(client, store, case, body, status, code, path):
    send(client, batch(change("before")))  # something already stored, which must stay as it is
    before = snapshot(store)
    answer = send(client, body)
    assert answer["status"] == status, answer
    error = answer["error"]
    assert error["code"] == code
    assert error["message"]
    if path is not None:
        assert error["errors"], error
        assert error["errors"][0]["path"] == path, error
        assert all(e["message"] for e in error["errors"])
    assert snapshot(store) == before
    assert store.get_record("inventory", "SKU-1@DC1").fields == {"on_hand": 1}


def test_a_time_without_an_offset_is_refused_with_a_message_naming_the_field(client, store):
    answer = send(client, batch({**GOOD, "occurred_at": "2026-03-01T12:00:00"}))
    [item] = answer["error"]["errors"]
    assert item["path"] == "changes[0].occurred_at"
    assert item["message"].startswith("a time needs a UTC offset: write it with Z or +hh:mm")


def test_every_bad_field_is_listed_and_the_list_is_bounded(client, store):
    before = snapshot(store)
    body = batch(*[{**change(f"x{i}"), "version": -1} for i in range(LIMITS.max_batch)])
    body = body.replace(b'"version": -1', b'"version": -1, "bogus": 1', 20)
    error = send(client, body)["error"]
    assert len(error["errors"]) == 50
    assert "70 problems; the first 50 are listed" in error["message"]
    assert snapshot(store) == before


def test_data_problems_are_outcomes_not_errors(client, store):
    """Bad field values, ownership and scope of fields are the pipeline's: recorded as outcomes."""
    answer = send(
        client,
        batch(
            change("q1", on_hand=-1),
            change("q2", colour="red"),
            change("q3", key="not-a-position"),
            {**change("q4"), "fields": {}},
            change("q5", available=3),
            {**change("q6"), "fields": {"on_hand": 1, "x": json.loads(nested(300))}},
            {**change("q7"), "fields": {"uom": json.loads(nested(300))}},
            change("q8", on_hand=2**70),
        ),
    )
    assert answer["status"] == 200
    assert answer["counts"]["quarantined"] == 8
    assert all(o["reason"] for o in answer["outcomes"])
    assert "nested deeper than" in answer["outcomes"][6]["reason"]
    assert sum(store.outcome_counts().values()) == 8
    assert store.get_change("wms", "q6").payload["unstorable"]  # kept, as text
    assert store.get_record("inventory", "SKU-1@DC1") is None


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
CHANGE_KEYS = st.sampled_from(["id", "domain", "key", "fields", "version", "occurred_at", "other"])
VALUES = {
    "id": st.text(max_size=6) | JSON,
    "domain": st.sampled_from(["inventory", "order", "product", "tracking", "nope"]) | JSON,
    "key": st.sampled_from(["SKU-1@DC1", "SO-1", "bad key", ""]) | JSON,
    "fields": st.dictionaries(
        st.sampled_from(["on_hand", "allocated", "uom", "status", "lines", "x"]), JSON, max_size=3
    )
    | JSON,
    "version": st.integers(min_value=-2, max_value=2**64) | JSON,
    "occurred_at": st.sampled_from(["2025-01-01T00:00:00Z", "9999-12-31T23:59:59-14:00", "0"]) | JSON,
    "other": JSON,
}
CHANGES = st.lists(
    st.lists(CHANGE_KEYS, max_size=7, unique=True).flatmap(
        lambda keys: st.fixed_dictionaries({k: VALUES[k] for k in keys})
    ),
    max_size=4,
)


WELL_FORMED = st.lists(
    st.fixed_dictionaries(
        {
            "id": st.text(min_size=1, max_size=6),
            "domain": st.sampled_from(["inventory", "order"]),
            "key": st.sampled_from(["SKU-1@DC1", "SKU-2@DC1", "SO-1", "x"]),
            "fields": VALUES["fields"],
        },
        optional={
            "version": st.integers(min_value=0, max_value=2**63 - 1),
            "occurred_at": VALUES["occurred_at"],
        },
    ),
    max_size=4,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.one_of(WELL_FORMED, CHANGES).map(lambda c: {"changes": c}) | JSON)
def test_never_a_500(store, syncmap, monkeypatch, body):
    set_keys(monkeypatch)
    with InProcess(create_app(syncmap, store)) as client:
        before = snapshot(store)
        answer = send(client, json.dumps(body).encode())
    event(f"status {answer['status']}")
    assert answer["status"] in (200, 403, 413, 422), answer
    if answer["status"] == 200:
        counts = answer["counts"]
        assert sum(counts.values()) == len(body["changes"]) == len(answer["outcomes"])
    else:
        assert answer["error"]["message"]
        assert snapshot(store) == before


def _locked(*args: object, **kwargs: object) -> None:
    raise sqlite3.OperationalError("database is locked")


def test_a_busy_store_answers_503_and_keeps_nothing(client, store, monkeypatch):
    """A transient store fault is a 503 the sender retries, with Retry-After, never a 500."""
    before = snapshot(store)
    monkeypatch.setattr(store, "write", _locked)
    answer = client.post(
        "/v1/changes", content=batch(GOOD), headers={**WMS, "Content-Type": "application/json"}
    )
    assert answer.status_code == 503, answer.text
    assert answer.json()["error"]["code"] == "store_unavailable"
    assert answer.headers["retry-after"] == "1"
    monkeypatch.undo()
    assert snapshot(store) == before


def test_a_busy_store_answers_503_on_reads(client, store, monkeypatch):
    monkeypatch.setattr(store, "get_record", _locked)
    answer = client.get("/v1/records/inventory/SKU-1@DC1", headers=WMS)
    assert answer.status_code == 503, answer.text
    assert answer.json()["error"]["code"] == "store_unavailable"
