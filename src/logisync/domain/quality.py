"""Data-quality rules, the pure part: where a change names SKUs, locations and services, and units.

`pipeline/quality.py` reads the store (products, locations, cross-references) and applies these.
Field paths are as in `domain/problem.py`; `key` is the change's key (the SKU or the location of
an inventory key `SKU@LOCATION`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from .catalog import split_inventory_key
from .common import MAX_QUANTITY
from .kinds import Domain
from .problem import UNITS, Problem
from .units import BASE_ALIASES, UnitError, to_base


@dataclass(slots=True)
class Ref:
    """A place in a change that names a SKU, a location or a service, and how to rewrite it."""

    path: str
    value: str
    set: Callable[[str], None] | None  # None for a place that cannot be rewritten (the key)
    line: dict[str, Any] | None = None  # the line it is in, which keeps what was received


def writable(domain: Domain, fields: dict[str, Any]) -> dict[str, Any]:
    """A copy of `fields` whose lines (and packages) may be changed without touching the original.

    The pipeline may run a batch twice (a deadlock between writers); the verdict's fields must be
    the same the second time.
    """
    out = dict(fields)
    if isinstance(out.get("lines"), list):
        out["lines"] = [dict(line) if isinstance(line, dict) else line for line in out["lines"]]
    if domain is Domain.shipment and isinstance(out.get("packages"), list):
        out["packages"] = [
            {**pkg, "lines": [dict(line) for line in pkg.get("lines") or []]}
            if isinstance(pkg, dict)
            else pkg
            for pkg in out["packages"]
        ]
    if domain is Domain.inventory and isinstance(out.get("adjust"), dict):
        out["adjust"] = dict(out["adjust"])
    return out


def lines_of(domain: Domain, fields: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(path, line) for every line of an order, a return or a shipment's packages."""
    if domain in (Domain.order, Domain.return_):
        return [(f"lines[{i}]", line) for i, line in enumerate(fields.get("lines") or [])]
    if domain is Domain.shipment:
        return [
            (f"packages[{p}].lines[{i}]", line)
            for p, pkg in enumerate(fields.get("packages") or [])
            for i, line in enumerate(pkg.get("lines") or [])
        ]
    return []


def _setter(target: dict[str, Any], name: str) -> Callable[[str], None]:
    def put(value: str) -> None:
        target[name] = value

    return put


def sku_refs(domain: Domain, key: str, fields: dict[str, Any]) -> list[Ref]:
    """Where a change names SKUs: an inventory key, order, return and shipment lines."""
    if domain is Domain.inventory:
        return [Ref("key", split_inventory_key(key)[0], None)]
    return [
        Ref(f"{path}.sku", line["sku"], _setter(line, "sku"), line) for path, line in lines_of(domain, fields)
    ]


# The fields that name a location, per domain (besides an inventory key's location).
LOCATION_FIELDS = {Domain.order: "warehouse", Domain.shipment: "ship_from", Domain.return_: "location"}


def location_refs(domain: Domain, key: str, fields: dict[str, Any]) -> list[Ref]:
    """Where a change names a location: an inventory key, an order's warehouse, a shipment's
    ship_from, a return's location."""
    if domain is Domain.inventory:
        return [Ref("key", split_inventory_key(key)[1], None)]
    name = LOCATION_FIELDS.get(domain)
    if name is None or not isinstance(fields.get(name), str):
        return []
    return [Ref(name, fields[name], _setter(fields, name))]


def service_refs(domain: Domain, fields: dict[str, Any]) -> list[Ref]:
    """Where a change names a carrier service: a shipment's `service`."""
    if domain is Domain.shipment and isinstance(fields.get("service"), str):
        return [Ref("service", fields["service"], _setter(fields, "service"))]
    return []


