"""The sync map for a set of simulated systems, built in two steps (SIM_CONTRACT.md).

`SimWiring.create(names, hub_url)` makes fresh secrets (the environment the hub runs with) and
each system's `HubLink`; once the systems have started, `wiring.syncmap(systems, store)` is the
sync map as a plain dict: every system with its URL, outbound signing and inbound webhooks,
the owners, and the routes with the mappings of `sim/mappings.py`.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..config.model import SystemConfig
from ..delivery.signing import new_secret
from ..domain.shipment import Shipment
from .system import HubLink, SimSystem

M = "logisync.sim.mappings"
SCHEMES = {"shop": "shopify"}  # every other system signs with Standard Webhooks


def _env(name: str, what: str) -> str:
    return f"SIM_{name.upper().replace('-', '_')}_{what}"


@dataclass
class SimWiring:
    env: dict[str, str]
    links: dict[str, HubLink]

    @classmethod
    def create(cls, names: Sequence[str], hub_url: str) -> SimWiring:
        env: dict[str, str] = {"SIM_ADMIN_KEY": secrets.token_urlsafe(24)}
        links = {}
        for name in names:
            scheme = SCHEMES.get(name, "standard-webhooks")
            inbound = secrets.token_urlsafe(32) if scheme != "standard-webhooks" else new_secret()
            outbound = new_secret()
            env[_env(name, "INBOUND_SECRET")] = inbound
            env[_env(name, "SIGNING_SECRET")] = outbound
            env[_env(name, "API_KEY")] = secrets.token_urlsafe(24)
            links[name] = HubLink(hub_url, name, inbound, scheme=scheme, call_secret=outbound)
        return cls(env, links)

    def syncmap(self, systems: Mapping[str, SimSystem], store: str) -> dict[str, Any]:
        described: dict[str, Any] = {}
        for name, system in systems.items():
            if system.kind == "edi_partner":
                described[name] = _trading_partner(system)
                continue
            link = self.links[name]
            entry: dict[str, Any] = {"kind": system.kind, "auth": {"api_key_env": _env(name, "API_KEY")}}
            if "webhooks" in SystemConfig.model_fields:  # the hub's inbound webhooks (issue 5)
                entry["webhooks"] = {
                    "signing": {"scheme": link.scheme, "secret_env": _env(name, "INBOUND_SECRET")},
                    "mapping": f"{M}:{_inbound(name, system)}",
                }
            if system.kind != "carrier":
                entry["url"] = system.url
                entry["signing"] = {"scheme": "standard-webhooks", "secret_env": _env(name, "SIGNING_SECRET")}
                # the system's published rate limit, as an integrator writes it into the sync map:
                # the hub's rate budget then spends the whole allowance and no more
                entry["transport"] = {
                    "allow_private_network": True,
                    "rate": system.bucket.rate,
                    "burst": system.bucket.burst,
                }
                if getattr(system, "flavour", None) == "shop":
                    entry["transport"]["compare_and_set"] = True
            if system.kind == "marketplace":
                entry["writes"] = ["order", "return"]
            if system.kind == "wms":
                entry["writes"] = ["inventory", "order", "shipment", "return"]
            described[name] = entry
        owners: dict[str, Any] = {}
        kinds = {s.kind: n for n, s in systems.items()}
        if "wms" in kinds:
            owners.update(
                {
                    "inventory.quantities": kinds["wms"],
                    "order.fulfillment": kinds["wms"],
                    "shipment": kinds["wms"],
                }
            )
        if "carrier" in kinds:
            owners["tracking"] = kinds["carrier"]
        if "erp" in kinds:
            owners["product"] = kinds["erp"]
        routes: list[dict[str, Any]] = []
        for name, system in systems.items():
            if system.kind == "edi_partner":
                routes += _partner_routes(name, system)
                continue
            if system.kind != "marketplace":
                continue
            flavour = getattr(system, "flavour", "shop")
            mapping = f"{M}:{flavour}_outbound"
            inventory: dict[str, Any] = {
                "name": f"stock-to-{name}",
                "domain": "inventory",
                "to": name,
                "mapping": mapping,
                "transform": {"atp": {"on_insufficient": "reject"}},
                "sla": "10m",
            }
            if flavour == "market":
                inventory["batch"] = getattr(system, "max_batch", 50)
            routes.append(inventory)
            routes.append(
                {
                    "name": f"shipments-to-{name}",
                    "domain": "shipment",
                    "to": name,
                    "mapping": mapping,
                    # the WMS keys a shipment SH-<order>-<n>, and this channel's orders <NAME>-<n>:
                    # a channel takes the fulfilments of its own orders only
                    "filter": {"key_prefix": [f"SH-{name.upper()}-"]},
                    "sla": "10m",
                }
            )
            if "erp" in kinds:
                routes.append(
                    {"name": f"products-to-{name}", "domain": "product", "to": name, "mapping": mapping}
                )
        if "wms" in kinds:
            routes.append(
                {
                    "name": "orders-to-wms",
                    "domain": "order",
                    "to": kinds["wms"],
                    "mapping": f"{M}:wms_order",
                    "sla": "10m",
                }
            )
            routes.append(
                {
                    "name": "returns-to-wms",
                    "domain": "return",
                    "to": kinds["wms"],
                    "mapping": f"{M}:wms_return",
                    "sla": "10m",
                }
            )
        return {
            "store": store,
            "api": {"admin": {"api_key_env": "SIM_ADMIN_KEY"}},
            "systems": described,
            "owners": owners,
            "routes": routes,
        }


def _trading_partner(system: Any) -> dict[str, Any]:
    """An EDI retailer as an integrator wires one: its X12 ids, the folder the hub watches for its
    files (looked at every second, taken at once: it renames a whole file into place), the outbox."""
    edi = system.edi_settings()
    # its 997 is wanted within two hours (sim time), an 856's too: the hub's clock is divided
    # by the compression like its other timers (`hub.in_sim_time`)
    edi["acknowledgments"] = {"overdue": "2h", "sets": {"856": "2h"}}
    return {
        "kind": "edi_partner",
        "connector": "edi",
        "edi": edi,
        "files": {"inbox": {"folder": str(system.inbox), "schedule": "* * * * * *", "settle": 0}},
        "writes": ["order"],
    }


def _partner_routes(name: str, system: Any) -> list[dict[str, Any]]:
    """846 inventory advice (the channel's ATP: what it may order), an 855 for each of its POs when
    it arrives and again when what is accepted changes (its lines, or units left backordered once
    goods left), an 856 for each shipment of its POs (the WMS keys them `SH-<order>-<n>`)."""
    prefix = system.po_prefix
    return [
        {
            "name": f"stock-to-{name}",
            "domain": "inventory",
            "to": name,
            "format": "x12-846",
            "batch": 200,
            # a PO is never refused: the units it asks for beyond the ATP are backordered (855 IB)
            "transform": {"atp": {"on_insufficient": "backorder"}},
            "sla": "15m",
        },
        {
            "name": f"orders-to-{name}",
            "domain": "order",
            "to": name,
            "format": "x12-855",
            # the acknowledgment goes back to the PO's sender (echo); a status step is no new 855
            "echo": True,
            "filter": {"key_prefix": [prefix], "fields": ["lines", "backordered_by_line"]},
            "sla": "15m",
        },
        {
            "name": f"shipments-to-{name}",
            "domain": "shipment",
            "to": name,
            "format": "x12-856",
            # one ASN per shipment: its contents and carriage, not each tracking scan after
            "filter": {
                "key_prefix": [f"SH-{prefix}"],
                "fields": [*Shipment.FIELD_GROUPS["contents"], *Shipment.FIELD_GROUPS["carriage"]],
            },
            "sla": "15m",
        },
    ]


def _inbound(name: str, system: SimSystem) -> str:
    if system.kind == "marketplace":
        return f"{getattr(system, 'flavour', 'shop')}_inbound"
    return f"{system.kind}_inbound"
