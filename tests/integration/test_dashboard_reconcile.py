"""The dashboard's Reconciliation pages on both stores: runs and drift, a run's differences a page at
a time, starting a run and approving held corrections (operators, with the CSRF token), audited."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from fixtures.api_live import InProcess, set_keys
from fixtures.dashboard import PASSWORD, sign_in, token_of
from logisync.api import create_app
from logisync.config import parse_syncmap
from logisync.domain.change import Change, now_us
from logisync.domain.kinds import Domain
from logisync.pipeline import Pipeline
from logisync.reconcile.run import Reconciler
from logisync.store import users as user_sql
from logisync.store.reconcile_runs import get_run, list_runs
from logisync.web import users

MAP = """\
systems:
  wms: {kind: wms}
  shop: {kind: marketplace}
owners:
  inventory.quantities: wms
routes:
  - {name: stock-to-shop, domain: inventory, to: shop}
reconcile:
  - system: shop
    domain: inventory
    source: {file: SNAPSHOT}
    reports: REPORTS
    corrections: {mode: auto, max_keys: 5}
  - {system: wms, domain: inventory}
"""
POSITIONS = 120


def write_snapshot(path: Path, off: int) -> None:
    """The shop's stock: every position at 10 units but the first `off`, at 13."""
    path.write_text(
        "key,on_hand\n" + "".join(f"SKU-{i:03d}@DC1,{13 if i < off else 10}\n" for i in range(POSITIONS))
    )


@pytest.fixture
def world(store, tmp_path, monkeypatch):
    set_keys(monkeypatch)
    snapshot = tmp_path / "shop.csv"
    syncmap = parse_syncmap(
        MAP.replace("SNAPSHOT", str(snapshot)).replace("REPORTS", str(tmp_path / "reports")), env={}
    )
    Pipeline(store, syncmap).ingest(
        "wms",
        [
            Change(id=f"w{i}", domain=Domain.inventory, key=f"SKU-{i:03d}@DC1", fields={"on_hand": 10})
            for i in range(POSITIONS)
        ],
    )
    store._execute("DELETE FROM outbox")  # delivered long ago: nothing in flight explains a difference
    config = syncmap.reconcile[0]
    for off in (2, 70):  # run 1: two differences, corrected at once; run 2: 70, past max_keys: held
        write_snapshot(snapshot, off)
        Reconciler(store, syncmap).run(config)
        store._execute("DELETE FROM outbox")  # run 1's corrections delivered: they explain nothing
    for name, role in (("vic", users.Role.viewer), ("otto", users.Role.operator)):
        users.add(store, name, role, PASSWORD, now_us(), "cli:test")
    return store, syncmap, snapshot


@pytest.fixture
def hub(world) -> Iterator[InProcess]:
    store, syncmap, _ = world
    with InProcess(create_app(syncmap, store)) as client:
        client.client.base_url = "http://127.0.0.1"
        yield client


def chart(html: str, ident: str) -> dict:
    found = re.search(rf'<script type="application/json" id="{ident}">(.*?)</script>', html, re.S)
    assert found, f"no chart {ident}"
    return json.loads(found.group(1))


def keys_listed(html: str) -> list[str]:
    return re.findall(r'<tr data-key="([^"]*)">', html)


def test_the_runs_their_drift_and_no_actions_for_a_viewer(hub):
    sign_in(hub, "vic")
    html = hub.get("/ui/reconcile").text
    assert re.findall(r'<tr data-run="(\d+)">', html) == ["2", "1"]
    assert "held for approval" in html and "pushed 2 keys via route stock-to-shop" in html
    keys = chart(html, "reconcile-keys")
    assert keys["series"] == [{"label": "shop-inventory", "values": [70]}]  # the latest run of the day
    kinds = chart(html, "reconcile-kinds")
    assert kinds["series"] == [{"label": "differs", "values": [70.0]}]
    assert "reconcile-start" not in html  # a viewer has no start form
    page = hub.get("/ui/reconcile/runs/2")
    assert page.status_code == 200
    assert "Approve" not in page.text


