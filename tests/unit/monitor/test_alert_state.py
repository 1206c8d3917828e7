"""An alert's lifecycle, decided by `plan` alone: each row of the module's table."""

from __future__ import annotations

from dataclasses import replace

from logisync.config.alerts import RuleConfig
from logisync.monitor.alert_rules import Observation
from logisync.monitor.alert_state import plan
from logisync.store.alerts import AlertRow

S = 1_000_000
T0 = 1_800_000_000 * S


def rule(**kw) -> RuleConfig:
    data = {"name": "late", "route_lag": {"over": 60}, "notify": ["hook", "mail"], "renotify": "1h", **kw}
    return RuleConfig.model_validate(data)


def row(state: str = "firing", **kw) -> AlertRow:
    base = AlertRow(
        id=7,
        rule="late",
        subject="stock-to-shop",
        severity="warning",
        state=state,
        summary="behind",
        detail={"lag_s": 90},
        since_us=T0,
        fired_us=T0 if state == "firing" else None,
        seen_us=T0,
        notified_us=T0 if state == "firing" else None,
        resolved_us=None,
    )
    return replace(base, **kw)


HOLDS = [Observation("stock-to-shop", "behind by 2 min", {"lag_s": 120})]


def test_a_new_condition_fires_at_once_to_every_channel_of_the_rule():
    out = plan([rule()], {"late": HOLDS}, [], T0)
    [new] = out.new
    assert (new.state, new.since_us, new.fired_us, new.notified_us) == ("firing", T0, T0, T0)
    assert [(n.channel, n.event) for n in new.notifications] == [("hook", "firing"), ("mail", "firing")]
    message = new.notifications[0].message
    assert message["summary"] == "behind by 2 min" and message["state"] == "firing"
    assert message["fired_at"] == message["since"] == "2027-01-15T08:00:00Z"


def test_with_a_hold_it_is_pending_first_then_fires_once_the_time_has_passed():
    slow = rule(route_lag={"over": 60, "for": "5m"})
    [new] = plan([slow], {"late": HOLDS}, [], T0).new
    assert (new.state, new.notifications) == ("pending", [])
    pending = row("pending")
    early = plan([slow], {"late": HOLDS}, [pending], T0 + 299 * S)
    assert [c.values.get("state") for c in early.changes] == [None] and early.changes[0].notifications == []
    fired = plan([slow], {"late": HOLDS}, [pending], T0 + 300 * S).changes[0]
    assert fired.values["state"] == "firing" and fired.values["fired_us"] == T0 + 300 * S
    assert [n.event for n in fired.notifications] == ["firing", "firing"]


def test_a_source_that_knows_when_it_started_counts_from_then():
    slow = rule(route_lag=None, breaker_open={"longer_than": "10m"})
    opened = Observation("erp", "held back", since_us=T0 - 601 * S)
    [new] = plan([slow], {"late": [opened]}, [], T0).new
    assert new.state == "firing" and new.since_us == T0 - 601 * S


def test_firing_stays_quiet_until_renotify_is_due():
    quiet = plan([rule()], {"late": HOLDS}, [row()], T0 + 3599 * S).changes[0]
    assert quiet.notifications == [] and "notified_us" not in quiet.values
    assert quiet.values["summary"] == "behind by 2 min" and quiet.values["seen_us"] == T0 + 3599 * S
    again = plan([rule()], {"late": HOLDS}, [row()], T0 + 3600 * S).changes[0]
    assert [n.event for n in again.notifications] == ["renotify", "renotify"]
    assert again.values["notified_us"] == T0 + 3600 * S
    never = plan([rule(renotify="never")], {"late": HOLDS}, [row()], T0 + 99 * 3600 * S).changes[0]
    assert never.notifications == []


def test_a_cleared_condition_resolves_a_firing_alert_and_forgets_a_pending_one():
    out = plan([rule()], {"late": []}, [row()], T0 + 10 * S)
    [change] = out.changes
    assert change.values == {"state": "resolved", "resolved_us": T0 + 10 * S}
    assert [(n.channel, n.event) for n in change.notifications] == [
        ("hook", "resolved"),
        ("mail", "resolved"),
    ]
    assert change.notifications[0].message["resolved_at"] == "2027-01-15T08:00:10Z"
    assert (
        change.notifications[0].message["summary"]
        == "no longer holds, after 10 s firing; it last said: behind"
    )
    assert plan([rule()], {"late": []}, [row("pending")], T0).forget == [7]
    silent = plan([rule(resolved=False)], {"late": []}, [row()], T0).changes[0]
    assert silent.values["state"] == "resolved" and silent.notifications == []


def test_a_rule_that_could_not_be_read_leaves_its_alerts_alone():
    out = plan([rule()], {"late": None}, [row()], T0 + 10 * S)
    assert (out.new, out.changes, out.forget) == ([], [], [])


def test_alerts_of_a_rule_gone_from_the_sync_map_resolve_quietly():
    out = plan([], {}, [row(), row("pending", id=8, subject="orders-to-wms")], T0)
    assert [(c.id, c.values["state"], c.notifications) for c in out.changes] == [(7, "resolved", [])]
    assert out.forget == [8]


def test_each_subject_is_its_own_alert():
    two = [*HOLDS, Observation("orders-to-wms", "behind too")]
    out = plan([rule()], {"late": two}, [row()], T0 + 10 * S)
    assert [n.subject for n in out.new] == ["orders-to-wms"]
    assert [c.id for c in out.changes] == [7]
