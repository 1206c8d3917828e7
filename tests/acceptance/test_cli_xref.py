"""`logisync xref load`, run for real on both stores: good rows load, bad rows are named by line."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from logisync.cli import app
from logisync.store.xrefs import XrefTable

MAP = """\
systems:
  erp:  {kind: erp}
  wms:  {kind: wms}
  shop: {kind: marketplace, xref: {sku: listing_id}}
  acme: {kind: edi_partner, xref: {sku: item_number}}
owners:
  product: erp
  inventory: wms
  inventory.inbound: acme
  order.lines: shop
quality: {unknown_sku: quarantine}
"""


def run(*args: object):
    return CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "250"})


@pytest.fixture
def syncmap(tmp_path: Path) -> Path:
    path = tmp_path / "hub.yaml"
    path.write_text(MAP)
    return path


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_clean_file_loads_every_pair(store, syncmap, tmp_path):
    csv = write(tmp_path, "listings.csv", "listing_id,sku,title\nL-1,SKU-1,Mug\nL-2,SKU-2,Cup\n")
    result = run("xref", "load", "shop", "sku", csv, "--config", syncmap, "--store", store.url)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(
        f"{csv}: 2 pairs loaded into shop's sku table (2 new, 0 changed, 0 unchanged) in "
    )
    assert result.stderr == ""
    assert XrefTable(store).resolve("shop", "sku", ["L-1", "L-2"]) == {"L-1": "SKU-1", "L-2": "SKU-2"}
    [first, _] = XrefTable(store).list("shop", "sku")
    assert first.source == f"{csv}:2"
    again = run("xref", "load", "shop", "sku", csv, "--config", syncmap, "--store", store.url)
    assert "(0 new, 0 changed, 2 unchanged)" in again.stdout


def test_bad_rows_are_reported_by_line_the_good_ones_load_and_the_exit_is_1(store, syncmap, tmp_path):
    csv = write(
        tmp_path, "listings.csv", "external_id,canonical\nL-1,SKU-1\n,SKU-2\nL-3,not a sku\nL-4,SKU-4\n"
    )
    result = run("xref", "load", "shop", "sku", csv, "--config", syncmap, "--store", store.url)
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        f"{csv}:3: the external id is empty",
        f"{csv}:4: 'not a sku' is not a valid sku (expected like 'SKU-1')",
    ]
    assert "2 pairs loaded into shop's sku table (2 new, 0 changed, 0 unchanged); 2 bad rows" in result.stdout
    assert XrefTable(store).resolve("shop", "sku", ["L-1", "L-4"]) == {"L-1": "SKU-1", "L-4": "SKU-4"}


def test_the_loaded_table_translates_what_the_marketplace_sends(store, syncmap, tmp_path):
    run(
        "xref",
        "load",
        "shop",
        "sku",
        write(tmp_path, "l.csv", "listing_id,sku\nL-1,SKU-1\n"),
        "--config",
        syncmap,
        "--store",
        store.url,
    )
    products = write(
        tmp_path,
        "p.ndjson",
        json.dumps({"id": "p1", "domain": "product", "key": "SKU-1", "fields": {"name": "Mug"}}) + "\n",
    )
    assert (
        run("ingest", products, "--system", "erp", "--config", syncmap, "--store", store.url).exit_code == 0
    )
    lines = [{"line_no": 1, "sku": "L-1", "quantity": 1}, {"line_no": 2, "sku": "L-9", "quantity": 1}]
    orders = write(
        tmp_path,
        "o.ndjson",
        "\n".join(
            json.dumps({"id": f"o{i}", "domain": "order", "key": f"SO-{i}", "fields": {"lines": lines[:i]}})
            for i in (1, 2)
        )
        + "\n",
    )
    result = run("ingest", orders, "--system", "shop", "--config", syncmap, "--store", store.url)
    assert result.exit_code == 0, result.output
    assert f"{orders}:2: quarantined: lines[1].sku: L-9 is not a known shop listing_id" in result.stderr
    assert store.get_record("order", "SO-1").fields["lines"][0]["sku"] == "SKU-1"


@pytest.mark.parametrize(
    ("args", "problem"),
    [
        (("nobody", "sku"), "unknown system 'nobody' (known in {map}: erp, wms, shop, acme)"),
        (("shop", "carrier"), "unknown kind 'carrier' (known: sku, location, service)"),
    ],
)
def test_a_wrong_system_or_kind_exits_2(store, syncmap, tmp_path, args, problem):
    csv = write(tmp_path, "l.csv", "listing_id,sku\n")
    result = run("xref", "load", *args, csv, "--config", syncmap, "--store", store.url)
    assert result.exit_code == 2
    assert result.stderr.strip() == problem.format(map=syncmap)


def test_a_file_without_the_columns_loads_nothing_and_exits_2(store, syncmap, tmp_path):
    csv = write(tmp_path, "l.csv", "id,code\nL-1,SKU-1\n")
    result = run("xref", "load", "shop", "sku", csv, "--config", syncmap, "--store", store.url)
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"{csv}: line 1: the header must name the external id column (listing_id or external_id) "
        "and the sku column (sku or canonical); found 'id', 'code'"
    )
    assert XrefTable(store).list("shop", "sku") == []


def test_a_kind_the_system_does_not_translate_is_loaded_with_a_note(store, syncmap, tmp_path):
    csv = write(tmp_path, "sites.csv", "external_id,location\nW7,DC1\n")
    result = run("xref", "load", "shop", "location", csv, "--config", syncmap, "--store", store.url)
    assert result.exit_code == 0
    assert "note: shop has no `xref: {location: ...}`" in result.stderr
    assert "1 pair loaded into shop's location table" in result.stdout


def test_a_partners_stock_report_in_its_item_numbers_lands_on_the_canonical_position(
    store, syncmap, tmp_path
):
    items = write(tmp_path, "items.csv", "item_number,sku\nITEM-1,SKU-1\n")
    loaded = run("xref", "load", "acme", "sku", items, "--config", syncmap, "--store", store.url)
    assert loaded.exit_code == 0, loaded.output
    products = write(
        tmp_path,
        "p.ndjson",
        json.dumps({"id": "p1", "domain": "product", "key": "SKU-1", "fields": {"name": "Mug"}}) + "\n",
    )
    assert (
        run("ingest", products, "--system", "erp", "--config", syncmap, "--store", store.url).exit_code == 0
    )
    report = write(
        tmp_path,
        "846.ndjson",
        json.dumps({"id": "a1", "domain": "inventory", "key": "ITEM-1@DC1", "fields": {"inbound": 5}}) + "\n",
    )
    result = run("ingest", report, "--system", "acme", "--config", syncmap, "--store", store.url)
    assert result.exit_code == 0, result.output
    assert store.get_record("inventory", "SKU-1@DC1").fields == {"inbound": 5}
    assert store.get_record("inventory", "ITEM-1@DC1") is None
    history = run("history", "inventory", "SKU-1@DC1", "--json", "--config", syncmap, "--store", store.url)
    assert history.exit_code == 0, history.output
    [entry] = json.loads(history.stdout)
    assert (entry["change_id"], entry["reason"]) == ("a1", "as received: key 'ITEM-1@DC1'")


def test_list_shows_a_table_page_by_page_and_looks_ids_up_both_ways(store, syncmap, tmp_path):
    csv = write(tmp_path, "l.csv", "listing_id,sku\nL-1,SKU-1\nL-2,SKU-2\nL-3,SKU-3\n")
    assert run("xref", "load", "shop", "sku", csv, "--config", syncmap, "--store", store.url).exit_code == 0
    base = ("--config", syncmap, "--store", store.url)
    page = run("xref", "list", "shop", "sku", "--json", "--limit", "2", *base)
    assert page.exit_code == 0, page.output
    assert [(p["id"], p["canonical"], p["source"]) for p in json.loads(page.stdout)] == [
        ("L-1", "SKU-1", f"{csv}:2"),
        ("L-2", "SKU-2", f"{csv}:3"),
    ]
    rest = json.loads(run("xref", "list", "shop", "sku", "--json", "--after", "L-2", *base).stdout)
    assert [p["id"] for p in rest] == ["L-3"]
    table = run("xref", "list", "shop", "sku", *base)
    assert "L-3" in table.stdout and "SKU-3" in table.stdout
    looked = run("xref", "list", "shop", "sku", "L-1", "SKU-2", "--json", *base)
    assert looked.exit_code == 0, looked.output
    assert json.loads(looked.stdout) == [
        {"id": "L-1", "canonical": "SKU-1", "sent_as": None},
        {"id": "SKU-2", "canonical": None, "sent_as": "L-2"},
    ]
    missing = run("xref", "list", "shop", "sku", "L-404", *base)
    assert missing.exit_code == 1
    assert run("xref", "list", "nobody", "sku", *base).exit_code == 2
