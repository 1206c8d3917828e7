"""Each KPI's definition is written once and stated the same in docs/kpis.md and the API."""

from __future__ import annotations

from pathlib import Path

from logisync.api.kpi import DESCRIPTION
from logisync.kpi.definitions import KPIS

DOC = Path(__file__).resolve().parents[3] / "docs" / "kpis.md"


def test_docs_and_the_api_state_every_definition():
    text = DOC.read_text()
    for kpi in KPIS:
        row = f"| `{kpi.name}` | {kpi.unit} | {kpi.definition} |"
        assert row in text, f"docs/kpis.md does not state {kpi.name} as the code does"
        assert row in DESCRIPTION