# The quantities each kind of line holds, all in the line's unit.
LINE_QUANTITIES = {
    Domain.order: ("quantity", "allocated", "shipped", "cancelled", "returned"),
    Domain.shipment: ("quantity",),
    Domain.return_: ("quantity",),
}
INVENTORY_QUANTITIES = ("on_hand", "allocated", "inbound")


def is_base(unit: str | None, base_uom: str | None) -> bool:
    """Whether `unit` means the SKU's base unit (none given, the base's name, or an alias of each)."""
    if unit is None:
        return True
    name = unit.strip().lower()
    return name in BASE_ALIASES or name == (base_uom or "each").strip().lower()


def factor(unit: str, product: Mapping[str, Any]) -> int:
    """How many base units one `unit` of this product is (UnitError when it does not say)."""
    return to_base(1, unit, product.get("units"))


def _times(value: int, by: int, unit: str) -> int:
    base = value * by
    if abs(base) > MAX_QUANTITY:
        raise UnitError(
            f"{value} {unit} is {base} base units, more than the {MAX_QUANTITY:.0e} a quantity may be"
        )
    return base


def keep(line: dict[str, Any], received: dict[str, Any]) -> None:
    """Note in a line's `received` what the system sent for values the hub translated."""
    line["received"] = {**(line.get("received") or {}), **received}


def convert_line(
    domain: Domain, path: str, line: dict[str, Any], sku: str, product: Mapping[str, Any] | None
) -> Problem | None:
    """Put a line given in another unit into the SKU's base unit, in place.

    The quantities become base units, `uom` the product's base unit, and `received` keeps what
    was sent (`{"quantity": 2, "uom": "case"}`). None when done (or nothing to do), else the
    problem: an unknown product or unit, or a result past the largest quantity.
    """
    unit = line.get("uom")
    base_uom = product.get("base_uom") if product else None
    if unit is None or is_base(unit, base_uom):
        return None
    if product is None:
        return Problem(
            UNITS,
            f"{path}.uom",
            unit,
            f"{path}.uom: {unit!r} cannot be converted: {sku} is not a known product, so its units are unknown",
            {"sku": sku, "units": {}},
        )
    try:
        by = factor(unit, product)
        converted = {
            name: _times(line[name], by, unit)
            for name in LINE_QUANTITIES[domain]
            if isinstance(line.get(name), int)
        }
    except UnitError as exc:
        return Problem(
            UNITS,
            f"{path}.uom",
            unit,
            f"{path}.uom: {sku}: {exc}",
            {"sku": sku, "units": product.get("units") or {}},
        )
    received: dict[str, Any] = {k: line[k] for k in converted if line[k]}
    received["uom"] = unit
    line.update(converted)
    line["uom"] = base_uom or "each"
    keep(line, received)
    return None


def convert_inventory(fields: dict[str, Any], sku: str, product: Mapping[str, Any] | None) -> Problem | None:
    """Put an inventory change given in another unit into base units, in place (see convert_line).

    An inventory record has no place for what was received: its quantities become base units and
    its `uom` the base unit.
    """
    unit = fields.get("uom")
    base_uom = product.get("base_uom") if product else None
    if unit is None or is_base(unit, base_uom):
        return None
    if product is None:
        return Problem(
            UNITS,
            "uom",
            unit,
            f"uom: {unit!r} cannot be converted: {sku} is not a known product, so its units are unknown",
            {"sku": sku, "units": {}},
        )
    try:
        by = factor(unit, product)
        for name in INVENTORY_QUANTITIES:
            if isinstance(fields.get(name), int):
                fields[name] = _times(fields[name], by, unit)
        adjust = fields.get("adjust")
        if isinstance(adjust, dict):
            for name in ("on_hand", "inbound"):
                if isinstance(adjust.get(name), int):
                    adjust[name] = _times(adjust[name], by, unit)
    except UnitError as exc:
        return Problem(
            UNITS, "uom", unit, f"uom: {sku}: {exc}", {"sku": sku, "units": product.get("units") or {}}
        )
    fields["uom"] = base_uom or "each"
    return None
