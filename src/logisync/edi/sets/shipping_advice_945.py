"""945 Warehouse Shipping Advice: a 3PL's warehouse shipped an order -> the shipment.

W06: W0602 the order number (the 940's W0502), W0604 the shipment's key (W0602 when there is
none); N1*SF (its N104: `ship_from`) and the N1*ST loop (`ship_to`); G62*11 the ship date and
time; W27 the carrier's SCAC (W2702) and service (W2703). In each LX loop, MAN*GM names the
package (MAN*CP its carrier tracking number) and each W12 a line shipped: W1203 units shipped,
W1205 unit, W1207/W1208 the product id. Lines under no MAN go in a package named after the
shipment. The order's own lines and status follow from the shipment in the pipeline.
"""

from __future__ import annotations

from typing import Any

from ...domain.kinds import Domain
from ..interchange import TransactionSet
from .mapped import Context, Mapped, SetReader, pairs
from .parties import read_parties

CODE = "945"


def read(tset: TransactionSet, ctx: Context) -> Mapped:
    r = SetReader(tset, ctx)
    segments = tset.segments
    if not segments or segments[0].tag != "W06":
        r.missing("W06", "the beginning segment", segments[0] if segments else None)
        return r.finish()
    w06 = segments[0]
    order = r.text(w06, 2, "W0602 order number")
    key = w06[4].strip() or order
    fields: dict[str, Any] = {}
    if order:
        fields["order_number"] = order
    parties = read_parties(r, segments)
    if "SF" in parties and parties["SF"].code:
        fields["ship_from"] = parties["SF"].code
    if "ST" in parties and parties["ST"].address:
        fields["ship_to"] = parties["ST"].address
    packages: dict[str, dict[str, Any]] = {}
    package: dict[str, Any] | None = None
    tracking: list[str] = []
    for seg in segments:
        tag = seg.tag
        if tag == "G62" and seg[1] == "11":
            shipped = r.moment(seg, 2, 4, "G6202 ship")
            if shipped is not None:
                fields["shipped_at"] = shipped.isoformat()
        elif tag == "W27":
            if seg[2].strip():
                fields["carrier"] = seg[2].strip()
            if seg[3].strip():
                fields["service"] = seg[3].strip()
        elif tag == "LX":
            package = None
        elif tag == "MAN" and seg[1] == "GM":
            package_id = r.text(seg, 2, "MAN02 package id")
            if package_id:
                package = packages.setdefault(package_id, {"package_id": package_id, "lines": []})
        elif tag == "MAN" and seg[1] == "CP":
            number = r.text(seg, 2, "MAN02 tracking number")
            if number and package is not None:
                package["tracking_number"] = number
            if number and number not in tracking:
                tracking.append(number)
        elif tag == "W12":
            quantity = r.quantity(seg, 3, "W1203 units shipped")
            sku = r.item(seg, pairs(7, 1))
            if quantity is None or sku is None:
                continue
            line: dict[str, Any] = {"sku": sku, "quantity": quantity}
            unit = r.unit(seg, 5)
            if unit:
                line["uom"] = unit
            target = package or packages.setdefault(key or "1", {"package_id": key or "1", "lines": []})
            target["lines"].append(line)
    if not any(p["lines"] for p in packages.values()) and not r.result.rejected:
        r.missing("W12", "at least one line shipped")
    if tracking:
        fields["tracking_numbers"] = tracking
    fields["packages"] = list(packages.values())
    if key and not r.result.rejected:
        r.change(Domain.shipment, key, fields, at=(w06, 4 if w06[4].strip() else 2))
    return r.finish()
