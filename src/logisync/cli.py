"""The `logisync` command."""

from __future__ import annotations

from pathlib import Path

import typer

from .config import load_syncmap
from .config.model import SyncMap
from .console.alerts import app as alerts_app
from .console.exceptions import app as exceptions_app
from .console.users import app as users_app
from .errors import LogisyncError

app = typer.Typer(
    help="logisync: keep logistics data in sync across WMS, ERP, carriers and channels.",
    no_args_is_help=True,
    add_completion=False,
)

ConfigOption = typer.Option(
    Path("logisync.yaml"), "--config", "-c", help="the sync map file", envvar="LOGISYNC_CONFIG"
)
StoreOption = typer.Option(
    None, "--store", help="store URL (sqlite:///FILE.db or postgresql://...), overriding the sync map's"
)
JsonOption = typer.Option(False, "--json", help="print JSON instead of a table")
LogFormatOption = typer.Option(
    "text", "--log-format", envvar="LOGISYNC_LOG_FORMAT", help="log lines as text or json (JSON lines)"
)


def _logging(fmt: str, level: str, syncmap: SyncMap | None = None) -> None:
    """Logs to stderr as `fmt` from `level` up, secrets left out (docs/observability.md)."""
    import os

    from .monitor import logs

    fmt, level = fmt.lower(), level.lower()
    if fmt not in logs.FORMATS:
        raise typer.BadParameter(f"{fmt!r}: use one of {', '.join(logs.FORMATS)}", param_hint="--log-format")
    if level not in logs.LEVELS:
        raise typer.BadParameter(f"{level!r}: use one of {', '.join(logs.LEVELS)}", param_hint="--log-level")
    secrets = logs.secrets_of(syncmap, os.environ) if syncmap is not None else []
    redact = syncmap.logging.redact if syncmap is not None else []
    logs.configure(fmt, level, secrets=secrets, redact=redact, also=("uvicorn",))


def _fail(exc: LogisyncError) -> typer.Exit:
    typer.secho(str(exc), err=True, fg=typer.colors.RED)
    return typer.Exit(code=2)


@app.command()
def check(
    file: Path | None = typer.Argument(None, help="the sync map to check (default: --config)"),
    config: Path = ConfigOption,
) -> None:
    """Check a sync map; show its systems, data quality, the ownership matrix and the routes. Exit 2 if wrong."""
    from .console.connect import syncmap_or_exit
    from .console.output import out
    from .console.syncmap_view import show_syncmap

    path = file or config
    show_syncmap(out(), syncmap_or_exit(path), str(path))


@app.command()
def serve(
    config: Path = ConfigOption,
    host: str | None = typer.Option(None, help="address to listen on (default: api.host from the sync map)"),
    port: int | None = typer.Option(None, help="port to listen on (default: api.port; 0 picks a free one)"),
    store: str | None = typer.Option(None, help="store URL, overriding the sync map's `store`"),
    log_format: str = LogFormatOption,
    log_level: str = typer.Option(
        "info", "--log-level", envvar="LOGISYNC_LOG_LEVEL", help="debug, info, warning or error"
    ),
) -> None:
    """Run the hub: the HTTP API and the dispatchers that deliver every route."""
    from .api.server import serve as run_server

    try:
        syncmap = load_syncmap(config)
        _logging(log_format, log_level, syncmap)
        run_server(syncmap, host=host, port=port, store_url=store)
    except LogisyncError as exc:
        raise _fail(exc) from None


