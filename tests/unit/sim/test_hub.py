"""The scenario's sync map: overrides merged by route name, and the hub's timers put in sim time."""

from __future__ import annotations

import pytest

from logisync.errors import ConfigError
from logisync.sim.hub import in_sim_time, merge_overrides, validated

BASE = {
    "systems": {
        "wms": {"kind": "wms"},
        "shop": {"kind": "marketplace", "url": "http://127.0.0.1:9/api", "transport": {"rate": 5}},
    },
    "owners": {"inventory.quantities": "wms"},
    "routes": [
        {
            "name": "stock-to-shop",
            "domain": "inventory",
            "to": "shop",
            "sla": "60s",
            "transform": {"atp": {"safety_stock": 1}},
        },
        {"name": "orders-to-wms", "domain": "order", "to": "wms", "sla": "30s"},
    ],
}


def test_overrides_merge_deeply_and_routes_by_name():
    merged = merge_overrides(
        BASE,
        {
            "routes": {
                "stock-to-shop": {"transform": {"atp": {"on_insufficient": "backorder"}}},
                "orders-to-wms": None,
                "stock-to-wms": {"domain": "inventory", "to": "wms"},
            },
            "systems": {"shop": {"transport": {"retry": {"attempts": 1}}}},
        },
    )
    [stock, added] = merged["routes"]
    assert stock["transform"]["atp"] == {"safety_stock": 1, "on_insufficient": "backorder"}
    assert added == {"name": "stock-to-wms", "domain": "inventory", "to": "wms"}
    assert merged["systems"]["shop"]["transport"] == {"rate": 5, "retry": {"attempts": 1}}
    assert BASE["routes"][1]["name"] == "orders-to-wms"  # the base is not changed


def test_the_hubs_timers_run_in_sim_time():
    hub = in_sim_time(BASE, 60)
    transport = hub["systems"]["shop"]["transport"]
    assert transport["retry"]["schedule"][:3] == [0, 5 / 60, 5]  # 0, 5 s, 5 min in sim time
    assert transport["breaker"] == {"cooldown": 0.5, "max_cooldown": 30}
    assert [r["sla"] for r in hub["routes"]] == [1, 0.5]
    assert "transport" not in hub["systems"]["wms"]  # the hub does not call the wms here: no url
    assert in_sim_time(BASE, 1) == BASE


def test_a_bad_override_is_a_config_error_naming_the_scenario_and_key():
    with pytest.raises(ConfigError, match=r"s.yaml: syncmap.routes\[0\].transform.atp.on_insufficient"):
        validated(
            merge_overrides(
                BASE, {"routes": {"stock-to-shop": {"transform": {"atp": {"on_insufficient": "maybe"}}}}}
            ),
            "s.yaml",
        )
    with pytest.raises(ConfigError, match=r"s\.yaml: syncmap\.routes"):
        validated(
            merge_overrides(BASE, {"routes": {"stock-to-erp": {"domain": "inventory", "to": "erp"}}}),
            "s.yaml",
        )


def test_a_partners_acknowledgment_times_run_in_sim_time():
    data = {
        "systems": {
            "acme": {
                "kind": "edi_partner",
                "edi": {"acknowledgments": {"overdue": "2h", "sets": {"856": "1h"}}},
            }
        }
    }
    acks = in_sim_time(data, 60)["systems"]["acme"]["edi"]["acknowledgments"]
    assert acks == {"overdue": 120, "sets": {"856": 60}}
