"""/v1/exceptions over a real server, on both stores: list, groups, show, actions, bulk, and every refusal."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from fixtures.api_live import ADMIN, WMS, LiveServer, change, set_keys, snapshot, with_admin
from logisync.api import create_app
from logisync.api.schemas import (
    ActionDone,
    BulkResult,
    ExceptionGroups,
    ExceptionList,
    ExceptionView,
    Problem,
)

URL = "/v1/exceptions"


@pytest.fixture
def hub(store, syncmap, monkeypatch) -> Iterator[httpx.Client]:
    set_keys(monkeypatch)
    app = create_app(with_admin(syncmap), store)
    with LiveServer(app) as live, httpx.Client(base_url=live.url, timeout=10) as client:
        yield client


def send(client: httpx.Client, *changes: dict[str, Any]) -> list[dict[str, Any]]:
    response = client.post("/v1/changes", json={"changes": list(changes)}, headers=WMS)
    assert response.status_code == 200, response.text
    return response.json()["outcomes"]


def problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    error = Problem.model_validate(response.json()).error
    assert error.code == code
    return error.model_dump()


def listed(client: httpx.Client, **params: Any) -> ExceptionList:
    response = client.get(URL, params=params, headers=ADMIN)
    assert response.status_code == 200, response.text
    return ExceptionList.model_validate(response.json())


def bad_stock(client: httpx.Client, n: int = 1) -> list[int]:
    """`n` quarantined inventory changes (on_hand below zero); their exceptions' ids."""
    send(client, *(change(f"c{i}", key=f"SKU-{i}@DC1", on_hand=-1) for i in range(n)))
    return [e.id for e in listed(client).exceptions]


def test_the_inbox_lists_exceptions_with_their_root_cause_a_page_at_a_time(hub):
    ids = bad_stock(hub, 3)
    send(hub, change("x1", key="SKU-9@DC1", colour="red"))
    page = listed(hub, limit=2)
    assert [e.id for e in page.exceptions] == ids[:2]
    first = page.exceptions[0]
    assert (first.kind, first.state, first.system, first.change_id) == ("validation", "open", "wms", "c0")
    assert first.cause == "inventory on_hand: Input should be greater than or equal to 0"
    rest = listed(hub, after=page.next_after, limit=2)
    assert len(rest.exceptions) == 2 and rest.next_after is None
    only = listed(hub, cause="inventory colour: unknown field")
    assert [e.change_id for e in only.exceptions] == ["x1"]
    assert [e.id for e in listed(hub, key="SKU-1@DC1").exceptions] == [ids[1]]
    assert listed(hub, state="resolved").exceptions == []
    assert len(listed(hub, state="all", kind="validation", system="wms", domain="inventory").exceptions) == 4
    assert len(listed(hub, since="2000-01-01T00:00:00Z").exceptions) == 4
    assert listed(hub, since="2999-01-01T00:00:00+00:00").exceptions == []


def test_groups_name_each_root_cause_with_its_count(hub):
    bad_stock(hub, 3)
    send(hub, change("x1", colour="red"))
    response = hub.get(f"{URL}/groups", headers=ADMIN)
    assert response.status_code == 200, response.text
    groups = ExceptionGroups.model_validate(response.json()).groups
    assert [(g.kind, g.cause, g.count) for g in groups] == [
        ("validation", "inventory on_hand: Input should be greater than or equal to 0", 3),
        ("validation", "inventory colour: unknown field", 1),
    ]


def test_show_has_the_trail_the_change_and_the_record_side_by_side(hub):
    send(hub, change("c1", on_hand=5, allocated=1))
    send(hub, change("c2", version=2, on_hand=-3))
    [xid] = [e.id for e in listed(hub).exceptions]
    response = hub.get(f"{URL}/{xid}", headers=ADMIN)
    assert response.status_code == 200, response.text
    view = ExceptionView.model_validate(response.json())
    assert view.exception.detail == {
        "rule": "non_negative",
        "field": "on_hand",
        "value": -3,
        "fields": {"on_hand": -3},
    }
    assert (view.change.change_id, view.change.outcome, view.change.key) == ("c2", "quarantined", "SKU-1@DC1")
    assert view.record.fields == {"on_hand": 5, "allocated": 1, "available": 4}
    assert [(d.field, d.change, d.record, d.same) for d in view.diff] == [("on_hand", -3, 5, False)]
    assert view.trail == [] and view.delivery is None and view.related == []


