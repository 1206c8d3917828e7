"""943 Warehouse Stock Transfer Shipment Advice: goods we send to a 3PL's warehouse, announced.

Written from a shipment record and the destination warehouse (the partner's location): W06*N
with the order number (W0602), the ship date (W0603) and the shipment's key (W0604); N1*WH the
destination, N1*SF where it leaves from; W27 the carrier's SCAC and service; one W04 per SKU
(units, unit, `SK` and the SKU); W03 the total units. Read back into the shipment (one package
named after it) and, at the destination, `inbound` adjustments like an 856's.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ...domain.kinds import Domain
from ..errors import X12Error
from ..interchange import TransactionSet
from ..writer import OutboundSet
from .mapped import Context, Mapped, SetReader, date_text, pairs
from .parties import read_parties
from .ship_notice_856 import inbound

CODE = "943"


def write(shipment: str, fields: dict[str, Any], warehouse: str, at: datetime) -> OutboundSet:
    units: dict[tuple[str, str], int] = {}
    for pkg in fields.get("packages") or []:
        for line in pkg.get("lines") or []:
            unit = line.get("uom") or "EA"
            units[(line["sku"], unit)] = units.get((line["sku"], unit), 0) + int(line["quantity"])
    if not units:
        raise X12Error(f"shipment {shipment!r} has no package lines to announce", code="bad_record")
    date, _ = date_text(fields.get("shipped_at") or at)
    body: list[list[str]] = [["W06", "N", fields.get("order_number") or "", date, shipment]]
    body.append(["N1", "WH", "", "92", warehouse])
    if fields.get("ship_from"):
        body.append(["N1", "SF", "", "92", fields["ship_from"]])
    if fields.get("carrier"):
        body.append(["W27", "M", fields["carrier"], fields.get("service") or ""])
    for (sku, unit), quantity in units.items():
        body.append(["W04", str(quantity), unit, "", "SK", sku])
    body.append(["W03", str(sum(units.values()))])
    return OutboundSet(CODE, body)


def read(tset: TransactionSet, ctx: Context) -> Mapped:
    r = SetReader(tset, ctx)
    segments = tset.segments
    if not segments or segments[0].tag != "W06":
        r.missing("W06", "the beginning segment", segments[0] if segments else None)
        return r.finish()
    w06 = segments[0]
    key = r.text(w06, 4, "W0604 shipment id")
    shipped = r.moment(w06, 3, None, "W0603 shipment", required=False)
    fields: dict[str, Any] = {}
    if w06[2].strip():
        fields["order_number"] = w06[2].strip()
    if shipped is not None:
        fields["shipped_at"] = shipped.isoformat()
    parties = read_parties(r, segments)
    if "SF" in parties and parties["SF"].code:
        fields["ship_from"] = parties["SF"].code
    destination = parties["WH"].code if "WH" in parties else None
    if destination is None:
        r.missing("N1", "the destination warehouse (N1*WH with N104)")
    lines: list[dict[str, Any]] = []
    for seg in segments:
        if seg.tag == "W27":
            if seg[2].strip():
                fields["carrier"] = seg[2].strip()
            if seg[3].strip():
                fields["service"] = seg[3].strip()
        elif seg.tag == "W04":
            quantity = r.quantity(seg, 1, "W0401 units shipped")
            sku = r.item(seg, pairs(4, 2))
            if quantity is None or sku is None:
                continue
            line: dict[str, Any] = {"sku": sku, "quantity": quantity}
            unit = r.unit(seg, 2)
            if unit:
                line["uom"] = unit
            lines.append(line)
    if not lines and not r.result.rejected:
        r.missing("W04", "at least one item")
    if key is None or r.result.rejected:
        return r.finish()
    packages = [{"package_id": key, "lines": lines}]
    fields["packages"] = packages
    r.change(Domain.shipment, key, fields, at=(w06, 4))
    if destination:
        inbound(r, key, destination, packages, w06)
    return r.finish()
