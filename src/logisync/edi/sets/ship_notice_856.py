"""856 Ship Notice/Manifest (ASN): a shipment with its packages, and the stock it brings.

Read (a supplier's ASN for goods coming to us, or a 3PL's): BSN02 is the shipment's key, BSN03/
BSN04 its date and time; the HL tree is walked by level code (HL03): `S` shipment (TD5 the
carrier's SCAC in TD503 and its service in TD505, REF*CN the carrier's tracking number,
DTM*011 the ship date, N1*SF and N1*ST), `O` order (PRF01, the order number), `P` pack (MAN*GM
the package id, REF*CN its tracking number), `I` item (LIN product ids, SN1 the units shipped:
SN101 the order line, SN102 quantity, SN103 unit). Items under no pack go in one package named
after the shipment. When the ship-to N1 names a location (N104), each item also raises that
location's `inbound` (an adjustment with reason `transfer`, id from BSN02: a resent ASN does not
count twice).

Written from a shipment record: the same tree, one P level per package and one I level per
package line.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ...domain.kinds import Domain
from ..errors import X12Error
from ..interchange import TransactionSet
from ..problems import Code
from ..tokenizer import Segment
from ..writer import OutboundSet
from .mapped import Context, Mapped, SetReader, date_text, number, pairs
from .parties import read_parties, write_party

CODE = "856"
LEVELS = frozenset({"S", "O", "P", "T", "I"})


def read(tset: TransactionSet, ctx: Context) -> Mapped:
    r = SetReader(tset, ctx)
    segments = tset.segments
    if not segments or segments[0].tag != "BSN":
        r.missing("BSN", "the beginning segment", segments[0] if segments else None)
        return r.finish()
    bsn = segments[0]
    key = r.text(bsn, 2, "BSN02 shipment id")
    shipped = r.moment(bsn, 3, 4, "BSN03 shipment")
    fields: dict[str, Any] = {}
    packages: list[dict[str, Any]] = []
    loose: dict[str, Any] | None = None
    package: dict[str, Any] | None = None
    level = ""
    shipment_level: list[Segment] = []
    last_item: tuple[Segment, str | None] | None = None
    seen_hl = False
    for seg in segments[1:]:
        tag = seg.tag
        if tag == "HL":
            seen_hl = True
            level = r.code(seg, 3, {c: c for c in LEVELS}, "HL03 level code") or ""
            if level in ("P", "T"):
                package = {"package_id": None, "lines": []}
                packages.append(package)
            elif level in ("S", "O"):
                package = None
            last_item = None
        elif level == "S":
            shipment_level.append(seg)
            if tag == "TD5":
                if seg[3].strip():
                    fields["carrier"] = seg[3].strip()
                if seg[5].strip():
                    fields["service"] = seg[5].strip()
            elif tag == "REF" and seg[1] == "CN":
                number_ = r.text(seg, 2, "REF02 tracking number")
                if number_:
                    fields.setdefault("tracking_numbers", []).append(number_)
            elif tag == "DTM" and seg[1] == "011":
                on = r.moment(seg, 2, 3, "DTM02 ship")
                shipped = on or shipped
        elif level == "O" and tag == "PRF":
            order = r.text(seg, 1, "PRF01 order number")
            if order:
                fields["order_number"] = order
        elif level in ("P", "T") and package is not None:
            if tag == "MAN" and seg[1] == "GM":
                package["package_id"] = r.text(seg, 2, "MAN02 package id")
            elif tag == "REF" and seg[1] == "CN":
                package["tracking_number"] = r.text(seg, 2, "REF02 tracking number")
            elif tag == "MAN" and package["package_id"] is None:
                package["package_id"] = r.text(seg, 2, "MAN02 package id")
        elif level == "I":
            if tag == "LIN":
                last_item = (seg, r.item(seg, pairs(2)))
            elif tag == "SN1":
                if last_item is None:
                    r.error(seg, Code.segment_unexpected, "an SN1 before the item's LIN")
                    continue
                quantity = r.quantity(seg, 2, "SN102 units shipped")
                sku = last_item[1]
                if quantity is None or sku is None:
                    continue
                line: dict[str, Any] = {"sku": sku, "quantity": quantity}
                ref = seg[1].strip()
                if ref.isascii() and ref.isdigit() and int(ref) > 0:
                    line["order_line_no"] = int(ref)
                unit = r.unit(seg, 3)
                if unit:
                    line["uom"] = unit
                target = package
                if target is None:
                    if loose is None:
                        loose = {"package_id": key or "1", "lines": []}
                        packages.append(loose)
                    target = loose
                target["lines"].append(line)
                last_item = None
    if not seen_hl:
        r.missing("HL", "the shipment's hierarchy")
    for n, pkg in enumerate(packages, start=1):
        if pkg["package_id"] is None:
            pkg["package_id"] = f"{key}-{n}"
        if pkg.get("tracking_number") is None:
            pkg.pop("tracking_number", None)
    parties = read_parties(r, shipment_level)
    if "SF" in parties and parties["SF"].code:
        fields["ship_from"] = parties["SF"].code
    if "ST" in parties and parties["ST"].address:
        fields["ship_to"] = parties["ST"].address
    if shipped is not None:
        fields["shipped_at"] = shipped.isoformat()
    fields["packages"] = packages
    if not any(pkg["lines"] for pkg in packages) and not r.result.rejected:
        r.missing("SN1", "at least one item shipped")
    if key is None or r.result.rejected:
        return r.finish()
    r.change(Domain.shipment, key, fields, at=(bsn, 2))
    destination = parties["ST"].code if "ST" in parties else None
    if destination:
        inbound(r, key, destination, packages, bsn)
    return r.finish()


def inbound(r: SetReader, key: str, location: str, packages: list[dict[str, Any]], seg: Segment) -> None:
    """The units a shipment brings to `location`, as `inbound` adjustments (one per SKU)."""
    units: dict[str, int] = {}
    for pkg in packages:
        for line in pkg["lines"]:
            if line.get("uom"):
                continue  # not in base units: the WMS's count will say; the shipment keeps them
            units[line["sku"]] = units.get(line["sku"], 0) + line["quantity"]
    for sku, quantity in units.items():
        r.change(
            Domain.inventory,
            f"{sku}@{location}",
            {"adjust": {"inbound": quantity, "reason": "transfer"}},
            at=(seg, None),
            change_id=f"{r.ctx.partner}:{r.tset.code}:{key}:{sku}@{location}",
        )


def write(shipment: str, fields: dict[str, Any], at: datetime) -> OutboundSet:
    """An 856 for one shipment record (its packages and lines)."""
    packages = fields.get("packages") or []
    if not any(p.get("lines") for p in packages):
        raise X12Error(f"shipment {shipment!r} has no package lines to announce", code="bad_record")
    date, clock = date_text(fields.get("shipped_at") or at)
    body: list[list[str]] = [["BSN", "00", shipment, date, clock], ["HL", "1", "", "S"]]
    if fields.get("carrier") or fields.get("service"):
        body.append(["TD5", "", "2", fields.get("carrier") or "", "", fields.get("service") or ""])
    for tracking in fields.get("tracking_numbers") or []:
        body.append(["REF", "CN", tracking])
    if fields.get("ship_from"):
        body.append(["N1", "SF", "", "92", fields["ship_from"]])
    if fields.get("ship_to"):
        body += write_party("ST", fields["ship_to"])
    hl = 1
    parent = 1
    if fields.get("order_number"):
        hl += 1
        parent = hl
        body += [["HL", str(hl), "1", "O"], ["PRF", fields["order_number"]]]
    for pkg in packages:
        hl += 1
        pack = hl
        body += [["HL", str(pack), str(parent), "P"], ["MAN", "GM", pkg["package_id"]]]
        if pkg.get("tracking_number"):
            body.append(["REF", "CN", pkg["tracking_number"]])
        for line in pkg.get("lines") or []:
            hl += 1
            ref = str(line["order_line_no"]) if line.get("order_line_no") else ""
            body += [
                ["HL", str(hl), str(pack), "I"],
                ["LIN", "", "SK", line["sku"]],
                ["SN1", ref, number(line["quantity"]), line.get("uom") or "EA"],
            ]
    body.append(["CTT", str(hl)])
    return OutboundSet(CODE, body)
