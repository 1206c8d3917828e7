"""Scenario files: durations in sim time, defaults, and errors that name the file, line and key."""

from __future__ import annotations

import pytest

from logisync.errors import ConfigError
from logisync.sim.scenario import fault_dict, parse_scenario

MINIMAL = "name: quick\nduration: 2h\n"


def test_a_minimal_scenario_gets_every_system_and_every_invariant():
    s = parse_scenario(MINIMAL, "quick.yaml")
    assert s.duration == 7200 and s.settle == 1800 and s.compression == 60
    assert list(s.systems) == ["wms", "erp", "shop", "market", "carrier"]
    assert s.catalog.sku_keys()[:2] == ["SKU-001", "SKU-002"]
    inv = s.invariants
    assert (inv.convergence, inv.no_oversell, inv.no_double_shipment, inv.nothing_lost) == (True,) * 4
    assert s.real_seconds == pytest.approx((7200 + 1800) / 60)
    assert s.source == "quick.yaml"


def test_times_are_durations_in_sim_time():
    s = parse_scenario(
        MINIMAL + "traffic:\n  sales: [{at: 20m, sku: SKU-001, orders: {shop: 2}}]\n"
        "  cycle_counts: [{at: 90s, sku: SKU-002, delta: -3}]\n"
        "invariants: {kpis: {lag_p95: 2m, fill_rate: 0.9}}\n"
    )
    assert s.traffic.sales[0].at == 1200
    assert s.traffic.cycle_counts[0].at == 90
    assert s.invariants.kpis.lag_p95 == 120


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (MINIMAL + "traffic:\n  canceled: 0.1\n", "bad.yaml:4: traffic.canceled: unknown key"),
        (
            MINIMAL + "traffic:\n  cancel: 2\n",
            "bad.yaml:4: traffic.cancel: Input should be less than or equal to 1",
        ),
        (
            "name: x\nduration: soon\n",
            "bad.yaml:2: duration: 'soon' is not a duration (write e.g. 30s, 5m, 2h, 3d)",
        ),
        ("name: x\n", "bad.yaml:1: duration: Field required"),
        (MINIMAL + "catalog: {on_hand: [9, 3]}\n", "catalog.on_hand: [9.0, 3.0] is not a range"),
        (MINIMAL + "traffic: {orders_per_hour: {ebay: 3}}\n", "traffic.orders_per_hour.ebay"),
        (
            MINIMAL + "traffic: {sales: [{at: 1m, sku: SKU-999, orders: {shop: 1}}]}\n",
            "bad.yaml:3: traffic.sales[0].sku: 'SKU-999' is not in the catalog",
        ),
        (MINIMAL + "systems: {shop: {}}\n", "a scenario needs the wms"),
        (MINIMAL + "faults: {ftp: {error_rate: 0.1}}\n", "faults.ftp: not one of the systems"),
        ("name: x\nname: y\nduration: 1h\n", "bad.yaml:2: (top): duplicate key 'name' (first at line 1)"),
        ("- a list\n", "bad.yaml:1: a scenario is a mapping"),
        ("name: [unclosed\n", "bad.yaml:2: not valid YAML"),
    ],
)
def test_a_bad_scenario_is_refused_with_where_and_what(text, message):
    with pytest.raises(ConfigError) as caught:
        parse_scenario(text, "bad.yaml")
    assert message in str(caught.value)


def test_outages_are_written_as_at_and_for_and_handed_on_in_sim_seconds():
    assert fault_dict({"outages": [{"at": "20m", "for": "5m"}], "error_rate": 0.1}, "faults.shop") == {
        "outages": [{"start": 1200.0, "end": 1500.0}],
        "error_rate": 0.1,
    }
    with pytest.raises(ValueError, match=r"faults.shop.outages\[0\]: write an outage as"):
        fault_dict({"outages": [{"from": "20m"}]}, "faults.shop")
    with pytest.raises(ValueError, match=r"faults.shop.outages\[0\]: 'later' is not a duration"):
        fault_dict({"outages": [{"at": "later", "for": "5m"}]}, "faults.shop")


def test_system_knobs_are_checked_and_their_durations_read():
    s = parse_scenario(
        MINIMAL + "systems:\n  wms: {pick_delay: 10m, short_ship_rate: 0.1}\n  carrier: {leg: 2h}\n"
    )
    assert s.systems == {"wms": {"pick_delay": 600, "short_ship_rate": 0.1}, "carrier": {"leg": 7200}}
    with pytest.raises(
        ConfigError, match=r"^bad.yaml:4: systems.wms.pick_dely: not a knob of the wms \(known: "
    ):
        parse_scenario(MINIMAL + "systems:\n  wms: {pick_dely: 3}\n", "bad.yaml")
    with pytest.raises(ConfigError, match=r"^bad.yaml:5: systems.carrier.leg: 'soon' is not a duration"):
        parse_scenario(MINIMAL + "systems:\n  wms: {}\n  carrier: {leg: soon}\n", "bad.yaml")


def test_the_demo_is_a_scenario_with_a_fault_now_and_then():
    from logisync.sim.demo import OUTAGE_FOR, demo_scenario

    s = demo_scenario(compression=120, seed=4)
    assert (s.compression, s.seed) == (120, 4)
    windows = fault_dict(s.faults["market"], "faults.market")["outages"]
    assert len(windows) > 100 and all(w["end"] - w["start"] == OUTAGE_FOR for w in windows)
    assert sum(s.traffic.orders_per_hour.values()) > 0 and s.traffic.receipts_per_hour > 0


def test_an_edi_retailer_is_a_system_with_traffic_and_its_own_faults():
    s = parse_scenario(
        MINIMAL + "systems:\n  wms: {}\n  retailer: {po_prefix: BM, poll: 2m}\n"
        "traffic: {orders_per_hour: {retailer: 6}}\n"
        "faults:\n  retailer: {bad_files_at: [15m], duplicates_at: [25m], late_acks: 0.2, ack_delay: 20m}\n",
        "edi.yaml",
    )
    assert s.systems["retailer"] == {"po_prefix": "BM", "poll": 120}
    assert s.traffic.orders_per_hour == {"retailer": 6} and s.invariants.edi_exchange
    from logisync.sim.faults import EdiFaults

    faults = EdiFaults.from_dict(fault_dict(s.faults["retailer"], "faults.retailer"), "faults.retailer")
    assert (faults.bad_files_at, faults.duplicates_at, faults.late_acks, faults.ack_delay) == (
        [900.0],
        [1500.0],
        0.2,
        1200.0,
    )
    with pytest.raises(ConfigError, match=r"^bad.yaml:5: systems.retailer.rate: not a knob of the retailer"):
        parse_scenario(MINIMAL + "systems:\n  wms: {}\n  retailer: {rate: 3}\n", "bad.yaml")
    with pytest.raises(ConfigError, match=r"faults.retailer.no_acks: a share is between 0 and 1, got 3"):
        parse_scenario(
            MINIMAL + "systems: {wms: {}, retailer: {}}\nfaults: {retailer: {no_acks: 3}}\n", "b.yaml"
        )
    with pytest.raises(ConfigError, match=r"faults.shop.late_acks: not a fault knob"):
        parse_scenario(MINIMAL + "faults: {shop: {late_acks: 0.5}}\n", "b.yaml")
