"""The KPIs and Reconciliation pages in a real browser: charts drawn, a window chosen, a
reconciliation started by an operator and its differences paged through; a viewer cannot act."""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from browser.conftest import PASSWORD, ROLES, Hub
from fixtures import a11y
from fixtures.api_live import KEYS, LiveServer
from logisync.api import create_app
from logisync.config import parse_syncmap
from logisync.domain.change import Change, now_us
from logisync.domain.kinds import Domain
from logisync.pipeline import Pipeline
from logisync.store import open_store
from logisync.web import users

MAP = """\
systems:
  wms: {kind: wms, auth: {api_key_env: TEST_WMS_KEY}}
  shop: {kind: marketplace, auth: {api_key_env: TEST_SHOP_KEY}}
owners:
  inventory.quantities: wms
  order.lines: shop
  order.fulfillment: wms
routes:
  - {name: stock-to-shop, domain: inventory, to: shop, sla: 60s}
reconcile:
  - {system: shop, domain: inventory, source: {file: SNAPSHOT}, reports: REPORTS}
"""
POSITIONS = 80


@pytest.fixture(scope="module")
def hub(tmp_path_factory) -> Iterator[Hub]:
    """A hub with orders shipped over the last days, 80 stock positions and the shop's snapshot
    of them in which 60 differ."""
    folder = tmp_path_factory.mktemp("hub")
    snapshot = folder / "shop.csv"
    snapshot.write_text(
        "key,on_hand\n" + "".join(f"SKU-{i:03d}@DC1,{13 if i < 60 else 10}\n" for i in range(POSITIONS))
    )
    syncmap = parse_syncmap(
        MAP.replace("SNAPSHOT", str(snapshot)).replace("REPORTS", str(folder / "reports")), env={}
    )
    store = open_store(f"sqlite:///{folder / 'hub.db'}")
    pipeline = Pipeline(store, syncmap)
    pipeline.ingest(
        "wms",
        [
            Change(id=f"w{i}", domain=Domain.inventory, key=f"SKU-{i:03d}@DC1", fields={"on_hand": 10})
            for i in range(POSITIONS)
        ],
    )
    store._execute("DELETE FROM outbox")  # delivered: nothing in flight explains a difference
    now = datetime.now(UTC)
    for i in range(6):
        placed = now - timedelta(hours=20 * i + 30)
        sold = {
            "channel": "shop",
            "placed_at": placed.isoformat(),
            "lines": [{"line_no": 1, "sku": "SKU-001", "quantity": 1, "shipped": 1}],
        }
        sent = {"status": "shipped", "shipped_at": (placed + timedelta(hours=5 + i)).isoformat()}
        pipeline.ingest("shop", [Change(id=f"o{i}", domain=Domain.order, key=f"SO-{i}", fields=sold)])
        pipeline.ingest("wms", [Change(id=f"s{i}", domain=Domain.order, key=f"SO-{i}", fields=sent)])
    for name, role in ROLES.items():
        users.add(store, name, role, PASSWORD, now_us(), "cli:test")
    try:
        with LiveServer(create_app(syncmap, store, env={**os.environ, **KEYS})) as server:
            yield Hub(server.url, store, syncmap)
    finally:
        store.close()


def test_the_kpis_are_charted_and_a_window_can_be_chosen(hub, page):
    hub.login(page, "viewer")
    page.get_by_role("link", name="KPIs").click()
    expect(page.get_by_role("heading", name="KPIs", level=1)).to_be_visible()
    # the figures are computed off the request: the page reloads itself until they are there
    expect(page.locator("#kpi-table")).to_be_visible(timeout=60_000)
    expect(page.locator("#kpi-charts .uplot").first).to_be_visible()  # drawn by the vendored uPlot
    expect(page.locator("tr[data-kpi=order_to_ship_avg][data-group=all]")).to_be_visible()
    assert a11y.problems(page) == []
    page.get_by_label("Window", exact=True).select_option("30d")
    page.get_by_label("Group the table by").select_option("channel")
    page.get_by_role("button", name="Show").click()
    expect(page).to_have_url(re.compile(r"window=30d&by=channel"))
    expect(page.locator("tr[data-kpi=otif][data-group=shop]")).to_be_visible(timeout=60_000)
    expect(page.locator("tr[data-kpi=otif][data-group=shop] td.num").first).to_have_text("100.0 %")


def test_an_operator_starts_a_reconciliation_and_pages_through_its_differences(hub, page):
    hub.login(page, "operator")
    page.get_by_role("link", name="Reconciliation").click()
    expect(page.get_by_role("heading", name="Reconciliation", level=1)).to_be_visible()
    page.get_by_label("Reconciliation", exact=True).select_option("shop-inventory")
    page.get_by_role("button", name="Start").click()
    expect(page.get_by_role("status")).to_contain_text("shop-inventory started")
    for _ in range(60):  # it runs off the request: reload until it is done
        if page.locator("#runs tbody tr[data-run] td", has_text="done").count():
            break
        page.wait_for_timeout(500)
        page.reload()
    run = page.locator("#runs tbody tr[data-run]").first
    expect(run).to_contain_text("60")
    assert a11y.problems(page) == []
    run.get_by_role("link").first.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("shop-inventory")
    expect(page.locator("#variance-rows tbody tr[data-key]")).to_have_count(50)
    page.get_by_role("link", name=re.compile("Next 50 differences")).click()
    expect(page.locator("#variance-rows tbody tr[data-key]")).to_have_count(10)
    expect(page.locator("#variance-rows tbody tr[data-key]").first).to_have_attribute(
        "data-key", "SKU-050@DC1"
    )
    page.get_by_label("Kind", exact=True).select_option("missing_in_hub")
    page.get_by_role("button", name="Show").click()
    expect(page.locator("#variance-rows tbody")).to_contain_text("No missing in hub differences")
    assert a11y.problems(page) == []


def test_a_viewer_sees_the_runs_but_no_start(hub, page):
    hub.login(page, "viewer")
    page.goto(f"{hub.url}/ui/reconcile")
    expect(page.get_by_role("heading", name="Reconciliation", level=1)).to_be_visible()
    expect(page.get_by_role("button", name="Start")).to_have_count(0)
