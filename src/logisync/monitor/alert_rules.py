"""The alert rules' conditions, read from the store and the dispatchers: what holds now, per subject.

Each condition returns the subjects it holds for (a route, a target system, a trading partner,
an exception kind, or `*`), each with a one-sentence summary and the figures behind it. The
summaries name routes, systems and counts; never a URL, a key or a secret.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from ..config.alerts import AckOverdueRule, BreakerOpenRule, ExceptionsOpenRule, RouteLagRule, RuleConfig
from ..config.model import SyncMap
from ..delivery.breaker import BreakerState, CircuitBreaker
from ..store.base import Store
from ..store.edi_exchange import EdiLedger
from .lag import RouteLag, route_lags


@dataclass(frozen=True, slots=True)
class Observation:
    """A rule's condition holding for one subject now; `since_us` when the source knows better
    than the evaluator when it started (a breaker's opening)."""

    subject: str
    summary: str
    detail: dict[str, Any] = field(default_factory=dict)
    since_us: int | None = None


class Snapshot:
    """What the rules read, each read at most once per evaluation."""

    def __init__(
        self,
        syncmap: SyncMap,
        store: Store,
        now_us: int,
        breakers: Callable[[], Mapping[str, CircuitBreaker]] | None = None,
    ) -> None:
        self.syncmap = syncmap
        self.store = store
        self.now_us = now_us
        self._breakers = breakers

    @cached_property
    def lags(self) -> list[RouteLag]:
        return route_lags(self.syncmap, self.store, self.now_us)

    @cached_property
    def open_exceptions(self) -> dict[str, int]:
        return {
            kind: n for (kind, state), n in self.store.count_exceptions().items() if state == "open" and n
        }

    @cached_property
    def breakers(self) -> Mapping[str, CircuitBreaker]:
        return self._breakers() if self._breakers is not None else {}

    @cached_property
    def ledger(self) -> EdiLedger:
        return EdiLedger(self.store)  # type: ignore[arg-type]


def observe(rule: RuleConfig, snap: Snapshot) -> list[Observation]:
    """The subjects `rule`'s condition holds for now."""
    if rule.route_lag is not None:
        return _route_lag(rule.route_lag, snap)
    if rule.exceptions_open is not None:
        return _exceptions_open(rule.exceptions_open, snap)
    if rule.breaker_open is not None:
        return _breaker_open(rule.breaker_open, snap)
    assert rule.ack_overdue is not None
    return _ack_overdue(rule.ack_overdue, snap)


def _route_lag(rule: RouteLagRule, snap: Snapshot) -> list[Observation]:
    found = []
    for lag in snap.lags:
        if rule.routes is not None and lag.route not in rule.routes:
            continue
        limit = rule.over if rule.over is not None else lag.sla_s
        if limit is None or lag.lag_s <= limit:
            continue
        what = "its SLA" if rule.over is None else "the rule's limit"
        found.append(
            Observation(
                lag.route,
                f"route {lag.route}: the oldest undelivered change is {age(lag.lag_s)} old, over {what} "
                f"of {age(limit)} ({lag.pending} pending, {lag.in_flight} in flight)",
                {**lag.as_dict(), "limit_s": limit},
            )
        )
    return found


def _exceptions_open(rule: ExceptionsOpenRule, snap: Snapshot) -> list[Observation]:
    counts = snap.open_exceptions
    kinds = sorted(rule.kinds) if rule.kinds is not None else sorted(counts)
    if rule.per_kind:
        return [
            Observation(
                kind,
                f"{counts[kind]} {kind} exceptions are open, over {rule.over}",
                {"kind": kind, "open": counts[kind], "over": rule.over},
            )
            for kind in kinds
            if counts.get(kind, 0) > rule.over
        ]
    by_kind = {kind: counts[kind] for kind in kinds if counts.get(kind)}
    total = sum(by_kind.values())
    if total <= rule.over:
        return []
    shown = ", ".join(f"{n} {kind}" for kind, n in sorted(by_kind.items(), key=lambda kv: (-kv[1], kv[0])))
    of = f" of {', '.join(rule.kinds)}" if rule.kinds is not None else ""
    return [
        Observation(
            "*",
            f"{total} exceptions{of} are open, over {rule.over} ({shown})",
            {"open": total, "over": rule.over, "by_kind": by_kind},
        )
    ]


def _breaker_open(rule: BreakerOpenRule, snap: Snapshot) -> list[Observation]:
    found = []
    for system, breaker in sorted(snap.breakers.items()):
        if rule.systems is not None and system not in rule.systems:
            continue
        if breaker.state is BreakerState.closed:
            continue
        # the breaker's own time is its opening only while it has not reopened since (a failed
        # probe moves `opened_at` on); otherwise the evaluator counts from when it first saw it
        since = (
            int(breaker.opened_at * 1_000_000)
            if breaker.opened_at is not None and breaker.reopenings == 0
            else None
        )
        retry_at = breaker.retry_at
        probe = (
            f"; next probe in {age(max(0.0, retry_at - snap.now_us / 1e6))}" if retry_at is not None else ""
        )
        found.append(
            Observation(
                system,
                f"deliveries to {system} are held back: its circuit breaker is {breaker.state.value} "
                f"after {breaker.consecutive_failures or breaker.policy.threshold} failures in a row"
                f"{f' and {breaker.reopenings} failed probes' if breaker.reopenings else ''}{probe}",
                {
                    "system": system,
                    "state": breaker.state.value,
                    "reopenings": breaker.reopenings,
                    "opened_at": breaker.opened_at,
                    **breaker.counts(),
                },
                since_us=since,
            )
        )
    return found


def _ack_overdue(rule: AckOverdueRule, snap: Snapshot) -> list[Observation]:
    partners = [
        name
        for name, system in snap.syncmap.systems.items()
        if system.edi is not None and system.edi.acknowledgments.expected
    ]
    late: dict[str, list[Any]] = {}
    for group in snap.ledger.overdue(snap.now_us):  # waiting past due, not yet marked
        late.setdefault(group.partner, []).append(group)
    for partner in partners:
        late.setdefault(partner, []).extend(snap.ledger.groups(partner=partner, state="overdue"))
    found = []
    for partner in partners:
        if rule.partners is not None and partner not in rule.partners:
            continue
        groups = late.get(partner) or []
        if not groups:
            continue
        oldest = min(groups, key=lambda g: g.sent_us)
        found.append(
            Observation(
                partner,
                f"{partner} has not acknowledged {len(groups)} of our groups past their due time "
                f"(oldest: {oldest.functional_id} {oldest.control}, sent {age((snap.now_us - oldest.sent_us) / 1e6)} ago)",
                {
                    "partner": partner,
                    "groups": len(groups),
                    "oldest": {"functional_id": oldest.functional_id, "control": oldest.control},
                    "oldest_sent_us": oldest.sent_us,
                },
            )
        )
    return found


def age(seconds: float) -> str:
    """`45 s`, `12 min`, `3.5 h`, `2.0 d`."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172_800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"
