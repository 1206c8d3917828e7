"""`logisync serve --log-format json`: a real hub process, a real request, a real delivery; every
line of its stderr is JSON, the change id is on each step from the request to the delivery's
result, and no secret or configured sensitive value appears anywhere."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from fixtures.api_process import HubProcess
from fixtures.plain_target import Target

KEYS = {
    "LOG_WMS_KEY": "wms-key-NEVER-LOGGED-0001",
    "LOG_ADMIN_KEY": "admin-key-NEVER-LOGGED-0002",
    "LOG_METRICS_TOKEN": "metrics-token-NEVER-LOGGED-0003",
    "LOG_SHOP_SECRET": "whsec_c2hvcC1zaWduaW5nLXNlY3JldC1uZXZlci1sb2dnZWQ=",
}
EMAIL = "bob.private@example.com"
SYNCMAP = """\
store: sqlite:///{db}
api: {{admin: {{api_key_env: LOG_ADMIN_KEY}}, metrics: {{token_env: LOG_METRICS_TOKEN}}}}
logging: {{redact: [email]}}
systems:
  wms: {{kind: wms, auth: {{api_key_env: LOG_WMS_KEY}}}}
  shop:
    kind: marketplace
    url: {url}
    signing: {{secret_env: LOG_SHOP_SECRET}}
    transport: {{allow_private_network: true, timeout: 2s}}
owners:
  inventory.quantities: wms
routes:
  - {{name: stock-to-shop, domain: inventory, to: shop}}
