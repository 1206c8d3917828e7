"""`/metrics` and `/readyz` on a real hub: uvicorn on loopback, a real target system over HTTP, the
scrape parsed with prometheus_client's own parser; readiness broken for real (store closed,
worker stopped, dispatcher not running, a migration missing)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from fixtures.api_live import ADMIN, KEYS, WMS, InProcess, LiveServer, change
from fixtures.plain_target import Target
from logisync.api.app import create_app
from logisync.config import parse_syncmap
from logisync.monitor.metrics import StoreGauges
from logisync.store import open_store

TOKEN = "metrics-token-0123456789"
ENV = {**KEYS, "TEST_METRICS_TOKEN": TOKEN}
SCRAPER = {"Authorization": f"Bearer {TOKEN}"}


def hub_yaml(url: str, token: bool = True, admin: bool = True, cache: str = "0s") -> str:
    metrics = f"metrics: {{cache: {cache}{', token_env: TEST_METRICS_TOKEN' if token else ''}}}"
    admin_line = "admin: {api_key_env: TEST_ADMIN_KEY}, " if admin else ""
    return f"""\
api: {{{admin_line}{metrics}}}
systems:
  wms:  {{kind: wms, auth: {{api_key_env: TEST_WMS_KEY}}}}
  shop:
    kind: marketplace
    url: {url}
    transport: {{allow_private_network: true, timeout: 2s, retry: {{attempts: 3, schedule: [0, 0, 0], jitter: 0}}}}
owners:
  inventory.quantities: wms
routes:
  - {{name: stock-to-shop, domain: inventory, to: shop, sla: 60s}}
"""


def scrape(
    url: str, headers: dict[str, str] = SCRAPER
) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of a scrape: (name, sorted labels) -> value."""
    r = httpx.get(f"{url}/metrics", headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(r.text)
        for s in family.samples
    }


