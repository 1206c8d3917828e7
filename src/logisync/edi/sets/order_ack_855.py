"""855 Purchase Order Acknowledgment: what we accept of a partner's 850, line by line.

Written from the order record: BAK02 `AD` (accepted as ordered), `AC` (accepted with changes:
some units backordered or cancelled) or `RD` (rejected: the order is cancelled), BAK03 the PO
number; each line a PO1 echoing the order's line (number, quantity, unit, price, SKU as `SK`)
followed by ACK segments: `IA` units accepted, `IB` backordered (the hub's
`backordered_by_line` once goods left; before, its `backorders` by SKU, the units the oversell
guard could not hold, laid on the SKU's last lines first), `IR` rejected (the line's `cancelled`). Read back (an 855 from a supplier
we ordered from) into the order's lines, each with its `cancelled` units.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ...domain.kinds import Domain
from ..errors import X12Error
from ..interchange import TransactionSet
from ..writer import OutboundSet
from .mapped import Context, Mapped, SetReader, date_text, number
from .order_850 import read_lines

CODE = "855"


def write(order_number: str, fields: dict[str, Any], at: datetime) -> OutboundSet:
    lines = fields.get("lines") or []
    if not lines:
        raise X12Error(f"order {order_number!r} has no lines to acknowledge", code="bad_record")
    backordered = fields.get("backordered_by_line") or _by_line(lines, fields.get("backorders") or {})
    changed = False
    body: list[list[str]] = []
    for line in lines:
        unit = line.get("uom") or "EA"
        price = number(line["unit_price"]) if line.get("unit_price") is not None else ""
        body.append(
            ["PO1", str(line["line_no"]), number(line["quantity"]), unit, price, "", "SK", line["sku"]]
        )
        cancelled = int(line.get("cancelled") or 0)
        later = int(backordered.get(str(line["line_no"])) or 0)
        accepted = max(0, int(line["quantity"]) - cancelled - later)
        if accepted or not (later or cancelled):  # a line wholly backordered or rejected has no IA
            body.append(["ACK", "IA", str(accepted), unit])
        if later:
            body.append(["ACK", "IB", str(later), unit])
        if cancelled:
            body.append(["ACK", "IR", str(cancelled), unit])
        changed = changed or bool(later or cancelled)
    kind = "RD" if fields.get("status") == "cancelled" else ("AC" if changed else "AD")
    body.insert(0, ["BAK", "00", kind, order_number, date_text(at)[0]])
    body.append(["CTT", str(len(lines))])
    return OutboundSet(CODE, body)


def _by_line(lines: list[dict[str, Any]], backorders: dict[str, Any]) -> dict[str, int]:
    """The units of each SKU the hub could not hold, on that SKU's lines, the last line first."""
    left = {sku: int(n) for sku, n in backorders.items() if int(n) > 0}
    out: dict[str, int] = {}
    for line in reversed(lines):
        sku = line["sku"]
        if left.get(sku):
            n = min(left[sku], max(0, int(line["quantity"]) - int(line.get("cancelled") or 0)))
            if n:
                out[str(line["line_no"])] = n
                left[sku] -= n
    return out


def read(tset: TransactionSet, ctx: Context) -> Mapped:
    r = SetReader(tset, ctx)
    segments = tset.segments
    if not segments or segments[0].tag != "BAK":
        r.missing("BAK", "the beginning segment", segments[0] if segments else None)
        return r.finish()
    bak = segments[0]
    number_ = r.text(bak, 3, "BAK03 purchase order number")
    lines = read_lines(r, segments)
    by_no = {line["line_no"]: line for line in lines}
    current: dict[str, Any] | None = None
    for seg in segments:
        if seg.tag == "PO1":
            no = seg[1].strip()
            current = by_no.get(int(no)) if no.isascii() and no.isdigit() else None
        elif seg.tag == "ACK" and current is not None and seg[1] == "IR":
            rejected = r.quantity(seg, 2, "ACK02 quantity")
            if rejected:
                current["cancelled"] = current.get("cancelled", 0) + rejected
    if number_ and lines and not r.result.rejected:
        r.change(Domain.order, number_, {"lines": lines}, at=(bak, 3))
    return r.finish()
