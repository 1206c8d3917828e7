"""The exceptions inbox and records explorer pages, in process, on both stores: what each role sees,
every action through the pages with CSRF and its audit entry, bulk actions, search and time travel."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from fixtures.api_live import InProcess, set_keys
from fixtures.dashboard import PASSWORD, token_of
from fixtures.dashboard import sign_in as open_session
from logisync.api import create_app
from logisync.config import parse_syncmap
from logisync.domain.change import Change, now_us
from logisync.domain.kinds import Domain
from logisync.inbox import Inbox
from logisync.pipeline import Pipeline
from logisync.store.inbox import ExceptionFilter
from logisync.web import users

MAP = """\
systems:
  wms:  {kind: wms, auth: {api_key_env: TEST_WMS_KEY}}
  erp:  {kind: erp, auth: {api_key_env: TEST_ERP_KEY}}
  shop: {kind: marketplace, auth: {api_key_env: TEST_SHOP_KEY}}
  carrier: {kind: carrier, auth: {api_key_env: TEST_CARRIER_KEY}}
owners:
  product: erp
  inventory.quantities: wms
  shipment: wms
  tracking: carrier
quality: {unknown_sku: quarantine}
routes:
  - {name: stock-to-shop, domain: inventory, to: shop}
"""


@pytest.fixture
def hub(store, monkeypatch) -> Iterator[InProcess]:
    set_keys(monkeypatch)
    syncmap = parse_syncmap(MAP, "test.yaml", env={})
    for name, role in (("otto", users.Role.operator), ("vic", users.Role.viewer)):
        users.add(store, name, role, PASSWORD, now_us(), "cli:test")
    with InProcess(create_app(syncmap, store)) as client:
        client.client.base_url = "http://127.0.0.1"
        client.pipeline = Pipeline(store, syncmap)  # type: ignore[attr-defined]
        yield client


def sign_in(hub: InProcess, name: str) -> str:
    """Sign in; the session's CSRF token."""
    open_session(hub, name, next_="/ui/exceptions")
    return token_of(hub.get("/ui/exceptions").text)


def change(cid: str, domain: str = "inventory", key: str = "SKU-1@DC1", **fields: Any) -> Change:
    return Change(id=cid, domain=Domain(domain), key=key, fields=fields)


def ingest(hub: InProcess, system: str, *changes: Change) -> None:
    hub.pipeline.ingest(system, list(changes))  # type: ignore[attr-defined]


def open_ids(store) -> list[int]:
    return [i.row.id for i in Inbox(store).page(ExceptionFilter())[0]]


def unknown_sku(hub: InProcess, store) -> int:
    """A stock change for a SKU the hub does not know: quarantined (`unknown_sku`)."""
    ingest(hub, "wms", change("s1", on_hand=5))
    [xid] = open_ids(store)
    return xid


