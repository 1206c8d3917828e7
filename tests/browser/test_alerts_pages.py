"""The Alerts page and bad form input in Debian's chromium against a real hub: an operator sees an
alert the evaluator fired (and sent to a real signed-webhook receiver) on the Alerts page; a bad
edit-and-replay comes back as the page's own error, keeping the text typed; the inbox pages back."""

from __future__ import annotations

import asyncio
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from fixtures import a11y
from fixtures.alert_sinks import HookReceiver, hook_in_thread
from fixtures.api_live import KEYS, LiveServer
from logisync.api import create_app
from logisync.config import SyncMap, parse_syncmap
from logisync.domain.change import Change, now_us
from logisync.domain.kinds import Domain
from logisync.inbox import Inbox
from logisync.monitor.alerts import AlertEvaluator
from logisync.pipeline import Pipeline
from logisync.store import open_store
from logisync.store.base import Store
from logisync.store.inbox import ExceptionFilter
from logisync.web import users

PASSWORD = "browser-test-password"
SECRET = "whsec_YWxlcnQtaG9vay1zZWNyZXQtZm9yLXRoZS10ZXN0cw=="
MAP = """\
systems:
  wms:  {kind: wms, auth: {api_key_env: TEST_WMS_KEY}}
  erp:  {kind: erp, auth: {api_key_env: TEST_ERP_KEY}}
  shop: {kind: marketplace, auth: {api_key_env: TEST_SHOP_KEY}}
owners:
  product: erp
  inventory.quantities: wms
quality: {unknown_sku: quarantine}
routes:
  - {name: stock-to-shop, domain: inventory, to: shop}
alerts:
  every: 1h
  channels:
    ops-hook: {webhook: {url: "@URL@", secret_env: ALERT_HOOK_SECRET, allow_private_network: true}}
  rules:
    - {name: unknown-stock, exceptions_open: {over: 0, kinds: [unknown_sku], per_kind: true},
       severity: critical, notify: [ops-hook]}
"""


@dataclass
class AlertsHub:
    url: str
    store: Store
    syncmap: SyncMap
    receiver: HookReceiver
    env: dict[str, str]

    def login(self, page, name: str) -> None:
        page.goto(f"{self.url}/ui/login")
        page.get_by_label("User name").fill(name)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(re.compile(r".*/ui/(?!login).*"))

    def ingest(self, system: str, *changes: Change) -> None:
        Pipeline(self.store, self.syncmap).ingest(system, list(changes))

    def evaluate_alerts(self) -> None:
        """One tick of the evaluator `logisync serve` runs: rules read, alerts moved, notices sent.
        In a thread of its own: Playwright's sync API holds this thread's event loop."""
        evaluator = AlertEvaluator.for_syncmap(self.syncmap, self.store, self.env)

        async def tick() -> None:
            try:
                await evaluator.tick()
            finally:
                await evaluator.close()

        thread = threading.Thread(target=lambda: asyncio.run(tick()))
        thread.start()
        thread.join()


@pytest.fixture(scope="module")
def hub(tmp_path_factory) -> Iterator[AlertsHub]:
    folder = tmp_path_factory.mktemp("alerts-hub")
    store = open_store(f"sqlite:///{folder / 'hub.db'}")
    env = {**KEYS, "ALERT_HOOK_SECRET": SECRET}
    receiver = HookReceiver(SECRET)
    for name, role in (("operator", users.Role.operator), ("viewer", users.Role.viewer)):
        users.add(store, name, role, PASSWORD, now_us(), "cli:test")
    try:
        with hook_in_thread(receiver) as hook:
            syncmap = parse_syncmap(MAP.replace("@URL@", hook), "alerts.yaml", env=env)
            with LiveServer(create_app(syncmap, store, env=env)) as server:
                yield AlertsHub(server.url, store, syncmap, receiver, env)
    finally:
        store.close()


