"""`logisync status`: what the hub has received, what waits for a person, what waits to go out."""

from __future__ import annotations

from collections import Counter
from typing import Any

from rich.table import Table
from rich.text import Text

from ..config.model import SyncMap
from ..domain.change import now_us
from ..domain.kinds import OutcomeKind
from ..monitor.lag import route_lags
from ..store import Store
from ..store.edi_exchange import EdiLedger
from ..store.outbox import OutboxQueue


def gather(store: Store, syncmap: SyncMap | None = None) -> dict[str, Any]:
    """The figures `status` shows, as plain data (also its `--json` output).

    With the sync map, each route's lag against its SLA too (`routes`)."""
    received: dict[str, dict[str, Any]] = {}
    for (system, domain, outcome), n in sorted(store.outcome_counts().items()):
        row = received.setdefault(f"{system}/{domain}", {"system": system, "domain": domain})
        row[outcome] = row.get(outcome, 0) + n
    exceptions = {kind: n for (kind, state), n in sorted(store.count_exceptions().items()) if state == "open"}
    outbox: dict[str, dict[str, int]] = {}
    for (route, state), n in sorted(store.count_outbox().items()):
        outbox.setdefault(route, {})[state] = n
    figures: dict[str, Any] = {
        "received": list(received.values()),
        "open_exceptions": exceptions,
        "outbox": outbox,
        "records": store.count_records(),
    }
    edi: dict[str, dict[str, int]] = {}
    for (partner, state), n in sorted(EdiLedger(store).count_groups().items()):  # type: ignore[arg-type]
        edi.setdefault(partner, {})[state] = n
    if edi:
        figures["edi_groups"] = edi  # our X12 groups per partner, by what their 997 said
    if syncmap is not None:
        figures["routes"] = [lag.as_dict() for lag in route_lags(syncmap, store, now_us())]
        queue = OutboxQueue(store)  # type: ignore[arg-type]
        for row in figures["routes"]:
            if (
                row["mode"] == "shadow"
            ):  # of its newest results (up to 10,000), how many differ from the target
                row["shadow_differs"] = len(queue.shadow_results(row["route"], limit=10_000, differs=True))
    return figures


def tables(figures: dict[str, Any]) -> list[Table]:
    outcomes = [k.value for k in OutcomeKind]
    received = Table(title=f"changes received · {figures['records']} records", title_justify="left")
    for column in ("system", "domain", *outcomes, "total"):
        received.add_column(column, justify="left" if column in ("system", "domain") else "right")
    totals: Counter[str] = Counter()
    for row in figures["received"]:
        counts = [row.get(o, 0) for o in outcomes]
        totals.update({o: n for o, n in zip(outcomes, counts, strict=True)})
        received.add_row(row["system"], row["domain"], *map(str, counts), str(sum(counts)))
    received.add_row(
        "total", "", *(str(totals[o]) for o in outcomes), str(sum(totals.values())), style="bold"
    )

    exceptions = Table(title="open exceptions", title_justify="left")
    exceptions.add_column("kind")
    exceptions.add_column("open", justify="right")
    for kind, n in figures["open_exceptions"].items():
        exceptions.add_row(kind, str(n))
    if not figures["open_exceptions"]:
        exceptions.add_row("none", "0", style="green")

    states = sorted({s for c in figures["outbox"].values() for s in c})
    outbox = Table(title="outbox", title_justify="left")
    outbox.add_column("route")
    for state in states or ["pending"]:
        outbox.add_column(state, justify="right")
    for route, counts in figures["outbox"].items():
        outbox.add_row(route, *(str(counts.get(s, 0)) for s in states))
    if not figures["outbox"]:
        outbox.add_row("none", "0")
    shown = [received, exceptions, outbox]
    if figures.get("edi_groups"):
        shown.append(edi_table(figures["edi_groups"]))
    if "routes" in figures:
        shown.append(routes_table(figures["routes"]))
    return shown


EDI_STATES = ("waiting", "accepted", "partial", "rejected", "overdue")


def edi_table(groups: dict[str, dict[str, int]]) -> Table:
    """Our X12 groups per trading partner, by what their 997 said (overdue: none came in time)."""
    table = Table(title="EDI groups sent, by their 997", title_justify="left")
    table.add_column("partner")
    for state in EDI_STATES:
        table.add_column(state, justify="right")
    for partner, counts in groups.items():
        cells = [
            Text(
                str(counts.get(s, 0)),
                style="red" if s in ("rejected", "overdue", "partial") and counts.get(s) else "",
            )
            for s in EDI_STATES
        ]
        table.add_row(partner, *cells)
    return table


def routes_table(routes: list[dict[str, Any]]) -> Table:
    """Each route's backlog and lag, red when over its SLA."""
    table = Table(title="routes: lag against SLA", title_justify="left")
    for column in ("route", "mode", "pending", "in flight", "lag", "SLA", "shadow differs"):
        table.add_column(column, justify="left" if column in ("route", "mode") else "right")
    for r in routes:
        lag = Text(f"{r['lag_s']:.1f} s", style="red bold" if r["breached"] else "green")
        sla = "—" if r["sla_s"] is None else f"{r['sla_s']:.0f} s"
        differs = "—" if "shadow_differs" not in r else str(r["shadow_differs"])
        table.add_row(r["route"], r["mode"], str(r["pending"]), str(r["in_flight"]), lag, sla, differs)
    if not routes:
        table.add_row("none", "", "0", "0", "", "", "")
    return table