def test_an_operator_retries_an_exception_and_it_resolves_with_the_user_in_the_trail(hub, store):
    xid = unknown_sku(hub, store)
    csrf = sign_in(hub, "otto")
    listing = hub.get("/ui/exceptions")
    assert listing.status_code == 200
    assert f'href="/ui/exceptions/{xid}"' in listing.text and "SKU-1" in listing.text
    page = hub.get(f"/ui/exceptions/{xid}")
    assert page.status_code == 200 and ">open</span>" in page.text and 'id="retry"' in page.text
    ingest(hub, "erp", change("p1", "product", "SKU-1", name="Widget"))  # the SKU now exists
    answer = hub.post(f"/ui/exceptions/{xid}/retry", data={"csrf": csrf}, follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == f"/ui/exceptions/{xid}"
    after = hub.get(f"/ui/exceptions/{xid}").text
    assert '<span class="badge ok" id="x-state">resolved</span>' in after
    assert "<strong>user:otto</strong> retry" in after and "s1~retry1" in after
    assert store.get_record("inventory", "SKU-1@DC1").fields["on_hand"] == 5


def test_htmx_actions_answer_the_panel_and_refusals_show_in_it(hub, store):
    xid = unknown_sku(hub, store)
    csrf = sign_in(hub, "otto")
    htmx = {"HX-Request": "true", "X-CSRF-Token": csrf}
    again = hub.post(f"/ui/exceptions/{xid}/retry", headers=htmx)
    assert again.status_code == 200 and again.text.lstrip().startswith('<section id="exception"')
    assert "<html" not in again.text and "quarantined" in again.text  # still unknown: stays open
    assigned = hub.post(f"/ui/exceptions/{xid}/assign", data={"assignee": "me"}, headers=htmx)
    assert "Assigned to otto." in assigned.text and 'id="x-assignee">otto<' in assigned.text
    no_reason = hub.post(f"/ui/exceptions/{xid}/discard", data={"reason": " "}, headers=htmx)
    assert no_reason.status_code == 200 and 'role="alert"' in no_reason.text and "reason" in no_reason.text
    plain = hub.post(f"/ui/exceptions/{xid}/discard", data={"reason": " ", "csrf": csrf})
    assert plain.status_code == 422 and "<html" in plain.text
    discarded = hub.post(f"/ui/exceptions/{xid}/discard", data={"reason": "test stock"}, headers=htmx)
    assert ">discarded</span>" in discarded.text and "test stock" in discarded.text
    assert 'id="retry"' not in discarded.text  # closed: no more actions
    refused = hub.post(f"/ui/exceptions/{xid}/retry", data={"csrf": csrf})
    assert refused.status_code == 409 and "only open exceptions" in refused.text
    trail = Inbox(store).table.trail(xid)
    assert [(a.actor, a.action) for a in trail] == [
        ("user:otto", "retry"),
        ("user:otto", "assign"),
        ("user:otto", "discard"),
    ]


def test_edit_and_replay_from_the_form(hub, store):
    ingest(hub, "erp", change("p1", "product", "SKU-1", name="Widget"))
    ingest(hub, "wms", change("s1", on_hand=-2))
    [xid] = open_ids(store)
    csrf = sign_in(hub, "otto")
    page = hub.get(f"/ui/exceptions/{xid}").text
    assert 'name="field.on_hand" value="-2"' in page
    assert "non_negative" in page  # the problem: rule, field, value
    bad = hub.post(f"/ui/exceptions/{xid}/edit", data={"csrf": csrf, "field.on_hand": "four"})
    assert bad.status_code == 422 and "on_hand" in bad.text and "not a JSON value" in bad.text
    done = hub.post(
        f"/ui/exceptions/{xid}/edit", data={"csrf": csrf, "field.on_hand": "4"}, follow_redirects=False
    )
    assert done.status_code == 303
    assert store.get_record("inventory", "SKU-1@DC1").fields["on_hand"] == 4
    assert Inbox(store).get(xid).row.state == "resolved"


def test_a_viewer_sees_no_actions_and_cannot_act(hub, store):
    xid = unknown_sku(hub, store)
    csrf = sign_in(hub, "vic")
    listing = hub.get("/ui/exceptions").text
    assert 'name="id"' not in listing and "Act on several" not in listing
    page = hub.get(f"/ui/exceptions/{xid}").text
    assert 'id="retry"' not in page and "/discard" not in page and "Edit and replay" not in page
    for verb, data in (("retry", {}), ("discard", {"reason": "x"}), ("assign", {"assignee": "me"})):
        answer = hub.post(f"/ui/exceptions/{xid}/{verb}", data={"csrf": csrf, **data})
        assert answer.status_code == 403, verb
    bulk = hub.post(
        "/ui/exceptions/bulk", data={"csrf": csrf, "verb": "retry", "scope": "selected", "id": str(xid)}
    )
    assert bulk.status_code == 403
    assert Inbox(store).table.trail(xid) == []


def test_an_action_without_the_csrf_token_is_refused(hub, store):
    xid = unknown_sku(hub, store)
    sign_in(hub, "otto")
    assert hub.post(f"/ui/exceptions/{xid}/retry").status_code == 403
    assert hub.post(f"/ui/exceptions/{xid}/retry", data={"csrf": "forged"}).status_code == 403
    assert Inbox(store).table.trail(xid) == []


def test_bulk_retry_of_a_selection_and_discard_of_a_filter(hub, store):
    ingest(hub, "wms", *(change(f"s{i}", key=f"SKU-{i}@DC1", on_hand=1) for i in range(4)))
    ids = open_ids(store)
    csrf = sign_in(hub, "otto")
    listing = hub.get("/ui/exceptions?kind=unknown_sku").text
    assert all(f'name="id" value="{i}"' in listing for i in ids)
    ingest(hub, "erp", change("p0", "product", "SKU-0", name="Zero"))
    chosen = hub.post(
        "/ui/exceptions/bulk",
        data={
            "csrf": csrf,
            "verb": "retry",
            "scope": "selected",
            "id": [str(ids[0]), str(ids[1])],
            "filter": "",
        },
    )
    assert chosen.status_code == 200 and "2 done, 0 refused" in chosen.text
    states = {i: Inbox(store).get(i).row.state for i in ids}
    assert states == {ids[0]: "resolved", ids[1]: "open", ids[2]: "open", ids[3]: "open"}
    no_filter = hub.post(
        "/ui/exceptions/bulk", data={"csrf": csrf, "verb": "discard", "scope": "filter", "reason": "x"}
    )
    assert no_filter.status_code == 422 and "needs one" in no_filter.text
    by_filter = hub.post(
        "/ui/exceptions/bulk",
        data={
            "csrf": csrf,
            "verb": "discard",
            "scope": "filter",
            "filter": "?kind=unknown_sku",
            "reason": "old",
        },
    )
    assert by_filter.status_code == 200 and "3 done, 0 refused" in by_filter.text
    assert open_ids(store) == []


def test_filters_groups_and_a_bad_filter(hub, store):
    ingest(hub, "wms", *(change(f"s{i}", key=f"SKU-{i}@DC1", on_hand=1) for i in range(3)))
    sign_in(hub, "vic")
    groups = hub.get("/ui/exceptions?view=groups").text
    assert "SKU-0" in groups and "SKU-2" in groups
    one = hub.get("/ui/exceptions?key=SKU-2").text
    assert "SKU-2@DC1" in one and "SKU-0@DC1" not in one
    paged = hub.get("/ui/exceptions?limit=2").text
    assert 'rel="next"' in paged
    bad = hub.get("/ui/exceptions?age=forever")
    assert bad.status_code == 422 and "age" in bad.text
    assert hub.get("/ui/exceptions/999999").status_code == 404
    assert hub.get("/ui/exceptions/abc").status_code == 404


def test_search_a_record_and_see_its_provenance_and_its_exceptions(hub, store):
    ingest(hub, "erp", change("p1", "product", "SKU-1", name="Widget"))
    ingest(hub, "wms", change("s1", on_hand=5))
    ingest(hub, "wms", change("s2", on_hand=-1))
    ingest(
        hub,
        "wms",
        change(
            "sh1",
            "shipment",
            "SH-1",
            carrier="ups",
            order_number="SO-1",
            tracking_numbers=["1Z999AA10123456784"],
        ),
    )
    sign_in(hub, "vic")
    found = hub.get("/ui/records", params={"q": "SKU-1", "kind": "sku"})
    assert found.status_code == 200
    assert (
        'href="/ui/records/inventory/SKU-1%40DC1"' in found.text
        and 'href="/ui/records/product/SKU-1"' in found.text
    )
    page = hub.get("/ui/records/inventory/SKU-1%40DC1")
    assert page.status_code == 200
    assert "<td>wms</td>" in page.text and "s1" in page.text and "derived by the hub" in page.text
    assert "1 open exception" in page.text
    [xid] = open_ids(store)
    assert f'href="/ui/exceptions/{xid}"' in page.text
    back = hub.get(f"/ui/exceptions/{xid}").text
    assert 'href="/ui/records/inventory/SKU-1%40DC1"' in back
    tracking = hub.get("/ui/records", params={"q": "1Z999AA10123456784", "kind": "tracking"}).text
    assert 'href="/ui/records/shipment/SH-1"' in tracking
    assert hub.get("/ui/records/inventory/NOPE%40DC1").status_code == 404
    assert hub.get("/ui/records/parcel/X").status_code == 422
    assert hub.get("/ui/records", params={"q": "x", "kind": "pallet"}).status_code == 422


def test_time_travel_shows_the_record_as_it_stood(hub, store):
    ingest(hub, "erp", change("p1", "product", "SKU-1", name="Widget"))
    ingest(hub, "wms", change("s1", on_hand=5))
    between = now_us()
    ingest(hub, "wms", change("s2", on_hand=9))
    sign_in(hub, "vic")
    from datetime import UTC, datetime

    moment = datetime.fromtimestamp(between / 1e6, UTC).isoformat()
    then = hub.get("/ui/records/inventory/SKU-1%40DC1", params={"as_of": moment})
    assert then.status_code == 200 and "as it stood at" in then.text
    assert re.search(r'<td class="mono">on_hand</td>\s*<td class="mono value">5', then.text)
    now = hub.get("/ui/records/inventory/SKU-1%40DC1").text
    assert re.search(r'<td class="mono">on_hand</td>\s*<td class="mono value">9', now)
    bad = hub.get("/ui/records/inventory/SKU-1%40DC1", params={"as_of": "last tuesday"})
    assert bad.status_code == 422 and "as_of" in bad.text
    before = hub.get("/ui/records/inventory/SKU-1%40DC1", params={"as_of": "2000-01-01T00:00:00Z"})
    assert before.status_code == 404


def test_pages_need_a_session(hub, store):
    assert hub.get("/ui/exceptions", follow_redirects=False).status_code == 303
    assert hub.get("/ui/records?q=SKU", follow_redirects=False).status_code == 303
    assert hub.post("/ui/exceptions/1/retry").status_code == 401