@app.command()
def ingest(
    file: Path = typer.Argument(
        ...,
        help="a CSV, JSON or NDJSON file (an import of the system reads it), or NDJSON changes",
        dir_okay=False,
    ),
    system: str = typer.Option(..., "--system", "-s", help="the system the file comes from"),
    import_name: str | None = typer.Option(
        None, "--import", help="the import (in the system's `files`) to read it with; default: by file name"
    ),
    config: Path = ConfigOption,
    store: str | None = StoreOption,
    batch: int = typer.Option(1000, "--batch", min=1, max=100_000, help="changes per store transaction"),
) -> None:
    """Ingest a file, with a progress bar and a summary of outcomes.

    A file an import of the system matches (by --import, its `match` glob, or its extension) is
    read through that import's mapping; an .ndjson file no import matches holds canonical changes,
    one per line. Every row ends in one outcome; bad rows are quarantined and printed with their
    line. The same file twice (by content) is applied once. Exit 1 if any row was bad.
    """
    import time

    from rich.text import Text

    from .console.connect import is_store_fault, opened, syncmap_or_exit
    from .console.file_run import duplicate_line, report_table, run_file
    from .console.ingest_run import IngestRun, IngestStopped
    from .console.output import err, fail, out
    from .files.dispatch import NoImport, choose
    from .files.importer import FileRejected, sha256_file
    from .files.x12 import run_x12
    from .pipeline import Pipeline
    from .store.file_receipts import FileReceipts

    syncmap = syncmap_or_exit(config)
    if system not in syncmap.systems:
        known = ", ".join(syncmap.systems) or "none defined"
        raise fail(f"unknown system {system!r} (known in {config}: {known})")
    if not file.is_file():
        raise fail(f"{file}: no such file")
    try:
        choice = choose(syncmap.systems[system].files, file.name, import_name)
    except NoImport as exc:
        raise fail(str(exc)) from None
    with opened(store or syncmap.store) as hub:
        pipeline = Pipeline(hub, syncmap)
        if choice.kind != "changes":
            try:
                if choice.kind == "x12":
                    started = time.perf_counter()
                    report = run_x12(pipeline, hub, system, file)
                    seconds = time.perf_counter() - started
                    for note in report.notes:
                        err().print(f"{file}: {note.where}: {note.outcome}: {note.reason}", style="yellow")
                else:
                    assert choice.spec is not None
                    report, seconds = run_file(
                        pipeline, hub, system, choice.spec, file, batch=batch, console=err()
                    )
            except FileRejected as exc:
                raise fail(f"{file}: {exc}") from None
            if report.duplicate_of is not None:
                out().print(duplicate_line(file, report), soft_wrap=True)
                return
            unit = (
                "change"
                if choice.kind == "x12"
                else "item"
                if choice.spec and choice.spec.format == "json"
                else "line"
            )
            console = out()
            console.print(Text(f"{file} ({report.import_name})"), report_table(report, unit))
            rate = report.rows / seconds if seconds else 0
            console.print(f"{report.rows} {unit}s in {seconds:.2f}s ({rate:,.0f}/s)", style="dim")
            if report.counts["bad_row"]:
                raise typer.Exit(code=1)
            return
        receipts = FileReceipts(hub)  # type: ignore[arg-type]
        digest = sha256_file(file)
        seen = receipts.get(system, digest)
        if seen is not None:
            from .console.output import when

            out().print(
                f"{file}: already received from {system} as {seen.name} at {when(seen.received_us)} "
                f"(same SHA-256 {digest[:12]}…, {seen.rows} lines); nothing was applied",
                soft_wrap=True,
            )
            return
        run = IngestRun(
            pipeline,
            system,
            file,
            batch=batch,
            max_line=syncmap.limits.max_body_bytes,
            console=err(),
        )
        try:
            ndjson = run.run()
        except IngestStopped as stop:
            if not is_store_fault(stop.cause):
                raise stop.cause from None
            out().print(Text(f"{file} (stopped)"), stop.report.table())
            raise fail(
                f"{file}:{stop.first_line}: stopped: {stop.cause}\n"
                f"lines up to {stop.report.committed_through} are committed; the rest are not. "
                "Running the same file again is safe: ids already seen come back as duplicates."
            ) from None
        except KeyboardInterrupt:
            raise fail(
                f"interrupted: lines up to {run.report.committed_through} are committed; "
                "running the file again is safe.",
                code=130,
            ) from None
        receipts.record(system, digest, file.name, None, ndjson.lines, dict(ndjson.counts))
    console = out()
    console.print(Text(str(file)), ndjson.table())
    rate = ndjson.lines / ndjson.seconds if ndjson.seconds else 0
    blank = f", {ndjson.blank} blank lines skipped" if ndjson.blank else ""
    console.print(f"{ndjson.lines} lines in {ndjson.seconds:.2f}s ({rate:,.0f}/s){blank}", style="dim")
    if not ndjson.balanced:  # pragma: no cover - would be a bug in the pipeline
        raise fail("the outcome counts do not add up to the lines read: please report this")
    if ndjson.counts["malformed"]:
        raise typer.Exit(code=1)


