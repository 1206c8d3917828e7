"""`logisync reconcile` run for real: the summary table, the report, the history, bad input."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from logisync.cli import app

MAP = """\
store: sqlite:///{db}
systems:
  wms: {{kind: wms}}
  shop: {{kind: marketplace}}
owners:
  inventory.quantities: wms
routes:
  - {{name: stock-to-shop, domain: inventory, to: shop}}
reconcile:
  - {{system: shop, domain: inventory, source: {{file: {snap}}}, columns: {{on_hand: qty}}, reports: {reports}}}
"""


def run(*args):
    return CliRunner().invoke(app, [str(a) for a in args], env={"COLUMNS": "200"})


def setup(tmp_path: Path) -> Path:
    config = tmp_path / "map.yaml"
    snap = tmp_path / "shop.csv"
    config.write_text(MAP.format(db=tmp_path / "hub.db", snap=snap, reports=tmp_path / "reports"))
    changes = tmp_path / "changes.ndjson"
    changes.write_text(
        "".join(
            json.dumps(
                {
                    "id": f"c{i}",
                    "domain": "inventory",
                    "key": f"SKU-{i}@DC{i % 2 + 1}",
                    "fields": {"on_hand": 10},
                }
            )
            + "\n"
            for i in range(4)
        )
    )
    assert run("ingest", changes, "--system", "wms", "--config", config).exit_code == 0
    snap.write_text("sku,location,qty\nSKU-0,DC1,10\nSKU-1,DC2,4\nSKU-2,DC1,10\nSKU-9,DC1,2\n")
    return config


def test_reconcile_prints_the_summary_writes_every_variance_and_keeps_the_run(tmp_path):
    config = setup(tmp_path)
    result = run("reconcile", "shop", "inventory", "--config", config)
    assert result.exit_code == 0, result.output
    out = result.output
    assert "shop-inventory · run 1" in out
    # SKU-1@DC2 differs (6), SKU-3@DC2 is not in the snapshot (10), SKU-9@DC1 only there (2); all
    # four positions have a pending delivery to the shop, which explains SKU-1 and SKU-3
    assert "explained by deliveries in flight │ 2" in out
    assert "missing in hub" in out and "units at stake" in out
    assert "1 variances written to" in out and (tmp_path / "reports" / "shop-inventory-1.parquet").is_file()
    history = run("reconcile", "shop", "inventory", "--config", config, "--history", "--json")
    [row] = json.loads(history.output)
    assert row["state"] == "done" and row["variance_keys"] == 1 and row["explained_keys"] == 2


def test_reconcile_json_and_a_file_given_by_hand(tmp_path):
    config = setup(tmp_path)
    other = tmp_path / "other.ndjson"
    other.write_text('{"key": "SKU-0@DC1", "qty": 1}\n')
    result = run(
        "reconcile",
        "shop",
        "inventory",
        "--config",
        config,
        "--file",
        other,
        "--out",
        tmp_path / "v.csv",
        "--json",
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["source"] == str(other) and data["report"] == str(tmp_path / "v.csv")
    assert data["summary"]["by_kind"]["missing_in_system"] == 0  # explained: pending deliveries


def test_reconcile_says_what_is_wrong(tmp_path):
    config = setup(tmp_path)
    bad = run("reconcile", "nobody", "inventory", "--config", config)
    assert bad.exit_code == 2 and "unknown system 'nobody'" in bad.output
    none = run("reconcile", "wms", "inventory", "--config", config)
    assert none.exit_code == 2 and "give the snapshot with --file" in none.output
    missing = run("reconcile", "shop", "inventory", "--config", config, "--file", tmp_path / "nope.csv")
    assert missing.exit_code == 2 and "nope.csv" in missing.output
    odd = run("reconcile", "shop", "inventory", "--config", config, "--file", tmp_path / "x.txt")
    assert odd.exit_code == 2 and "cannot tell the format" in odd.output


def test_kpi_prints_the_window_s_figures(tmp_path):
    config = setup(tmp_path)
    assert run("reconcile", "shop", "inventory", "--config", config).exit_code == 0
    result = run("kpi", "--since", "1d", "--config", config, "--by", "partner")
    assert result.exit_code == 0, result.output
    assert "KPIs" in result.output and "by partner" in result.output
    data = json.loads(run("kpi", "--since", "1d", "--config", config, "--json").output)
    [recon] = [k for k in data["kpis"] if k["kpi"] == "reconciliation_variance_units"]
    assert recon["numerator"] == 2 and recon["denominator"] == 40  # SKU-9's 2 units of the hub's 40
    bad = run("kpi", "--since", "soon", "--config", config)
    assert bad.exit_code == 2 and "write a duration ago" in bad.output
    assert run("kpi", "--by", "sku", "--config", config).exit_code == 2
