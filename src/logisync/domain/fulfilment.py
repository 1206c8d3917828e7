"""What an order's shipments and returns cover, line by line, and the order status that follows.

Pure functions over plain JSON values (line numbers are text, as JSON object keys are); the
pipeline (`pipeline/fulfilment.py`) reads and writes the records. The rules:

- **Coverage.** A shipment's package lines that name an `order_line_no` count against that line;
  the others are known by SKU only and are spread over the order's lines with that SKU in line
  order, each up to what it still has room for (ordered minus shipped by line number, minus
  cancelled), the rest on the last such line (an over-shipment shows, it is not lost). A SKU the
  order does not have, or a line number it does not have, is `unmatched`. A `cancelled` shipment
  (its label voided) carries nothing.
- **Shipped** units of a line: the larger of what the hub counted from the shipments and the
  line's own `shipped` (a WMS that reports line quantities). **Owed** (backordered once goods left):
  `quantity - shipped - cancelled`, when positive.
- **Status** (`target_status`), once something shipped: `partially_shipped` while any unit is owed;
  else `returned` when every shipped unit came back (returns) or every shipment was returned to its
  sender; else `delivered` when every shipment is delivered; else `shipped`.
- **Moves** (`status_path`): the hub only moves an order forward along shipping
  (`partially_shipped < shipped < delivered < returned`); a status already as far or further is
  left alone. `delivered` and `returned` pass `shipped` first, as the order lifecycle requires.
  Each step must be legal in `lifecycles.ORDER` (a cancelled or held order is not moved); the
  first illegal step stops the move and is reported. An order with no status yet takes the
  derived one as it comes, as the pipeline does for a system's first status.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from .lifecycles import ORDER
from .order import OrderStatus

LineUnits = dict[str, int]  # line number (as text) -> units

_AHEAD = {
    OrderStatus.partially_shipped: 1,
    OrderStatus.shipped: 2,
    OrderStatus.delivered: 3,
    OrderStatus.returned: 4,
}


def shipment_contents(packages: Iterable[Mapping[str, Any]] | None) -> tuple[LineUnits, dict[str, int]]:
    """Units a shipment carries: by order line number where a package line names one, else by SKU."""
    by_line: LineUnits = {}
    by_sku: dict[str, int] = {}
    for package in packages or ():
        for line in package.get("lines") or ():
            units = int(line.get("quantity") or 0)
            if units <= 0:
                continue
            if line.get("order_line_no") is not None:
                key = str(line["order_line_no"])
                by_line[key] = by_line.get(key, 0) + units
            else:
                by_sku[line["sku"]] = by_sku.get(line["sku"], 0) + units
    return by_line, by_sku


def _add(into: dict[str, int], units: Mapping[str, int]) -> None:
    for key, n in units.items():
        into[key] = into.get(key, 0) + int(n)


def spread(
    by_sku: Mapping[str, int], lines: Sequence[Mapping[str, Any]], room: Mapping[str, int]
) -> tuple[LineUnits, dict[str, int]]:
    """Units known by SKU over the order's lines with that SKU, in line order, each up to its
    `room`; what is left goes on the last such line. SKUs on no line come back as unmatched."""
    placed: LineUnits = {}
    unmatched: dict[str, int] = {}
    for sku, units in by_sku.items():
        targets = sorted(int(line["line_no"]) for line in lines if line.get("sku") == sku)
        if not targets:
            unmatched[sku] = unmatched.get(sku, 0) + units
            continue
        left = units
        for line_no in targets:
            take = min(left, max(0, room.get(str(line_no), 0)))
            if take > 0:
                placed[str(line_no)] = placed.get(str(line_no), 0) + take
                left -= take
        if left > 0:
            last = str(targets[-1])
            placed[last] = placed.get(last, 0) + left
    return placed, unmatched


def shipped_by_line(
    lines: Sequence[Mapping[str, Any]], shipments: Mapping[str, Mapping[str, Any]]
) -> tuple[LineUnits, dict[str, int]]:
    """Units shipped per line from every live shipment of the order, and what matched no line.

    Unmatched keys are SKUs, or `line <n>` for a line number the order does not have.
    """
    explicit: LineUnits = {}
    by_sku: dict[str, int] = {}
    for cover in shipments.values():
        if cover.get("status") == "cancelled":
            continue
        _add(explicit, cover.get("lines") or {})
        _add(by_sku, cover.get("skus") or {})
    known = {str(line["line_no"]) for line in lines}
    unmatched = {f"line {k}": n for k, n in explicit.items() if k not in known}
    shipped = {k: n for k, n in explicit.items() if k in known}
    room = {
        str(line["line_no"]): int(line.get("quantity") or 0)
        - shipped.get(str(line["line_no"]), 0)
        - int(line.get("cancelled") or 0)
        for line in lines
    }
    placed, strays = spread(by_sku, lines, room)
    _add(shipped, placed)
    _add(unmatched, strays)
    return {k: n for k, n in shipped.items() if n > 0}, unmatched


def line_shipped(line: Mapping[str, Any], shipped: Mapping[str, int]) -> int:
    """A line's shipped units: the hub's count or the line's own, whichever is larger."""
    return max(int(line.get("shipped") or 0), int(shipped.get(str(line["line_no"]), 0)))