def stock(cid: str, key: str, on_hand: int) -> Change:
    return Change(id=cid, domain=Domain.inventory, key=key, fields={"on_hand": on_hand})


def test_an_operator_sees_a_firing_alert_on_the_alerts_page(hub, page):
    hub.ingest("wms", stock("u1", "SKU-404@DC1", 7))  # SKU-404 unknown: quarantined
    hub.evaluate_alerts()
    assert [b["data"]["rule"] for b in hub.receiver.bodies] == ["unknown-stock"]  # the webhook took it
    hub.login(page, "operator")
    page.get_by_role("navigation", name="Dashboard sections").get_by_role("link", name="Alerts").click()
    page.wait_for_url("**/ui/alerts")
    row = page.locator("#firing-alerts tbody tr", has_text="unknown-stock")
    assert row.count() == 1
    text = row.inner_text()
    assert "firing" in text and "critical" in text and "exception kind unknown_sku" in text
    assert "ops-hook: firing" in text and "sent" in text
    assert "Nothing is firing." not in page.locator("#firing-alerts").inner_text()
    rule = page.locator("#alert-rules tr", has_text="unknown-stock").inner_text()
    assert "more than 0 exceptions open (unknown_sku, per kind)" in rule and "ops-hook" in rule
    assert a11y.problems(page) == []
    page.goto(f"{hub.url}/ui/")
    assert page.locator("#alerts-card .big").inner_text() == "1"


def test_a_bad_edit_and_replay_shows_an_html_error_keeping_the_text(hub, page):
    hub.ingest("erp", Change(id="p1", domain=Domain.product, key="SKU-1", fields={"name": "One"}))
    hub.ingest("wms", stock("n1", "SKU-1@DC1", -2))  # a count below zero: a validation exception
    [item] = Inbox(hub.store).page(ExceptionFilter(key="SKU-1@DC1"))[0]
    hub.login(page, "operator")
    page.goto(f"{hub.url}/ui/exceptions/{item.row.id}")
    field = page.get_by_label("on_hand", exact=True)
    field.fill("{four")
    page.get_by_role("button", name="Send the edited change").click()
    error = page.locator("#exception [role=alert]")
    error.wait_for()
    assert "on_hand" in error.inner_text() and "not a JSON value" in error.inner_text()
    assert page.get_by_label("on_hand", exact=True).input_value() == "{four"  # kept, to be corrected
    assert page.get_by_label("on_hand", exact=True).get_attribute("aria-invalid") == "true"
    assert "application/json" not in page.content() and page.locator("h1").count() >= 1
    assert Inbox(hub.store).get(item.row.id).row.state == "open"
    assert a11y.problems(page) == []
    # without JavaScript's htmx the same form posts and the page comes back the same way (422)
    csrf = page.locator("input[name=csrf]").first.get_attribute("value") or ""
    answer = page.request.post(
        f"{hub.url}/ui/exceptions/{item.row.id}/edit", form={"csrf": csrf, "field.on_hand": "{four"}
    )
    assert answer.status == 422 and answer.headers["content-type"].startswith("text/html")
    assert 'value="{four"' in answer.text()


def test_the_inbox_goes_back_a_page_by_its_link(hub, page):
    for i in range(3):
        hub.ingest("wms", stock(f"b{i}", f"SKU-5{i}@DC1", 1))
    hub.login(page, "viewer")
    page.goto(f"{hub.url}/ui/exceptions?kind=unknown_sku&limit=1")
    first = page.locator("table.exceptions tbody").inner_text()
    assert page.get_by_role("link", name="Previous page").count() == 0
    page.get_by_role("link", name="Next page").click()
    page.wait_for_url("**after=*")
    assert page.locator("table.exceptions tbody").inner_text() != first
    page.get_by_role("link", name="Previous page").click()
    page.wait_for_url("**before=*")
    assert page.locator("table.exceptions tbody").inner_text() == first