@app.command()
def explain(
    domain: str = typer.Argument(..., help="product, location, inventory, order, shipment, tracking, return"),
    key: str = typer.Argument(..., help="the record key, e.g. SKU-1@DC1 for inventory"),
    config: Path = ConfigOption,
    store: str | None = StoreOption,
    as_json: bool = JsonOption,
) -> None:
    """Explain every field of a record: its value, which system set it, by which change, when,
    and what it replaced. Exit 1 if there is no such record, 2 for a bad domain or key."""
    from .console.connect import opened, store_url
    from .console.output import dumps, fail, out
    from .console.records import domain_spec, explain_json, explain_table
    from .history import explain as explain_record

    spec = domain_spec(domain, key)
    if isinstance(spec, str):
        raise fail(spec)
    with opened(store_url(config, store), must_exist=True) as hub:
        record = hub.get_record(spec.domain.value, key)
        stories = explain_record(hub, spec.domain, key) if record is not None else None
    if record is None or stories is None:
        raise fail(f"no {spec.domain.value} record {key!r}", code=1)
    if as_json:
        typer.echo(dumps(explain_json(record, stories)))
    else:
        out().print(explain_table(record, stories))


@app.command()
def history(
    domain: str = typer.Argument(..., help="the record's domain"),
    key: str = typer.Argument(..., help="the record key"),
    as_of: str | None = typer.Option(
        None, "--as-of", help="show the record as it stood then: an ISO time, or a duration ago (10m, 2h)"
    ),
    config: Path = ConfigOption,
    store: str | None = StoreOption,
    as_json: bool = JsonOption,
) -> None:
    """Every change received for a record with its outcome, or (--as-of) the record at a past time."""
    from . import history as records
    from .console.connect import opened, store_url
    from .console.output import dumps, fail, out, when
    from .console.records import domain_spec, history_table, parse_moment, state_json, state_table

    spec = domain_spec(domain, key)
    if isinstance(spec, str):
        raise fail(spec)
    at = parse_moment(as_of) if as_of is not None else None
    if isinstance(at, str):
        raise fail(at)
    name = spec.domain.value
    with opened(store_url(config, store), must_exist=True) as hub:
        if at is None:
            entries = hub.record_log(name, key)
            if not entries:
                raise fail(f"no changes received for {name} {key!r}", code=1)
            if as_json:
                typer.echo(dumps(records.history(hub, name, key)))
            else:
                out().print(history_table(name, key, entries))
            return
        state = records.state_at(hub, name, key, at)
        if state is None:
            raise fail(f"{name} {key!r} did not exist yet at {when(at)}", code=1)
        if as_json:
            typer.echo(dumps(state_json(state, at, hub)))
        else:
            out().print(state_table(state, at, hub))


@app.command()
def status(config: Path = ConfigOption, store: str | None = StoreOption, as_json: bool = JsonOption) -> None:
    """What the hub has received (outcomes), open exceptions by kind, and the outbox by route."""
    from .console.connect import opened, store_url
    from .console.output import dumps, out
    from .console.status import gather, tables

    syncmap = _syncmap_if_any(config)
    with opened(store_url(config, store), must_exist=True) as hub:
        figures = gather(hub, syncmap)
    if as_json:
        typer.echo(dumps(figures))
        return
    console = out()
    for table in tables(figures):
        console.print(table)


