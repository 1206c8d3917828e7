"""The KPIs: name, unit, and the definition the API description and docs/kpis.md both state."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Kpi:
    name: str
    unit: str  # ratio (0..1), hours, seconds, count
    definition: str
    dimensions: tuple[str, ...]  # the `by` groupings it has (others give one group, "all")


ORDER_DIMS = ("channel", "location", "partner")
KPIS: tuple[Kpi, ...] = (
    Kpi(
        "order_accuracy",
        "ratio",
        "Of the orders shipped in the window (`shipped_at`), the share shipped without error: no "
        "`shipment_mismatch` exception (units that match no line of the order) and no line shipped "
        "beyond its quantity less what was cancelled.",
        ORDER_DIMS,
    ),
    Kpi(
        "fill_rate_units",
        "ratio",
        "Of the units ordered (quantity less cancelled) on the orders shipped in the window, the "
        "share shipped (each line counted up to what it ordered; shipped is the larger of the line's "
        "`shipped` and the hub's `shipped_by_line`).",
        ORDER_DIMS,
    ),
    Kpi(
        "fill_rate_lines",
        "ratio",
        "Of the lines (with units left after cancellations) on the orders shipped in the window, the "
        "share shipped in full.",
        ORDER_DIMS,
    ),
    Kpi(
        "order_to_ship_avg",
        "hours",
        "The mean time from `placed_at` to `shipped_at` of the orders shipped in the window.",
        ORDER_DIMS,
    ),
    Kpi(
        "order_to_ship_p90",
        "hours",
        "The 90th percentile (interpolated) of the same times.",
        ORDER_DIMS,
    ),
    Kpi(
        "otif",
        "ratio",
        "On time in full: of the orders shipped in the window, the share shipped within the "
        "promise (`otif_within`, 48 h from `placed_at` unless asked otherwise) with every line "
        "shipped in full.",
        ORDER_DIMS,
    ),
    Kpi(
        "inventory_variance_positions",
        "ratio",
        "Of the positions counted in the window (a change with `counted_at` received then; a "
        "position counted twice counts once, by its latest count), the share whose count differed "
        "from the golden record.",
        ("location", "partner"),
    ),
    Kpi(
        "inventory_variance_units",
        "ratio",
        "For the same counts, the units counted off (|counted - expected|) over the units expected. "
        "A count whose difference the record no longer holds (counted again since) is left out.",
        ("location", "partner"),
    ),
    Kpi(
        "reconciliation_variance_units",
        "ratio",
        "Of the reconciliation runs in the window, the units at stake over the units the hub held "
        "(partner: the system reconciled).",
        ("partner",),
    ),
    Kpi(
        "exceptions",
        "count",
        "Exceptions opened in the window, one figure per kind (`exceptions.KIND`; partner: the "
        "system the exception names).",
        ("partner",),
    ),
    Kpi(
        "sync_lag_p50",
        "seconds",
        "Per route (the group), the median time from a change being accepted to its delivery, over "
        "the deliveries made in the window (partner: the route's target system).",
        ("partner",),
    ),
    Kpi("sync_lag_p99", "seconds", "The 99th percentile of the same times, per route.", ("partner",)),
    Kpi(
        "edi_acks_on_time",
        "ratio",
        "Of the functional groups sent to trading partners in the window whose 997 has arrived or "
        "is overdue, the share acknowledged before they were due (24 h by default, 4 h for an 856). "
        "Groups still waiting and not yet due are left out.",
        ("partner",),
    ),
)
BY_NAME = {k.name: k for k in KPIS}
DIMENSIONS = ("channel", "location", "partner")


def describe() -> str:
    """The definitions as a Markdown table (the API description shows it)."""
    rows = ["| KPI | unit | definition |", "| --- | --- | --- |"]
    rows += [f"| `{k.name}` | {k.unit} | {k.definition} |" for k in KPIS]
    return "\n".join(rows)