def owed_by_line(lines: Sequence[Mapping[str, Any]], shipped: Mapping[str, int]) -> LineUnits:
    """Units each line still owes: ordered, not shipped, not cancelled."""
    owed: LineUnits = {}
    for line in lines:
        left = int(line.get("quantity") or 0) - line_shipped(line, shipped) - int(line.get("cancelled") or 0)
        if left > 0:
            owed[str(line["line_no"])] = left
    return owed


def returned_by_line(
    lines: Sequence[Mapping[str, Any]], by_sku: Mapping[str, int], shipped: Mapping[str, int]
) -> tuple[LineUnits, dict[str, int]]:
    """Units received back (by SKU) over the order's lines, each up to what it shipped."""
    room = {str(line["line_no"]): line_shipped(line, shipped) for line in lines}
    return spread(by_sku, lines, room)


def target_status(
    lines: Sequence[Mapping[str, Any]],
    shipped: Mapping[str, int],
    returned: Mapping[str, int],
    shipment_statuses: Iterable[str | None],
) -> OrderStatus | None:
    """The status an order's shipments and returns say it has (None: they say nothing yet)."""
    if not lines:
        return None
    sent = {str(line["line_no"]): line_shipped(line, shipped) for line in lines}
    if not any(sent.values()):
        return None
    if owed_by_line(lines, shipped):
        return OrderStatus.partially_shipped
    came_back = {
        str(line["line_no"]): max(int(line.get("returned") or 0), int(returned.get(str(line["line_no"]), 0)))
        for line in lines
    }
    if all(came_back[k] >= n for k, n in sent.items()):
        return OrderStatus.returned
    live = [s for s in shipment_statuses if s != "cancelled"]
    if live and all(s == "returned_to_sender" for s in live):
        return OrderStatus.returned
    if live and all(s == "delivered" for s in live):
        return OrderStatus.delivered
    return OrderStatus.shipped


def status_path(current: str | None, target: OrderStatus) -> tuple[list[OrderStatus], str | None]:
    """The statuses to move through from `current` to `target`, or why the move is refused.

    `([], None)`: nothing to do (the order is already as far or further).
    """
    now = ORDER.coerce(current) if current is not None else None
    if current is not None and now is None:
        return [], f"{current!r} is not an order status"
    if now is None:
        return [target], None
    if _AHEAD.get(target, 0) <= _AHEAD.get(now, 0):
        return [], None
    path = [target]
    if (
        target in (OrderStatus.delivered, OrderStatus.returned)
        and _AHEAD.get(now, 0) < _AHEAD[OrderStatus.shipped]
    ):
        path.insert(0, OrderStatus.shipped)
    problem = ORDER.check(now, path[0])
    if problem is not None:
        return [], problem
    return path, None
