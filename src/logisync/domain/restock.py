"""What a return (RMA) puts back into stock, and what it says came back, per SKU.

Pure functions over a return's fields; the pipeline (`pipeline/returns.py`) moves the stock. The
rules:

- A line goes back to stock when its `disposition` is `restock` and the return has been received
  (`received` or `restocked`), or when the return is `restocked` and the line says nothing
  (`pending`): the status speaks for lines that carry no disposition. A `dispose` line, and every
  line of a `disposed` return, changes nothing in stock.
- What came back (for the order's `returned` quantities) is every line of a return that has been
  received: `received`, `restocked` or `disposed`, whatever its disposition.
- Restocking happens once: the hub records what it put back (`restocked_units`) and moves only
  the difference. It never takes restocked units back out: a line that no longer restocks after its
  units went back is for a person (`to_unstock` says which).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

RECEIVED = frozenset({"received", "restocked", "disposed"})
RESTOCKING = frozenset({"received", "restocked"})


def restock_target(rma: Mapping[str, Any]) -> dict[str, int]:
    """Units per SKU that should be back in stock for this return now."""
    status = rma.get("status")
    if status not in RESTOCKING:
        return {}
    wanted: dict[str, int] = {}
    for line in rma.get("lines") or ():
        disposition = line.get("disposition") or "pending"
        if disposition == "restock" or (status == "restocked" and disposition == "pending"):
            units = int(line.get("quantity") or 0)
            if units > 0:
                wanted[line["sku"]] = wanted.get(line["sku"], 0) + units
    return wanted


def to_restock(target: Mapping[str, int], done: Mapping[str, int]) -> dict[str, int]:
    """Units per SKU still to put back: the target above what is already back."""
    return {sku: n - int(done.get(sku, 0)) for sku, n in target.items() if n > int(done.get(sku, 0))}


def to_unstock(target: Mapping[str, int], done: Mapping[str, int]) -> dict[str, int]:
    """Units per SKU already back that the return no longer restocks (left for a person)."""
    return {sku: int(n) - target.get(sku, 0) for sku, n in done.items() if int(n) > target.get(sku, 0)}


def came_back(rma: Mapping[str, Any]) -> dict[str, int]:
    """Units per SKU this return says came back (nothing until it is received)."""
    if rma.get("status") not in RECEIVED:
        return {}
    units: dict[str, int] = {}
    for line in rma.get("lines") or ():
        n = int(line.get("quantity") or 0)
        if n > 0:
            units[line["sku"]] = units.get(line["sku"], 0) + n
    return units
