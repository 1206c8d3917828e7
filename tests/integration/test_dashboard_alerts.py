"""The Alerts page (/ui/alerts) and GET /v1/alerts, in process, on both stores: a real condition
(an exception the pipeline opened) fires a real rule through the evaluator, the page and the API
show it with its rule, subject, times and channels; both lists page by keyset, back and forth."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from fixtures.api_live import ADMIN, WMS, InProcess, set_keys, with_admin
from fixtures.dashboard import PASSWORD, sign_in
from logisync.api import create_app
from logisync.config import parse_syncmap
from logisync.domain.change import Change, now_us
from logisync.domain.kinds import Domain
from logisync.inbox import Inbox
from logisync.monitor.alerts import AlertEvaluator
from logisync.pipeline import Pipeline
from logisync.store.alerts import AlertBook, AlertPlan, NewAlert, NewNotification
from logisync.store.inbox import ExceptionFilter
from logisync.web import users

MAP = """\
systems:
  wms: {kind: wms, auth: {api_key_env: TEST_WMS_KEY}}
  shop: {kind: marketplace, auth: {api_key_env: TEST_SHOP_KEY}}
owners:
  inventory: wms
quality: {unknown_sku: quarantine}
routes:
  - {name: stock-to-shop, domain: inventory, to: shop, sla: 60s}
alerts:
  every: 30s
  channels:
    hook: {webhook: {url: "https://alerts.example/hook"}}
    pager: {webhook: {url: "https://pager.example/hook"}}
  rules:
    - {name: stock-in-quarantine, exceptions_open: {over: 0, kinds: [unknown_sku], per_kind: true},
       severity: critical, notify: [hook, pager], description: "Stock for a SKU the hub does not know."}
    - {name: stock-late, route_lag: {routes: [stock-to-shop], for: 5m}, notify: [hook], renotify: never}
"""


@pytest.fixture
def syncmap_alerts(monkeypatch):
    set_keys(monkeypatch)
    return with_admin(parse_syncmap(MAP, "test.yaml", env={}))


@pytest.fixture
def hub(store, syncmap_alerts) -> Iterator[InProcess]:
    for name, role in (("otto", users.Role.operator), ("vic", users.Role.viewer)):
        users.add(store, name, role, PASSWORD, now_us(), "cli:test")
    with InProcess(create_app(syncmap_alerts, store)) as client:
        client.client.base_url = "http://127.0.0.1"
        yield client


def quarantine(store, syncmap) -> int:
    """A stock change for an unknown SKU: an open unknown_sku exception (its id)."""
    Pipeline(store, syncmap).ingest(
        "wms", [Change(id="s1", domain=Domain.inventory, key="SKU-9@DC1", fields={"on_hand": 5})]
    )
    [item] = Inbox(store).page(ExceptionFilter())[0]
    return item.row.id


def rows_of(html: str, which: str) -> list[int]:
    """The alert ids of one list on the page, in order."""
    table = html.split(f'id="{which}-alerts"', 1)[1].split("</table>", 1)[0]
    return [int(n) for n in re.findall(r'data-alert="(\d+)"', table)]


def fill(store, n: int, state: str = "firing") -> list[int]:
    """`n` alerts in the store, one per subject, through the evaluator's own write; their ids."""
    now = now_us()
    plan = AlertPlan(
        new=[
            NewAlert(
                "stock-late",
                f"route-{i}",
                "warning",
                state,
                f"lag {i}",
                None,
                now,
                now,
                now,
                [NewNotification("hook", "firing", {"n": i})],
            )
            for i in range(n)
        ]
    )
    book = AlertBook(store)
    book.evaluate(lambda live: plan, now)
    return [a.id for a in book.alerts(states=[state], limit=n)][::-1]


def test_an_alert_fired_by_a_real_condition_shows_on_the_page_and_resolves(hub, store, syncmap_alerts):
    xid = quarantine(store, syncmap_alerts)
    evaluator = AlertEvaluator(syncmap_alerts, store, {})
    evaluator.evaluate()
    [alert] = AlertBook(store).alerts(states=["firing"])
    AlertBook(store).settle(
        AlertBook(store).notifications(alert_ids=[alert.id])[0].id, now_us()
    )  # hook took it
    sign_in(hub, "vic", next_="/ui/alerts")
    page = hub.get("/ui/alerts")
    assert page.status_code == 200 and 'href="/ui/alerts" aria-current="page"' in page.text
    assert rows_of(page.text, "firing") == [alert.id] and rows_of(page.text, "resolved") == []
    row = page.text.split(f'data-alert="{alert.id}"', 1)[1].split("</tr>", 1)[0]
    assert "stock-in-quarantine" in row and "exception kind unknown_sku" in row and "critical" in row
    assert "<strong>hook</strong>: firing" in row and ">sent</span>" in row
    assert "<strong>pager</strong>: firing" in row and ">pending</span>" in row
    assert row.count("Z</td>") >= 3  # since, fired, last notified
    rules = page.text.split('id="alert-rules"', 1)[1]
    assert (
        "more than 0 exceptions open (unknown_sku, per kind)" in rules
        and "route lag over its SLA for 5m" in rules
    )
    overview = hub.get("/ui/").text
    assert re.search(r'id="alerts-card">.*?<div class="big">1</div>', overview, re.S)
    Inbox(store).discard(xid, "user:otto", "test stock")
    evaluator.evaluate()
    after = hub.get("/ui/alerts").text
    assert rows_of(after, "firing") == [] and rows_of(after, "resolved") == [alert.id]
    assert "Nothing is firing." in after
    assert re.search(r'id="alerts-card">.*?<div class="big">0</div>', hub.get("/ui/").text, re.S)


