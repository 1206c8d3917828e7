"""`logisync ingest FILE.x12 --system PARTNER` with the partner's `edi.outbox`: the 997 (and the
TA1 for a repeat) written there, a rejected set reported by segment and element."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from logisync.cli import app

ROOT = Path(__file__).resolve().parents[2]
X12 = ROOT / "tests" / "fixtures" / "x12"

SYNCMAP = """\
systems:
  acme:
    kind: edi_partner
    connector: edi
    edi:
      partner: {{qualifier: ZZ, id: ACMESUPPLY}}
      us: {{qualifier: ZZ, id: LOGISYNCHUB}}
      sends: ["846"]
      outbox: {outbox}
      location: ACME-DC
owners:
  inventory.quantities: acme
"""


def ingest(tmp_path: Path, path: Path):
    config = tmp_path / "hub.yaml"
    config.write_text(SYNCMAP.format(outbox=tmp_path / "out"))
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    args = ["ingest", str(path), "--system", "acme", "--config", str(config), "--store", url]
    return CliRunner().invoke(app, args, env={"COLUMNS": "200"})


def table(output: str) -> dict[str, str]:
    rows = [line.split("│") for line in output.splitlines() if line.startswith("│")]
    return {cells[1].strip(): cells[2].strip() for cells in rows if len(cells) > 2}


def test_an_846_is_applied_and_its_997_written_to_the_outbox(tmp_path):
    result = ingest(tmp_path, X12 / "846_4010.x12")
    assert result.exit_code == 0, result.output
    counts = table(result.stdout)
    assert counts["applied"] == "2" and counts["changes read"] == "2"
    [ack] = (tmp_path / "out").iterdir()
    assert ack.name == "acme-997-000000001.x12"
    assert "AK1*IB*101~" in ack.read_text() and "AK9*A*1*1*1~" in ack.read_text()
    again = ingest(tmp_path, X12 / "846_4010.x12")
    assert again.exit_code == 0 and table(again.stdout)["applied"] == "0"
    assert "interchange 000000101 from ZZ/ACMESUPPLY (acme) was received before" in again.stderr
    assert len(list((tmp_path / "out").iterdir())) == 2  # and answered with a TA1 (R 025)


def test_a_rejected_set_is_reported_by_segment_and_element(tmp_path):
    result = ingest(tmp_path, X12 / "sets" / "broken" / "846_unknown_quantity.x12")
    assert result.exit_code == 0, (
        result.output
    )  # the file was read; its set was refused (and is in the inbox)
    assert table(result.stdout)["applied"] == "0"
    assert "set 846 121/0001: rejected: segment 9 (QTY) element 01, line 9:" in result.stderr
    assert "QTY01 quantity qualifier '99' is not a code this map reads (17, 33, 63)" in result.stderr
    assert "AK5*R*5~" in next((tmp_path / "out").iterdir()).read_text()
