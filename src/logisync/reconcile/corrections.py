"""Corrections after a reconciliation: within the thresholds, push them; past them, push nothing
and open one exception for a person to approve.

Two directions, decided by ownership:
- the system is a replica (a storefront, a partner): each variance key's golden record goes out
  again on the route to it, through the outbox like any delivery, its row's `origin` naming the
  run (`reconcile run 7`);
- the system owns the compared fields (a WMS count): its values come in as changes of its own,
  through the pipeline (validated, ordered, logged), with ids and source naming the run; an
  inventory count (`on_hand` with `counted_at` = the snapshot's time) records its variance.

Keys the hub cannot correct by itself are left for a person: an unreadable value, a key listed
twice, and (replica) a key the system holds that the hub has no record of.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from ..config.ownership import Ownership
from ..domain.change import Change, now_us
from ..store.base import NewException
from ..store.reconcile_runs import enqueue_corrections
from .rules import DiffRule

if TYPE_CHECKING:
    from ..config.model import SyncMap
    from ..config.reconcile import ReconcileConfig
    from ..store.sql import SqlStore
    from .run import RunResult

EXCEPTION_KIND = "reconciliation_variance"
CORRECTABLE = ("missing_in_system", "missing_in_hub", "differs")


@dataclass(frozen=True, slots=True)
class Thresholds:
    """How much a run may correct by itself.

    Push when `keys <= max_keys` and `units <= max_units_pct / 100 * hub_units`; otherwise push
    nothing. With no units in the hub, any unit at stake is over the limit (100% of nothing).
    """

    max_keys: int
    max_units_pct: float

    def decide(self, keys: int, units: float, hub_units: float) -> tuple[bool, str]:
        """(push?, why not) for a run with `keys` keys and `units` units to correct."""
        if keys > self.max_keys:
            return False, f"{keys} keys to correct, over the limit of {self.max_keys}"
        pct = 100.0 * units / hub_units if hub_units > 0 else (100.0 if units > 0 else 0.0)
        if pct > self.max_units_pct:
            return (
                False,
                f"{units:g} units to correct, {pct:.2f}% of the hub's, over the limit of {self.max_units_pct:g}%",
            )
        return True, ""


@dataclass(slots=True)
class Plan:
    """What a run would correct: keys and units, and the keys left for a person."""

    keys: list[str]
    units: float
    manual: list[str]
    changes: dict[str, dict[str, Any]]  # owner: key -> the fields to take in


def is_owner(syncmap: SyncMap, config: ReconcileConfig, rule: DiffRule) -> bool:
    """Whether the system owns every compared field (its snapshot then corrects the hub)."""
    ownership = Ownership(syncmap)
    for f in rule.fields:
        entry = ownership.owner_of(config.domain, f.name)
        if entry is None or entry.rule.system != config.system:
            return False
    return True


def plan(rows: list[dict[str, Any]], rule: DiffRule, *, owner: bool) -> Plan:
    """The corrections the variance rows call for (pure)."""
    keys: dict[str, None] = {}
    manual: dict[str, None] = {}
    units = 0.0
    changes: dict[str, dict[str, Any]] = {}
    number = {f.name for f in rule.fields if f.kind == "number"}
    for row in rows:
        key, kind = row["key"], row["kind"]
        if key is None:
            continue
        if kind not in CORRECTABLE or (kind == "missing_in_hub" and not owner):
            manual[key] = None
            continue
        keys[key] = None
        units += float(row.get("units") or 0)
        if owner:
            fields = changes.setdefault(key, {})
            if kind == "missing_in_system" and rule.absent_is_zero:  # the owner holds none of it
                for name in number:
                    fields[name] = 0
            elif kind == "missing_in_hub" and rule.units_field:
                fields[rule.units_field] = _value(row["system"], True)
            elif kind == "differs" and row["field"]:
                fields[row["field"]] = _value(row["system"], row["field"] in number)
    for key in manual:
        keys.pop(key, None)
        changes.pop(key, None)
    return Plan(list(keys), units, list(manual), changes)


def _value(text: Any, numeric: bool) -> Any:
    if text is None or not numeric:
        return text
    value = float(text)
    return int(value) if value.is_integer() else value


def correct(
    store: SqlStore,
    syncmap: SyncMap,
    config: ReconcileConfig,
    rule: DiffRule,
    run_id: int,
    result: RunResult,
    *,
    approved: bool = False,
) -> dict[str, Any]:
    """Correct what a run found, within the thresholds (or whatever it is, once `approved`);
    returns what was done, as the run's `corrections`."""
    owner = is_owner(syncmap, config, rule)
    limits = Thresholds(config.corrections.max_keys, config.corrections.max_units_pct)
    summary = result.summary
    if not approved:
        ok, why = limits.decide(summary.variance_keys, summary.units, summary.hub_units)
        if not ok:
            return _hold(store, config, run_id, result, why)
    todo = plan(result.rows, rule, owner=owner)
    done: dict[str, Any] = {"mode": "auto", "approved": approved, "held": False, "manual": todo.manual}
    if owner:
        done.update(_take_in(store, syncmap, config, run_id, todo, result))
    else:
        done.update(_push(store, syncmap, config, run_id, todo))
    return done