def test_a_runs_differences_a_page_at_a_time_by_kind(hub):
    sign_in(hub, "vic")
    first = hub.get("/ui/reconcile/runs/2").text
    assert re.search(r'data-kind="differs">.*?<td class="num">70</td>', first, re.S)
    listed = keys_listed(first)
    assert listed == [f"SKU-{i:03d}@DC1" for i in range(50)]
    after = re.search(r'after=(\d+)#variances" rel="next"', first)
    assert after, "no next page"
    second = hub.get(f"/ui/reconcile/runs/2?after={after.group(1)}").text
    assert keys_listed(second) == [f"SKU-{i:03d}@DC1" for i in range(50, 70)]
    assert 'rel="next"' not in second
    assert keys_listed(hub.get("/ui/reconcile/runs/2?kind=missing_in_hub").text) == []
    assert keys_listed(hub.get("/ui/reconcile/runs/2?kind=differs").text)[:1] == ["SKU-000@DC1"]
    bad = hub.get("/ui/reconcile/runs/2?kind=wrong")
    assert bad.status_code == 422 and "choose one of" in bad.text
    assert hub.get("/ui/reconcile/runs/99").status_code == 404
    for bad in (
        "/ui/reconcile/runs/2?after=-7",
        f"/ui/reconcile/runs/2?after={2**70}",
        f"/ui/reconcile?before={2**70}",
    ):
        answer = hub.get(bad)
        assert answer.status_code == 422 and "<h1>" in answer.text, (bad, answer.text)
    assert hub.get("/ui/reconcile/runs/2?after=x").status_code == 422


def test_a_report_that_is_gone_is_said_so_on_the_page(hub, world):
    store, _, _ = world
    run = get_run(store, 2)
    assert run is not None and run.report
    Path(run.report).unlink()
    sign_in(hub, "vic")
    page = hub.get("/ui/reconcile/runs/2")
    assert page.status_code == 200
    assert "is gone" in page.text and "run the reconciliation again" in page.text


def test_a_viewer_cannot_start_or_approve_and_an_operator_needs_the_token(hub):
    sign_in(hub, "vic")
    token = token_of(hub.get("/ui/reconcile").text)
    assert hub.post("/ui/reconcile/start", data={"name": "shop-inventory", "csrf": token}).status_code == 403
    assert hub.post("/ui/reconcile/runs/2/approve", data={"csrf": token}).status_code == 403
    sign_in(hub, "otto")
    assert hub.post("/ui/reconcile/start", data={"name": "shop-inventory"}).status_code == 403
    assert hub.post("/ui/reconcile/runs/2/approve", data={"csrf": "forged"}).status_code == 403


def test_an_operator_starts_a_run_and_approves_held_corrections_in_the_audit_log(hub, world):
    store, _, snapshot = world
    sign_in(hub, "otto")
    page = hub.get("/ui/reconcile").text
    assert 'id="reconcile-start"' in page
    assert '<option value="wms-inventory" disabled>' in page  # no source: the CLI with --file only
    token = token_of(page)
    write_snapshot(snapshot, 3)
    started = hub.post(
        "/ui/reconcile/start", data={"name": "shop-inventory", "csrf": token}, follow_redirects=False
    )
    assert started.status_code == 303
    assert started.headers["location"] == "/ui/reconcile?name=shop-inventory&started=1"
    deadline = time.monotonic() + 60
    while (runs := list_runs(store, limit=1))[0].id != 3 or runs[0].state == "running":
        assert time.monotonic() < deadline, "the run did not finish"
        time.sleep(0.1)
    assert runs[0].state == "done" and runs[0].variance_keys == 3
    assert re.search(r'<tr data-run="3">', hub.get("/ui/reconcile").text)
    # run 2 held its 70 corrections: the operator approves them from the run's page
    detail = hub.get("/ui/reconcile/runs/2").text
    assert 'id="approve"' in detail
    approved = hub.post("/ui/reconcile/runs/2/approve", data={"csrf": token}, follow_redirects=False)
    assert approved.status_code == 303, approved.text
    run = get_run(store, 2)
    assert run is not None and run.corrections is not None
    assert run.corrections["pushed"] == 70 and not run.corrections["held"]
    assert store.count_exceptions().get(("reconciliation_variance", "resolved")) == 1
    assert 'id="approve"' not in hub.get("/ui/reconcile/runs/2").text
    again = hub.post("/ui/reconcile/runs/2/approve", data={"csrf": token})
    assert again.status_code == 409 and "no corrections waiting" in again.text
    actions = [(a.actor, a.action, a.target) for a in user_sql.list_audit(store, limit=10)]
    assert ("user:otto", "reconcile_start", "shop-inventory") in actions
    assert ("user:otto", "reconcile_approve", "run 2") in actions


def test_starting_what_cannot_run_is_refused_with_a_reason(hub):
    sign_in(hub, "otto")
    token = token_of(hub.get("/ui/reconcile").text)
    no_source = hub.post("/ui/reconcile/start", data={"name": "wms-inventory", "csrf": token})
    assert no_source.status_code == 422 and "--file" in no_source.text
    unknown = hub.post("/ui/reconcile/start", data={"name": "nope", "csrf": token})
    assert unknown.status_code == 404 and "no reconciliation named" in unknown.text