def test_every_role_has_the_alerts_page_in_the_nav(hub, store):
    for name in ("vic", "otto"):
        sign_in(hub, name)
        assert 'href="/ui/alerts"' in hub.get("/ui/").text
        assert hub.get("/ui/alerts").status_code == 200


def test_both_lists_page_by_keyset_forward_and_back_keeping_the_other(hub, store):
    firing = fill(store, 45)
    resolved = fill(store, 25, "resolved")
    sign_in(hub, "vic")
    first = hub.get("/ui/alerts").text
    newest = firing[::-1]
    assert rows_of(first, "firing") == newest[:20] and rows_of(first, "resolved") == resolved[::-1][:20]
    assert 'rel="prev"' not in first
    older = hub.get(f"/ui/alerts?resolved_before={resolved[::-1][19]}").text  # the resolved list paged on
    assert rows_of(older, "resolved") == resolved[::-1][20:] and rows_of(older, "firing") == newest[:20]
    link = re.search(r'href="(/ui/alerts\?[^"]*firing_before=\d+[^"]*)[^"]*" rel="next"', older)
    assert link and "resolved_before=" in link.group(1)  # the other list stays where it was
    second = hub.get(link.group(1).replace("&amp;", "&")).text
    assert rows_of(second, "firing") == newest[20:40] and rows_of(second, "resolved") == resolved[::-1][20:]
    third = hub.get(_link(second, "firing", "next")).text
    assert rows_of(third, "firing") == newest[40:] and _link(third, "firing", "next") is None
    back = hub.get(_link(third, "firing", "prev")).text
    assert rows_of(back, "firing") == newest[20:40]
    again = hub.get(_link(back, "firing", "prev")).text
    assert rows_of(again, "firing") == newest[:20] and _link(again, "firing", "prev") is None


def _link(html: str, which: str, rel: str) -> str | None:
    part = html.split(f'id="{which}-alerts"', 1)[1].split("</nav>", 1)[0]
    found = re.search(rf'href="([^"]+)" rel="{rel}"', part)
    return found.group(1).replace("&amp;", "&") if found else None


@pytest.mark.parametrize(
    "query, named",
    [
        ("firing_before=abc", "firing_before"),
        ("limit=0", "limit"),
        ("resolved_after=99999999999999999999999", "resolved_after"),
        ("firing_before=3&firing_after=2", "firing_after"),
    ],
)
def test_a_bad_cursor_is_refused_with_the_page_naming_it(hub, store, query, named):
    fill(store, 2)
    sign_in(hub, "vic")
    answer = hub.get(f"/ui/alerts?{query}")
    assert answer.status_code == 422 and answer.headers["content-type"].startswith("text/html")
    assert 'role="alert"' in answer.text and named in answer.text
    assert len(rows_of(answer.text, "firing")) == 2  # the lists from their start


def test_the_api_lists_alerts_a_page_at_a_time_for_the_admin(hub, store, syncmap_alerts):
    quarantine(store, syncmap_alerts)
    AlertEvaluator(syncmap_alerts, store, {}).evaluate()
    ids = fill(store, 5)
    body = hub.get("/v1/alerts", params={"limit": 4}, headers=ADMIN).json()
    assert [a["id"] for a in body["alerts"]] == ids[::-1][:4] and body["prev_after"] is None
    rest = hub.get("/v1/alerts", params={"limit": 4, "before": body["next_before"]}, headers=ADMIN).json()
    assert len(rest["alerts"]) == 2 and rest["next_before"] is None
    quarantined = rest["alerts"][-1]
    assert quarantined["rule"] == "stock-in-quarantine" and quarantined["subject"] == "unknown_sku"
    assert quarantined["subject_kind"] == "exception kind" and quarantined["state"] == "firing"
    assert [c["channel"] for c in quarantined["channels"]] == ["hook", "pager"]
    assert quarantined["since"].endswith("Z") and quarantined["last_notified"].endswith("Z")
    back = hub.get("/v1/alerts", params={"limit": 4, "after": rest["prev_after"]}, headers=ADMIN).json()
    assert back["alerts"] == body["alerts"]
    assert hub.get("/v1/alerts", params={"state": "resolved"}, headers=ADMIN).json()["alerts"] == []
    rules = hub.get("/v1/alerts/rules", headers=ADMIN).json()
    assert [r["name"] for r in rules["rules"]] == ["stock-in-quarantine", "stock-late"]
    assert rules["rules"][1]["renotify"] == "never" and rules["channels"] == ["hook", "pager"]


@pytest.mark.parametrize(
    "params, status, code",
    [
        ({"state": "burning"}, 422, "invalid_request"),
        ({"before": "x"}, 422, "invalid_request"),
        ({"before": 3, "after": 1}, 422, "invalid_request"),
        ({"limit": 0}, 422, "invalid_request"),
    ],
)
def test_the_api_refuses_bad_parameters_in_its_json_shape(hub, params, status, code):
    answer = hub.get("/v1/alerts", params=params, headers=ADMIN)
    assert answer.status_code == status and answer.json()["error"]["code"] == code


def test_only_the_admin_key_reads_the_alerts(hub):
    assert hub.get("/v1/alerts").status_code == 401
    assert hub.get("/v1/alerts", headers=WMS).status_code == 403
    assert hub.get("/v1/alerts/rules", headers=WMS).status_code == 403
