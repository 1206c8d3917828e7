"""`logisync status`: what the hub has received, what waits for a person, what waits to go out."""

from __future__ import annotations

from collections import Counter
from typing import Any

from rich.table import Table

from ..domain.kinds import OutcomeKind
from ..store import Store

PAGE = 1000
OUTBOX_SCAN = 100_000  # the Store has no outbox count yet: scan at most this many rows


def gather(store: Store) -> dict[str, Any]:
    """The figures `status` shows, as plain data (also its `--json` output)."""
    received: dict[str, dict[str, Any]] = {}
    for (system, domain, outcome), n in sorted(store.outcome_counts().items()):
        row = received.setdefault(f"{system}/{domain}", {"system": system, "domain": domain})
        row[outcome] = row.get(outcome, 0) + n
    exceptions: Counter[str] = Counter()
    after = 0
    while page := store.list_exceptions(state="open", limit=PAGE, after_id=after):
        exceptions.update(e.kind for e in page)
        after = page[-1].id
    outbox: dict[str, Counter[str]] = {}
    rows = store.list_outbox(limit=OUTBOX_SCAN + 1)
    for r in rows[:OUTBOX_SCAN]:
        outbox.setdefault(r.route, Counter())[r.state] += 1
    return {
        "received": list(received.values()),
        "open_exceptions": dict(sorted(exceptions.items())),
        "outbox": {route: dict(sorted(c.items())) for route, c in sorted(outbox.items())},
        "outbox_truncated": len(rows) > OUTBOX_SCAN,
        "records": store.count_records(),
    }


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
    more = " (first 100,000 rows)" if figures["outbox_truncated"] else ""
    outbox = Table(title=f"outbox{more}", title_justify="left")
    outbox.add_column("route")
    for state in states or ["pending"]:
        outbox.add_column(state, justify="right")
    for route, counts in figures["outbox"].items():
        outbox.add_row(route, *(str(counts.get(s, 0)) for s in states))
    if not figures["outbox"]:
        outbox.add_row("none", "0")
    return [received, exceptions, outbox]
