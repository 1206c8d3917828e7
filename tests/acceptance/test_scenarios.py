"""Every shipped scenario (scenarios/*.yaml) runs time-compressed with the real hub and the
simulated systems, and its invariants hold; each configuration broken on purpose
(tests/fixtures/scenarios_broken/INVARIANT__what.yaml) makes the invariant it names fail."""

from __future__ import annotations

from pathlib import Path

import pytest

from logisync.sim.report import Report
from logisync.sim.runner import run_scenario
from logisync.sim.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted((ROOT / "scenarios").glob("*.yaml"))
BROKEN = sorted((ROOT / "tests" / "fixtures" / "scenarios_broken").glob("*.yaml"))


def test_eight_scenarios_ship():
    assert [p.stem for p in SHIPPED] == [
        "carrier_chaos",
        "cycle_count",
        "edi_retailer",
        "flash_sale",
        "happy_path",
        "marketplace_outage",
        "partial_shipments",
        "returns_restock",
    ]


def what_happened(report: Report) -> None:
    """Checks that the scenario did what it is about, so a passing run is not an idle one."""
    t, systems, exceptions = report.traffic, report.systems, report.exceptions
    assert t["records_order"] > 0 or report.scenario.startswith("flash")
    for name, stats in systems.items():
        assert stats.get("rejected_signature", 0) == 0, name
        assert stats.get("webhooks_failed", 0) == 0, name
    name = report.scenario
    figures = {k["kpi"]: k["value"] for k in report.kpis}
    for kpi in ("order_accuracy", "otif", "order_to_ship_avg", "fill_rate_units", "fill_rate_lines"):
        assert figures.get(kpi) is not None, kpi  # the orders' placed_at and shipped_at reach the KPIs
    if name.startswith("flash sale"):
        sold = t.get("orders_shop", 0) + t.get("orders_market", 0)
        assert t["records_order"] == 5 < sold  # five units: the channels took more orders than that
        assert exceptions["insufficient_stock"]["open"] == sold - 5
    elif name.startswith("marketplace outage"):
        assert systems["market"]["outage"] > 0  # the hub called during the outage, and caught up
        assert systems["shop"]["errors"] > 0
    elif name.startswith("carrier"):
        assert systems["carrier"]["webhooks_duplicated"] > 0
        assert systems["carrier"]["webhooks_reordered"] > 0
    elif name.startswith("partial"):
        assert report.lags["orders-to-wms"]["delivered"] > 0
    elif name.startswith("returns"):
        assert t["returns"] > 0
        assert report.lags["returns-to-wms"]["delivered"] > 0
    elif name.startswith("EDI retailer"):
        edi = systems["retailer"]
        assert t["orders_retailer"] > 0 and t["orders_shop"] > 0 and t["orders_market"] > 0
        # one broken file (rejected, corrected, sent again), one interchange sent twice (TA1 025)
        assert (edi["bad_files_sent"], edi["orders_resent"], edi["duplicates_sent"]) == (1, 1, 1)
        assert edi["ta1_R_025"] == 1 and edi["acks_late"] > 0
        assert edi["received_855"] > 0 and edi["received_856"] > 0 and edi["received_846"] > 0
        assert exceptions["edi_rejected"]["open"] == 1 and exceptions["edi_duplicate"]["open"] == 1
        assert report.verdict("edi_exchange").passed
        assert figures.get("edi_acks_on_time") is not None
    elif name.startswith("a WMS cycle count"):
        assert t["cycle_counts"] == 4


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_a_shipped_scenario_holds_its_invariants(path: Path):
    report = run_scenario(load_scenario(path))
    assert report.passed, report.to_json()
    what_happened(report)


@pytest.mark.parametrize("path", BROKEN, ids=[p.stem for p in BROKEN])
def test_a_broken_configuration_fails_the_invariant_it_breaks(path: Path):
    invariant = path.stem.split("__")[0]
    report = run_scenario(load_scenario(path))
    failed = report.verdict(invariant)
    assert not failed.passed, report.to_json()
    assert failed.evidence and failed.failures >= 1
    if path.stem == "kpis__bounds_with_nothing_shipped":
        assert {(e["kpi"], e.get("problem")) for e in failed.evidence} == {
            ("fill_rate", "no data"),
            ("otif", "no data"),
            ("order_to_ship_p90", "no data"),
        }
