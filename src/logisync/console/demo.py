"""What `logisync demo` prints: where the hub is, its admin key, and what to try; then a goodbye."""

from __future__ import annotations

import sys
from typing import Any

from ..sim.demo import DEFAULT_STORE, Started


def announce(started: Started) -> None:
    """The addresses and the admin key (a fresh one each run, for this local demo only)."""
    store = started.store
    lines = [
        f"logisync demo: the hub is up in {started.seconds:.1f} s with simulated systems and live traffic",
        f"  API        {started.api}   (OpenAPI docs: {started.api}/docs)",
        f"  admin key  {started.admin_key}   (generated for this run)",
        f"  store      {store}",
        "  systems    " + ", ".join(f"{name} {url}" for name, url in started.systems.items()),
        "try:",
        f"  export HUB={started.api} KEY={started.admin_key}",
        '  curl -s "$HUB/v1/records/inventory/SKU-001@DC1" -H "Authorization: Bearer $KEY"',
        '  curl -s "$HUB/v1/routes" -H "Authorization: Bearer $KEY"     # backlog and lag per route',
        '  curl -s "$HUB/v1/exceptions?state=open&limit=5" -H "Authorization: Bearer $KEY"',
        '  curl -s "$HUB/v1/kpis?by=channel" -H "Authorization: Bearer $KEY"   # OTIF, fill rate, EDI 997s',
        f"  logisync status --store {store}",
        f"  logisync kpi --store {store}",
        "Ctrl-C stops it.",
    ]
    print("\n".join(lines), flush=True)


def alert_line(alert: dict[str, Any]) -> None:
    """One line per alert the demo's operations desk receives: `alert FIRING critical target-down · market: ...`."""
    data = alert.get("data") or {}
    state = {"alert.resolved": "RESOLVED", "alert.renotify": "STILL FIRING"}.get(
        alert.get("type", ""), "FIRING"
    )
    print(
        f"alert {state} {data.get('severity')} {data.get('rule')} · {data.get('subject')}: {data.get('summary')}",
        flush=True,
    )


def farewell(counts: dict[str, int], store: str | None) -> None:
    received = sum(counts.values())
    shown = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items())) or "nothing"
    where = store or DEFAULT_STORE
    print(
        f"logisync demo stopped: {received} changes received ({shown}); the store stays at {where}",
        file=sys.stderr,
        flush=True,
    )
