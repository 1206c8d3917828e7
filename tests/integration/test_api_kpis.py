"""`GET /v1/kpis` on both stores: a window, a time series, admin only, bad queries answered 422."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx

from fixtures.api_live import ADMIN, WMS, LiveServer, set_keys, with_admin
from logisync.api.app import create_app
from logisync.domain.change import Change
from logisync.domain.kinds import Domain
from logisync.pipeline import Pipeline


def test_kpis_over_a_window_and_as_a_daily_series(store, syncmap, monkeypatch):
    set_keys(monkeypatch)
    now = datetime.now(UTC)
    pipeline = Pipeline(store, syncmap)  # the shop owns the lines, the WMS the fulfilment
    for i, (placed_h, ship_h) in enumerate(((-50, -40), (-30, -6))):  # 10 h and 24 h to ship
        sold = {
            "channel": "shop",
            "placed_at": (now + timedelta(hours=placed_h)).isoformat(),
            "lines": [{"line_no": 1, "sku": "SKU-1", "quantity": 2, "shipped": 2}],
        }
        sent = {"status": "shipped", "shipped_at": (now + timedelta(hours=ship_h)).isoformat()}
        [a] = pipeline.ingest("shop", [Change(id=f"o{i}", domain=Domain.order, key=f"SO-{i}", fields=sold)])
        [b] = pipeline.ingest("wms", [Change(id=f"f{i}", domain=Domain.order, key=f"SO-{i}", fields=sent)])
        assert (a.outcome.value, b.outcome.value) == ("applied", "applied"), (a.reason, b.reason)
    app = create_app(with_admin(syncmap), store)
    with LiveServer(app) as live, httpx.Client(base_url=live.url, timeout=30) as client:
        assert client.get("/v1/kpis", headers=WMS).status_code == 403
        body = client.get("/v1/kpis", params={"since": "3d"}, headers=ADMIN).json()
        got = {(k["kpi"], k["group"]): k for k in body["kpis"]}
        assert got[("order_to_ship_avg", "all")]["value"] == 17.0  # (10 + 24) / 2 hours
        assert got[("otif", "all")]["value"] == 1.0
        assert got[("fill_rate_units", "all")]["numerator"] == 4
        daily = client.get(
            "/v1/kpis", params={"since": "3d", "bucket": "1d", "by": "channel"}, headers=ADMIN
        ).json()
        assert len(daily["series"]) == 3
        shipped = [[k for k in b["kpis"] if k["kpi"] == "order_accuracy"] for b in daily["series"]]
        assert [len(s) for s in shipped] == [0, 1, 1]  # 40 h ago, then 6 h ago
        assert shipped[1][0]["group"] == "shop"
        for bad in (
            {"since": "yesterday"},
            {"by": "sku"},
            {"bucket": "1s", "since": "30d"},
            {"since": "1d", "until": "2d"},
        ):
            answer = client.get("/v1/kpis", params=bad, headers=ADMIN)
            assert answer.status_code == 422, (bad, answer.text)
            assert answer.json()["error"]["message"]
        schema = client.get("/openapi.json").json()
        assert "fill_rate_units" in schema["paths"]["/v1/kpis"]["get"]["description"]


def test_reconciliation_runs_newest_first_admin_only(store, syncmap, monkeypatch, tmp_path):
    from logisync.config.reconcile import ReconcileConfig
    from logisync.reconcile.run import Reconciler

    set_keys(monkeypatch)
    Pipeline(store, syncmap).ingest(
        "wms", [Change(id="w1", domain=Domain.inventory, key="SKU-1@DC1", fields={"on_hand": 5})]
    )
    snap = tmp_path / "shop.csv"
    cfg = ReconcileConfig.model_validate(
        {"system": "shop", "domain": "inventory", "source": {"file": str(snap)}, "reports": str(tmp_path)}
    )
    for qty in (5, 3):
        snap.write_text(f"key,on_hand\nSKU-1@DC1,{qty}\n")
        Reconciler(store, syncmap).run(cfg)
    app = create_app(with_admin(syncmap), store)
    with LiveServer(app) as live, httpx.Client(base_url=live.url, timeout=30) as client:
        assert client.get("/v1/reconcile/runs", headers=WMS).status_code == 403
        runs = client.get("/v1/reconcile/runs", params={"name": "shop-inventory"}, headers=ADMIN).json()[
            "runs"
        ]
    assert [r["id"] for r in runs] == [2, 1]
    # run 1 found no difference; run 2's (5 against 3) is explained by the pending delivery to the shop
    assert [(r["explained_keys"], r["variance_keys"], r["units"]) for r in runs] == [(1, 0, 0.0), (0, 0, 0.0)]
    assert all(r["state"] == "done" for r in runs)