"""


def wait_for(condition: Any, deadline: float = 30.0) -> None:
    end = time.monotonic() + deadline
    while not condition():
        assert time.monotonic() < end, "the condition never held"
        time.sleep(0.05)


@pytest.fixture
def run(tmp_path: Path) -> Any:
    """Start a hub with the JSON log at debug; returns (hub, target, log file)."""
    started: list[tuple[HubProcess, Target]] = []

    def start(level: str = "debug") -> tuple[HubProcess, Target, Path]:
        target = Target().__enter__()
        config = tmp_path / "hub.yaml"
        config.write_text(SYNCMAP.format(db=tmp_path / "hub.db", url=target.url))
        env = {**os.environ, **KEYS, "LOGISYNC_LOG_FORMAT": "json", "LOGISYNC_LOG_LEVEL": level}
        log = tmp_path / "hub.log"
        hub = HubProcess(config, env, log).start()
        started.append((hub, target))
        return hub, target, log

    yield start
    for hub, target in started:
        if hub.proc is not None and hub.proc.poll() is None:
            hub.kill()
        target.__exit__()


def lines_of(hub: HubProcess, log: Path) -> tuple[str, list[dict[str, Any]]]:
    hub.signal(signal.SIGTERM)
    assert hub.wait() == 0
    text = log.read_text()
    parsed = [
        json.loads(line) for line in text.splitlines() if line.strip() and not line.startswith("logisync ")
    ]
    return text, parsed


def test_the_change_id_is_on_every_step_and_no_secret_is_anywhere(run):
    hub, target, log = run()
    wms = {"Authorization": f"Bearer {KEYS['LOG_WMS_KEY']}", "X-Request-ID": "req-ok-1"}
    body = {
        "changes": [
            {"id": "c-ok", "domain": "inventory", "key": "SKU-1@DC1", "version": 1, "fields": {"on_hand": 4}},
            {
                "id": "c-pii",
                "domain": "inventory",
                "key": "SKU-2@DC1",
                "fields": {"on_hand": 1, "email": EMAIL},
            },
        ]
    }
    r = httpx.post(f"{hub.url}/v1/changes", json=body, headers=wms, timeout=10)
    assert r.status_code == 200, r.text
    assert r.headers["x-request-id"] == "req-ok-1"
    assert [o["outcome"] for o in r.json()["outcomes"]] == ["applied", "quarantined"]
    wait_for(lambda: target.calls == 1)
    metrics = {"Authorization": f"Bearer {KEYS['LOG_METRICS_TOKEN']}"}
    assert httpx.get(f"{hub.url}/metrics", headers=metrics, timeout=10).status_code == 200
    admin = {"Authorization": f"Bearer {KEYS['LOG_ADMIN_KEY']}"}
    assert httpx.get(f"{hub.url}/v1/exceptions", headers=admin, timeout=10).status_code == 200
    bad = httpx.get(f"{hub.url}/metrics", headers={"Authorization": f"Bearer {KEYS['LOG_SHOP_SECRET']}"})
    assert bad.status_code == 401
    time.sleep(0.3)  # the delivery's line is written after its result is settled
    text, lines = lines_of(hub, log)

    def one(msg: str, **match: Any) -> dict[str, Any]:
        found = [x for x in lines if x["msg"] == msg and all(x.get(k) == v for k, v in match.items())]
        assert len(found) == 1, (msg, match, lines)
        return found[0]

    request = one("request", handler="/v1/changes", method="POST", status=200)
    assert request["request_id"] == "req-ok-1"
    batch = one("batch committed", request_id="req-ok-1")
    assert batch["outcomes"] == {"applied": 1, "quarantined": 1}
    applied = one("change applied", change_id="c-ok")
    assert applied["request_id"] == "req-ok-1" and applied["batch_id"] == batch["batch_id"]
    queued = one("queued for delivery", change_id="c-ok")
    assert queued["route"] == "stock-to-shop" and queued["batch_id"] == batch["batch_id"]
    sending = one("sending", change_id="c-ok")
    delivered = one("delivered", change_id="c-ok")
    assert sending["delivery_id"] == delivered["delivery_id"] and delivered["route"] == "stock-to-shop"
    assert delivered["attempt"] == 1
    quarantined = one("change quarantined", change_id="c-pii")
    assert "[redacted]" in quarantined["reason"] and quarantined["request_id"] == "req-ok-1"
    for x in lines:
        assert {"ts", "level", "logger", "msg"} <= set(x)

    for secret in (*KEYS.values(), EMAIL, "Bearer "):
        assert secret not in text


def test_at_info_one_line_per_request_batch_and_delivery(run):
    hub, target, log = run("info")
    wms = {"Authorization": f"Bearer {KEYS['LOG_WMS_KEY']}"}
    body = {"changes": [{"id": "c1", "domain": "inventory", "key": "SKU-1@DC1", "fields": {"on_hand": 4}}]}
    r = httpx.post(f"{hub.url}/v1/changes", json=body, headers=wms, timeout=10)
    assert r.status_code == 200
    wait_for(lambda: target.calls == 1)
    time.sleep(0.3)
    _, lines = lines_of(hub, log)
    msgs = [x["msg"] for x in lines]
    assert msgs.count("batch committed") == 1 and msgs.count("delivered") == 1
    assert "change applied" not in msgs and "sending" not in msgs  # debug only
    request_id = next(x["request_id"] for x in lines if x["msg"] == "request")
    assert r.headers["x-request-id"] == request_id
    assert next(x for x in lines if x["msg"] == "batch committed")["request_id"] == request_id
    assert next(x for x in lines if x["msg"] == "delivered")["change_id"] == "c1"


def test_an_unknown_log_format_is_refused_with_the_option_named(tmp_path):
    import subprocess
    import sys

    config = tmp_path / "hub.yaml"
    config.write_text(SYNCMAP.format(db=tmp_path / "hub.db", url="http://127.0.0.1:9/hook"))
    out = subprocess.run(
        [sys.executable, "-m", "logisync", "serve", "--config", str(config), "--log-format", "xml"],
        capture_output=True,
        text=True,
        env={**os.environ, **KEYS},
        timeout=60,
    )
    assert out.returncode == 2
    assert "--log-format" in out.stderr and "'xml'" in out.stderr