@app.command()
def reconcile(
    system: str = typer.Argument(..., help="the system whose snapshot is compared"),
    domain: str = typer.Argument(..., help="the domain: inventory, product, order, ..."),
    file: Path | None = typer.Option(
        None, "--file", "-f", help="the snapshot file, instead of the sync map's source"
    ),
    fmt: str | None = typer.Option(
        None,
        "--format",
        help="csv, json, ndjson or x12-846 (default: from the file name; .x12 and .edi are 846s)",
    ),
    out: Path | None = typer.Option(None, "--out", "-o", help="where every variance goes (.csv or .parquet)"),
    history: bool = typer.Option(False, "--history", help="list the past runs instead of running one"),
    report_only: bool = typer.Option(
        False, "--report-only", help="push no corrections, whatever the sync map says"
    ),
    approve: int | None = typer.Option(
        None, "--approve", help="push the corrections run N held for approval"
    ),
    config: Path = ConfigOption,
    store: str | None = StoreOption,
    as_json: bool = JsonOption,
) -> None:
    """Compare a system's snapshot with the golden records: a summary table (counts, units and
    value at stake, worst SKUs and locations) and every variance to a CSV or Parquet file; the run
    is kept in the store (--history lists them). Corrections follow the sync map's `corrections`."""
    from .console.connect import opened, syncmap_or_exit
    from .console.output import dumps, err, fail
    from .console.output import out as stdout
    from .console.reconcile import choose, corrections_line, history_table, progress_bar, summary_tables
    from .reconcile.run import Reconciler
    from .store.reconcile_runs import list_runs

    syncmap = syncmap_or_exit(config)
    chosen = choose(syncmap, system, domain, file, fmt)
    if isinstance(chosen, str):
        raise fail(chosen)
    with opened(store or syncmap.store) as hub:
        if history:
            runs = list_runs(hub, name=chosen.label)  # type: ignore[arg-type]
            if as_json:
                typer.echo(dumps([r.as_dict() for r in runs]))
            else:
                stdout().print(history_table(runs, f"reconciliation runs · {chosen.label}"))
            return
        if approve is not None:
            done = Reconciler(hub, syncmap).approve(chosen, approve)
            if as_json:
                typer.echo(dumps(done))
            else:
                stdout().print(corrections_line(done) or "nothing to correct")
            return
        with progress_bar(err()) as event:
            result = Reconciler(hub, syncmap, events=event).run(chosen, out=out, correct=not report_only)
    if as_json:
        typer.echo(
            dumps(
                {
                    "run": result.run_id,
                    "source": result.source,
                    "summary": result.summary.as_dict(),
                    "report": str(result.report),
                    "corrections": result.corrections,
                }
            )
        )
        return
    console = stdout()
    for table in summary_tables(result.summary, f"{chosen.label} · run {result.run_id} · {result.source}"):
        console.print(table)
    console.print(f"{result.written:,} variances written to {result.report}", style="dim")
    line = corrections_line(result.corrections)
    if line:
        console.print(line)


@app.command()
def kpi(
    since: str = typer.Option(
        "7d", "--since", help="the window's start: a duration ago (7d, 12h) or an ISO time"
    ),
    until: str | None = typer.Option(None, "--until", help="the window's end (default: now)"),
    by: str | None = typer.Option(None, "--by", help="one figure per channel, location or partner"),
    otif_within: str = typer.Option(
        "48h", "--otif-within", help="the promise OTIF judges by (from placed_at)"
    ),
    config: Path = ConfigOption,
    store: str | None = StoreOption,
    as_json: bool = JsonOption,
) -> None:
    """Logistics KPIs over a window, from the sync journal: order accuracy, fill rate, order-to-ship,
    OTIF, inventory and reconciliation variance, exceptions by kind, sync lag per route, EDI acks
    on time (definitions: docs/kpis.md)."""
    from .config.durations import parse_duration
    from .console.connect import opened, store_url
    from .console.kpi import kpi_table
    from .console.output import dumps, fail, out, when
    from .kpi.definitions import DIMENSIONS
    from .kpi.report import Window, compute

    if by is not None and by not in DIMENSIONS:
        raise fail(f"--by {by!r}: one of {', '.join(DIMENSIONS)}")
    try:
        window = Window.parse(since, until)
        promise_h = parse_duration(otif_within) / 3600
    except ValueError as exc:
        raise fail(str(exc)) from None
    syncmap = _syncmap_if_any(config)
    with opened(store_url(config, store), must_exist=True) as hub:
        values = compute(hub, window, by=by, syncmap=syncmap, otif_within_h=promise_h)
    if as_json:
        typer.echo(dumps({"window": window.as_dict(), "by": by, "kpis": [v.as_dict() for v in values]}))
        return
    title = f"KPIs {when(window.since_us)} → {when(window.until_us)}" + (f" by {by}" if by else "")
    out().print(kpi_table(values, title))


