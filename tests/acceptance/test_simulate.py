"""`logisync simulate`, run as a user would: exit 0 when every invariant holds, 1 when one fails,
2 for a scenario file that cannot run, named by file and line."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from logisync.cli import app


def run(*args: object):
    return CliRunner().invoke(app, ["simulate", *map(str, args)], env={"COLUMNS": "200"})


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
