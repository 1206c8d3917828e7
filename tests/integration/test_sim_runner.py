"""The scenario runner with a real hub (uvicorn on a loopback port, SQLite) and fake systems of the
simulated systems' shape (tests/fixtures/sim_fakes.py): traffic goes through, the invariants pass
when the hub does its job, and the matching one fails under a configuration broken on purpose."""

from __future__ import annotations

import json

from fixtures.sim_fakes import FAKE_PARTS
from logisync.sim.runner import run_scenario
from logisync.sim.scenario import parse_scenario

STEADY = """\
name: steady
duration: 1h
settle: 30m
compression: 600
seed: 11
catalog: {skus: 6, locations: [DC1], on_hand: [80, 120]}  # plenty: no order is refused
traffic:
  orders_per_hour: {shop: 40, market: 30}
  receipts_per_hour: 4
  adjustments_per_hour: 4
"""

FLASH = """\
name: flash
duration: 30m
settle: 20m
compression: 300
seed: 3
catalog: {skus: 2, locations: [DC1], on_hand: [3, 3]}
traffic:
  sales: [{at: 10m, sku: SKU-001, orders: {shop: 4, market: 4}}]
"""


def test_a_steady_scenario_goes_through_the_hub_and_every_invariant_holds():
    report = run_scenario(parse_scenario(STEADY, "steady.yaml"), parts=FAKE_PARTS)
    assert report.passed, report.to_json()
    assert report.traffic["orders_shop"] > 0 and report.traffic["orders_market"] > 0
    assert report.traffic["records_order"] == report.traffic["orders_shop"] + report.traffic["orders_market"]
    assert report.lags["stock-to-shop"]["delivered"] > 0
    assert set(report.converged_after) == {"stock-to-shop", "stock-to-market", "orders-to-wms"}
    assert all(v is not None for v in report.converged_after.values())
    assert json.loads(report.to_json())["passed"] is True
    assert "every invariant holds" in str(report.render().renderables[-1])


def test_the_oversell_guard_holds_the_flash_sale_and_backorder_breaks_it():
    held = run_scenario(parse_scenario(FLASH, "flash.yaml"), parts=FAKE_PARTS)
    assert held.passed, held.to_json()
    sold = held.traffic["orders_shop"] + held.traffic["orders_market"]
    assert sold > 3  # each channel sold from its own view: together more than the three units
    assert held.traffic["records_order"] == 3
    assert held.exceptions["insufficient_stock"]["open"] == sold - 3

    backorder = {"atp": {"on_insufficient": "backorder"}}
    broken = run_scenario(
        parse_scenario(FLASH, "flash.yaml"),
        parts=FAKE_PARTS,
        overrides={
            "routes": {"stock-to-shop": {"transform": backorder}, "stock-to-market": {"transform": backorder}}
        },
    )
    oversell = broken.verdict("no_oversell")
    assert not oversell.passed
    [evidence] = oversell.evidence
    assert (evidence["sku"], evidence["sold"], evidence["oversold"]) == ("SKU-001", sold, sold - 3)


OUTAGE = """\
name: outage
duration: 1h
settle: 10m
compression: 600
seed: 5
catalog: {skus: 6, locations: [DC1], on_hand: [20, 40]}
traffic:
  movements: [{at: 30m, sku: SKU-005, delta: -2, reason: damage}]
"""


def test_an_outage_with_no_retries_fails_convergence_and_loses_nothing():
    """The shop is down from 20m to the end; the damage at 30m reaches it once, fails, and is dead."""
    scenario = parse_scenario(OUTAGE, "outage.yaml")
    scenario.faults = {"shop": {"outages": [{"at": "20m", "for": "40m"}]}}  # read by the fakes as written
    report = run_scenario(
        scenario, parts=FAKE_PARTS, overrides={"systems": {"shop": {"transport": {"retry": {"attempts": 1}}}}}
    )
    convergence = report.verdict("convergence")
    assert not convergence.passed
    assert convergence.evidence == [
        {
            "route": "stock-to-shop",
            "to": "shop",
            "differences": 1,
            "first": [
                {
                    "key": "SKU-005",
                    "problem": "differs",
                    "fields": {"available": {"expected": shop_atp(report), "actual": shop_atp(report) + 2}},
                }
            ],
        }
    ]
    assert report.verdict("nothing_lost").passed
    assert report.exceptions["dead_delivery"]["open"] == 1


def shop_atp(report) -> int:
    """What the shop should see of SKU-005 (the damage taken off), from the evidence itself."""
    [evidence] = report.verdict("convergence").evidence
    return evidence["first"][0]["fields"]["available"]["expected"]
