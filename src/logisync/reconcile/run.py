"""One reconciliation run, start to end: the snapshot, the golden side, the diff, the report, the
run's history row, and (when configured) the corrections."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config.reconcile import ReconcileConfig
from ..domain.change import now_us
from ..store.golden import read_golden
from ..store.reconcile_runs import finish_run, start_run
from .diff import DiffEngine
from .rules import DiffRule, FieldRule, default_rule
from .sources import open_snapshot
from .summary import Summary

if TYPE_CHECKING:
    from ..config.model import SyncMap
    from ..store import Store
    from ..store.sql import SqlStore

Events = Callable[[str, int | None], None]  # (stage, rows read so far or None)


@dataclass(slots=True)
class RunResult:
    run_id: int
    summary: Summary
    report: Path | None
    written: int
    source: str
    snapshot_us: int = 0
    corrections: dict[str, Any] | None = None
    explained: list[str] = field(default_factory=list)
    rows: list[dict[str, Any]] = field(default_factory=list)  # the variances, for corrections


def rule_for(config: ReconcileConfig) -> DiffRule:
    """The diff rule a reconciliation's `fields` describe (inventory: `on_hand` by default)."""
    fields = None
    if config.fields:
        fields = {
            name: FieldRule(name, f.kind, f.tolerance, f.tolerance_pct) for name, f in config.fields.items()
        }
    return default_rule(config.domain.value, fields)


def explaining_routes(syncmap: SyncMap, config: ReconcileConfig) -> list[str]:
    """The live routes that carry the domain to the system: their deliveries in flight explain."""
    return [
        r.name
        for r in syncmap.routes
        if r.to == config.system and r.domain == config.domain and r.mode == "live"
    ]


class Reconciler:
    """Runs reconciliations against one store and sync map."""

    def __init__(
        self,
        store: Store,
        syncmap: SyncMap,
        *,
        env: Mapping[str, str] | None = None,
        events: Events | None = None,
        memory_limit: str = "512MB",
    ) -> None:
        self.store: SqlStore = store  # type: ignore[assignment]
        self.syncmap = syncmap
        self.env = os.environ if env is None else env
        self.events = events or (lambda stage, rows: None)
        self.memory_limit = memory_limit

    def run(self, config: ReconcileConfig, *, out: Path | None = None, correct: bool = True) -> RunResult:
        """Compare, report, record the run; then correct as `config.corrections` says (unless
        `correct` is off). A failed run is recorded as failed, with its reason, and re-raised."""
        if config.source is None:
            from .errors import SnapshotError

            raise SnapshotError(f"reconciliation {config.label} has no source: give a file")
        rule = rule_for(config)
        run_id = start_run(
            self.store, config.label, config.system, config.domain.value, _describe(config), now_us()
        )
        try:
            result = self._compare(config, rule, run_id, out)
        except BaseException as exc:
            finish_run(self.store, run_id, now_us(), state="failed", error=str(exc) or type(exc).__name__)
            raise
        if correct and config.corrections.mode == "auto":
            from .corrections import correct as apply_corrections

            self.events("correcting", None)
            result.corrections = apply_corrections(self.store, self.syncmap, config, rule, run_id, result)
            finish_run(self.store, run_id, now_us(), corrections=result.corrections)
        return result

    def _compare(self, config: ReconcileConfig, rule: DiffRule, run_id: int, out: Path | None) -> RunResult:
        expected = ["key", *(f.name for f in rule.fields)]
        self.events("reading the snapshot", None)
        assert config.source is not None
        with open_snapshot(
            config.source,
            columns=config.columns,
            expected=expected,
            env=self.env,
            progress=lambda rows: self.events("reading the snapshot", rows),
            partner=(config.system, _edi(self.syncmap, config.system)),
        ) as snapshot:
            self.events("reading the golden records", None)
            golden = read_golden(
                self.store, config.domain.value, explaining_routes(self.syncmap, config), snapshot.taken_us
            )
            self.events("comparing", None)
            engine = DiffEngine(rule, memory_limit=self.memory_limit)
            with engine.run(
                golden.records, snapshot.input, explained=golden.explained, prices=golden.prices
            ) as diff:
                summary = diff.summary()
                self.events("writing the report", None)
                report = out or Path(config.reports) / f"{config.label}-{run_id}.parquet"
                written = diff.write(report)
                # corrections need the rows only when they may go out: within `max_keys`
                limits = config.corrections
                wanted = limits.mode == "auto" and summary.variance_keys <= limits.max_keys
                rows = diff.rows() if wanted else []
                explained = diff.explained_keys()
        finish_run(
            self.store,
            run_id,
            now_us(),
            state="done",
            snapshot_us=snapshot.taken_us,
            source=snapshot.source,
            hub_keys=summary.hub_keys,
            system_keys=summary.system_keys,
            variance_keys=summary.variance_keys,
            explained_keys=summary.explained_keys,
            variances=summary.variances,
            units=summary.units,
            value=summary.value,
            summary=summary.as_dict(),
            report=str(report),
        )
        return RunResult(
            run_id,
            summary,
            report,
            written,
            snapshot.source,
            snapshot.taken_us,
            explained=explained,
            rows=rows,
        )

    def approve(self, config: ReconcileConfig, run_id: int) -> dict[str, Any]:
        """Push the corrections a run held for approval (its report's variances), then resolve
        its exception. Corrections carry the golden record as it is now (replica) or the
        owner's values as of the snapshot (owner: a newer movement in the hub wins over them)."""
        import duckdb

        from ..store.reconcile_runs import get_run
        from .corrections import correct
        from .errors import SnapshotError

        run = get_run(self.store, run_id)
        if run is None or run.name != config.label:
            raise SnapshotError(f"no run {run_id} of {config.label}")
        held = run.corrections or {}
        if not held.get("held"):
            raise SnapshotError(f"run {run_id} of {config.label} has no corrections waiting for approval")
        if not run.report or not Path(run.report).is_file():
            raise SnapshotError(
                f"run {run_id}: its report {run.report!r} is gone: run the reconciliation again"
            )
        reader = "read_parquet" if run.report.endswith(".parquet") else "read_csv"
        con = duckdb.connect()
        try:
            cur = con.execute(f"SELECT * FROM {reader}(?)", [run.report])
            names = [d[0] for d in cur.description]
            rows = [dict(zip(names, r, strict=True)) for r in cur.fetchall()]
        finally:
            con.close()
        summary = Summary.from_dict(run.summary or {})
        result = RunResult(
            run_id, summary, Path(run.report), len(rows), run.source, run.snapshot_us, rows=rows
        )
        done = correct(self.store, self.syncmap, config, rule_for(config), run_id, result, approved=True)
        finish_run(self.store, run_id, now_us(), corrections=done)
        exception = held.get("exception")
        if exception is not None:
            self.store.resolve_exceptions([exception], now_us(), actor="reconcile --approve")
        return done


def _edi(syncmap: SyncMap, system: str) -> Any:
    """A trading partner's EDI settings (an 846 snapshot's default location, item qualifiers)."""
    found = syncmap.systems.get(system)
    return getattr(found, "edi", None) if found is not None else None


def _describe(config: ReconcileConfig) -> str:
    source = config.source
    if source is None:
        return "—"
    if source.file is not None:
        return source.file
    if source.http is not None:
        from ..redact import redact_url

        return redact_url(source.http.url)
    return f"query ({source.query.url_env})" if source.query else "—"
