"""Every keyset-paged dashboard list has a previous-page link as well as a next one, on both
stores: the inbox (with and without a root-cause filter), the explorer's search results, a
reconciliation's differences and the run history. Going forward then back shows the same rows;
the first page has no previous link, the last no next one. (The Alerts page's lists:
test_dashboard_alerts.py.)"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from fixtures.api_live import InProcess, set_keys
from fixtures.dashboard import PASSWORD, sign_in
from logisync.api import create_app
from logisync.config import parse_syncmap
from logisync.domain.change import Change, now_us
from logisync.domain.kinds import Domain
from logisync.pipeline import Pipeline
from logisync.reconcile.run import Reconciler
from logisync.web import users

MAP = """\
systems:
  wms: {kind: wms}
  erp: {kind: erp}
  shop: {kind: marketplace}
owners:
  product: erp
  inventory.quantities: wms
quality: {unknown_sku: quarantine}
routes:
  - {name: stock-to-shop, domain: inventory, to: shop}
reconcile:
  - {system: shop, domain: inventory, source: {file: SNAPSHOT}, reports: REPORTS}
"""
N = 23  # unknown-SKU exceptions, products and positions: pages of 10 (or the page's own size)


@pytest.fixture
def hub(store, tmp_path, monkeypatch) -> Iterator[InProcess]:
    set_keys(monkeypatch)
    snapshot = tmp_path / "shop.csv"
    syncmap = parse_syncmap(
        MAP.replace("SNAPSHOT", str(snapshot)).replace("REPORTS", str(tmp_path / "reports")), env={}
    )
    pipeline = Pipeline(store, syncmap)
    pipeline.ingest(
        "erp",
        [
            Change(id=f"p{i}", domain=Domain.product, key=f"SKU-{i:03d}", fields={"name": f"P{i}"})
            for i in range(120)
        ],
    )
    for i in range(
        N
    ):  # exceptions of two causes, interleaved: SKU-Q* are unknown, a count below 0 is invalid
        pipeline.ingest(
            "wms",
            [
                Change(id=f"q{i}", domain=Domain.inventory, key=f"SKU-Q{i:02d}@DC1", fields={"on_hand": 1}),
                Change(id=f"n{i}", domain=Domain.inventory, key=f"SKU-{i:03d}@DC1", fields={"on_hand": -1}),
            ],
        )
    pipeline.ingest(
        "wms",
        [
            Change(id=f"w{i}", domain=Domain.inventory, key=f"SKU-{i:03d}@DC1", fields={"on_hand": 10})
            for i in range(120)
        ],
    )
    store._execute("DELETE FROM outbox")
    snapshot.write_text(
        "key,on_hand\n" + "".join(f"SKU-{i:03d}@DC1,{13 if i < 70 else 10}\n" for i in range(120))
    )
    for _ in range(12):  # 12 runs: three pages of history at 5 a page
        Reconciler(store, syncmap).run(syncmap.reconcile[0])
    monkeypatch.setattr("logisync.web.reconcile.PAGE", 5)
    users.add(store, "vic", users.Role.viewer, PASSWORD, now_us(), "cli:test")
    with InProcess(create_app(syncmap, store)) as client:
        client.client.base_url = "http://127.0.0.1"
        sign_in(client, "vic")
        yield client


def link(html: str, rel: str) -> str | None:
    found = re.search(rf'<a href="([^"]+)" rel="{rel}"', html)
    return found.group(1).replace("&amp;", "&") if found else None


def walk(hub: InProcess, start: str, rows) -> None:
    """Forward to the last page by `next`, then back to the first by `prev`: the same pages."""
    pages = [hub.get(start).text]
    assert link(pages[0], "prev") is None
    while (nxt := link(pages[-1], "next")) is not None:
        pages.append(hub.get(nxt).text)
        assert len(pages) < 20
    assert len(pages) >= 3, "too few pages to walk"
    seen = [rows(p) for p in pages]
    assert all(seen) and len({r for page in seen for r in page}) == sum(len(p) for p in seen)  # no repeats
    back = pages[-1]
    for expected in reversed(seen[:-1]):
        prev = link(back, "prev")
        assert prev is not None, "no previous page"
        back = hub.get(prev).text
        assert rows(back) == expected
    assert link(back, "prev") is None and link(back, "next") is not None


def inbox_rows(html: str) -> list[str]:
    return re.findall(r'<td class="num"><a href="/ui/exceptions/(\d+)">', html)


def test_the_inbox_pages_back(hub):
    walk(hub, "/ui/exceptions?limit=10", inbox_rows)


def test_the_inbox_pages_back_within_a_root_cause(hub):
    groups = hub.get("/ui/exceptions?view=groups").text
    cause = re.search(r'href="(/ui/exceptions\?[^"]*kind=validation[^"]*cause=[^"]+)"', groups)
    assert cause, groups
    walk(hub, cause.group(1).replace("&amp;", "&") + "&limit=10", inbox_rows)


def test_search_results_page_back(hub):
    def keys(html: str) -> list[str]:
        return re.findall(r'class="mono">(SKU-\d+)</a>', html)

    first = hub.get("/ui/records", params={"q": "SKU-", "kind": "sku"}).text
    more = re.search(r'href="([^"]*domain=product[^"]*)" rel="next"', first)
    assert more, first
    # the product section alone, from its first page (as the search showed it), forward and back
    alone = more.group(1).replace("&amp;", "&").split("&after=")[0]
    assert keys(hub.get(alone).text)[:3] == ["SKU-000", "SKU-001", "SKU-002"]
    walk(hub, alone, keys)


def test_a_runs_differences_page_back(hub):
    def keys(html: str) -> list[str]:
        return re.findall(r'<tr data-key="([^"]*)">', html)

    runs = hub.get("/ui/reconcile").text
    latest = re.search(r'<tr data-run="(\d+)">', runs).group(1)
    first = hub.get(f"/ui/reconcile/runs/{latest}").text
    assert keys(first)[0] == "SKU-000@DC1"
    # 70 differences by 50: two pages; then by kind, the same
    second = hub.get(link(first, "next")).text
    assert keys(second)[0] == "SKU-050@DC1"
    back = hub.get(link(second, "prev")).text
    assert keys(back) == keys(first) and link(back, "prev") is None
    by_kind = hub.get(f"/ui/reconcile/runs/{latest}", params={"kind": "differs"}).text
    again = hub.get(link(hub.get(link(by_kind, "next")).text, "prev")).text
    assert keys(again) == keys(by_kind)


def test_the_run_history_pages_back(hub):
    walk(hub, "/ui/reconcile", lambda html: re.findall(r'<tr data-run="(\d+)">', html))
