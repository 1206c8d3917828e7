"""An alert's lifecycle, decided in one pure function: pending → firing → resolved.

| the condition | the live alert | becomes | notifications queued |
| --- | --- | --- | --- |
| holds | none | `firing` if the rule has no `for`/`longer_than`, else `pending` | `firing`, to each channel of the rule |
| holds | `pending`, for the rule's time | `firing` | `firing` |
| holds | `firing`, notified `renotify` ago or more | `firing` | `renotify` |
| holds | `firing` (otherwise) | `firing` (summary and figures updated) | none: one notification per firing |
| cleared | `pending` | forgotten (it never fired) | none |
| cleared | `firing` | `resolved` | `resolved`, unless the rule says `resolved: false` |
| its rule is gone from the sync map | any | `resolved` (quietly) | none |

A rule that could not be evaluated (the store was busy) leaves its alerts as they are.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from ..config.alerts import RuleConfig
from ..store.alerts import AlertChange, AlertPlan, AlertRow, NewAlert, NewNotification
from .alert_rules import Observation, age


def plan(
    rules: Sequence[RuleConfig],
    observed: Mapping[str, Sequence[Observation] | None],
    live: Sequence[AlertRow],
    now_us: int,
) -> AlertPlan:
    """What this evaluation does (see the module docstring). `observed[rule]` is None when the
    rule could not be evaluated."""
    out = AlertPlan()
    by_rule: dict[str, dict[str, AlertRow]] = {}
    for alert in live:
        by_rule.setdefault(alert.rule, {})[alert.subject] = alert
    names = {rule.name for rule in rules}
    for rule_name, alerts in by_rule.items():
        if rule_name not in names:
            for alert in alerts.values():
                if alert.state == "pending":
                    out.forget.append(alert.id)
                else:
                    out.changes.append(AlertChange(alert.id, {"state": "resolved", "resolved_us": now_us}))
    for rule in rules:
        observations = observed.get(rule.name)
        if observations is None:
            continue
        alerts = dict(by_rule.get(rule.name, {}))
        hold_us = int(rule.hold_s * 1_000_000)
        for obs in observations:
            current = alerts.pop(obs.subject) if obs.subject in alerts else None
            _holds(out, rule, current, obs, hold_us, now_us)
        for alert in alerts.values():
            if alert.state == "pending":
                out.forget.append(alert.id)
                continue
            notes = []
            if rule.resolved:
                fired_for = (now_us - (alert.fired_us or alert.since_us)) / 1_000_000
                summary = f"no longer holds, after {age(fired_for)} firing; it last said: {alert.summary}"
                fields = _fields(alert, rule, summary, alert.detail)
                fields["resolved_us"] = now_us
                notes = _notes(rule, "resolved", fields, now_us)
            out.changes.append(AlertChange(alert.id, {"state": "resolved", "resolved_us": now_us}, notes))
    return out


def _holds(
    out: AlertPlan, rule: RuleConfig, alert: AlertRow | None, obs: Observation, hold_us: int, now_us: int
) -> None:
    if alert is None:
        since = min(obs.since_us, now_us) if obs.since_us is not None else now_us
        fire = now_us - since >= hold_us
        fields = {
            "rule": rule.name,
            "subject": obs.subject,
            "severity": rule.severity,
            "summary": obs.summary,
            "detail": obs.detail,
            "since_us": since,
            "fired_us": now_us if fire else None,
            "resolved_us": None,
        }
        out.new.append(
            NewAlert(
                rule.name,
                obs.subject,
                rule.severity,
                "firing" if fire else "pending",
                obs.summary,
                obs.detail,
                since,
                now_us if fire else None,
                now_us if fire else None,
                _notes(rule, "firing", fields, now_us) if fire else [],
            )
        )
        return
    values: dict[str, Any] = {
        "summary": obs.summary,
        "detail": obs.detail,
        "seen_us": now_us,
        "severity": rule.severity,
    }
    fields = _fields(alert, rule, obs.summary, obs.detail)
    notes: list[NewNotification] = []
    if alert.state == "pending":
        if now_us - alert.since_us >= hold_us:
            values.update(state="firing", fired_us=now_us, notified_us=now_us)
            fields["fired_us"] = now_us
            notes = _notes(rule, "firing", fields, now_us)
    elif rule.renotify is not None and (
        alert.notified_us is None or now_us - alert.notified_us >= int(rule.renotify * 1_000_000)
    ):
        values["notified_us"] = now_us
        notes = _notes(rule, "renotify", fields, now_us)
    out.changes.append(AlertChange(alert.id, values, notes))


def _fields(alert: AlertRow, rule: RuleConfig, summary: str, detail: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "rule": alert.rule,
        "subject": alert.subject,
        "severity": rule.severity,
        "summary": summary,
        "detail": detail,
        "since_us": alert.since_us,
        "fired_us": alert.fired_us,
        "resolved_us": None,
    }


def _notes(rule: RuleConfig, event: str, fields: dict[str, Any], now_us: int) -> list[NewNotification]:
    message = message_of(event, fields, now_us, rule.description)
    return [NewNotification(channel, event, message) for channel in rule.notify]


def message_of(
    event: str, fields: Mapping[str, Any], now_us: int, description: str | None = None
) -> dict[str, Any]:
    """The notification as the channels send it: plain data, times in ISO 8601 UTC."""
    return {
        "event": event,
        "state": "resolved" if event == "resolved" else "firing" if event != "test" else "test",
        "rule": fields.get("rule"),
        "subject": fields.get("subject"),
        "severity": fields.get("severity"),
        "summary": fields.get("summary"),
        "description": description,
        "detail": fields.get("detail"),
        "since": iso(fields.get("since_us")),
        "fired_at": iso(fields.get("fired_us")),
        "resolved_at": iso(fields.get("resolved_us")),
        "at": iso(now_us),
    }


def iso(us: int | None) -> str | None:
    if us is None:
        return None
    return datetime.fromtimestamp(us / 1_000_000, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
