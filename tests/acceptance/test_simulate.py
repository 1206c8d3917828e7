"""`logisync simulate`, run as a user would: exit 0 when every invariant holds, 1 when one fails,
2 for a scenario file that cannot run, named by file and line."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from logisync.cli import app

ROOT = Path(__file__).resolve().parents[2]
FLASH = ROOT / "scenarios" / "flash_sale.yaml"
UNGUARDED = ROOT / "tests" / "fixtures" / "scenarios_broken" / "no_oversell__flash_sale_without_guard.yaml"


def run(*args: object):
    return CliRunner().invoke(app, ["simulate", *map(str, args)], env={"COLUMNS": "200"})


def test_a_scenario_whose_invariants_hold_exits_0_with_its_report():
    result = run(FLASH)
    assert result.exit_code == 0, result.output
    out = result.stdout
    for name in ("convergence", "no_oversell", "no_double_shipment", "nothing_lost", "kpis"):
        assert name in out
    assert "FAIL" not in out
    assert "stock-to-shop" in out and "p95" in out  # lag percentiles per route
    assert "insufficient_stock" in out  # exceptions by kind
    assert "every invariant holds" in out


def test_a_failing_invariant_exits_1_with_its_evidence_as_json():
    result = run(UNGUARDED, "--json")
    assert result.exit_code == 1, result.output
    report = json.loads(result.stdout)
    verdicts = {v["name"]: v for v in report["invariants"]}
    assert verdicts["no_oversell"]["passed"] is False
    [evidence] = verdicts["no_oversell"]["evidence"]
    assert evidence["sku"] == "SKU-001" and evidence["oversold"] > 0
    assert report["passed"] is False


def test_a_bad_scenario_exits_2_naming_the_file_and_line(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nduration: 1h\ntraffic:\n  orders_per_hour: {shop: 3}\n  cancel: 2\n")
    result = run(bad)
    assert result.exit_code == 2
    assert f"{bad}:5: traffic.cancel: Input should be less than or equal to 1" in result.stderr
    assert run(tmp_path / "missing.yaml").exit_code == 2
    assert "cannot read the scenario" in run(tmp_path / "missing.yaml").stderr


def test_compression_out_of_range_is_refused(tmp_path: Path):
    scenario = tmp_path / "quick.yaml"
    scenario.write_text("name: quick\nduration: 1h\n")
    result = run(scenario, "--compression", "0")
    assert result.exit_code == 2
    assert "--compression" in result.stderr
