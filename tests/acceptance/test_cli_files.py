"""`logisync ingest` for mapped files: counts by outcome, bad rows with their lines, a file twice."""

from __future__ import annotations

import shutil
from pathlib import Path

from typer.testing import CliRunner

from logisync.cli import app

ROOT = Path(__file__).resolve().parents[2]
SYNCMAP = ROOT / "tests" / "fixtures" / "syncmaps" / "files.yaml"
STOCK = ROOT / "tests" / "fixtures" / "files" / "stock.csv"
MIXED = ROOT / "tests" / "fixtures" / "ndjson" / "mixed.ndjson"


def ingest(url: str, path: Path, *more: str, system: str = "erp"):
    args = ["ingest", str(path), "--system", system, "--config", str(SYNCMAP), "--store", url, *more]
    return CliRunner().invoke(app, args, env={"COLUMNS": "200"})


def table(output: str) -> dict[str, str]:
    rows = [line.split("│") for line in output.splitlines() if line.startswith("│")]
    return {cells[1].strip(): cells[2].strip() for cells in rows if len(cells) > 2}


def test_a_csv_with_bad_rows_prints_them_by_line_and_the_counts(tmp_path):
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    result = ingest(url, STOCK)
    assert result.exit_code == 1, result.output
    assert f"{STOCK}: line 3: bad row: column Qty: expected a whole number, got 'x'" in result.stderr
    assert f"{STOCK}: line 4: bad row: column UOM: 'PL' is not one of the codes EA, CS" in result.stderr
    assert f"{STOCK}: line 5: bad row: has 3 columns; the header has 4" in result.stderr
    counts = table(result.stdout)
    assert counts["applied"] == "2" and counts["bad rows (quarantined)"] == "3"
    assert counts["lines read"] == "5"
    assert "(stock)" in result.stdout

    again = ingest(url, STOCK)
    assert again.exit_code == 0, again.output
    assert "already received from erp as stock.csv" in again.stdout
    assert "nothing was applied" in again.stdout


def test_the_same_ndjson_changes_twice_are_applied_once(tmp_path):
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    hub = ROOT / "tests" / "fixtures" / "syncmaps" / "hub.yaml"
    args = ["ingest", str(MIXED), "--system", "wms", "--config", str(hub), "--store", url]
    first = CliRunner().invoke(app, args)
    assert "already received" not in first.stdout
    second = CliRunner().invoke(app, args)
    assert second.exit_code == 0 and "already received from wms as mixed.ndjson" in second.stdout


def test_the_import_is_named_or_chosen_by_file_name(tmp_path):
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    renamed = tmp_path / "levels.csv"
    shutil.copy(STOCK, renamed)
    result = ingest(url, renamed)
    assert result.exit_code == 2
    assert (
        "levels.csv: no import of this system reads it (its imports: stock (stock*.csv), items (*.json))"
        in result.stderr
    )
    assert ingest(url, renamed, "--import", "stock").exit_code == 1  # read, with its bad rows
    assert "no import called 'nope'" in ingest(url, renamed, "--import", "nope").stderr
    items = tmp_path / "items.json"
    items.write_text('[{"code": "SKU-1", "title": "Mug"}]')
    result = ingest(url, items)
    assert result.exit_code == 0, result.output
    assert table(result.stdout)["applied"] == "1" and "items read" in result.stdout


def test_an_x12_file_goes_through_the_edi_engine(tmp_path):
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    x12 = ROOT / "tests" / "fixtures" / "x12" / "846_4010.x12"
    refused = ingest(url, x12)  # erp is no trading partner
    assert refused.exit_code == 2
    assert "erp has no `edi` section in the sync map" in refused.stderr
    result = ingest(url, x12, system="acme")
    assert result.exit_code == 0, result.output
    counts = table(result.stdout)
    assert counts["applied"] == "2" and counts["changes read"] == "2"
    again = ingest(url, x12, system="acme")  # the same interchange: the engine's duplicate check
    assert again.exit_code == 0, again.output
    assert table(again.stdout)["applied"] == "0"
    assert "duplicate" in again.stderr


def test_check_lists_each_systems_files_and_whether_their_secrets_are_set(tmp_path):
    config = tmp_path / "hub.yaml"
    config.write_text(
        "systems:\n  erp:\n    kind: erp\n    files:\n"
        "      inbox: {folder: /srv/erp/in, schedule: '*/5 * * * *', sftp: {host: sftp.erp.example, user: hub, path: /out, key_path_env: ERP_SFTP_KEY}}\n"
        "      outbox: {folder: /srv/erp/out}\n"
        "      imports: [{name: stock, domain: inventory, format: csv, match: 'stock*.csv', fields: {sku: A, location: B, on_hand: {from: C, type: int}}}]\n"
        "      exports: [{name: nightly, domain: inventory, format: csv, schedule: '0 2 * * *', columns: {Item: sku, Qty: on_hand}}]\n"
    )
    result = CliRunner().invoke(
        app, ["check", str(config)], env={"COLUMNS": "250", "ERP_SFTP_KEY": "/keys/erp"}
    )
    assert result.exit_code == 0, result.output
    rows = [line for line in result.stdout.splitlines() if line.startswith("│ erp")]
    assert any("inbox" in r and "*/5 * * * *" in r and "/srv/erp/in" in r for r in rows)
    assert any("stock*.csv -> inventory: sku, location, on_hand" in r for r in rows)
    assert any("nightly" in r and "inventory -> csv: Item, Qty" in r and "0 2 * * *" in r for r in rows)
    assert "sftp hub@sftp.erp.example:22 /out" in result.stdout and "ERP_SFTP_KEY (set)" in result.stdout
    assert "/keys/erp" not in result.stdout


def test_the_examples_item_master_csv(tmp_path):
    """The README's tour line: the example ERP's item CSV through its mapping, one bad row."""
    args = ["ingest", str(ROOT / "examples" / "erp-items.csv"), "--system", "erp"]
    args += [
        "--config",
        str(ROOT / "examples" / "logisync.yaml"),
        "--store",
        f"sqlite:///{tmp_path / 'hub.db'}",
    ]
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert result.exit_code == 1, result.output
    assert table(result.stdout)["applied"] == "2" and table(result.stdout)["bad rows (quarantined)"] == "1"
    assert "erp-items.csv: line 4: bad row: column Status: 'X' is not one of the codes A, D" in result.stderr
