"""The dashboard's KPIs page on both stores: the figures of `GET /v1/kpis`, charts per bucket, the
window and grouping chosen, bad choices refused with a page, not a 500."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from fixtures.api_live import InProcess, set_keys
from fixtures.dashboard import PASSWORD, sign_in
from logisync.api import create_app
from logisync.domain.change import Change, now_us
from logisync.domain.kinds import Domain
from logisync.pipeline import Pipeline
from logisync.web import users


@pytest.fixture
def hub(store, syncmap, monkeypatch) -> Iterator[InProcess]:
    set_keys(monkeypatch)
    now = datetime.now(UTC)
    pipeline = Pipeline(store, syncmap)  # the shop owns the lines, the WMS the fulfilment
    for i, (placed_h, ship_h, shipped) in enumerate(((-50, -40, 2), (-30, -6, 1))):  # 10 h and 24 h to ship
        sold = {
            "channel": "shop",
            "placed_at": (now + timedelta(hours=placed_h)).isoformat(),
            "lines": [{"line_no": 1, "sku": "SKU-1", "quantity": 2, "shipped": shipped}],
        }
        sent = {"status": "shipped", "shipped_at": (now + timedelta(hours=ship_h)).isoformat()}
        [a] = pipeline.ingest("shop", [Change(id=f"o{i}", domain=Domain.order, key=f"SO-{i}", fields=sold)])
        [b] = pipeline.ingest("wms", [Change(id=f"f{i}", domain=Domain.order, key=f"SO-{i}", fields=sent)])
        assert (a.outcome.value, b.outcome.value) == ("applied", "applied"), (a.reason, b.reason)
    # a change from a system that does not own the field: one ownership exception, opened now
    [c] = pipeline.ingest(
        "shop", [Change(id="x1", domain=Domain.product, key="SKU-1", fields={"name": "Mug"})]
    )
    assert c.outcome.value == "rejected", c.reason
    users.add(store, "vic", users.Role.viewer, PASSWORD, now_us(), "cli:test")
    with InProcess(create_app(syncmap, store)) as client:
        client.client.base_url = "http://127.0.0.1"
        yield client


def kpi_page(hub: InProcess, **params: str) -> str:
    """The page once its figures are computed (a slow machine may first get the reloading notice)."""
    deadline = time.monotonic() + 120
    while True:
        answer = hub.get("/ui/kpis", params=params)
        assert answer.status_code == 200, answer.text
        if 'id="kpi-computing"' not in answer.text:
            return answer.text
        assert '<meta http-equiv="refresh"' in answer.text
        assert time.monotonic() < deadline, "the KPIs were never computed"
        time.sleep(0.2)


def chart(html: str, ident: str) -> dict:
    found = re.search(rf'<script type="application/json" id="{ident}">(.*?)</script>', html, re.S)
    assert found, f"no chart {ident}"
    return json.loads(found.group(1))


def row(html: str, kpi: str, group: str = "all") -> list[str]:
    found = re.search(
        rf'<tr data-kpi="{re.escape(kpi)}" data-group="{re.escape(group)}">(.*?)</tr>', html, re.S
    )
    assert found, f"no row {kpi}/{group}"
    return [
        re.sub(r"<[^>]+>", "", c).strip()
        for c in re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", found.group(1), re.S)
    ]


def test_the_page_needs_a_signed_in_user(hub):
    answer = hub.get("/ui/kpis", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/ui/login?next=%2Fui%2Fkpis"


def test_the_week_shows_the_figures_of_the_api_and_a_chart_per_six_hours(hub):
    sign_in(hub, "vic")
    html = kpi_page(hub)
    assert 'aria-current="page">KPIs' in html
    assert row(html, "order_to_ship_avg")[2] == "17.0 h"  # (10 + 24) / 2
    assert row(html, "fill_rate_units")[2:4] == ["75.0 %", "3 / 4"]  # 2 + 1 of 4 units
    assert row(html, "otif")[2] == "50.0 %"  # the second order went out short
    assert row(html, "exceptions.ownership_conflict")[2] == "1"
    orders = chart(html, "kpi-chart-0")
    assert len(orders["x"]) == 28  # 7 days of 6 hours
    assert orders["x"][1] - orders["x"][0] == 6 * 3600
    fill = next(s for s in orders["series"] if s["label"] == "fill rate units")
    assert sorted(v for v in fill["values"] if v is not None) == [50.0, 100.0]  # one order per bucket
    kinds = chart(html, "kpi-chart-exceptions")
    assert [s["label"] for s in kinds["series"]] == ["ownership conflict"]
    assert sum(kinds["series"][0]["values"]) == 1
    computed = re.search(r"Computed at ([^ ]+ [^ ]+) in", html)
    assert computed and computed.group(1) in kpi_page(hub)  # the same figures, kept for a minute


def test_a_shorter_window_and_a_grouping(hub):
    sign_in(hub, "vic")
    html = kpi_page(hub, window="24h", by="channel")
    assert '<option value="24h" selected>' in html
    assert row(html, "order_to_ship_avg", "shop")[2] == "24.0 h"  # only the order shipped 6 h ago
    assert len(chart(html, "kpi-chart-0")["x"]) == 24


def test_a_window_or_grouping_it_does_not_know_is_refused_with_a_page(hub):
    sign_in(hub, "vic")
    for params, word in (({"window": "2y"}, "window"), ({"by": "sku"}, "group by")):
        answer = hub.get("/ui/kpis", params=params)
        assert answer.status_code == 422
        assert word in answer.text and "choose one of" in answer.text
