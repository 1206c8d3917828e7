"""The Overview page's figures, in process, on both stores: lag against SLA, dead deliveries,
open exceptions, the diagram, the per-minute counts."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator

import pytest

from fixtures.api_live import InProcess, set_keys
from logisync.api import create_app
from logisync.config import parse_syncmap
from logisync.domain.change import now_us
from logisync.store.base import NewDelivery, NewException
from logisync.web import users

MAP = """\
systems:
  wms:  {kind: wms}
  erp:  {kind: erp}
  shop: {kind: marketplace}
owners:
  product: erp
  inventory.quantities: wms
routes:
  - {name: stock-to-shop, domain: inventory, to: shop, sla: 60s}
  - {name: products-to-shop, domain: product, to: shop, mode: shadow}
"""
PASSWORD = "a long enough password"


@pytest.fixture
def hub(store, monkeypatch) -> Iterator[InProcess]:
    set_keys(monkeypatch)
    users.add(store, "vic", users.Role.viewer, PASSWORD, now_us(), "cli:test")
    with InProcess(create_app(parse_syncmap(MAP, env={}), store)) as client:
        client.client.base_url = "http://127.0.0.1"
        form = client.get("/ui/login").text
        token = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
        signed = client.post("/ui/login", data={"username": "vic", "password": PASSWORD, "csrf": token})
        assert signed.status_code == 303, signed.text
        yield client


def row(html: str, route: str) -> str:
    found = re.search(rf'<tr data-route="{route}">(.*?)</tr>', html, re.S)
    assert found, html
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", found.group(1))).strip()


def test_an_idle_hub_is_all_within_sla(hub):
    page = hub.get("/ui/").text
    assert "all within SLA" in page
    assert row(page, "stock-to-shop") == "stock-to-shop inventory shop live 0 s 60 s — 0 0 0 ok"
    assert row(page, "products-to-shop").startswith("products-to-shop product shop shadow")
    assert "No open exceptions." in page
    assert 'aria-labelledby="diagram-title"' in page
    title = re.search(r"<title id=\"diagram-title\">(.*?)</title>", page).group(1)
    assert "wms (wms) owns inventory.quantities; routes to it: none" in title
    assert "shop (marketplace) owns nothing; routes to it: stock-to-shop, products-to-shop (shadow)" in title


def test_a_route_over_its_sla_with_dead_deliveries_and_open_exceptions(hub, store):
    old = now_us() - 300 * 1_000_000  # waiting 5 minutes, SLA 60 s
    with store.write() as tx:
        tx.enqueue(
            [
                NewDelivery("stock-to-shop", "inventory", f"SKU-{i}@DC1", 1, True, "pending", old)
                for i in range(4)
            ]
        )
        tx.open_exceptions([NewException("dead_delivery", "422", route="stock-to-shop")] * 2, old)
        tx.open_exceptions([NewException("validation", "bad")], old)
    store._execute("UPDATE outbox SET state = 'dead' WHERE id = 1")
    page = hub.get("/ui/overview/live").text
    assert "1 over SLA" in page
    assert row(page, "stock-to-shop") == "stock-to-shop inventory shop live 5 min 60 s — 3 0 1 over SLA"
    assert '/ui/exceptions?kind=dead_delivery&amp;route=stock-to-shop">1</a>' in page
    kinds = re.sub(
        r"<[^>]+>", "", re.search(r'<ul aria-labelledby="exceptions-heading".*?</ul>', page, re.S).group(0)
    )
    assert re.sub(r"\s+", " ", kinds).strip() == "dead delivery: 2 validation: 1"
    assert 'class="edge bad"' in page  # the shop's edge in the diagram is red


def test_the_charts_count_the_changes_of_each_minute(hub, store):
    from logisync.store.base import LogEntry

    now = now_us()
    with store.write() as tx:
        seqs = tx.next_seqs(5)
        tx.append_changes(
            [
                LogEntry(
                    s, "wms", f"c{s}", "inventory", "SKU-1@DC1", 1, now - 1_000_000, "applied", None, {}, []
                )
                for s in seqs
            ]
        )
    page = hub.get("/ui/overview/charts").text
    flow = json.loads(
        re.search(r'<script type="application/json" id="flow-data">(.*?)</script>', page, re.S).group(1)
    )
    assert len(flow["x"]) == 60
    assert sum(flow["series"][0]["values"]) == 5
    assert flow["series"][0]["values"][-1] == 5  # this minute
