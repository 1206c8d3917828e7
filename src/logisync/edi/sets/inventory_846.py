"""846 Inventory Inquiry/Advice: a partner's stock per item and location, to and from inventory.

Read: BIA (BIA04/BIA05 the report's date and time, which order the positions: an older report
arriving late is stale), an optional N1 naming the location (N101 WH/SF/ST/RL, N104 its code;
in the heading for the whole report, or inside a LIN loop for that item; the partner's
`location` otherwise), then one LIN loop per item: LIN's product ids (the partner's qualifier,
e.g. SK or VN), QTY segments by QTY01. One inventory change per LIN, key `SKU@LOCATION`.

Written: one 846 per location, N1*WH naming it, LIN*n*SK*sku, QTY*17 (on hand) and QTY*63
(on order, the hub's `inbound`), CTT with the number of LIN loops.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import Enum
from itertools import compress
from operator import itemgetter
from typing import Any

from ...domain.kinds import Domain
from ..interchange import TransactionSet
from ..problems import Code
from ..writer import OutboundSet
from .mapped import BASE_UNITS, Context, Mapped, SetReader, date_text, no_gc_pauses, number, pairs

CODE = "846"


class Quantity(Enum):
    """QTY01 quantity qualifier (X12 element 673) -> the inventory field it sets."""

    on_hand = ("17", "33")  # 17 quantity on hand; 33 quantity available for sale (stock), when no 17
    inbound = ("63",)  # 63 on order quantity: units the location expects


_HEAD = itemgetter(slice(0, 4))
QUANTITIES = {code: member for member in Quantity for code in member.value}
FIELDS = {code: member.name for code, member in QUANTITIES.items()}
ITEM_PAIRS = pairs(2)  # LIN02/LIN03, LIN04/LIN05, ...: (product id qualifier, product id)
LOCATION_ENTITIES = frozenset(
    {"WH", "SF", "ST", "RL", "SN"}
)  # warehouse, ship from, ship to, reporting location, store


def read(tset: TransactionSet, ctx: Context) -> Mapped:
    """The set's changes. Reads every segment's elements in one pass (`Body.rows`) and makes a
    `Segment` (with its position in the file) only for a segment an error or a change points at."""
    with no_gc_pauses():
        return _read(tset, ctx)


def _read(tset: TransactionSet, ctx: Context) -> Mapped:
    r = SetReader(tset, ctx)
    body = tset.segments
    texts, sep = body.texts(), body.sep
    if not texts or texts[0].split(sep, 1)[0] != "BIA":
        r.missing("BIA", "the beginning segment", body[0] if texts else None)
        return r.finish()
    bia = body[0]
    r.text(bia, 1, "BIA01 purpose code")
    reported = r.moment(bia, 4, 5, "BIA04 report")
    location = ctx.location
    field_of = FIELDS.get
    # only LIN, QTY and N1 are read: the others are passed over in C by their first 4 characters
    # (the id and the separator after it, or the whole text of a segment without elements)
    lin, qty, n1 = "LIN" + sep, "QTY" + sep, "N1" + sep
    heads = list(map(_HEAD, texts))
    wanted = {h for h in set(heads) if h in (lin, qty, "LIN", "QTY", "N1") or h[:3] == n1}
    # each item: [LIN's place in the body, SKU, {QTY01: (field, amount)}, its own location, unit, a QTY seen]
    items: list[list[Any]] = []
    current: list[Any] | None = None
    for i in compress(range(len(texts)), map(wanted.__contains__, heads)):
        if i == 0:
            continue  # the BIA
        text = texts[i]
        head = heads[i]
        if head == qty or text == "QTY":
            if current is None:
                r.error(body[i], Code.segment_unexpected, "a QTY before any LIN")
                continue
            elements = text.split(sep)
            current[5] = True
            size = len(elements)
            code = elements[1] if size > 1 else ""
            amount_text = elements[2] if size > 2 else ""
            name = field_of(code)
            if name is not None and amount_text.isascii() and amount_text.isdigit():
                amount: int | None = int(amount_text)  # the usual case, read without the checks below
            else:
                seg = body[i]
                member = r.code(seg, 1, QUANTITIES, "QTY01 quantity qualifier")
                amount = r.quantity(seg, 2, "QTY02 quantity")
                if member is None or amount is None:
                    continue
                code, name = code.strip(), member.name  # a padded code counts as itself
            current[2].setdefault(code, (name, amount))
            if current[4] is None:
                unit = (elements[3] if size > 3 else "").strip().upper()
                current[4] = None if unit in BASE_UNITS else unit
        elif head == lin or text == "LIN":
            sku = r.item_of(text.split(sep), 2)
            if sku is None:
                sku = r.item(body[i], ITEM_PAIRS)  # names what is wrong
            current = [i, sku, {}, None, None, False]
            items.append(current)
        elif head[:3] == n1 or text == "N1":
            elements = text.split(sep)
            if (elements[1] if len(elements) > 1 else "") in LOCATION_ENTITIES:
                named = r.text(body[i], 4, "N104 location code")
                if named is not None:
                    if current is None:
                        location = named
                    else:
                        current[3] = named
    if not items:
        r.missing("LIN", "at least one item")
    inventory, base = r.spec(Domain.inventory), r.base
    every: list[dict[str, Any]] = []
    for _, _, quantities, _, unit, _ in items:
        if len(quantities) == 1:
            [(name, amount)] = quantities.values()
            fields: dict[str, Any] = {name: amount}
        else:
            fields = {}
            for code in ("17", "33", "63"):  # 17 before 33: a report with both gives on hand as 17
                if code in quantities:
                    name, amount = quantities[code]
                    fields.setdefault(name, amount)
        if unit:
            fields["uom"] = unit
        every.append(fields)
    valid = r.fields_valid(inventory, every)  # all at once; each again only when one is wrong
    ids_valid = r.id_valid(f"{base}:{len(items)}")  # the longest id
    for n, ((i, sku, _, own, _, seen), fields) in enumerate(zip(items, every, strict=True), start=1):
        where = own or location
        if not seen:
            r.missing("QTY", f"the quantity of item {n}", body[i])
        if where is None:
            r.missing("N1", "the location: the report names none and the partner has no `location`", body[i])
        if sku and where and fields and not r.failed:
            r.add(
                inventory,
                f"{sku}@{where}",
                fields,
                f"{base}:{n}",
                (i, 3),
                reported,
                valid=valid,
                id_valid=ids_valid,
            )
    return r.finish()


def write(
    location: str | None, positions: Sequence[tuple[str, dict[str, Any]]], reference: str, at: datetime
) -> OutboundSet:
    """An 846 for one location: `positions` are (SKU, inventory fields) pairs. Without a location
    (a channel's availability), `available` is written as QTY*33 and no N1."""
    date, clock = date_text(at)
    body: list[list[str]] = [["BIA", "00", "DD", reference, date, clock]]
    if location is not None:
        body.append(["N1", "WH", "", "92", location])
    for n, (sku, fields) in enumerate(positions, start=1):
        body.append(["LIN", str(n), "SK", sku])
        unit = fields.get("uom") or "EA"
        if fields.get("on_hand") is not None:
            body.append(["QTY", "17", number(fields["on_hand"]), unit])
        if fields.get("available") is not None:
            body.append(["QTY", "33", number(fields["available"]), unit])
        if fields.get("inbound") is not None:
            body.append(["QTY", "63", number(fields["inbound"]), unit])
    body.append(["CTT", str(len(positions))])
    return OutboundSet(CODE, body)
