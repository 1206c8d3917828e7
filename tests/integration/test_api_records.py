"""GET /v1/records/... over a real server, on both stores: provenance, time travel, history, explain."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import httpx
import pytest

from fixtures.api_live import ADMIN, CARRIER, SHOP, WMS, LiveServer, change, set_keys, with_admin
from logisync.api import create_app
from logisync.api.schemas import Problem, RecordExplanation, RecordHistory, RecordView

KEY = "SKU-1@DC1"
URL = f"/v1/records/inventory/{KEY}"


@pytest.fixture
def hub(store, syncmap, monkeypatch) -> Iterator[httpx.Client]:
    set_keys(monkeypatch)
    app = create_app(with_admin(syncmap), store)
    with LiveServer(app) as live, httpx.Client(base_url=live.url, timeout=10) as client:
        yield client


def send(client: httpx.Client, *changes: dict) -> list[dict]:
    response = client.post("/v1/changes", json={"changes": list(changes)}, headers=WMS)
    assert response.status_code == 200, response.text
    return response.json()["outcomes"]


def problem(response: httpx.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    error = Problem.model_validate(response.json()).error
    assert error.code == code
    return error.model_dump()


def test_a_record_shows_its_fields_and_where_each_came_from(hub):
    [first] = send(hub, change("c1", version=1, on_hand=10, allocated=4))
    [second] = send(hub, change("c2", version=2, on_hand=12))
    response = hub.get(URL, headers=ADMIN)
    assert response.status_code == 200
    record = RecordView.model_validate(response.json())
    assert record.fields == {"on_hand": 12, "allocated": 4, "available": 8}
    assert record.revision == 2
    assert record.as_of is None
    on_hand, allocated = record.provenance["on_hand"], record.provenance["allocated"]
    assert (on_hand.system, on_hand.change_id, on_hand.stamp) == ("wms", "c2", 2)
    assert on_hand.applied_at == datetime.fromisoformat(second["received_at"])
    assert (allocated.change_id, allocated.applied_at) == ("c1", datetime.fromisoformat(first["received_at"]))


def test_as_of_reads_the_record_as_it_stood_then(hub):
    [first] = send(hub, change("c1", version=1, on_hand=10))
    [second] = send(hub, change("c2", version=2, on_hand=12, allocated=1))
    t1, t2 = (datetime.fromisoformat(o["received_at"]) for o in (first, second))
    then = hub.get(URL, params={"as_of": t1.isoformat()}, headers=ADMIN)
    assert then.status_code == 200, then.text
    past = RecordView.model_validate(then.json())
    assert past.fields == {"on_hand": 10, "available": 10}
    assert past.as_of == t1
    assert past.provenance["on_hand"].change_id == "c1"
    assert hub.get(URL, params={"as_of": t2.isoformat()}, headers=ADMIN).json()["fields"]["on_hand"] == 12
    # A `+` that was not URL-encoded arrives as a space; a time without an offset is UTC.
    raw = hub.get(f"{URL}?as_of={t1.isoformat()}", headers=ADMIN)
    assert raw.status_code == 200 and raw.json()["fields"]["on_hand"] == 10
    naive = hub.get(URL, params={"as_of": t1.replace(tzinfo=None).isoformat()}, headers=ADMIN)
    assert naive.json()["fields"]["on_hand"] == 10
    before = hub.get(URL, params={"as_of": (t1 - timedelta(microseconds=1)).isoformat()}, headers=ADMIN)
    assert "did not exist yet" in problem(before, 404, "not_found")["message"]


@pytest.mark.parametrize("as_of", ["yesterday", "2025-13-01T00:00:00Z", "", "10:00"])
def test_a_bad_as_of_is_422(hub, as_of):
    send(hub, change("c1"))
    error = problem(hub.get(URL, params={"as_of": as_of}, headers=ADMIN), 422, "invalid_request")
    assert error["errors"][0]["path"] == "as_of"
    assert "ISO 8601" in error["message"]


@pytest.mark.parametrize("as_of", ["9999-12-31T23:59:59.999999-23:59", "0001-01-01T00:00:00+23:59"])
def test_an_as_of_beyond_the_years_1_to_9999_utc_is_422(hub, as_of):
    send(hub, change("c1"))
    error = problem(hub.get(URL, params={"as_of": as_of}, headers=ADMIN), 422, "invalid_request")
    assert error["errors"][0]["path"] == "as_of"
    assert "outside years 1-9999 UTC" in error["message"]
    edge = hub.get(URL, params={"as_of": "9999-12-31T23:59:59.999999Z"}, headers=ADMIN)
    assert edge.status_code == 200, edge.text


def test_history_lists_every_change_with_its_outcome(hub):
    send(hub, change("c1", version=2, on_hand=10), change("c2", version=1, on_hand=3))
    send(hub, change("c1", version=2, on_hand=10))  # a duplicate is not a new entry
    response = hub.get(f"{URL}/history", headers=ADMIN)
    assert response.status_code == 200
    history = RecordHistory.model_validate(response.json())
    assert [(c.change_id, c.outcome.value, c.source) for c in history.changes] == [
        ("c1", "applied", "api"),
        ("c2", "stale", "api"),
    ]
    assert history.changes[1].fields == {"on_hand": 3}
    assert "older than the golden record" in (history.changes[1].reason or "")
    missing = hub.get("/v1/records/inventory/SKU-404@DC1/history", headers=ADMIN)
    assert "so no history" in problem(missing, 404, "not_found")["message"]


def test_history_pages_from_the_newest_back_to_the_first_change(hub):
    send(hub, *[change(f"p{i}", version=i, on_hand=i) for i in range(1, 8)])
    seen: list[str] = []
    before = None
    pages = 0
    while True:
        params = {"limit": 3} if before is None else {"limit": 3, "before": before}
        page = RecordHistory.model_validate(hub.get(f"{URL}/history", headers=ADMIN, params=params).json())
        ids = [c.change_id for c in page.changes]
        assert ids == sorted(ids) and len(ids) <= 3  # each page oldest first
        seen = ids + seen
        pages += 1
        if page.next_before is None:
            break
        assert page.next_before == page.changes[0].seq
        before = page.next_before
    assert seen == [f"p{i}" for i in range(1, 8)]
    assert pages == 3
    every = RecordHistory.model_validate(hub.get(f"{URL}/history", headers=ADMIN).json()).changes
    bound = every[4].seq
    page = hub.get(f"{URL}/history", headers=ADMIN, params={"limit": 2, "before": bound}).json()
    assert [c["seq"] for c in page["changes"]] == [every[2].seq, every[3].seq]
    # any position works as `before`, not only one on this record's chain
    beyond = hub.get(f"{URL}/history", headers=ADMIN, params={"before": every[-1].seq + 1000}).json()
    assert [c["seq"] for c in beyond["changes"]] == [e.seq for e in every]
    too_many = hub.get(f"{URL}/history", headers=ADMIN, params={"limit": 5000})
    assert problem(too_many, 422, "invalid_request")["errors"][0]["path"] == "limit"
    # the largest position a store can hold is a signed 64-bit integer; one past it is out of range
    top = hub.get(f"{URL}/history", headers=ADMIN, params={"before": 2**63 - 1}).json()
    assert [c["seq"] for c in top["changes"]] == [e.seq for e in every]
    past_top = hub.get(f"{URL}/history", headers=ADMIN, params={"before": 2**63})
    assert problem(past_top, 422, "invalid_request")["errors"][0]["path"] == "before"


def test_explain_tells_each_fields_story(hub):
    send(hub, change("c1", version=1, on_hand=10, allocated=2))
    send(hub, change("c2", version=2, on_hand=7))
    response = hub.get(f"{URL}/explain", headers=SHOP)  # shop is routed inventory: it may read it
    assert response.status_code == 200, response.text
    explained = RecordExplanation.model_validate(response.json())
    stories = {s.field: s for s in explained.fields}
    assert stories["on_hand"].value == 7
    assert stories["on_hand"].replaced is not None
    assert (stories["on_hand"].replaced.value, stories["on_hand"].replaced.change_id) == (10, "c1")
    assert stories["allocated"].replaced is None
    assert explained.derived == {"available": 5}


def test_reading_needs_a_key_and_read_scope(hub):
    send(hub, change("c1"))
    assert problem(hub.get(URL), 401, "unauthorized")
    error = problem(hub.get(URL, headers=CARRIER), 403, "forbidden")
    assert error["message"] == "system 'carrier' may not read inventory (its read scopes: tracking)"
    for path in (URL, f"{URL}/history", f"{URL}/explain"):
        assert hub.get(path, headers=WMS).status_code == 200
        assert hub.get(path, headers=SHOP).status_code == 200
        assert hub.get(path, headers=ADMIN).status_code == 200
        assert hub.get(path, headers=CARRIER).status_code == 403


def test_unknown_records_domains_and_keys(hub):
    send(hub, change("c1"))
    assert (
        "no inventory record 'SKU-2@DC1'"
        in problem(hub.get("/v1/records/inventory/SKU-2@DC1", headers=ADMIN), 404, "not_found")["message"]
    )
    assert problem(hub.get("/v1/records/inventory/SKU-2@DC1/explain", headers=ADMIN), 404, "not_found")
    error = problem(hub.get(f"/v1/records/invoice/{KEY}", headers=ADMIN), 422, "invalid_request")
    assert error["errors"][0]["path"] == "domain"
    assert "inventory" in error["errors"][0]["message"]
    error = problem(hub.get("/v1/records/inventory/SKU-1", headers=ADMIN), 422, "invalid_request")
    assert error["errors"] == [
        {"path": "key", "message": "key 'SKU-1' is not a valid inventory key (expected like 'SKU-1@DC1')"}
    ]
    encoded = hub.get("/v1/records/order/SO%231", headers=ADMIN)  # '#' percent-encoded in the path
    assert "no order record 'SO#1'" in problem(encoded, 404, "not_found")["message"]


def test_health_openapi_and_unknown_routes(hub):
    assert hub.get("/healthz").json() == {"status": "ok"}
    spec = hub.get("/openapi.json").json()
    post = spec["paths"]["/v1/changes"]["post"]
    assert post["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ChangeBatch"
    }
    schemas = spec["components"]["schemas"]
    assert schemas["ChangeBatch"]["properties"]["changes"]["items"] == {"$ref": "#/components/schemas/Change"}
    assert {"Change", "Domain", "ChangesResult", "Problem", "RecordView"} <= set(schemas)
    assert {"HTTPBearer", "APIKeyHeader"} <= set(spec["components"]["securitySchemes"])
    assert {"/v1/records/{domain}/{key}", "/v1/records/{domain}/{key}/history", "/healthz"} <= set(
        spec["paths"]
    )
    assert "swagger" in hub.get("/docs").text.lower()
    assert "GET /nope" in problem(hub.get("/nope"), 404, "not_found")["message"]
    assert problem(hub.get("/v1/changes", headers=WMS), 405, "method_not_allowed")