def sample(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def wait_for(condition: Any, deadline: float = 20.0) -> None:
    end = time.monotonic() + deadline
    while not condition():
        assert time.monotonic() < end, "the condition never held"
        time.sleep(0.05)


@pytest.fixture
def target() -> Iterator[Target]:
    with Target() as t:
        yield t


def test_a_scrape_after_real_traffic_counts_outcomes_deliveries_lag_and_requests(sqlite_store, target):
    hub = parse_syncmap(hub_yaml(target.url), env=ENV)
    app = create_app(hub, sqlite_store, env=ENV, deliver=True)
    with LiveServer(app) as live:
        post = lambda changes: httpx.post(f"{live.url}/v1/changes", json={"changes": changes}, headers=WMS)  # noqa: E731
        assert post([change("c1", "SKU-1@DC1", 2), change("c2", "SKU-2@DC1", 1)]).status_code == 200
        # a repeated id and an older version of SKU-1
        assert post([change("c1", "SKU-1@DC1", 2), change("c3", "SKU-1@DC1", 1)]).status_code == 200
        wait_for(lambda: target.calls == 2)
        assert httpx.get(f"{live.url}/v1/records/inventory/SKU-1@DC1", headers=ADMIN).status_code == 200
        wait_for(
            lambda: (
                sample(
                    scrape(live.url), "logisync_deliveries_total", route="stock-to-shop", result="delivered"
                )
                == 2
            )
        )
        first = scrape(live.url)

        target.answers = [503]  # one failure, retried at once, then delivered
        assert post([change("c4", "SKU-3@DC1", 1)]).status_code == 200
        wait_for(lambda: target.calls == 4)
        wait_for(
            lambda: (
                sample(
                    scrape(live.url), "logisync_deliveries_total", route="stock-to-shop", result="delivered"
                )
                == 3
            )
        )
        target.answers = [400]  # refused for good: dead, an exception opens
        assert post([change("c5", "SKU-4@DC1", 1)]).status_code == 200
        wait_for(
            lambda: (
                sample(scrape(live.url), "logisync_deliveries_total", route="stock-to-shop", result="dead")
                == 1
            )
        )
        last = scrape(live.url)

    changes = {
        outcome: sample(first, "logisync_changes_total", system="wms", domain="inventory", outcome=outcome)
        for outcome in ("applied", "duplicate", "stale", "rejected")
    }
    assert changes == {"applied": 2, "duplicate": 1, "stale": 1, "rejected": 0}
    assert sample(first, "logisync_breaker_state", target="shop") == 0
    assert sample(first, "logisync_store_up") == 1
    assert sample(first, "logisync_route_sla_seconds", route="stock-to-shop") == 60
    assert sample(first, "logisync_route_sla_breached", route="stock-to-shop") == 0
    assert ("logisync_route_lag_seconds", (("route", "stock-to-shop"),)) in first
    assert sample(first, "logisync_outbox_rows", route="stock-to-shop", state="pending") == 0
    assert sample(first, "logisync_ingest_queue_batches") == 0
    posts = dict(method="POST", handler="/v1/changes", status="200")
    assert sample(first, "logisync_http_request_duration_seconds_count", **posts) == 2
    record = dict(method="GET", handler="/v1/records/{domain}/{key}", status="200")
    assert sample(first, "logisync_http_request_duration_seconds_count", **record) == 1
    assert not any("SKU-1" in value for _, labels in first for _, value in labels)  # templates, not paths

    assert sample(last, "logisync_changes_total", system="wms", domain="inventory", outcome="applied") == 4
    assert sample(last, "logisync_deliveries_total", route="stock-to-shop", result="retried") == 1
    assert sample(last, "logisync_deliveries_total", route="stock-to-shop", result="dead") == 1
    assert sample(last, "logisync_outbox_rows", route="stock-to-shop", state="dead") == 1
    assert sample(last, "logisync_exceptions_open", kind="dead_delivery") == 1
    assert sample(last, "logisync_delivery_calls_total", route="stock-to-shop") == 5
    assert sample(last, "logisync_http_request_duration_seconds_count", **posts) == 4
    # each delivered row once (not the retried attempt, not the dead row), in cumulative buckets
    latency = "logisync_delivery_latency_seconds"
    assert sample(last, f"{latency}_count", route="stock-to-shop") == 3
    assert sample(last, f"{latency}_bucket", route="stock-to-shop", le="+Inf") == 3
    buckets = sorted(
        (float(dict(labels)["le"]), value)
        for (name, labels), value in last.items()
        if name == f"{latency}_bucket" and dict(labels)["route"] == "stock-to-shop"
    )
    assert [v for _, v in buckets] == sorted(v for _, v in buckets) and len(buckets) > 5
    assert sample(last, f"{latency}_sum", route="stock-to-shop") > 0


def test_metrics_need_the_metrics_token_or_the_admin_key(sqlite_store, target):
    hub = parse_syncmap(hub_yaml(target.url), env=ENV)
    with InProcess(create_app(hub, sqlite_store, env=ENV)) as api:
        assert api.get("/metrics", headers=SCRAPER).status_code == 200
        assert api.get("/metrics", headers=ADMIN).status_code == 200
        for headers in ({}, WMS, {"Authorization": "Bearer wrong"}, {"Authorization": f"Basic {TOKEN}"}):
            r = api.get("/metrics", headers=headers)
            assert r.status_code == 401
            assert r.json()["error"]["code"] == "unauthorized"
            assert "api.metrics.token_env" in r.json()["error"]["message"]


def test_without_a_token_or_admin_key_configured_every_scrape_is_refused(sqlite_store, target):
    hub = parse_syncmap(hub_yaml(target.url, token=False, admin=False), env=ENV)
    with InProcess(create_app(hub, sqlite_store, env=ENV)) as api:
        for headers in ({}, SCRAPER, ADMIN, WMS):
            assert api.get("/metrics", headers=headers).status_code == 401


def test_two_hubs_in_one_process_count_apart(tmp_path, target):
    hub = parse_syncmap(hub_yaml(target.url), env=ENV)
    stores = [open_store(f"sqlite:///{tmp_path}/{n}.db") for n in ("a", "b")]
    try:
        with (
            InProcess(create_app(hub, stores[0], env=ENV)) as a,
            InProcess(create_app(hub, stores[1], env=ENV)) as b,
        ):
            assert a.post("/v1/changes", json={"changes": [change("c1")]}, headers=WMS).status_code == 200
            texts = [api.get("/metrics", headers=SCRAPER).text for api in (a, b)]
    finally:
        for s in stores:
            s.close()
    applied = 'logisync_changes_total{domain="inventory",outcome="applied",system="wms"} 1.0'
    assert applied in texts[0]
    assert "logisync_changes_total{" not in texts[1]


def test_store_gauges_are_read_once_per_cache_period(sqlite_store, target):
    hub = parse_syncmap(hub_yaml(target.url, cache="30s"), env=ENV)
    now = [1_800_000_000.0]
    gauges = StoreGauges(hub, sqlite_store, hub.api.metrics.cache, clock=lambda: now[0])
    with InProcess(create_app(hub, sqlite_store, env=ENV)) as api:
        before = gauges.snapshot()
        assert api.post("/v1/changes", json={"changes": [change("c1")]}, headers=WMS).status_code == 200
        now[0] += 29
        assert gauges.snapshot() is before  # within the period: no store read
        assert before.outbox.get(("stock-to-shop", "pending"), 0) == 0
        now[0] += 2
        after = gauges.snapshot()
    assert after is not before
    assert after.outbox[("stock-to-shop", "pending")] == 1


def test_a_closed_store_makes_the_scrape_say_so_not_fail(tmp_path, target):
    hub = parse_syncmap(hub_yaml(target.url), env=ENV)
    store = open_store(f"sqlite:///{tmp_path}/hub.db")
    with InProcess(create_app(hub, store, env=ENV)) as api:
        store.close()
        r = api.get("/metrics", headers=SCRAPER)
    assert r.status_code == 200
    assert "logisync_store_up 0.0" in r.text
    assert "logisync_route_lag_seconds" not in r.text


# -- readiness --------------------------------------------------------------------------------------


def test_ready_when_everything_runs(sqlite_store, target):
    hub = parse_syncmap(hub_yaml(target.url), env=ENV)
    with InProcess(create_app(hub, sqlite_store, env=ENV, deliver=True)) as api:
        r = api.get("/readyz")
    assert r.status_code == 200
    assert r.json() == {"status": "ready", "checks": {"store": "ok", "ingest": "ok", "delivery": "ok"}}


def test_not_ready_when_the_store_is_closed(tmp_path, target):
    hub = parse_syncmap(hub_yaml(target.url), env=ENV)
    store = open_store(f"sqlite:///{tmp_path}/hub.db")
    with InProcess(create_app(hub, store, env=ENV)) as api:
        assert api.get("/readyz").status_code == 200
        store.close()
        r = api.get("/readyz")
        assert api.get("/healthz").status_code == 200  # alive, not ready
    assert r.status_code == 503
    body = r.json()
    assert body["status"] == "not_ready"
    assert body["checks"]["ingest"] == "ok"
    assert body["checks"]["store"].startswith("the store does not answer")
    assert body["reasons"] == [f"store: {body['checks']['store']}"]


def test_not_ready_while_a_migration_is_missing(tmp_path, target):
    hub = parse_syncmap(hub_yaml(target.url), env=ENV)
    store = open_store(f"sqlite:///{tmp_path}/hub.db")
    try:
        last = max(int(r[0]) for r in store.conn.execute("SELECT version FROM schema_migrations"))
        store.conn.execute("DELETE FROM schema_migrations WHERE version = ?", (last,))
        with InProcess(create_app(hub, store, env=ENV)) as api:
            r = api.get("/readyz")
    finally:
        store.close()
    assert r.status_code == 503
    assert r.json()["checks"]["store"].startswith(f"migrations not applied: {last:04d}_")


def test_not_ready_on_a_store_newer_than_the_code(tmp_path, target):
    hub = parse_syncmap(hub_yaml(target.url), env=ENV)
    store = open_store(f"sqlite:///{tmp_path}/hub.db")
    try:
        store.conn.execute("INSERT INTO schema_migrations VALUES (9999, 'from_the_future', 0)")
        with InProcess(create_app(hub, store, env=ENV)) as api:
            r = api.get("/readyz")
    finally:
        store.close()
    assert r.status_code == 503
    assert "newer than this logisync knows" in r.json()["checks"]["store"]


def test_not_ready_when_the_ingest_worker_is_stopped(sqlite_store, target):
    hub = parse_syncmap(hub_yaml(target.url), env=ENV)
    app = create_app(hub, sqlite_store, env=ENV)
    with InProcess(app) as api:
        app.state.ingestor.close()
        r = api.get("/readyz")
    assert r.status_code == 503
    assert r.json()["reasons"] == ["ingest: the ingest worker is stopped"]


def test_not_ready_when_the_dispatcher_does_not_run(sqlite_store, target):
    """A delivering hub whose lifespan never started its dispatcher (and whose worker is gone)."""
    hub = parse_syncmap(hub_yaml(target.url), env=ENV)
    app = create_app(hub, sqlite_store, env=ENV, deliver=True)
    with InProcess(app) as api:
        assert api.get("/readyz").status_code == 200
    # the lifespan is over: the dispatcher stopped and the ingest worker closed; ask without it
    r = _sync_get(app, "/readyz")
    assert r.status_code == 503
    assert r.json()["checks"]["delivery"] == "the dispatcher is not running"
    assert r.json()["checks"]["ingest"] == "the ingest worker is stopped"


def _sync_get(app: Any, path: str) -> httpx.Response:
    import asyncio

    async def get() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://hub") as c:
            return await c.get(path)

    return asyncio.run(get())
