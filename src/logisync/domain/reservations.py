"""The oversell guard's arithmetic: what an order should hold, and where to hold or release it.

An order holds stock while the channel has sold it and the warehouse has not yet taken it over:
while its status is `created` or `accepted` (or not given yet), each line holds
`quantity - allocated - shipped - cancelled` units, where `shipped` is the larger of the line's own
and what the hub counted from the order's shipments (`shipped_by_line`). Once the WMS allocates
(the order moves to `allocated` or further, or a line's `allocated` grows) the hold is
*converted*: the hub releases it and the WMS's `allocated` counts those units from then on. A
cancelled order releases all. An order `on_hold` holds as it did in its last other status: a
hold before allocation (payment review) keeps its units; a hold after the WMS took the order over
(`handed_over`, kept by the hub) holds nothing again, the WMS's `allocated` still counts them.

Pure functions over plain dicts; the pipeline (`pipeline/reservations.py`) loads and saves.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

HOLDING_STATUSES = frozenset({None, "created", "accepted"})

Holds = dict[str, dict[str, int]]  # sku -> location -> units


def demand(order: Mapping[str, Any]) -> dict[str, int]:
    """Units per SKU the hub should hold for this order now (none once the WMS has it)."""
    status = order.get("status")
    if status == "on_hold" and not order.get("handed_over"):
        status = None  # held before the WMS took it over: the units stay held
    if status not in HOLDING_STATUSES:
        return {}
    wanted: dict[str, int] = {}
    counted = order.get("shipped_by_line") or {}
    for line in order.get("lines") or ():
        shipped = max(int(line.get("shipped") or 0), int(counted.get(str(line.get("line_no")), 0)))
        open_units = (
            int(line.get("quantity") or 0)
            - int(line.get("allocated") or 0)
            - shipped
            - int(line.get("cancelled") or 0)
        )
        if open_units > 0:
            wanted[line["sku"]] = wanted.get(line["sku"], 0) + open_units
    return wanted


def handed_over(order: Mapping[str, Any]) -> bool | None:
    """What the order's `handed_over` should say now: True once its status (other than on_hold) is
    allocated or beyond, None while it is created or accepted; on_hold keeps what it says."""
    status = order.get("status")
    if status == "on_hold":
        return order.get("handed_over")
    return None if status in HOLDING_STATUSES else True


def held(order: Mapping[str, Any]) -> Holds:
    """The holds the order has now, as recorded on it by the hub."""
    return {sku: dict(at) for sku, at in (order.get("reservations") or {}).items()}


def total(at: Mapping[str, int]) -> int:
    return sum(at.values())


def place(need: int, candidates: Iterable[tuple[str, int]]) -> dict[str, int]:
    """Spread `need` units over (location, available) candidates in the order given.

    Takes what each location has (never below zero) until the need is met; the caller has checked
    the need against the channel's availability, so leftovers mean the positions moved underneath.
    """
    taken: dict[str, int] = {}
    for location, available in candidates:
        if need <= 0:
            break
        take = min(need, available)
        if take > 0:
            taken[location] = take
            need -= take
    return taken


def unplace(amount: int, at: Mapping[str, int]) -> dict[str, int]:
    """Which holds to release to free `amount` units: the last-placed locations first."""
    released: dict[str, int] = {}
    for location in reversed(list(at)):
        if amount <= 0:
            break
        give = min(amount, at[location])
        if give > 0:
            released[location] = give
            amount -= give
    return released


def placement_order(
    positions: Mapping[str, int], preferred: Iterable[str] = (), warehouse: str | None = None
) -> list[tuple[str, int]]:
    """Candidate locations for a new hold: the order's warehouse, then `preferred` (the channel's
    locations as configured), then the rest by most available; each with its available units."""
    ranked: list[str] = []
    for location in (warehouse, *preferred):
        if location is not None and location in positions and location not in ranked:
            ranked.append(location)
    rest = sorted((loc for loc in positions if loc not in ranked), key=lambda loc: (-positions[loc], loc))
    return [(loc, positions[loc]) for loc in (*ranked, *rest)]
