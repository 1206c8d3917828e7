"""`logisync kpi`: the KPIs of a window as a table."""

from __future__ import annotations

from rich.table import Table

from ..kpi.engine import KpiValue
from .output import NONE


def shown(v: KpiValue) -> str:
    """A KPI's value in its unit: 97.5%, 36.0 h, 2.50 s, 12."""
    if v.value is None:
        return NONE
    if v.unit == "ratio":
        return f"{v.value:.1%}"
    if v.unit == "hours":
        return f"{v.value:,.1f} h"
    if v.unit == "seconds":
        return f"{v.value:,.2f} s"
    return f"{v.value:,.0f}"


def kpi_table(values: list[KpiValue], title: str) -> Table:
    table = Table(title=title, title_justify="left")
    for column in ("KPI", "group", "value", "of", "n"):
        table.add_column(column, justify="left" if column in ("KPI", "group") else "right")
    for v in values:
        of = NONE if v.numerator is None else f"{v.numerator:,g} / {v.denominator:,g}"
        table.add_row(v.kpi, v.group, shown(v), of, f"{v.count:,}")
    if not values:
        table.add_row("nothing happened in this window", "", "", "", "")
    return table