@app.command()
def simulate(
    scenario: Path = typer.Argument(..., help="a scenario file (see scenarios/)", dir_okay=False),
    compression: float | None = typer.Option(
        None, "--compression", "-x", help="sim seconds per real second, overriding the scenario's"
    ),
    seed: int | None = typer.Option(None, "--seed", help="the random seed, overriding the scenario's"),
    store: str | None = typer.Option(
        None, "--store", help="an empty store to run on (default: a temporary SQLite file)"
    ),
    as_json: bool = JsonOption,
) -> None:
    """Run a scenario: the hub and simulated systems, traffic and faults, then the invariants.

    Prints the report: each invariant with its evidence, lag percentiles per route, exceptions by
    kind. Exit 0 if every invariant holds, 1 if one fails, 2 if the scenario cannot run.
    """
    from .console import simulate as sim
    from .console.output import err, fail, out

    try:
        loaded = sim.prepared(scenario, compression=compression, seed=seed)
        report = sim.run(loaded, console=err(), store_url=store)
    except LogisyncError as exc:
        raise fail(str(exc)) from None
    except KeyboardInterrupt:
        raise fail("interrupted: the scenario did not finish", code=130) from None
    if as_json:
        typer.echo(report.to_json())
    else:
        out().print(report.render())
    if not report.passed:
        raise typer.Exit(code=1)


@app.command()
def demo(
    host: str = typer.Option("127.0.0.1", help="address the hub's API listens on"),
    port: int = typer.Option(8400, help="port of the hub's API (0 picks a free one)"),
    store: str | None = typer.Option(
        None, "--store", help="an empty store (default: logisync-demo.db here, emptied at each start)"
    ),
    compression: float = typer.Option(
        60.0, "--compression", "-x", min=0.1, max=10_000, help="sim seconds per real second"
    ),
    seed: int = typer.Option(1, "--seed", help="the traffic's random seed"),
    log_format: str = LogFormatOption,
    log_level: str = typer.Option(
        "warning", "--log-level", envvar="LOGISYNC_LOG_LEVEL", help="debug, info, warning or error"
    ),
) -> None:
    """Run the hub with simulated systems (WMS, ERP, two marketplaces, a carrier, an EDI retailer) and steady traffic.

    Prints the API's address and the admin key, then runs until Ctrl-C (or SIGTERM) and stops
    cleanly: the traffic stops, the systems send what they hold, the hub finishes its calls.
    """
    from .console.demo import alert_line, announce, farewell
    from .console.output import fail
    from .sim.demo import run_demo

    _logging(log_format, log_level)
    try:
        counts = run_demo(
            host=host,
            port=port,
            store_url=store,
            compression=compression,
            seed=seed,
            on_ready=announce,
            on_alert=alert_line,
        )
    except LogisyncError as exc:
        raise fail(str(exc)) from None
    farewell(counts, store)


app.add_typer(exceptions_app, name="exceptions")
app.add_typer(users_app, name="users")
app.add_typer(alerts_app, name="alerts")

xref_app = typer.Typer(
    help="Cross-reference tables: a system's own ids (listing ids, item numbers, service codes) for canonical keys.",
    no_args_is_help=True,
)
app.add_typer(xref_app, name="xref")


