"""Reconciliation runs on both stores: sources (file, HTTP pages, a database query), the run
history, corrections within and past their thresholds, approval, and an owner's snapshot."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fixtures.loopback_target import free_port
from logisync.config import parse_syncmap
from logisync.config.reconcile import ReconcileConfig
from logisync.domain.change import Change
from logisync.domain.kinds import Domain
from logisync.pipeline import Pipeline
from logisync.reconcile.errors import SnapshotError, SnapshotUnavailable
from logisync.reconcile.run import Reconciler
from logisync.reconcile.schedule import due, next_tick, run_schedule
from logisync.store import open_store
from logisync.store.reconcile_runs import list_runs

MAP = """\
systems:
  wms: {kind: wms}
  shop: {kind: marketplace}
owners:
  inventory.quantities: wms
routes:
  - {name: stock-to-shop, domain: inventory, to: shop}
"""


def syncmap(extra: str = ""):
    return parse_syncmap(MAP + extra, env={})


@pytest.fixture
def hub(store):
    """Ten positions of 10 units each (100 in all); the outbox emptied (nothing in flight)."""
    Pipeline(store, syncmap()).ingest(
        "wms",
        [
            Change(id=f"w{i}", domain=Domain.inventory, key=f"SKU-{i}@DC1", fields={"on_hand": 10})
            for i in range(10)
        ],
    )
    store._execute("DELETE FROM outbox")
    return store


def write_csv(path: Path, values: dict[int, int]) -> Path:
    path.write_text("key,on_hand\n" + "".join(f"SKU-{i}@DC1,{v}\n" for i, v in values.items()))
    return path


def config(tmp_path: Path, source: dict, **more) -> ReconcileConfig:
    return ReconcileConfig.model_validate(
        {
            "system": "shop",
            "domain": "inventory",
            "source": source,
            "reports": str(tmp_path / "reports"),
            **more,
        }
    )


def test_a_run_is_kept_in_the_history_with_its_figures_and_report(hub, tmp_path):
    snap = write_csv(tmp_path / "shop.csv", {i: (7 if i == 3 else 10) for i in range(10)})
    reconciler = Reconciler(hub, syncmap())
    first = reconciler.run(config(tmp_path, {"file": str(snap)}))
    write_csv(snap, {i: (7 if i in (3, 4) else 10) for i in range(10)})
    second = reconciler.run(config(tmp_path, {"file": str(snap)}))
    runs = list_runs(hub, name="shop-inventory")
    assert [r.id for r in runs] == [second.run_id, first.run_id]  # newest first: the drift
    assert [(r.variance_keys, r.units, r.state) for r in runs] == [(2, 6.0, "done"), (1, 3.0, "done")]
    assert runs[0].summary["by_kind"]["differs"] == 2
    assert Path(runs[0].report).is_file() and runs[0].source == str(snap)
    assert runs[0].snapshot_us == int(snap.stat().st_mtime * 1_000_000)


def test_a_failed_run_is_recorded_with_its_reason(hub, tmp_path):
    with pytest.raises(SnapshotError, match="no column 'on_hand'"):
        Reconciler(hub, syncmap()).run(
            config(tmp_path, {"file": str(_text(tmp_path / "s.csv", "key,qty\n"))})
        )
    [run] = list_runs(hub)
    assert run.state == "failed" and "no column 'on_hand'" in run.error


def _text(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


# -- corrections -----------------------------------------------------------------------------------


def test_auto_corrections_within_the_thresholds_go_out_on_the_route_naming_the_run(hub, tmp_path):
    snap = write_csv(tmp_path / "shop.csv", {i: (9 if i < 2 else 10) for i in range(10)})
    auto = {"mode": "auto", "max_keys": 2, "max_units_pct": 2}  # 2 keys, 2 units of 100: just within
    result = Reconciler(hub, syncmap()).run(config(tmp_path, {"file": str(snap)}, corrections=auto))
    assert result.corrections["held"] is False and result.corrections["pushed"] == 2
    rows = hub._query("SELECT key, state, origin FROM outbox ORDER BY key")
    assert rows == [
        ("SKU-0@DC1", "pending", f"reconcile run {result.run_id}"),
        ("SKU-1@DC1", "pending", f"reconcile run {result.run_id}"),
    ]
    assert list_runs(hub)[0].corrections["pushed"] == 2


@pytest.mark.parametrize(
    ("limits", "why"),
    [
        ({"max_keys": 1, "max_units_pct": 100}, "2 keys to correct, over the limit of 1"),
        (
            {"max_keys": 10, "max_units_pct": 1},
            "2 units to correct, 2.00% of the hub's, over the limit of 1%",
        ),
    ],
)
def test_past_either_threshold_nothing_is_pushed_and_an_exception_waits_for_approval(
    hub, tmp_path, limits, why
):
    snap = write_csv(tmp_path / "shop.csv", {i: (9 if i < 2 else 10) for i in range(10)})
    cfg = config(tmp_path, {"file": str(snap)}, corrections={"mode": "auto", **limits})
    reconciler = Reconciler(hub, syncmap())
    result = reconciler.run(cfg)
    assert result.corrections["held"] is True and result.corrections["reason"] == why
    assert hub._query("SELECT count(*) FROM outbox") == [(0,)]
    [exc] = hub.list_exceptions(kind="reconciliation_variance")
    assert exc.id == result.corrections["exception"] and exc.detail["run"] == result.run_id
    assert why in exc.reason
    # a person approves: the corrections go out, the exception is resolved
    done = reconciler.approve(cfg, result.run_id)
    assert done["pushed"] == 2 and done["approved"] is True
    assert hub.list_exceptions(kind="reconciliation_variance") == []
    assert {r[0] for r in hub._query("SELECT key FROM outbox")} == {"SKU-0@DC1", "SKU-1@DC1"}
    with pytest.raises(SnapshotError, match="no corrections waiting"):
        reconciler.approve(cfg, result.run_id)


def test_a_key_only_the_system_has_is_left_for_a_person(hub, tmp_path):
    snap = write_csv(tmp_path / "shop.csv", {**{i: 10 for i in range(10)}, 42: 5})
    cfg = config(
        tmp_path, {"file": str(snap)}, corrections={"mode": "auto", "max_keys": 5, "max_units_pct": 10}
    )
    result = Reconciler(hub, syncmap()).run(cfg)
    assert result.corrections["manual"] == ["SKU-42@DC1"] and result.corrections["pushed"] == 0


def test_a_count_from_the_owner_updates_the_golden_records_through_the_pipeline(hub, tmp_path):
    snap = write_csv(tmp_path / "wms.csv", {i: (6 if i == 5 else 10) for i in range(10)})
    cfg = ReconcileConfig.model_validate(
        {
            "system": "wms",
            "domain": "inventory",
            "source": {"file": str(snap)},
            "reports": str(tmp_path),
            "corrections": {"mode": "auto", "max_keys": 5, "max_units_pct": 5},
        }
    )
    result = Reconciler(hub, syncmap()).run(cfg)
    assert result.corrections["via"] == "pipeline" and result.corrections["outcomes"] == {"applied": 1}
    record = hub.get_record("inventory", "SKU-5@DC1")
    assert record.fields["on_hand"] == 6
    assert record.fields["variance"]["quantity"] == -4  # a count: its variance is kept for the KPIs
    entry = hub.get_change("wms", f"reconcile-{result.run_id}-SKU-5@DC1")
    assert entry.source == f"reconcile run {result.run_id}"


# -- sources -----------------------------------------------------------------------------------------


@pytest.fixture
def paged_server() -> Iterator[str]:
    """A snapshot served 4 rows a page: by `next` links at /linked, by page number at /numbered."""
    rows = [{"sku": f"SKU-{i}", "location": "DC1", "on_hand": 10 if i != 7 else 3} for i in range(10)]
    seen: list[str] = []

    async def linked(request: web.Request) -> web.Response:
        seen.append(request.headers.get("authorization", ""))
        start = int(request.query.get("from", 0))
        page = rows[start : start + 4]
        nxt = f"/linked?from={start + 4}" if start + 4 < len(rows) else None
        return web.json_response({"data": page, "links": {"next": nxt}})

    async def numbered(request: web.Request) -> web.Response:
        page = int(request.query["page"])
        return web.json_response(rows[(page - 1) * 4 : page * 4])

    async def busy(request: web.Request) -> web.Response:
        return web.json_response({"error": "try later"}, status=503)

    async def not_json(request: web.Request) -> web.Response:
        return web.Response(text="<html>", content_type="text/html")

    port = free_port()
    loop = asyncio.new_event_loop()
    app = web.Application()
    app.router.add_get("/busy", busy)
    app.router.add_get("/html", not_json)
    app.router.add_get("/linked", linked)
    app.router.add_get("/numbered", numbered)
    runner = web.AppRunner(app)
    started = threading.Event()

    def serve() -> None:
        asyncio.set_event_loop(loop)
        loop.run_until_complete(runner.setup())
        loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", port).start())
        started.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    started.wait(5)
    yield f"http://127.0.0.1:{port}"
    asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(5)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(5)
    loop.close()


@pytest.mark.parametrize(
    "http",
    [
        {"url": "/linked", "items": "data", "next": "links.next", "token_env": "SHOP_TOKEN"},
        {"url": "/numbered", "page_param": "page"},
    ],
)
def test_an_http_snapshot_is_read_page_by_page(hub, tmp_path, paged_server, http):
    source = {"http": {**http, "url": paged_server + http["url"], "allow_private_network": True}}
    events = []
    reconciler = Reconciler(
        hub, syncmap(), env={"SHOP_TOKEN": "t0ken"}, events=lambda s, n: events.append((s, n))
    )
    result = reconciler.run(config(tmp_path, source))
    assert result.summary.system_keys == 10 and result.summary.by_kind["differs"] == 1
    assert ("reading the snapshot", 10) in events  # the rows counted as pages arrive


def test_an_http_snapshot_on_a_private_address_is_refused_unless_allowed(hub, tmp_path, paged_server):
    with pytest.raises(SnapshotError, match="loopback address"):
        Reconciler(hub, syncmap()).run(
            config(tmp_path, {"http": {"url": paged_server + "/numbered", "page_param": "page"}})
        )


def test_an_http_snapshot_that_fails_says_whether_to_try_again(hub, tmp_path, paged_server):
    busy = config(tmp_path, {"http": {"url": paged_server + "/busy", "allow_private_network": True}})
    with pytest.raises(SnapshotUnavailable, match="answered 503; try again later") as caught:
        Reconciler(hub, syncmap()).run(busy)
    assert caught.value.transient
    html = config(tmp_path, {"http": {"url": paged_server + "/html", "allow_private_network": True}})
    with pytest.raises(SnapshotError, match="the answer is not JSON") as caught:
        Reconciler(hub, syncmap()).run(html)
    assert not caught.value.transient
    assert [r.state for r in list_runs(hub)] == ["failed", "failed"]


def test_a_snapshot_from_a_query_on_the_systems_database(hub, tmp_path):
    db = tmp_path / "shop.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE stock (item TEXT, site TEXT, qty INTEGER)")
        conn.executemany(
            "INSERT INTO stock VALUES (?, 'DC1', ?)", [(f"SKU-{i}", 10 - (i == 2)) for i in range(10)]
        )
    cfg = config(
        tmp_path,
        {"query": {"url_env": "SHOP_DB", "sql": "SELECT item AS sku, site AS location, qty FROM stock"}},
        columns={"on_hand": "qty"},
    )
    result = Reconciler(hub, syncmap(), env={"SHOP_DB": f"sqlite:///{db}"}).run(cfg)
    assert result.summary.by_kind["differs"] == 1 and result.summary.units == 1
    with pytest.raises(SnapshotError, match="SHOP_DB is not set"):
        Reconciler(hub, syncmap(), env={}).run(cfg)


# -- the schedule ---------------------------------------------------------------------------------------


def test_a_reconciliation_is_due_once_a_tick_has_passed_since_its_last_run():
    cfg = ReconcileConfig.model_validate(
        {"system": "shop", "domain": "inventory", "source": {"file": "x.csv"}, "schedule": "0 2 * * *"}
    )
    day = 86_400_000_000
    two_am = next_tick("0 2 * * *", 0)
    assert two_am == 2 * 3600 * 1_000_000
    assert not due(cfg, None, started_us=0, now=two_am - 1)  # never run: counted from the start
    assert due(cfg, None, started_us=0, now=two_am)
    assert not due(cfg, two_am, started_us=0, now=two_am + day - 1)
    assert due(cfg, two_am, started_us=0, now=two_am + day)


def test_serve_s_schedule_runs_a_due_reconciliation_and_keeps_it(hub, tmp_path):
    snap = write_csv(tmp_path / "shop.csv", {i: 10 for i in range(10)})
    extra = (
        f"reconcile:\n  - {{system: shop, domain: inventory, source: {{file: '{snap}'}}, "
        f"schedule: '0 2 * * *', reports: '{tmp_path}'}}\n"
    )
    calls = iter([0])  # the hub starts at midnight (epoch), then it is 03:00

    def clock() -> int:
        return next(calls, 3 * 3600 * 1_000_000)

    async def main() -> None:
        stop = asyncio.Event()
        await asyncio.wait_for(
            run_schedule(hub, syncmap(extra), stop, clock=clock, poll=0.01, on_done=stop.set), timeout=30
        )

    asyncio.run(main())
    [run] = list_runs(hub, name="shop-inventory")
    assert run.state == "done" and run.system_keys == 10


def x12_846(lines: list[tuple[str, int]]) -> str:
    """An 846 from a partner: one LIN loop per (sku, on hand), all at DC1 (N1*WH in the heading)."""
    body = ["BIA*00*SI*INV1*20261128", "N1*WH*Main*92*DC1"]
    for sku, qty in lines:
        body += [f"LIN**VN*{sku}", f"QTY*17*{qty}*EA"]
    body.append(f"CTT*{len(lines)}")
    segments = [
        "ISA*00*          *00*          *ZZ*ACMESUPPLY     *ZZ*LOGISYNCHUB    *261128*0930*U*00401*000000101*0*P*>",
        "GS*IB*ACMESUPPLY*LOGISYNCHUB*20261128*0930*101*X*004010",
        "ST*846*0001",
        *body,
        f"SE*{len(body) + 2}*0001",
        "GE*1*101",
        "IEA*1*000000101",
    ]
    return "~\n".join(segments) + "~\n"


def test_a_snapshot_from_an_x12_846(hub, tmp_path):
    path = tmp_path / "acme.x12"
    path.write_text(x12_846([(f"SKU-{i}", 10 if i != 4 else 6) for i in range(10)]))
    result = Reconciler(hub, syncmap()).run(config(tmp_path, {"file": str(path)}))
    assert result.summary.system_keys == 10 and result.summary.by_kind["differs"] == 1
    assert result.summary.units == 4
    broken = tmp_path / "broken.x12"
    broken.write_text(x12_846([("SKU-1", 10)]).replace("SE*", "SE*9"))
    with pytest.raises(SnapshotError, match=r"broken\.x12: segment"):
        Reconciler(hub, syncmap()).run(config(tmp_path, {"file": str(broken)}))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    seen=st.lists(st.integers(0, 30), min_size=10, max_size=10),
    extra=st.integers(0, 3),
    max_keys=st.integers(0, 12),
    max_pct=st.sampled_from([0.0, 1.0, 5.0, 20.0, 100.0]),
)
def test_end_to_end_a_run_never_pushes_past_its_thresholds(tmp_path_factory, seen, extra, max_keys, max_pct):
    """Through the whole run on a real store: whatever the snapshot says, the outbox rows a run adds
    are within max_keys keys and max_units_pct of the hub's units, or there are none."""
    folder = tmp_path_factory.mktemp("run")
    store = open_store(f"sqlite:///{folder / 'hub.db'}")
    try:
        Pipeline(store, syncmap()).ingest(
            "wms",
            [
                Change(id=f"w{i}", domain=Domain.inventory, key=f"SKU-{i}@DC1", fields={"on_hand": 10})
                for i in range(10)
            ],
        )
        store._execute("DELETE FROM outbox")
        values = {i: v for i, v in enumerate(seen)} | {100 + j: 1 for j in range(extra)}
        snap = write_csv(folder / "shop.csv", values)
        auto = {"mode": "auto", "max_keys": max_keys, "max_units_pct": max_pct}
        result = Reconciler(store, syncmap()).run(config(folder, {"file": str(snap)}, corrections=auto))
        pushed = [
            k
            for (k,) in store._query(
                "SELECT key FROM outbox WHERE origin = ?", [f"reconcile run {result.run_id}"]
            )
        ]
        units = sum(abs(seen[int(k.split("-")[1].split("@")[0])] - 10) for k in pushed)
        assert len(pushed) <= max_keys
        assert units <= max_pct / 100 * 100  # the hub holds 100 units
        differing = sum(1 for v in seen if v != 10) + extra
        if not pushed and differing:
            held = result.corrections["held"]
            manual_only = differing == extra  # only keys the hub has no record of: a person's
            assert held or manual_only
    finally:
        store.close()
