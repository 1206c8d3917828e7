"""Bad input to the dashboard answers a page, never the API's JSON and never a 500: each form and
each page parameter a user (or a hand-edited URL) can get wrong, on both stores. Where the page
has the form, it comes back with the error saying what is wrong and where, and with what the user
typed (passwords excepted)."""

from __future__ import annotations

import html
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fixtures.api_live import ADMIN, InProcess, set_keys, with_admin
from fixtures.dashboard import PASSWORD, token_of
from fixtures.dashboard import sign_in as open_session
from logisync.api import create_app
from logisync.config import parse_syncmap
from logisync.domain.change import Change, now_us
from logisync.domain.kinds import Domain
from logisync.inbox import Inbox
from logisync.pipeline import Pipeline
from logisync.store import users as user_rows
from logisync.store.inbox import ExceptionFilter
from logisync.web import users

MAP = """\
systems:
  wms:  {kind: wms, auth: {api_key_env: TEST_WMS_KEY}}
  erp:  {kind: erp, auth: {api_key_env: TEST_ERP_KEY}}
  shop: {kind: marketplace, auth: {api_key_env: TEST_SHOP_KEY}}
owners:
  product: erp
  inventory: wms
routes:
  - {name: stock-to-shop, domain: inventory, to: shop}
"""


@pytest.fixture
def hub(store, monkeypatch) -> Iterator[InProcess]:
    set_keys(monkeypatch)
    syncmap = with_admin(parse_syncmap(MAP, "test.yaml", env={}))
    users.add(store, "ada", users.Role.admin, PASSWORD, now_us(), "cli:test")
    pipeline = Pipeline(store, syncmap)
    pipeline.ingest("erp", [Change(id="p1", domain=Domain.product, key="SKU-1", fields={"name": "Widget"})])
    pipeline.ingest(
        "wms", [Change(id="s1", domain=Domain.inventory, key="SKU-1@DC1", fields={"on_hand": -2})]
    )
    pipeline.ingest("wms", [Change(id="s2", domain=Domain.inventory, key="SKU-1@DC1", fields={"on_hand": 3})])
    with InProcess(create_app(syncmap, store)) as client:
        client.client.base_url = "http://127.0.0.1"
        yield client


def exception_id(store) -> int:
    [item] = Inbox(store).page(ExceptionFilter())[0]
    return item.row.id


def signed_in(hub: InProcess) -> str:
    open_session(hub, "ada", next_="/ui/exceptions")
    return token_of(hub.get("/ui/exceptions").text)


def a_page(answer, status: int, *said: str) -> str:
    """The answer is an HTML page with `status` naming each of `said`; its text, unescaped."""
    assert answer.status_code == status, answer.text[:500]
    assert answer.headers["content-type"].startswith("text/html"), answer.text[:500]
    text = html.unescape(answer.text)
    assert 'role="alert"' in text
    for words in said:
        assert words in text, (words, text[:3000])
    return text


def test_a_bad_edit_and_replay_comes_back_with_the_text_typed_and_the_field_named(hub, store):
    xid = exception_id(store)
    csrf = signed_in(hub)
    typed = {"csrf": csrf, "field.on_hand": "{four", "add_path": "note", "add_value": "checked by hand"}
    text = a_page(hub.post(f"/ui/exceptions/{xid}/edit", data=typed), 422, "on_hand", "not a JSON value")
    assert 'name="field.on_hand" value="{four" size="40" aria-invalid="true"' in text
    assert 'value="note"' in text and 'value="checked by hand"' in text  # the rest of the form kept
    no_path = a_page(
        hub.post(f"/ui/exceptions/{xid}/edit", data={"csrf": csrf, "add_value": "7"}), 422, "field's name"
    )
    assert (
        'id="add-path" name="add_path" size="16" placeholder="lines[0].qty" value="" aria-invalid="true"'
        in no_path
    )
    assert 'name="add_value" size="40" value="7"' in no_path
    assert Inbox(store).get(xid).row.state == "open" and Inbox(store).table.trail(xid) == []


def test_a_discard_without_a_reason_and_an_assignee_too_long(hub, store):
    xid = exception_id(store)
    csrf = signed_in(hub)
    text = a_page(
        hub.post(f"/ui/exceptions/{xid}/discard", data={"csrf": csrf, "reason": "  "}), 422, "reason"
    )
    assert 'name="reason"' in text and 'aria-invalid="true"' in text.split('id="discard-reason"', 1)[1][:300]
    long = "x" * 300
    text = a_page(
        hub.post(f"/ui/exceptions/{xid}/assign", data={"csrf": csrf, "assignee": long}), 422, "assignee"
    )
    assert f'value="{long}"' in text  # kept, so it can be shortened
    assert Inbox(store).get(xid).row.assignee is None


def test_bulk_actions_with_a_bad_choice(hub, store):
    csrf = signed_in(hub)
    for data, said in (
        ({"verb": "zap"}, "verb 'zap'"),
        ({"verb": "retry", "scope": "selected", "id": "abc"}, "not an exception's id"),
        ({"verb": "retry", "scope": "everything"}, "scope 'everything'"),
        ({"verb": "discard", "scope": "selected", "id": "1"}, "say why"),
    ):
        a_page(hub.post("/ui/exceptions/bulk", data={"csrf": csrf, **data}), 422, said)


