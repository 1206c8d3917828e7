"""`logisync alerts` (firing and recent alerts, with how their notifications went) and
`logisync alerts test` (a test notification to each channel of the sync map's `alerts`).

Exit codes: 0 done; 1 `test` reached not every channel; 2 bad input (the sync map, the store).
"""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path
from typing import Any

import typer
from rich.table import Table
from rich.text import Text

from ..errors import LogisyncError
from ..store.alerts import AlertBook, AlertRow, NotificationRow
from .connect import opened, store_url, syncmap_or_exit
from .output import NONE, dumps, fail, out, when

app = typer.Typer(
    help="Alerts: what fires now and what fired lately (`logisync alerts`), and a test "
    "notification to each channel (`logisync alerts test`).",
    invoke_without_command=True,
)

ConfigOption = typer.Option(
    Path("logisync.yaml"), "--config", "-c", help="the sync map file", envvar="LOGISYNC_CONFIG"
)
StoreOption = typer.Option(
    None, "--store", help="store URL (sqlite:///FILE.db or postgresql://...), overriding the sync map's"
)
JsonOption = typer.Option(False, "--json", help="print JSON instead of a table")
STATE_STYLE = {"firing": "red", "pending": "yellow", "resolved": "green"}
SEVERITY_STYLE = {"critical": "bold red", "warning": "yellow", "info": "cyan"}


@app.callback()
def alerts(
    ctx: typer.Context,
    live_only: bool = typer.Option(False, "--firing", help="only alerts firing or pending now"),
    limit: int = typer.Option(20, "--limit", min=1, max=10_000, help="the most alerts to show, newest first"),
    config: Path = ConfigOption,
    store: str | None = StoreOption,
    as_json: bool = JsonOption,
) -> None:
    """Alerts firing now (and pending: their condition holds, not yet for the rule's time), then
    the latest resolved ones, each with how its notifications went."""
    if ctx.invoked_subcommand is not None:
        return
    with opened(store_url(config, store), must_exist=True) as hub:
        book = AlertBook(hub)  # type: ignore[arg-type]
        live = book.alerts(states=["firing", "pending"], limit=limit)
        recent = [] if live_only else book.alerts(states=["resolved"], limit=max(0, limit - len(live)))
        shown = live + recent
        notes = book.notifications(alert_ids=[a.id for a in shown])
    by_alert: dict[int, list[NotificationRow]] = {}
    for note in notes:
        if note.alert_id is not None:
            by_alert.setdefault(note.alert_id, []).append(note)
    if as_json:
        typer.echo(dumps([alert_json(a, by_alert.get(a.id, [])) for a in shown]))
        return
    console = out()
    if not shown:
        console.print("no alerts" + (" firing" if live_only else " yet"))
        return
    console.print(alerts_table(shown, by_alert))


def alert_json(alert: AlertRow, notes: list[NotificationRow]) -> dict[str, Any]:
    return {
        "id": alert.id,
        "rule": alert.rule,
        "subject": alert.subject,
        "severity": alert.severity,
        "state": alert.state,
        "summary": alert.summary,
        "detail": alert.detail,
        "since_us": alert.since_us,
        "fired_us": alert.fired_us,
        "last_seen_us": alert.seen_us,
        "notified_us": alert.notified_us,
        "resolved_us": alert.resolved_us,
        "notifications": [
            {
                "id": n.id,
                "channel": n.channel,
                "event": n.event,
                "state": n.state,
                "attempts": n.attempts,
                "sent_us": n.sent_us,
                "last_error": n.last_error,
            }
            for n in notes
        ],
    }


def alerts_table(shown: list[AlertRow], by_alert: dict[int, list[NotificationRow]]) -> Table:
    table = Table(title="alerts", title_justify="left")
    for column in (
        "id",
        "state",
        "severity",
        "rule",
        "subject",
        "since",
        "fired",
        "resolved",
        "notifications",
    ):
        table.add_column(column, justify="right" if column == "id" else "left")
    for a in shown:
        table.add_row(
            str(a.id),
            Text(a.state, style=STATE_STYLE.get(a.state, "")),
            Text(a.severity, style=SEVERITY_STYLE.get(a.severity, "")),
            a.rule,
            a.subject,
            when(a.since_us),
            when(a.fired_us),
            when(a.resolved_us),
            notes_cell(by_alert.get(a.id, [])),
        )
        table.add_row("", "", "", Text(a.summary, style="dim"), "", "", "", "", "")
    return table


def notes_cell(notes: list[NotificationRow]) -> Text:
    """`3 sent`, and each one still pending or failed with its channel and last error."""
    if not notes:
        return Text(NONE)
    counts = Counter(n.state for n in notes)
    text = Text(", ".join(f"{n} {state}" for state, n in sorted(counts.items())))
    for n in notes:
        if n.state != "sent":
            style = "red" if n.state == "failed" else "yellow"
            text.append(
                f"\n{n.channel} {n.event} {n.state} ({n.attempts} tries): {n.last_error or NONE}", style=style
            )
    return text


@app.command("test")
def test(
    channel: list[str] = typer.Option(None, "--channel", help="only this channel (repeat for several)"),
    config: Path = ConfigOption,
    store: str | None = StoreOption,
) -> None:
    """Send a test notification to each channel (or those named) now, with the secrets from the
    environment, and say how each went. Each is recorded like any notification. Exit 1 if any failed."""
    from ..monitor.alerts import AlertEvaluator

    syncmap = syncmap_or_exit(config)
    if syncmap.alerts is None or not syncmap.alerts.channels:
        raise fail(f"{config}: no alert channels (add an `alerts: channels:` section)")
    known = list(syncmap.alerts.channels)
    unknown = [name for name in channel or [] if name not in known]
    if unknown:
        raise fail(f"unknown channel {unknown[0]!r} (known in {config}: {', '.join(known)})")
    with opened(store or syncmap.store) as hub:
        try:
            evaluator = AlertEvaluator.for_syncmap(syncmap, hub)
        except LogisyncError as exc:
            raise fail(str(exc)) from None

        async def send() -> list[Any]:
            try:
                return await evaluator.test(channel or None)
            finally:
                await evaluator.close()

        results = asyncio.run(send())
    console = out()
    failed = 0
    for sent in sorted(results, key=lambda s: s.note.channel):
        kind = syncmap.alerts.channels[sent.note.channel].kind
        if sent.error is None:
            console.print(Text.assemble(("✓ ", "green"), f"{sent.note.channel} ({kind}): sent"))
        else:
            failed += 1
            console.print(Text.assemble(("✗ ", "red"), f"{sent.note.channel} ({kind}): {sent.error}"))
    if failed:
        raise typer.Exit(code=1)
