"""940 Warehouse Shipping Order: an order sent to a 3PL's warehouse to pick, pack and ship.

Written from an order record: W05*N with the order number (W0502), N1*WH naming the order's
`warehouse`, the N1*ST loop with its ship-to address, then one LX loop per line (LX01 the line
number) with W01: units (W0101), unit (W0102), the SKU as `SK` (W0104/W0105); W76 the total
units. Read back into the same order fields (the 3PL's side, and the round-trip tests).
"""

from __future__ import annotations

from typing import Any

from ...domain.kinds import Domain
from ..errors import X12Error
from ..interchange import TransactionSet
from ..problems import Code
from ..writer import OutboundSet
from .mapped import Context, Mapped, SetReader, number, pairs
from .parties import read_parties, write_party

CODE = "940"


def write(order_number: str, fields: dict[str, Any]) -> OutboundSet:
    lines = fields.get("lines") or []
    if not lines:
        raise X12Error(f"order {order_number!r} has no lines to ship", code="bad_record")
    body: list[list[str]] = [["W05", "N", order_number]]
    if fields.get("warehouse"):
        body.append(["N1", "WH", "", "92", fields["warehouse"]])
    if fields.get("ship_to"):
        body += write_party("ST", fields["ship_to"])
    total = 0
    for line in lines:
        body.append(["LX", str(line["line_no"])])
        body.append(["W01", number(line["quantity"]), line.get("uom") or "EA", "", "SK", line["sku"]])
        total += int(line["quantity"])
    body.append(["W76", str(total)])
    return OutboundSet(CODE, body)


def read(tset: TransactionSet, ctx: Context) -> Mapped:
    r = SetReader(tset, ctx)
    segments = tset.segments
    if not segments or segments[0].tag != "W05":
        r.missing("W05", "the beginning segment", segments[0] if segments else None)
        return r.finish()
    order = r.text(segments[0], 2, "W0502 order number")
    fields: dict[str, Any] = {}
    parties = read_parties(r, segments)
    if "WH" in parties and parties["WH"].code:
        fields["warehouse"] = parties["WH"].code
    if "ST" in parties and parties["ST"].address:
        fields["ship_to"] = parties["ST"].address
    lines: list[dict[str, Any]] = []
    line_no: int | None = None
    for seg in segments:
        if seg.tag == "LX":
            value = seg[1].strip()
            if value.isascii() and value.isdigit() and int(value) > 0:
                line_no = int(value)
            else:
                r.error(seg, Code.element_invalid_character, f"LX01 {value!r} is not a line number", 1)
                line_no = None
        elif seg.tag == "W01":
            quantity = r.quantity(seg, 1, "W0101 units ordered")
            sku = r.item(seg, pairs(4, 2))
            if quantity is None or sku is None:
                continue
            line: dict[str, Any] = {"line_no": line_no or len(lines) + 1, "sku": sku, "quantity": quantity}
            unit = r.unit(seg, 2)
            if unit:
                line["uom"] = unit
            lines.append(line)
    if not lines and not r.result.rejected:
        r.missing("W01", "at least one line")
    fields["lines"] = lines
    if order and not r.result.rejected:
        r.change(Domain.order, order, fields, at=(segments[0], 2))
    return r.finish()
