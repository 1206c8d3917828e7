"""`logisync serve` as a process, and the keys the app reads when it is created."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import httpx
import pytest

from fixtures.api_live import KEYS, WMS, InProcess, change, set_keys
from fixtures.api_process import HubProcess
from logisync.api import create_app
from logisync.errors import ConfigError
from logisync.store import open_store

SYNCMAP = """\
store: {store}
systems:
  wms: {{kind: wms, auth: {{api_key_env: TEST_SERVE_WMS_KEY}}}}
owners:
  inventory.quantities: wms
"""
KEY = "serve-wms-key"


def hub(tmp_path: Path, store_url: str) -> HubProcess:
    config = tmp_path / "hub.yaml"
    config.write_text(SYNCMAP.format(store=store_url))
    env = {**os.environ, "TEST_SERVE_WMS_KEY": KEY}
    return HubProcess(config, env, tmp_path / "serve.log")


def send(url: str, cid: str) -> httpx.Response:
    body = {"changes": [change(cid)]}
    return httpx.post(f"{url}/v1/changes", json=body, headers={"Authorization": f"Bearer {KEY}"}, timeout=10)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve_says_where_it_listens_and_stops_cleanly_on_a_signal(tmp_path, sig):
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    process = hub(tmp_path, url).start()
    try:
        assert process.line.startswith("logisync listening on http://127.0.0.1:")
        assert not process.url.endswith(":0")
        assert process.line.endswith(f"(store: {url})")
        assert send(process.url, "c1").status_code == 200
        process.signal(sig)
        assert process.wait() == 0, process.stderr()
    finally:
        process.kill()
    assert "logisync stopped" in process.stderr()
    assert "Traceback" not in process.stderr()
    store = open_store(url)
    try:
        assert store.get_record("inventory", "SKU-1@DC1").fields == {"on_hand": 1}
    finally:
        store.close()


def test_serve_on_postgresql_never_prints_the_password(tmp_path, pg_url):
    with_password = pg_url.replace("postgresql://postgres@", "postgresql://postgres:s3cret-pw@")
    assert with_password != pg_url
    process = hub(tmp_path, with_password).start()
    try:
        assert process.line.endswith(f"(store: {pg_url})")
        assert send(process.url, "pg-1").status_code == 200
        process.signal(signal.SIGTERM)
        assert process.wait() == 0, process.stderr()
    finally:
        process.kill()
    assert "s3cret-pw" not in process.line + process.stderr()


def test_two_callers_may_not_share_a_key(syncmap, sqlite_store, monkeypatch):
    set_keys(monkeypatch)
    monkeypatch.setenv("TEST_SHOP_KEY", os.environ["TEST_WMS_KEY"])
    with pytest.raises(
        ConfigError, match="TEST_SHOP_KEY: system 'shop' has the same API key as system 'wms'"
    ):
        create_app(syncmap, sqlite_store)


def test_keys_are_read_when_the_app_is_created(syncmap, sqlite_store, monkeypatch, caplog):
    set_keys(monkeypatch)
    monkeypatch.delenv("TEST_ERP_KEY")
    app = create_app(syncmap, sqlite_store)
    assert "system 'erp' cannot call the API: TEST_ERP_KEY is not set" in caplog.text
    monkeypatch.setenv("TEST_WMS_KEY", "changed-later")
    with InProcess(app) as client:
        response = client.post("/v1/changes", json={"changes": [change("k1")]}, headers=WMS)
        assert response.status_code == 200
        erp = client.post("/v1/changes", json={"changes": []}, headers={"X-API-Key": KEYS["TEST_ERP_KEY"]})
        assert erp.status_code == 401
    assert not any(key in caplog.text for key in KEYS.values())


def test_serve_runs_the_alert_rules(tmp_path):
    """`logisync serve` evaluates the sync map's alert rules in its lifespan: a quarantined change
    opens an exception, the rule fires, the mail arrives at a real SMTP server."""
    import time as clock

    from fixtures.alert_sinks import smtp_server

    url = f"sqlite:///{tmp_path / 'hub.db'}"
    with smtp_server() as (box, port):
        config = tmp_path / "hub.yaml"
        config.write_text(
            SYNCMAP.format(store=url)
            + f"""\
alerts:
  every: 1s
  channels:
    mail: {{email: {{host: 127.0.0.1, port: {port}, security: plain, from: hub@example.com, to: [ops@example.com]}}}}
  rules:
    - {{name: inbox, exceptions_open: {{over: 0}}, notify: [mail]}}
"""
        )
        process = HubProcess(
            config, {**os.environ, "TEST_SERVE_WMS_KEY": KEY}, tmp_path / "serve.log"
        ).start()
        try:
            bad = {"changes": [change("bad-1", on_hand=-1)]}
            answer = httpx.post(
                f"{process.url}/v1/changes", json=bad, headers={"Authorization": f"Bearer {KEY}"}, timeout=10
            )
            assert answer.status_code == 200
            deadline = clock.monotonic() + 60
            while not box.messages and clock.monotonic() < deadline:
                clock.sleep(0.1)
            process.signal(signal.SIGTERM)
            assert process.wait() == 0, process.stderr()
        finally:
            process.kill()
    [mail] = box.messages
    assert mail["Subject"] == "[logisync] FIRING warning: inbox · *"
    assert "Traceback" not in process.stderr()
