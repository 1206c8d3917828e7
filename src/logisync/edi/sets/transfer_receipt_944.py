"""944 Warehouse Stock Transfer Receipt Advice: what a 3PL's warehouse received -> its stock.

W17: W1702 the receipt date, W1703 the warehouse receipt number;
N1*WH the warehouse (its N104 code; the partner's `location` when it names none); one W07 per
item received: W0701 units, W0702 unit, W0704/W0705 the product id. Each W07 adds its units to
`on_hand` at the warehouse (an adjustment with reason `receipt`), with an id made from the
receipt number and the line, so a resent receipt is a duplicate, never a second receipt.
`inbound` (raised by an ASN) is left to the warehouse's own counts.
"""

from __future__ import annotations

from typing import Any

from ...domain.kinds import Domain
from ..interchange import TransactionSet
from .mapped import Context, Mapped, SetReader, pairs
from .parties import read_parties

CODE = "944"


def read(tset: TransactionSet, ctx: Context) -> Mapped:
    r = SetReader(tset, ctx)
    segments = tset.segments
    if not segments or segments[0].tag != "W17":
        r.missing("W17", "the beginning segment", segments[0] if segments else None)
        return r.finish()
    w17 = segments[0]
    r.moment(w17, 2, None, "W1702 receipt")  # checked; the adjustment is ordered by arrival
    receipt = r.text(w17, 3, "W1703 warehouse receipt number")
    parties = read_parties(r, segments)
    location = (parties["WH"].code if "WH" in parties else None) or ctx.location
    if location is None:
        r.missing("N1", "the warehouse: no N1*WH with N104 and the partner has no `location`")
    items: list[tuple[int, str, int, str | None, Any]] = []
    for seg in segments:
        if seg.tag != "W07":
            continue
        quantity = r.quantity(seg, 1, "W0701 units received")
        sku = r.item(seg, pairs(4, 2))
        if quantity is not None and sku is not None:
            items.append((len(items) + 1, sku, quantity, r.unit(seg, 2), seg))
    if not items and not r.result.rejected:
        r.missing("W07", "at least one item received")
    if r.result.rejected or receipt is None or location is None:
        return r.finish()
    for n, sku, quantity, unit, seg in items:
        fields: dict[str, Any] = {"adjust": {"on_hand": quantity, "reason": "receipt"}}
        if unit:
            fields["uom"] = unit
        r.change(
            Domain.inventory,
            f"{sku}@{location}",
            fields,
            at=(seg, 5),
            change_id=f"{ctx.partner}:{CODE}:{receipt}:{n}",
        )
    return r.finish()