def test_retry_and_edit_are_recorded_with_the_callers_identity(hub, store):
    [xid] = bad_stock(hub)
    retried = hub.post(f"{URL}/{xid}/retry", headers=ADMIN)
    assert retried.status_code == 200, retried.text
    done = ActionDone.model_validate(retried.json())
    assert (done.exception.state, done.action.actor, done.action.action) == ("open", "api:admin", "retry")
    assert done.action.detail["outcome"] == "quarantined"
    edited = hub.post(f"{URL}/{xid}/edit", json={"set": {"on_hand": 4}}, headers=ADMIN)
    assert edited.status_code == 200, edited.text
    done = ActionDone.model_validate(edited.json())
    assert done.exception.state == "resolved"
    assert done.action.detail["change_id"] == "c0~edit2"
    assert store.get_record("inventory", "SKU-0@DC1").fields == {"on_hand": 4}
    trail = ExceptionView.model_validate(hub.get(f"{URL}/{xid}", headers=ADMIN).json()).trail
    assert [(t.actor, t.action) for t in trail] == [("api:admin", "retry"), ("api:admin", "edit")]
    again = hub.post(f"{URL}/{xid}/retry", headers=ADMIN)
    assert "is resolved" in problem(again, 409, "action_refused")["message"]


def test_discard_and_assign(hub):
    [xid] = bad_stock(hub)
    assigned = hub.post(f"{URL}/{xid}/assign", json={"assignee": "ann"}, headers=ADMIN)
    assert ActionDone.model_validate(assigned.json()).exception.assignee == "ann"
    unassigned = hub.post(f"{URL}/{xid}/assign", json={"assignee": None}, headers=ADMIN)
    assert ActionDone.model_validate(unassigned.json()).action.detail == {"from": "ann", "to": None}
    discarded = hub.post(f"{URL}/{xid}/discard", json={"reason": "sandbox data"}, headers=ADMIN)
    assert discarded.status_code == 200, discarded.text
    assert ActionDone.model_validate(discarded.json()).exception.state == "discarded"
    assert listed(hub).exceptions == []
    problem(hub.post(f"{URL}/{xid}/discard", json={"reason": "again"}, headers=ADMIN), 409, "action_refused")


def test_bulk_retry_and_discard_by_filter(hub):
    ids = bad_stock(hub, 3)
    response = hub.post(f"{URL}/retry", json={"filter": {"kind": "validation"}, "limit": 2}, headers=ADMIN)
    assert response.status_code == 200, response.text
    bulk = BulkResult.model_validate(response.json())
    assert [(r.id, r.ok, r.state) for r in bulk.results] == [(ids[0], True, "open"), (ids[1], True, "open")]
    assert (bulk.done, bulk.refused, bulk.next_after) == (2, 0, ids[1])
    cause = "inventory on_hand: Input should be greater than or equal to 0"
    body = {"filter": {"cause": cause}, "reason": "sandbox data", "limit": 1000}
    discarded = BulkResult.model_validate(hub.post(f"{URL}/discard", json=body, headers=ADMIN).json())
    assert [r.id for r in discarded.results] == ids and discarded.done == 3
    assert listed(hub).exceptions == []


def test_only_the_admin_key_works_the_inbox(hub, store):
    [xid] = bad_stock(hub)
    before = snapshot(store)
    calls = [
        ("GET", URL, None),
        ("GET", f"{URL}/groups", None),
        ("GET", f"{URL}/{xid}", None),
        ("POST", f"{URL}/{xid}/retry", None),
        ("POST", f"{URL}/{xid}/edit", {"set": {"on_hand": 1}}),
        ("POST", f"{URL}/{xid}/discard", {"reason": "x"}),
        ("POST", f"{URL}/{xid}/assign", {"assignee": "x"}),
        ("POST", f"{URL}/retry", {"filter": {"kind": "validation"}}),
        ("POST", f"{URL}/discard", {"filter": {"kind": "validation"}, "reason": "x"}),
    ]
    for method, url, body in calls:
        problem(hub.request(method, url, json=body), 401, "unauthorized")
        refused = problem(hub.request(method, url, json=body, headers=WMS), 403, "forbidden")
        assert "only the admin key" in refused["message"]
    assert snapshot(store) == before
    assert [a for a in listed(hub).exceptions if a.assignee] == []