def test_adding_a_user_badly_keeps_the_name_and_role_typed_never_the_password(hub, store):
    csrf = signed_in(hub)
    wizard = hub.post(
        "/ui/users/add", data={"csrf": csrf, "name": "bob", "role": "wizard", "password": "p" * 12}
    )
    text = a_page(wizard, 422, "unknown role 'wizard'")
    assert 'id="new-name" name="name" required maxlength="64" autocomplete="off" value="bob"' in text
    short = hub.post(
        "/ui/users/add", data={"csrf": csrf, "name": "bob", "role": "operator", "password": "short"}
    )
    text = a_page(short, 422, "password")
    assert 'value="bob"' in text and '<option value="operator" selected>' in text
    assert 'type="password" required minlength="10" autocomplete="new-password">' in text  # never echoed
    long = hub.post(
        "/ui/users/add", data={"csrf": csrf, "name": "b" * 100, "role": "viewer", "password": "p" * 12}
    )
    a_page(long, 422, "bad user name", "1-64")
    huge = hub.post(
        "/ui/users/add", data={"csrf": csrf, "name": "bob", "role": "viewer", "password": "p" * 1001}
    )
    a_page(huge, 422, "at most 1000")
    assert [u.name for u in user_rows.list_users(store)] == ["ada"]


@pytest.mark.parametrize(
    "data, said",
    [
        ({"role": "wizard"}, "unknown role 'wizard'"),
        ({}, "unknown role ''"),
        ({"role": "r" * 500}, "unknown role"),
    ],
)
def test_a_role_change_to_no_known_role(hub, store, data, said):
    csrf = signed_in(hub)
    users.add(store, "bob", users.Role.viewer, PASSWORD, now_us(), "cli:test")
    a_page(hub.post("/ui/users/bob/role", data={"csrf": csrf, **data}), 422, said)
    assert user_rows.get_user(store, "bob").role == "viewer"


def test_a_bad_moment_in_the_records_explorer_shows_the_record_now_keeping_the_text(hub, store):
    signed_in(hub)
    for typed, said in (
        ("yesterday at noon", "not a date and time"),
        ("9999-12-31T23:59:59-14:00", "1970 to 9998"),
    ):
        answer = hub.get("/ui/records/inventory/SKU-1%40DC1", params={"as_of": typed})
        text = a_page(answer, 422, said, "shown as it is now")
        assert f'name="as_of" value="{typed}"' in text and 'aria-invalid="true"' in text
        assert "Revision" in text  # the record, as it is now
    a_page(hub.get("/ui/records/inventory/SKU-1%40DC1", params={"before": "x"}), 422, "before 'x'")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(typed=st.text(max_size=80))
def test_any_moment_typed_answers_a_page_never_a_500(hub, store, typed):
    if not hub.client.cookies.get("logisync_session"):
        signed_in(hub)
    answer = hub.get("/ui/records/inventory/SKU-1%40DC1", params={"as_of": typed})
    assert answer.status_code in (200, 404, 422), answer.text[:300]
    assert answer.headers["content-type"].startswith("text/html")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(typed=st.text(max_size=80))
def test_any_edit_typed_answers_a_page_never_a_500(hub, store, typed):
    xid = exception_id(store)
    if not hub.client.cookies.get("logisync_session"):
        hub.csrf = signed_in(hub)  # type: ignore[attr-defined]
    answer = hub.post(
        f"/ui/exceptions/{xid}/edit", data={"csrf": hub.csrf, "field.on_hand": typed, "add_path": "x"}
    )  # type: ignore[attr-defined]
    assert answer.status_code in (303, 409, 422), answer.text[:300]
    if answer.status_code != 303:
        assert answer.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize(
    "method, path, data, status, said",
    [
        ("GET", "/ui/reconcile?before=abc", None, 422, "before"),
        ("GET", "/ui/reconcile/runs/abc", None, 422, "run_id"),
        ("GET", "/ui/reconcile/runs/1?after=x", None, 422, "after"),
        ("POST", "/ui/reconcile/runs/abc/approve", {}, 422, "run_id"),
        ("POST", "/ui/reconcile/start", {}, 422, "choose the reconciliation"),
        ("GET", "/ui/records?q=SKU&kind=pallet", None, 422, "pallet"),
        ("GET", "/ui/kpis?window=forever", None, 422, "forever"),
        ("GET", "/ui/exceptions?limit=x", None, 422, "limit"),
        ("GET", "/ui/alerts?firing_before=x", None, 422, "firing_before"),
        ("PUT", "/ui/exceptions", None, 405, "PUT"),
        ("POST", "/ui/alerts", {}, 405, "POST"),
    ],
)
def test_a_parameter_or_method_a_page_cannot_take_is_a_page(hub, method, path, data, status, said):
    csrf = signed_in(hub)
    answer = hub.request(method, path, data=None if data is None else {"csrf": csrf, **data})
    a_page(answer, status, said)


def test_a_method_a_page_does_not_take_says_which_it_does(hub):
    csrf = signed_in(hub)
    answer = hub.request("POST", "/ui/alerts", data={"csrf": csrf})
    a_page(answer, 405, "POST")
    assert answer.headers["allow"] == "GET"


def test_the_api_keeps_its_json_for_the_same_mistakes(hub):
    answer = hub.get("/v1/alerts", params={"limit": "x"}, headers=ADMIN)
    assert answer.status_code == 422 and answer.json()["error"]["code"] == "invalid_request"
    assert hub.request("PUT", "/v1/routes", headers=ADMIN).json()["error"]["code"] == "method_not_allowed"


def test_a_sign_in_with_a_name_too_long_comes_back_to_the_form(hub):
    form = hub.get("/ui/login")
    answer = hub.post(
        "/ui/login",
        data={"username": "u" * 300, "password": "x", "csrf": token_of(form.text), "next": "/ui/"},
    )
    text = a_page(answer, 422, "user name: at most 200 characters")
    assert 'value="' + "u" * 200 + '"' in text
