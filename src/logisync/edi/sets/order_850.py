"""850 Purchase Order from a trading partner (a retailer ordering from us) -> an order.

BEG03 is the order's key (the partner's PO number), BEG05 its date (`placed_at`); BEG01 `00`
(original), `05` (replace) or `06` (confirmation) send the lines, `01` (cancellation) asks for
the order to be cancelled (`cancel_requested`). CUR02 is the currency, the N1*ST loop the ship-to
address. Each PO1 is a line: PO101 its number, PO102 quantity, PO103 unit, PO104 unit price,
PO106/PO107 onwards the product ids (the partner's qualifier names our SKU, or its own item
number, which the partner's `xref: {sku: ...}` translates on ingest). The order's `channel` is
the partner.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...domain.kinds import Domain
from ..interchange import TransactionSet
from ..problems import Code
from ..tokenizer import Segment
from .mapped import Context, Mapped, SetReader, pairs
from .parties import read_parties

CODE = "850"
PURPOSES = {"00": "original", "05": "replace", "06": "confirmation", "01": "cancellation"}


def read(tset: TransactionSet, ctx: Context) -> Mapped:
    r = SetReader(tset, ctx)
    segments = tset.segments
    if not segments or segments[0].tag != "BEG":
        r.missing("BEG", "the beginning segment", segments[0] if segments else None)
        return r.finish()
    beg = segments[0]
    purpose = r.code(beg, 1, PURPOSES, "BEG01 purpose code")
    number = r.text(beg, 3, "BEG03 purchase order number")
    placed = r.moment(beg, 5, None, "BEG05 order", required=False)
    fields: dict[str, Any] = {"channel": ctx.partner}
    if placed is not None:
        fields["placed_at"] = placed.isoformat()
    lines = read_lines(r, segments)
    for seg in segments:
        if seg.tag == "CUR" and seg[1] in ("BY", "SE"):
            currency = r.text(seg, 2, "CUR02 currency code")
            if currency:
                fields["currency"] = currency
    parties = read_parties(r, segments)
    if "ST" in parties and parties["ST"].address:
        fields["ship_to"] = parties["ST"].address
    if purpose == "cancellation":
        fields["cancel_requested"] = True
    elif not lines and not r.result.rejected:
        r.missing("PO1", "at least one line")
    else:
        fields["lines"] = lines
    if number and not r.result.rejected:
        r.change(Domain.order, number, fields, at=(beg, 3))
    return r.finish()


def read_lines(r: SetReader, segments: Sequence[Segment]) -> list[dict[str, Any]]:
    """Every PO1 as an order line (also read by the 855, which echoes them)."""
    lines: list[dict[str, Any]] = []
    for seg in segments:
        if seg.tag != "PO1":
            continue
        line_no = seg[1].strip()
        if not line_no:
            no = len(lines) + 1
        elif line_no.isascii() and line_no.isdigit() and int(line_no) > 0:
            no = int(line_no)
        else:
            r.error(
                seg,
                Code.element_invalid_character,
                f"PO101 line number {line_no!r} is not a positive number",
                1,
            )
            continue
        quantity = r.quantity(seg, 2, "PO102 quantity ordered")
        sku = r.item(seg, pairs(6))
        price = r.decimal(seg, 4, "PO104 unit price")
        if quantity is None or sku is None:
            continue
        line: dict[str, Any] = {"line_no": no, "sku": sku, "quantity": quantity}
        unit = r.unit(seg, 3)
        if unit:
            line["uom"] = unit
        if price is not None:
            line["unit_price"] = str(price)
        lines.append(line)
    return lines