@pytest.mark.parametrize(
    ("method", "url", "body", "path"),
    [
        ("GET", f"{URL}?state=closed", None, "state"),
        ("GET", f"{URL}?since=yesterday", None, "since"),
        ("GET", f"{URL}?limit=0", None, "limit"),
        ("GET", f"{URL}?after=-1", None, "after"),
        ("GET", f"{URL}/groups?limit=5000", None, "limit"),
        ("GET", f"{URL}/abc", None, "exception_id"),
        ("GET", f"{URL}/0", None, "exception_id"),
        ("POST", f"{URL}/1/edit", {"set": []}, "set"),
        ("POST", f"{URL}/1/edit", {"fields": {"on_hand": 1}}, "fields"),
        ("POST", f"{URL}/1/discard", {"reason": ""}, "reason"),
        ("POST", f"{URL}/1/discard", {}, "reason"),
        ("POST", f"{URL}/1/assign", {"assignee": 5}, "assignee"),
        ("POST", f"{URL}/retry", {"filter": {}}, "filter"),
        ("POST", f"{URL}/retry", {"filter": {"kind": "validation"}, "limit": 1001}, "limit"),
        ("POST", f"{URL}/retry", {"filter": {"since": "soon"}}, "filter.since"),
        ("POST", f"{URL}/discard", {"filter": {"kind": "validation"}}, "reason"),
    ],
)
def test_bad_input_is_a_422_naming_the_parameter(hub, store, method, url, body, path):
    bad_stock(hub)
    before = snapshot(store)
    error = problem(hub.request(method, url, json=body, headers=ADMIN), 422, "invalid_request")
    assert path in [e["path"] for e in error["errors"]], error
    assert snapshot(store) == before


def test_a_body_that_is_not_json_is_a_422(hub):
    [xid] = bad_stock(hub)
    response = hub.post(
        f"{URL}/{xid}/edit", content=b"{not json", headers={**ADMIN, "Content-Type": "application/json"}
    )
    problem(response, 422, "invalid_request")


def test_an_edit_that_does_not_fit_the_fields_is_a_422_and_nothing_is_sent(hub, store):
    [xid] = bad_stock(hub)
    response = hub.post(f"{URL}/{xid}/edit", json={"set": {"on_hand[2]": 1}}, headers=ADMIN)
    assert "is a list position, but this is an object" not in response.text  # on_hand is a number
    error = problem(response, 422, "invalid_request")
    assert error["message"].startswith("on_hand[2]: ")
    nothing = problem(hub.post(f"{URL}/{xid}/edit", json={}, headers=ADMIN), 422, "invalid_request")
    assert "nothing to edit" in nothing["message"]
    assert store.get_change("wms", "c0~edit1") is None


def test_an_unknown_exception_is_a_404(hub):
    for method, url, body in [
        ("GET", f"{URL}/999", None),
        ("POST", f"{URL}/999/retry", None),
        ("POST", f"{URL}/999/edit", {"set": {"on_hand": 1}}),
        ("POST", f"{URL}/999/discard", {"reason": "x"}),
        ("POST", f"{URL}/999/assign", {"assignee": "ann"}),
    ]:
        assert problem(hub.request(method, url, json=body, headers=ADMIN), 404, "not_found")["message"] == (
            "no exception 999"
        )


def test_the_endpoints_are_in_the_openapi_schema(hub):
    schema = hub.get("/openapi.json").json()
    paths = schema["paths"]
    for path in (
        URL,
        f"{URL}/groups",
        f"{URL}/{{exception_id}}",
        f"{URL}/{{exception_id}}/retry",
        f"{URL}/{{exception_id}}/edit",
        f"{URL}/{{exception_id}}/discard",
        f"{URL}/{{exception_id}}/assign",
        f"{URL}/retry",
        f"{URL}/discard",
    ):
        assert path in paths, path
    show = paths[f"{URL}/{{exception_id}}"]["get"]["responses"]
    assert show["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/ExceptionView")
    assert {"401", "403", "404", "409", "422"} <= set(
        paths[f"{URL}/{{exception_id}}/retry"]["post"]["responses"]
    )
    assert (
        "root cause"
        in schema["components"]["schemas"]["ExceptionSummary"]["properties"]["cause"]["description"]
    )