@xref_app.command("load")
def xref_load(
    system: str = typer.Argument(..., help="the system whose ids the file maps (must be in the sync map)"),
    kind: str = typer.Argument(..., help="what the ids stand for: sku, location or service"),
    file: Path = typer.Argument(..., help="a CSV with a header: the id column and the canonical column"),
    config: Path = ConfigOption,
    store: str | None = StoreOption,
) -> None:
    """Load a CSV of (external id, canonical key) pairs into a system's cross-reference table.

    The header names the columns: the system's own name for its ids (its `xref` in the sync map,
    e.g. listing_id) or external_id, and the kind (sku) or canonical; other columns are ignored.
    Every bad row is reported with its line and the good rows still load. Exit 1 if any row was bad.
    """
    from .console.connect import opened, syncmap_or_exit
    from .console.output import err, fail, out
    from .console.xref import XrefLoad
    from .domain.xref import KINDS, XrefFileError
    from .store.xrefs import XrefTable

    syncmap = syncmap_or_exit(config)
    if system not in syncmap.systems:
        known = ", ".join(syncmap.systems) or "none defined"
        raise fail(f"unknown system {system!r} (known in {config}: {known})")
    if kind not in KINDS:
        raise fail(f"unknown kind {kind!r} (known: {', '.join(KINDS)})")
    if not file.is_file():
        raise fail(f"{file}: no such file")
    declared = {str(k): name for k, name in (syncmap.systems[system].xref or {}).items()}.get(kind)
    if declared is None:
        err().print(
            f"note: {system} has no `xref: {{{kind}: ...}}` in {config}: the pairs are kept, "
            f"but its changes are not translated until it does",
            style="yellow",
        )
    with opened(store or syncmap.store) as hub:
        run = XrefLoad(XrefTable(hub), system, kind, [declared] if declared else [], file, console=err())  # type: ignore[arg-type]
        try:
            report = run.run()
        except XrefFileError as exc:
            raise fail(f"{file}: {exc}") from None
    out().print(report.summary())
    if report.bad:
        raise typer.Exit(code=1)


@xref_app.command("list")
def xref_list(
    system: str = typer.Argument(..., help="the system whose table to show"),
    kind: str = typer.Argument(..., help="sku, location or service"),
    ids: list[str] = typer.Argument(None, help="only these ids (the system's own, or canonical keys)"),
    after: str = typer.Option("", "--after", help="start after this external id (paging)"),
    limit: int = typer.Option(100, "--limit", min=1, max=100_000, help="the most pairs to show"),
    as_json: bool = typer.Option(False, "--json", help="print JSON"),
    config: Path = ConfigOption,
    store: str | None = StoreOption,
) -> None:
    """Show a system's cross-reference table: each id, the canonical key, where the pair came from.

    With IDS, only those: each looked up both ways (the system's id -> key as on ingest, a key ->
    the id a delivery would send). Exit 1 when an id given has no pair.
    """
    from .console.connect import opened, syncmap_or_exit
    from .console.output import fail, out
    from .console.xref import xref_json, xref_table
    from .domain.xref import KINDS
    from .store.xrefs import XrefTable

    syncmap = syncmap_or_exit(config)
    if system not in syncmap.systems:
        known = ", ".join(syncmap.systems) or "none defined"
        raise fail(f"unknown system {system!r} (known in {config}: {known})")
    if kind not in KINDS:
        raise fail(f"unknown kind {kind!r} (known: {', '.join(KINDS)})")
    with opened(store or syncmap.store) as hub:
        table = XrefTable(hub)  # type: ignore[arg-type]
        if ids:
            inbound = table.resolve(system, kind, ids)
            outbound = table.external_ids(system, kind, ids)
            rows = [{"id": i, "canonical": inbound.get(i), "sent_as": outbound.get(i)} for i in ids]
            if as_json:
                out().print_json(data=rows)
            else:
                out().print(xref_table(system, kind, rows))
            if any(r["canonical"] is None and r["sent_as"] is None for r in rows):
                raise typer.Exit(code=1)
            return
        pairs = table.list(system, kind, after=after, limit=limit)
    if as_json:
        out().print_json(data=xref_json(pairs))
    else:
        out().print(xref_table(system, kind, pairs))


def _syncmap_if_any(config: Path) -> SyncMap | None:
    """The sync map when the file is there and sound (status then shows routes against SLAs)."""
    try:
        return load_syncmap(config) if config.exists() else None
    except LogisyncError:
        return None


def main() -> None:
    app()
