"""The exceptions inbox and records explorer in Debian's chromium against a real hub: an operator
opens an exception, retries it and watches it resolve; a record is found and shows its provenance;
a viewer cannot act."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from fixtures import a11y
from fixtures.api_live import KEYS, LiveServer
from logisync.api import create_app
from logisync.config import SyncMap, parse_syncmap
from logisync.domain.change import Change, now_us
from logisync.domain.kinds import Domain
from logisync.inbox import Inbox
from logisync.pipeline import Pipeline
from logisync.store import open_store
from logisync.store.base import Store
from logisync.store.inbox import ExceptionFilter
from logisync.web import users

PASSWORD = "browser-test-password"
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
"""


@dataclass
class InboxHub:
    url: str
    store: Store
    syncmap: SyncMap

    def login(self, page, name: str) -> None:
        page.goto(f"{self.url}/ui/login")
        page.get_by_label("User name").fill(name)
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(re.compile(r".*/ui/(?!login).*"))

    def ingest(self, system: str, *changes: Change) -> None:
        Pipeline(self.store, self.syncmap).ingest(system, list(changes))

    def open_exception(self, key: str) -> int:
        [item] = Inbox(self.store).page(ExceptionFilter(key=key))[0]
        return item.row.id


@pytest.fixture(scope="module")
def hub(tmp_path_factory) -> Iterator[InboxHub]:
    """A hub whose sync map quarantines stock of an unknown SKU (so a retry can resolve one)."""
    folder = tmp_path_factory.mktemp("inbox-hub")
    store = open_store(f"sqlite:///{folder / 'hub.db'}")
    env = dict(KEYS)
    syncmap = parse_syncmap(MAP, "inbox.yaml", env=env)
    for name, role in (("operator", users.Role.operator), ("viewer", users.Role.viewer)):
        users.add(store, name, role, PASSWORD, now_us(), "cli:test")
    try:
        with LiveServer(create_app(syncmap, store, env=env)) as server:
            yield InboxHub(server.url, store, syncmap)
    finally:
        store.close()


def stock(cid: str, key: str, on_hand: int) -> Change:
    return Change(id=cid, domain=Domain.inventory, key=key, fields={"on_hand": on_hand})


def test_an_operator_opens_an_exception_retries_it_and_watches_it_resolve(hub, page):
    hub.ingest("wms", stock("b1", "SKU-77@DC1", 12))  # SKU-77 unknown: quarantined
    xid = hub.open_exception("SKU-77@DC1")
    hub.ingest("erp", Change(id="p77", domain=Domain.product, key="SKU-77", fields={"name": "Seventy-seven"}))
    hub.login(page, "operator")
    page.goto(f"{hub.url}/ui/exceptions?kind=unknown_sku")
    page.get_by_role("link", name=str(xid), exact=True).click()
    page.wait_for_url(f"**/ui/exceptions/{xid}")
    state = page.locator("#x-state")
    assert state.inner_text() == "open"
    page.get_by_role("button", name="Retry").click()
    page.locator("#x-state", has_text="resolved").wait_for()
    trail = page.locator("#trail").inner_text()
    assert "user:operator" in trail and "retry" in trail and "b1~retry1" in trail
    assert page.get_by_role("button", name="Retry").count() == 0  # resolved: nothing more to do
    page.get_by_role("link", name="inventory SKU-77@DC1").click()
    page.wait_for_url("**/ui/records/inventory/**")
    assert "b1~retry1" in page.locator("table.fields").inner_text()


def test_a_record_is_found_and_shows_its_provenance(hub, page):
    hub.ingest("erp", Change(id="p5", domain=Domain.product, key="SKU-5", fields={"name": "Five"}))
    hub.ingest("wms", stock("s5", "SKU-5@DC1", 40))
    hub.login(page, "viewer")
    page.goto(f"{hub.url}/ui/records")
    page.get_by_label("Search for").select_option("sku")
    page.get_by_label("Key (or its start)").fill("SKU-5")
    page.get_by_role("button", name="Search").click()
    page.get_by_role("link", name="SKU-5@DC1").click()
    page.wait_for_url("**/ui/records/inventory/**")
    row = page.locator("table.fields tr", has_text="on_hand")
    cells = row.locator("td").all_inner_texts()
    assert cells[:3] == ["on_hand", "40", "wms"] and cells[3] == "s5"
    assert "s5" in page.locator("ol.timeline").inner_text()


def test_a_viewer_sees_no_actions_and_a_forced_post_is_refused(hub, page):
    hub.ingest("wms", stock("v1", "SKU-88@DC1", 3))
    xid = hub.open_exception("SKU-88@DC1")
    hub.login(page, "viewer")
    page.goto(f"{hub.url}/ui/exceptions/{xid}")
    assert page.locator("#x-state").inner_text() == "open"
    assert page.get_by_role("button", name="Retry").count() == 0
    assert page.get_by_role("button", name="Discard").count() == 0
    csrf = page.locator("input[name=csrf]").first.get_attribute("value")
    answer = page.request.post(f"{hub.url}/ui/exceptions/{xid}/retry", form={"csrf": csrf or ""})
    assert answer.status == 403
    assert Inbox(hub.store).table.trail(xid) == []


def test_the_inbox_and_explorer_pages_meet_the_accessibility_basics(hub, page, tmp_path):
    hub.ingest("wms", stock("a1", "SKU-66@DC1", 3))
    hub.ingest("wms", stock("a2", "SKU-66@DC2", -1))
    xid = hub.open_exception("SKU-66@DC1")
    hub.login(page, "operator")
    for path in (
        "/ui/exceptions",
        "/ui/exceptions?view=groups",
        f"/ui/exceptions/{xid}",
        "/ui/records?q=SKU-&kind=sku",
        "/ui/records/inventory/SKU-5%40DC1",
    ):
        page.goto(f"{hub.url}{path}")
        assert a11y.problems(page) == [], path
    page.goto(f"{hub.url}/ui/exceptions")
    page.locator("#select-all").check()
    assert (
        page.locator('#bulk input[name="id"]:checked').count()
        == page.locator('#bulk input[name="id"]').count()
        > 1
    )
