"""The `logisync` command, run for real: check, ingest, explain, history, status."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from logisync.cli import app
from logisync.errors import StoreBusy

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "logisync.yaml"
SYNCMAPS = ROOT / "tests" / "fixtures" / "syncmaps"
HUB = SYNCMAPS / "hub.yaml"
MIXED = ROOT / "tests" / "fixtures" / "ndjson" / "mixed.ndjson"
WIDE = {"COLUMNS": "250"}


def run(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(app, [str(a) for a in args], env={**WIDE, **(env or {})})


def ingest(url: str, path: Path = MIXED, *more: str, system: str = "wms"):
    return run("ingest", path, "--system", system, "--config", HUB, "--store", url, *more)


# -- check ------------------------------------------------------------------------------------------


def test_check_the_example_shows_systems_owners_and_routes():
    result = run("check", EXAMPLE, env={"WMS_API_KEY": "s3cret-wms-key", "ERP_API_KEY": ""})
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "examples/logisync.yaml: 6 systems, 11 owner rules, 8 routes" in out
    assert "WMS_API_KEY (set)" in out
    assert "ERP_API_KEY (not set)" in out
    assert "webhooks in (standard-webhooks): WMS_WEBHOOK_SECRET" in out
    assert "s3cret-wms-key" not in out
    rows = {line.split("│")[1].strip(): line for line in out.splitlines() if line.startswith("│ ")}
    assert "pricing [propose]" in rows["product"]
    assert "all other fields [reject]" in rows["product"]
    assert "quantities (not inbound) [reject]" in rows["inventory"]
    assert "inbound [reject]" in rows["inventory"]
    assert "fulfillment [reject]" in rows["order"] and "lines [reject]" in rows["order"]
    assert "status [propose]" in rows["shipment"]
    assert (
        rows["inventory"].rstrip(" │").endswith("uom")
    )  # nobody owns it (the hub's own fields are not listed)
    assert "shadow" in rows["stock-to-web"] and "sku: SKU-1; location: DC1" in rows["stock-to-web"]
    assert "0 */4 * * *" in rows["stock-to-acme"] and "x12-846" in rows["stock-to-acme"]
    assert "realtime" in rows["stock-to-shop"] and '{"atp":{"safety_stock":2}}' in rows["stock-to-shop"]
    assert "inventory, order, return, shipment *" in rows["wms"]  # default write scopes
    # the quality rules, as set in the example
    assert "auto_create" in rows["unknown_sku"] and "created as a draft product" in rows["unknown_sku"]
    assert "auto_create" in rows["unknown_location"]
    assert "convert" in rows["units"] and "base unit" in rows["units"]
    assert "always: GTIN-8/12/13/14 check digits" in out


def test_check_shows_each_systems_own_ids_and_the_quality_settings(tmp_path):
    path = tmp_path / "hub.yaml"
    path.write_text(
        "systems:\n"
        "  wms:  {kind: wms}\n"
        "  shop: {kind: marketplace, xref: {sku: listing_id}}\n"
        "  acme: {kind: edi_partner, writes: [return], xref: {sku: item_number, location: site}}\n"
        "owners: {inventory: wms, order.lines: shop}\n"
        "quality: {unknown_sku: quarantine}\n"
    )
    result = run("check", path)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    rows = {line.split("│")[1].strip(): line for line in lines if line.startswith("│ ")}
    assert rows["shop"].rstrip(" │").endswith("sku: listing_id")
    assert rows["acme"].rstrip(" │").endswith("sku: item_number")
    after_acme = lines[lines.index(rows["acme"]) + 1]
    assert after_acme.rstrip(" │").endswith("location: site")
    assert rows["wms"].rstrip(" │").endswith("—")
    assert "quarantine" in rows["unknown_sku"] and "quarantined (unknown_sku)" in rows["unknown_sku"]
    assert "accept" in rows["unknown_location"] and "accept" in rows["units"]


def test_check_takes_the_map_from_config_too():
    result = run("check", "--config", HUB)
    assert result.exit_code == 0, result.output
    assert "3 systems, 5 owner rules, 2 routes" in result.stdout


@pytest.mark.parametrize(
    ("name", "problems"),
    [
        (
            "unknown_owner_system",
            [":6: owners.inventory.quantities: unknown system 'warehouse' (known: erp, wms)"],
        ),
        (
            "duplicate_route",
            [":10: routes[1].name: duplicate route name 'stock-to-shop' (first at routes[0])"],
        ),
        (
            "unknown_owner_field",
            [
                ":6: owners.order.picking: owner of 'order.picking': order has no field or field group "
                "'picking' (known: cancel_requested, channel, currency, customer, delivered_at, fulfillment, "
                "lines, placed_at, ship_to, shipments, shipped_at, status, warehouse)"
            ],
        ),
        ("bad_yaml", [":5: not valid YAML: mapping values are not allowed here"]),
        (
            "bad_cron",
            [":8: routes[0].cadence: cadence 'every four hours' is neither 'realtime' nor a cron expression"],
        ),
    ],
)
def test_check_a_broken_map_names_file_line_and_problem(name, problems):
    path = SYNCMAPS / f"{name}.yaml"
    result = run("check", path)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [f"{path}{p}" for p in problems]


def test_check_reports_every_problem(tmp_path):
    path = tmp_path / "two.yaml"
    path.write_text(
        "systems:\n  wms: {kind: wms}\nowners:\n  product: erp\nroutes:\n  - {name: a, domain: order, to: shop}\n"
    )
    result = run("check", path)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"{path}:4: owners.product: unknown system 'erp' (known: wms)",
        f"{path}:6: routes[0].to: unknown system 'shop' (known: wms)",
    ]


@pytest.mark.parametrize(
    "url",
    ["postgresql://hub:s3cret-pw@db.example/hub", "postgresql://hub@db.example/hub?password=s3cret-pw"],
)
def test_check_never_prints_the_store_password(tmp_path, url):
    path = tmp_path / "hub.yaml"
    path.write_text(HUB.read_text().replace("store: sqlite:///hub.db", f"store: {url}"))
    result = run("check", path)
    assert result.exit_code == 0, result.output
    assert "store postgresql://hub@db.example/hub · API on" in result.stdout
    assert "s3cret-pw" not in result.output


def test_a_refused_store_url_is_quoted_without_its_password():
    result = run("status", "--store", "mysql://hub:s3cret-pw@db.example/hub")
    assert result.exit_code == 2
    assert "unknown store URL 'mysql://hub@db.example/hub'" in result.stderr
    assert "s3cret-pw" not in result.output


def test_check_without_a_file(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("check")
    assert result.exit_code == 2
    assert result.stderr.startswith("logisync.yaml: cannot read the sync map")


def test_check_in_a_real_process():
    env = {**os.environ, **WIDE}
    ok = subprocess.run(
        [sys.executable, "-m", "logisync", "check", str(EXAMPLE)], capture_output=True, text=True, env=env
    )
    assert ok.returncode == 0, ok.stderr
    assert "ownership (most specific rule wins)" in ok.stdout
    assert "pricing [propose]" in ok.stdout
    bad = SYNCMAPS / "duplicate_route.yaml"
    broken = subprocess.run(
        [sys.executable, "-m", "logisync", "check", str(bad)], capture_output=True, text=True, env=env
    )
    assert broken.returncode == 2
    assert (
        broken.stderr
        == f"{bad}:10: routes[1].name: duplicate route name 'stock-to-shop' (first at routes[0])\n"
    )
    assert "Traceback" not in broken.stderr


# -- ingest -----------------------------------------------------------------------------------------


def summary(stdout: str) -> dict[str, int]:
    counts = {}
    for line in stdout.splitlines():
        cells = [c.strip() for c in line.split("│")[1:-1]]
        if len(cells) == 2 and cells[1].isdigit():
            counts[cells[0]] = int(cells[1])
    return counts


def test_ingest_counts_every_line_and_applies_the_good_ones(store):
    result = ingest(store.url, MIXED, "--batch", "3")
    assert result.exit_code == 1, result.output  # some lines were malformed
    assert summary(result.stdout) == {
        "applied": 4,
        "duplicate": 1,
        "stale": 1,
        "rejected": 2,
        "quarantined": 1,
        "insufficient_stock": 0,
        "malformed": 4,
        "lines read": 13,
    }
    assert "1 blank lines skipped" in result.stdout
    err = result.stderr.splitlines()
    assert (
        f"{MIXED}:6: quarantined: field on_hand: Input should be greater than or equal to 0 (got -4)" in err
    )
    assert any(line.startswith(f"{MIXED}:7: rejected: ownership: 'wms' does not own lines") for line in err)
    assert (
        f"{MIXED}:8: rejected: system 'wms' may not write product (its write scopes: inventory, order)" in err
    )
    assert any(line.startswith(f"{MIXED}:9: not valid JSON: ") for line in err)
    assert f"{MIXED}:10: expected a JSON object (one change), got an array" in err
    assert f"{MIXED}:11: not a change: missing id" in err
    assert any(
        line.startswith(f"{MIXED}:12: not a change: domain: Input should be 'product'") for line in err
    )

    assert store.get_record("inventory", "SKU-1@DC1").fields == {"on_hand": 12}
    assert store.get_record("inventory", "SKU-2@DC1").fields == {"on_hand": 7, "allocated": 2}
    assert store.get_record("inventory", "SKU-4@DC2").fields == {"on_hand": 3}
    assert store.get_record("inventory", "SKU-3@DC1") is None
    assert store.get_record("order", "SO-1") is None
    sources = {e.change_id: e.source for e in store.record_log("inventory", "SKU-1@DC1")}
    assert sources == {"m1": f"{MIXED}:1-3", "m3": f"{MIXED}:1-3", "m4": f"{MIXED}:4-6"}
    kinds = sorted(e.kind for e in store.list_exceptions())
    assert kinds == ["ownership_conflict", "scope", "validation"]


def test_ingest_again_is_all_duplicates(sqlite_store, tmp_path):
    first = ingest(sqlite_store.url)
    same = ingest(sqlite_store.url)  # the same bytes: known by their hash, not read again
    assert (first.exit_code, same.exit_code) == (1, 0)
    assert "already received from wms as mixed.ndjson" in same.stdout
    copy = tmp_path / "mixed-again.ndjson"
    copy.write_bytes(MIXED.read_bytes() + b"\n")  # other bytes, the same changes: read, all duplicates
    again = ingest(sqlite_store.url, copy)
    assert again.exit_code == 1
    counts = summary(again.stdout)
    assert counts["duplicate"] == 9 and counts["malformed"] == 4 and counts["applied"] == 0
    assert sqlite_store.get_record("inventory", "SKU-1@DC1").fields == {"on_hand": 12}


def test_ingest_of_good_lines_exits_zero(sqlite_store):
    result = ingest(sqlite_store.url, ROOT / "examples" / "changes.ndjson")
    assert result.exit_code == 0, result.output
    assert summary(result.stdout) == {
        "applied": 4,
        "duplicate": 1,
        "stale": 1,
        "rejected": 0,
        "quarantined": 0,
        "insufficient_stock": 0,
        "malformed": 0,
        "lines read": 6,
    }


def test_ingest_shows_twenty_bad_lines_then_a_count(sqlite_store, tmp_path):
    path = tmp_path / "bad.ndjson"
    good = '{"id": "g1", "domain": "inventory", "key": "SKU-1@DC1", "fields": {"on_hand": 1}}\n'
    path.write_text("not json\n" * 25 + good)
    result = ingest(sqlite_store.url, path)
    assert result.exit_code == 1
    err = result.stderr.splitlines()
    assert [line.split(":")[1] for line in err if "not valid JSON" in line] == [str(n) for n in range(1, 21)]
    assert "… and 5 more malformed lines" in err
    assert summary(result.stdout)["malformed"] == 25
    assert summary(result.stdout)["applied"] == 1


def test_ingest_skips_an_overlong_line_without_reading_it_whole(sqlite_store, tmp_path):
    path = tmp_path / "long.ndjson"
    huge = '{"id": "h", "domain": "inventory", "key": "SKU-1@DC1", "fields": {"uom": "' + "x" * 5000 + '"}}\n'
    good = '{"id": "g1", "domain": "inventory", "key": "SKU-1@DC1", "fields": {"on_hand": 1}}'  # no final newline
    path.write_text(huge + good)
    result = run(
        "ingest", path, "-s", "wms", "-c", HUB, "--store", sqlite_store.url,
        env={"LOGISYNC__LIMITS__MAX_BODY_BYTES": "1024"},
    )  # fmt: skip
    assert result.exit_code == 1
    assert f"{path}:1: longer than 1024 bytes; one change per line" in result.stderr.splitlines()
    assert summary(result.stdout)["applied"] == 1
    assert sqlite_store.get_record("inventory", "SKU-1@DC1").fields == {"on_hand": 1}


def test_ingest_refuses_an_unknown_system_or_file(sqlite_store, tmp_path):
    result = ingest(sqlite_store.url, system="warehouse")
    assert result.exit_code == 2
    assert result.stderr.startswith("unknown system 'warehouse' (known in ")
    missing = ingest(sqlite_store.url, tmp_path / "nope.ndjson")
    assert missing.exit_code == 2
    assert "nope.ndjson: no such file" in missing.stderr


def test_ingest_stops_cleanly_when_the_store_fails(sqlite_store, monkeypatch):
    from logisync.pipeline import Pipeline

    real = Pipeline.ingest
    calls = []

    def flaky(self, system, changes, *, source=None):
        calls.append(source)
        if len(calls) == 2:
            raise StoreBusy("the store is busy; try again")
        return real(self, system, changes, source=source)

    monkeypatch.setattr(Pipeline, "ingest", flaky)
    result = ingest(sqlite_store.url, MIXED, "--batch", "3")
    assert result.exit_code == 2
    assert f"{MIXED}:4: stopped: the store is busy; try again" in result.stderr
    assert "lines up to 3 are committed" in result.stderr
    assert "Traceback" not in result.output
    assert sqlite_store.get_record("inventory", "SKU-1@DC1").fields == {"on_hand": 12}


# -- explain, history, status -------------------------------------------------------------------------


def test_explain_names_system_change_and_what_was_replaced(store):
    assert ingest(store.url).exit_code == 1
    result = run("explain", "inventory", "SKU-1@DC1", "--store", store.url)
    assert result.exit_code == 0, result.output
    row = next(line for line in result.stdout.splitlines() if line.startswith("│ on_hand"))
    cells = [c.strip() for c in row.split("│")[1:-1]]
    assert cells[:5] == ["on_hand", "12", "wms", "m3", "3"]
    assert cells[6] == "10 from wms / m1"

    as_json = run("explain", "inventory", "SKU-1@DC1", "--store", store.url, "--json")
    data = json.loads(as_json.stdout)
    (story,) = data["fields"]
    assert story["replaced"] == {"value": 10, "system": "wms", "change_id": "m1"}
    assert data["derived"] == {"available": 12}


def test_explain_a_missing_record_or_a_bad_key(sqlite_store):
    ingest(sqlite_store.url)
    missing = run("explain", "inventory", "SKU-9@DC1", "--store", sqlite_store.url)
    assert (missing.exit_code, missing.stderr) == (1, "no inventory record 'SKU-9@DC1'\n")
    bad_domain = run("explain", "stock", "SKU-1@DC1", "--store", sqlite_store.url)
    assert bad_domain.exit_code == 2
    assert bad_domain.stderr.startswith("unknown domain 'stock' (known: product, location, inventory")
    bad_key = run("explain", "inventory", "SKU-1", "--store", sqlite_store.url)
    assert bad_key.exit_code == 2
    assert bad_key.stderr == "key 'SKU-1' is not a valid inventory key (expected like 'SKU-1@DC1')\n"


def test_read_commands_do_not_create_a_store(tmp_path):
    url = f"sqlite:///{tmp_path / 'nowhere.db'}"
    result = run("explain", "inventory", "SKU-1@DC1", "--store", url)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"no store at {url}")
    assert not (tmp_path / "nowhere.db").exists()


def test_history_lists_changes_and_travels_in_time(store, tmp_path):
    first = tmp_path / "first.ndjson"
    first.write_text(
        '{"id": "a", "domain": "inventory", "key": "SKU-1@DC1", "fields": {"on_hand": 5}, "version": 1}\n'
    )
    second = tmp_path / "second.ndjson"
    second.write_text(
        '{"id": "b", "domain": "inventory", "key": "SKU-1@DC1", "fields": {"on_hand": 9}, "version": 2}\n'
    )
    assert ingest(store.url, first).exit_code == 0
    time.sleep(0.02)
    between = datetime.now(UTC).isoformat()
    time.sleep(0.02)
    assert ingest(store.url, second).exit_code == 0

    log = run("history", "inventory", "SKU-1@DC1", "--store", store.url)
    assert log.exit_code == 0, log.output
    assert [line.split("│")[4].strip() for line in log.stdout.splitlines() if line.startswith("│ ")] == [
        "a",
        "b",
    ]

    past = run("history", "inventory", "SKU-1@DC1", "--as-of", between, "--store", store.url, "--json")
    assert past.exit_code == 0, past.output
    assert json.loads(past.stdout)["fields"] == {"on_hand": 5, "available": 5}
    now = run("history", "inventory", "SKU-1@DC1", "--as-of", "0s", "--store", store.url)
    assert "│ on_hand   │ 9" in now.stdout or "│ on_hand │ 9" in now.stdout

    before = run("history", "inventory", "SKU-1@DC1", "--as-of", "2001-01-01", "--store", store.url)
    assert before.exit_code == 1
    assert before.stderr == "inventory 'SKU-1@DC1' did not exist yet at 2001-01-01 00:00:00Z\n"
    nonsense = run("history", "inventory", "SKU-1@DC1", "--as-of", "yesterday", "--store", store.url)
    assert nonsense.exit_code == 2
    assert "write an ISO time" in nonsense.stderr


@pytest.mark.parametrize(
    ("as_of", "problem"),
    [
        ("9999-12-31T23:59:59.999999-23:59", "is after the year 9999 (UTC)"),
        ("0001-01-01T00:00:00+23:59", "is before 1970"),
    ],
)
def test_history_refuses_a_moment_it_cannot_show(tmp_path, as_of, problem):
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    result = run("history", "inventory", "SKU-1@DC1", "--as-of", as_of, "--store", url)
    assert result.exit_code == 2, result.output
    assert result.stderr == f"--as-of {as_of!r} {problem}\n"


def test_status_counts_outcomes_exceptions_and_outbox(store):
    ingest(store.url)
    result = run("status", "--store", store.url, "--json")
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    by = {(r["system"], r["domain"]): r for r in figures["received"]}
    assert by[("wms", "inventory")] == {
        "system": "wms",
        "domain": "inventory",
        "applied": 4,
        "duplicate": 1,
        "stale": 1,
        "quarantined": 1,
    }
    assert figures["open_exceptions"] == {"ownership_conflict": 1, "scope": 1, "validation": 1}
    assert figures["outbox"] == {"stock-to-shop": {"pending": 4}}
    table = run("status", "--store", store.url)
    assert table.exit_code == 0
    assert "validation" in table.stdout and "stock-to-shop" in table.stdout
    assert "routes" not in figures  # no sync map: no SLAs to measure against


def test_status_with_the_sync_map_shows_each_routes_lag_against_its_sla(store):
    ingest(store.url)
    result = run("status", "--config", HUB, "--store", store.url, "--json")
    assert result.exit_code == 0, result.output
    stock, orders = json.loads(result.stdout)["routes"]
    assert (stock["route"], stock["pending"], stock["sla_s"]) == ("stock-to-shop", 4, 60.0)
    assert stock["lag_s"] > 0 and not stock["breached"]  # a minute has not passed
    assert (orders["route"], orders["pending"], orders["lag_s"], orders["mode"]) == (
        "orders-to-erp",
        0,
        0,
        "shadow",
    )


def test_a_version_too_big_for_the_store_is_a_malformed_line(sqlite_store, tmp_path):
    path = tmp_path / "huge-version.ndjson"
    path.write_text(
        '{"id": "v", "domain": "inventory", "key": "SKU-1@DC1", "fields": {"on_hand": 1}, '
        '"version": 18446744073709551615}\n'
    )
    result = ingest(sqlite_store.url, path)
    assert result.exit_code == 1, result.output
    assert summary(result.stdout)["malformed"] == 1
    assert result.stderr.startswith(f"{path}:1: not a change: version: Input should be less than or equal to")


def test_values_that_look_like_markup_are_printed_as_they_are(sqlite_store, tmp_path):
    path = tmp_path / "[odd].ndjson"
    path.write_text('{"id": "p1", "domain": "product", "key": "SKU-1", "fields": {"name": "[/x] [bold]"}}\n')
    assert ingest(sqlite_store.url, path, system="erp").exit_code == 0
    result = run("explain", "product", "SKU-1", "--store", sqlite_store.url)
    assert result.exit_code == 0, result.output
    assert "[/x] [bold]" in result.stdout


def test_the_exceptions_inbox_is_a_command_of_logisync(store):
    ingest(store.url)
    listed = run("exceptions", "list", "--store", store.url, "--json")
    assert listed.exit_code == 0, listed.output
    kinds = sorted(item["kind"] for item in json.loads(listed.stdout)["exceptions"])
    assert kinds == ["ownership_conflict", "scope", "validation"]
    groups = run("exceptions", "groups", "--store", store.url)
    assert groups.exit_code == 0 and "validation" in groups.stdout
