"""The alerts as the dashboard and `GET /v1/alerts` show them: a keyset page of alerts, each with
its rule, subject, times and the channels it notified, and the sync map's rules in words.

Plain functions over `store.alerts.AlertBook`, so the page, the API and their tests read the same.
A page reads at most `limit + 1` alerts and the notifications of those alerts only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..config.alerts import AlertsConfig, RuleConfig
from ..console.alerts_view import condition
from ..console.output import seconds
from ..store.alerts import AlertBook, AlertRow, NotificationRow
from .alert_state import iso

# which alerts each list shows: firing now (and pending: holding, not yet for the rule's time), or resolved
LISTS: dict[str, tuple[str, ...]] = {"firing": ("firing", "pending"), "resolved": ("resolved",)}
PAGE = 20
MAX_PAGE = 500
# what an alert's subject names, by the rule's condition
SUBJECTS = {
    "route_lag": "route",
    "exceptions_open": "exception kind",
    "breaker_open": "target",
    "ack_overdue": "trading partner",
}


@dataclass(frozen=True, slots=True)
class ChannelNote:
    """How an alert's notifications to one channel went: the latest one's event and state."""

    channel: str
    event: str  # firing, renotify, resolved
    state: str  # pending, sent, failed
    sent_us: int | None
    attempts: int
    last_error: str | None
    count: int  # notifications of this alert to this channel


@dataclass(frozen=True, slots=True)
class Listed:
    alert: AlertRow
    subject_kind: str  # route, exception kind, target, trading partner (or `subject`: a rule gone)
    channels: list[ChannelNote]

    @property
    def subject_text(self) -> str:
        """`route stock-to-shop`; `all exceptions` for an alert over every kind (subject `*`)."""
        if self.alert.subject == "*":
            return "all exceptions" if self.subject_kind == "exception kind" else "everything"
        return f"{self.subject_kind} {self.alert.subject}"

    def as_json(self) -> dict[str, Any]:
        a = self.alert
        return {
            "id": a.id,
            "rule": a.rule,
            "subject": a.subject,
            "subject_kind": self.subject_kind,
            "severity": a.severity,
            "state": a.state,
            "summary": a.summary,
            "detail": a.detail,
            "since": iso(a.since_us),
            "fired_at": iso(a.fired_us),
            "last_seen": iso(a.seen_us),
            "last_notified": iso(a.notified_us),
            "resolved_at": iso(a.resolved_us),
            "channels": [
                {
                    "channel": c.channel,
                    "event": c.event,
                    "state": c.state,
                    "sent_at": iso(c.sent_us),
                    "attempts": c.attempts,
                    "last_error": c.last_error,
                    "notifications": c.count,
                }
                for c in self.channels
            ],
        }


@dataclass(slots=True)
class ListedPage:
    """One page of a list, newest first; `older` is the next page's `before`, `newer` the
    previous page's `after` (None: no such page)."""

    which: str
    items: list[Listed] = field(default_factory=list)
    older: int | None = None
    newer: int | None = None


def page(
    book: AlertBook,
    config: AlertsConfig | None,
    which: str,
    *,
    before: int | None = None,
    after: int | None = None,
    limit: int = PAGE,
) -> ListedPage:
    """A keyset page of the `which` list (`firing` or `resolved`), newest first."""
    found = book.page(LISTS[which], before=before, after=after, limit=limit)
    notes = book.notifications(alert_ids=[a.id for a in found.alerts])
    by_alert: dict[int, list[NotificationRow]] = {}
    for note in notes:
        if note.alert_id is not None:
            by_alert.setdefault(note.alert_id, []).append(note)
    rules = {r.name: r for r in (config.rules if config is not None else [])}
    items = [
        Listed(a, _subject_kind(rules.get(a.rule)), channels(by_alert.get(a.id, []))) for a in found.alerts
    ]
    return ListedPage(which, items, found.older, found.newer)


def _subject_kind(rule: RuleConfig | None) -> str:
    return SUBJECTS[rule.condition] if rule is not None else "subject"


def channels(notes: list[NotificationRow]) -> list[ChannelNote]:
    """Per channel (in the order first notified), the latest notification of an alert (oldest first in)."""
    latest: dict[str, NotificationRow] = {}
    counts: dict[str, int] = {}
    for note in notes:
        latest[note.channel] = note
        counts[note.channel] = counts.get(note.channel, 0) + 1
    return [
        ChannelNote(n.channel, n.event, n.state, n.sent_us, n.attempts, n.last_error, counts[n.channel])
        for n in latest.values()
    ]


@dataclass(frozen=True, slots=True)
class RuleView:
    """A rule of the sync map as the page lists it."""

    name: str
    condition: str  # in words
    subject_kind: str
    severity: str
    notify: list[str]
    renotify: str
    resolved: bool
    description: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "condition": self.condition,
            "subject_kind": self.subject_kind,
            "severity": self.severity,
            "notify": self.notify,
            "renotify": self.renotify,
            "resolved_notice": self.resolved,
            "description": self.description,
        }


def rules(config: AlertsConfig | None) -> list[RuleView]:
    """The configured rules, in the sync map's order."""
    return [
        RuleView(
            r.name,
            condition(r),
            SUBJECTS[r.condition],
            r.severity,
            list(r.notify),
            seconds(r.renotify) if r.renotify is not None else "never",
            r.resolved,
            r.description,
        )
        for r in (config.rules if config is not None else [])
    ]