def _hold(
    store: SqlStore, config: ReconcileConfig, run_id: int, result: RunResult, why: str
) -> dict[str, Any]:
    """Nothing pushed: one exception for a person (`logisync reconcile ... --approve RUN`)."""
    summary = result.summary
    detail = {
        "run": run_id,
        "reconciliation": config.label,
        "variance_keys": summary.variance_keys,
        "units": summary.units,
        "hub_units": summary.hub_units,
        "max_keys": config.corrections.max_keys,
        "max_units_pct": config.corrections.max_units_pct,
        "report": str(result.report) if result.report else None,
    }
    reason = f"reconcile run {run_id} ({config.label}): corrections held for approval: {why}"
    with store.write() as tx:
        tx.open_exceptions(
            [
                NewException(
                    EXCEPTION_KIND, reason, domain=config.domain.value, system=config.system, detail=detail
                )
            ],
            now_us(),
        )
    opened = store.list_exceptions(kind=EXCEPTION_KIND, state="open", limit=1_000_000)
    exception_id = max((x.id for x in opened if (x.detail or {}).get("run") == run_id), default=None)
    return {"mode": "auto", "held": True, "reason": why, "exception": exception_id, "pushed": 0}


def _route(syncmap: SyncMap, config: ReconcileConfig) -> str | None:
    if config.corrections.route:
        return config.corrections.route
    live = [
        r.name
        for r in syncmap.routes
        if r.to == config.system and r.domain == config.domain and r.mode == "live"
    ]
    return live[0] if len(live) == 1 else None


def _push(
    store: SqlStore, syncmap: SyncMap, config: ReconcileConfig, run_id: int, todo: Plan
) -> dict[str, Any]:
    route = _route(syncmap, config)
    if route is None:
        return {
            "pushed": 0,
            "via": None,
            "error": f"no single live route of {config.domain.value} to {config.system}: name corrections.route",
        }
    queued = enqueue_corrections(
        store,
        route,
        config.domain.value,
        todo.keys,
        f"reconcile run {run_id}",
        now_us(),
        coalescing=not config.domain.is_event,
    )
    return {"pushed": len(queued), "via": f"route {route}", "keys": sorted(queued)[:1000]}


def _take_in(
    store: SqlStore, syncmap: SyncMap, config: ReconcileConfig, run_id: int, todo: Plan, result: RunResult
) -> dict[str, Any]:
    from ..pipeline import Pipeline

    taken = datetime.fromtimestamp(result.snapshot_us / 1_000_000, tz=UTC)
    changes = []
    for key, fields in todo.changes.items():
        if not fields:
            continue
        if config.domain.value == "inventory" and "on_hand" in fields:
            fields = {**fields, "counted_at": taken.isoformat()}
        changes.append(
            Change(
                id=f"reconcile-{run_id}-{key}",
                domain=config.domain,
                key=key,
                fields=fields,
                occurred_at=taken,
            )
        )
    outcomes = []
    pipeline = Pipeline(store, syncmap)  # type: ignore[arg-type]
    for i in range(0, len(changes), 1000):
        outcomes.extend(
            pipeline.ingest(config.system, changes[i : i + 1000], source=f"reconcile run {run_id}")
        )
    counts: dict[str, int] = {}
    for out in outcomes:
        counts[out.outcome.value] = counts.get(out.outcome.value, 0) + 1
    return {"pushed": counts.get("applied", 0), "via": "pipeline", "outcomes": counts}
