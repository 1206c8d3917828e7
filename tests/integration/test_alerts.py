"""Alerts end to end: real conditions made by the pipeline and the dispatchers (a dead target, dead
deliveries, a backlog past its SLA, an overdue 997), evaluated against a real store, sent to a real
SMTP server (aiosmtpd) and a real webhook receiver on loopback that checks the signature."""

from __future__ import annotations

import asyncio
import logging
import time

from fixtures.alert_sinks import HookReceiver, smtp_server
from fixtures.loopback_target import LoopbackTarget, free_port
from logisync.config import parse_syncmap
from logisync.delivery.dispatcher import Dispatcher
from logisync.domain.change import Change
from logisync.domain.kinds import Domain
from logisync.monitor.alerts import AlertEvaluator
from logisync.pipeline import Pipeline
from logisync.store.alerts import AlertBook
from logisync.store.edi_exchange import EdiLedger, GroupRow

SECRET = "whsec_YWxlcnQtaG9vay1zZWNyZXQtZm9yLXRoZS10ZXN0cw=="
ENV = {"ALERT_HOOK_SECRET": SECRET}


class Clock:
    """The evaluator's (and the dispatcher's) time: starts a little ahead of the real time (so the
    changes ingested next are due), moves only when told."""

    def __init__(self) -> None:
        self.now = time.time() + 5

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def hub(target_port: int, hook_port: int, smtp_port: int, rules: str, *, retry: str = "{attempts: 1}"):
    return parse_syncmap(
        f"""\
systems:
  wms: {{kind: wms}}
  erp:
    kind: erp
    url: http://127.0.0.1:{target_port}/hook
    transport: {{allow_private_network: true, timeout: 2s, retry: {retry}, breaker: {{threshold: 3, cooldown: 30m}}}}
owners:
  inventory: wms
routes:
  - {{name: stock-to-erp, domain: inventory, to: erp, sla: 60s}}
alerts:
  every: 5s
  channels:
    hook:
      webhook: {{url: "http://127.0.0.1:{hook_port}/alerts", secret_env: ALERT_HOOK_SECRET, allow_private_network: true}}
    mail:
      email: {{host: 127.0.0.1, port: {smtp_port}, security: plain, from: logisync@hub.example,
              to: [ops@example.com, oncall@example.com]}}
  rules:
{rules}
""",
        "hub.yaml",
        env=ENV,
    )


def stock(pipeline: Pipeline, n: int) -> None:
    for i in range(n):
        pipeline.ingest(
            "wms", [Change(id=f"s{i}", domain=Domain.inventory, key=f"SKU-{i}@DC1", fields={"on_hand": i})]
        )


async def drain(dispatcher: Dispatcher) -> None:
    for worker in dispatcher.workers:
        await worker.drain()


async def close(dispatcher: Dispatcher) -> None:
    for closer in dispatcher.closers:
        await closer()


INBOX_RULE = """\
    - {name: dead-deliveries, exceptions_open: {over: 1, kinds: [dead_delivery]}, severity: critical,
       notify: [hook, mail], renotify: 1h, description: "Deliveries gave up: see the exceptions inbox."}
"""


def test_dead_deliveries_fire_once_renotify_after_the_interval_and_resolve(sqlite_store, caplog):
    """Three deliveries to a target that refuses connections die (one attempt each): three open
    dead_delivery exceptions, over the rule's 1. One mail and one signed webhook, however many
    evaluations follow; again after `renotify`; a resolved notice once the inbox is cleared."""
    caplog.set_level(logging.DEBUG)
    clock = Clock()
    receiver = HookReceiver(SECRET)
    with smtp_server() as (box, smtp_port):
        hook_port = free_port()
        syncmap = hub(free_port(), hook_port, smtp_port, INBOX_RULE)
        stock(Pipeline(sqlite_store, syncmap), 3)
        dispatcher = Dispatcher.for_syncmap(syncmap, sqlite_store, ENV, clock=clock)

        async def scenario() -> None:
            await drain(dispatcher)  # connection refused, one attempt: dead, into the inbox
            assert len(sqlite_store.list_exceptions(kind="dead_delivery")) == 3
            evaluator = AlertEvaluator.for_syncmap(syncmap, sqlite_store, ENV, dispatcher, clock=clock)
            async with receiver.serving(hook_port):
                for _ in range(4):  # firing, then the same condition four times: one notification
                    await evaluator.tick()
                    clock.advance(60)
                assert len(receiver.bodies) == 1 and len(box.messages) == 1
                clock.advance(3600)  # past renotify (1h)
                await evaluator.tick()
                await evaluator.tick()
                assert len(receiver.bodies) == 2 and len(box.messages) == 2
                ids = [e.id for e in sqlite_store.list_exceptions(kind="dead_delivery")]
                sqlite_store.resolve_exceptions(ids, int(clock() * 1e6))
                clock.advance(5)
                await evaluator.tick()
                await evaluator.tick()
            await evaluator.close()
            await close(dispatcher)

        asyncio.run(scenario())

    assert receiver.bad_signatures == 0
    assert [b["type"] for b in receiver.bodies] == ["alert.firing", "alert.renotify", "alert.resolved"]
    firing = receiver.bodies[0]["data"]
    assert (
        firing["rule"] == "dead-deliveries" and firing["severity"] == "critical" and firing["subject"] == "*"
    )
    assert firing["summary"] == "3 exceptions of dead_delivery are open, over 1 (3 dead_delivery)"
    assert firing["detail"] == {"open": 3, "over": 1, "by_kind": {"dead_delivery": 3}}
    assert receiver.bodies[2]["data"]["resolved_at"] is not None
    # one webhook-id per notification, the same the body names
    assert [h["webhook-id"] for h in receiver.headers] == [b["data"]["id"] for b in receiver.bodies]
    assert len(set(h["webhook-id"] for h in receiver.headers)) == 3

    subjects = [m["Subject"] for m in box.messages]
    assert subjects == [
        "[logisync] FIRING critical: dead-deliveries · *",
        "[logisync] FIRING critical: dead-deliveries · * (reminder)",
        "[logisync] RESOLVED critical: dead-deliveries · *",
    ]
    first = box.messages[0]
    assert first["From"] == "logisync@hub.example"
    assert first["To"] == "ops@example.com, oncall@example.com"
    assert box.envelopes[0] == ("logisync@hub.example", ["ops@example.com", "oncall@example.com"])
    text = first.get_content().replace("\r\n", "\n")
    assert text.startswith("3 exceptions of dead_delivery are open, over 1 (3 dead_delivery)\n")
    assert "Deliveries gave up: see the exceptions inbox." in text
    assert "rule:        dead-deliveries" in text and "state:       firing" in text
    assert "state:       resolved" in box.messages[2].get_content().replace("\r\n", "\n")

    [alert] = AlertBook(sqlite_store).alerts()
    assert alert.state == "resolved" and alert.fired_us is not None and alert.resolved_us is not None
    notes = AlertBook(sqlite_store).notifications(alert_ids=[alert.id])
    assert [(n.channel, n.event, n.state) for n in notes] == [
        ("hook", "firing", "sent"),
        ("mail", "firing", "sent"),
        ("hook", "renotify", "sent"),
        ("mail", "renotify", "sent"),
        ("hook", "resolved", "sent"),
        ("mail", "resolved", "sent"),
    ]
    # the secret is in no body and no log line
    assert all(
        SECRET not in raw.decode() and SECRET.removeprefix("whsec_") not in raw.decode()
        for raw in receiver.raw
    )
    assert SECRET.removeprefix("whsec_") not in caplog.text


def test_a_restarted_evaluator_does_not_notify_a_firing_alert_again(store):
    """The alert state is in the store: a new evaluator (a restarted hub) on the same store sees the
    alert firing and notified, and stays quiet until renotify is due."""
    clock = Clock()
    receiver = HookReceiver(SECRET)
    with smtp_server() as (box, smtp_port):
        hook_port = free_port()
        syncmap = hub(free_port(), hook_port, smtp_port, INBOX_RULE)
        stock(Pipeline(store, syncmap), 2)
        dispatcher = Dispatcher.for_syncmap(syncmap, store, ENV, clock=clock)

        async def scenario() -> None:
            await drain(dispatcher)
            async with receiver.serving(hook_port):
                first = AlertEvaluator.for_syncmap(syncmap, store, ENV, dispatcher, clock=clock)
                await first.tick()
                await first.close()
                clock.advance(600)
                second = AlertEvaluator.for_syncmap(syncmap, store, ENV, dispatcher, clock=clock)
                await second.tick()
                await second.tick()
                await second.close()
            await close(dispatcher)

        asyncio.run(scenario())
    assert len(receiver.bodies) == 1 and len(box.messages) == 1
    [alert] = AlertBook(store).alerts(states=["firing"])
    assert alert.rule == "dead-deliveries"


def test_a_failing_channel_does_not_hold_up_the_others_and_is_retried(sqlite_store):
    """The webhook receiver is down: the mail still goes at once; the webhook's notification is
    recorded with its error and sent on its retry once the receiver is up, before the resolved
    notice."""
    clock = Clock()
    receiver = HookReceiver(SECRET)
    with smtp_server() as (box, smtp_port):
        hook_port = free_port()
        syncmap = hub(free_port(), hook_port, smtp_port, INBOX_RULE)
        stock(Pipeline(sqlite_store, syncmap), 2)
        dispatcher = Dispatcher.for_syncmap(syncmap, sqlite_store, ENV, clock=clock)
        book = AlertBook(sqlite_store)

        async def scenario() -> None:
            await drain(dispatcher)
            evaluator = AlertEvaluator.for_syncmap(syncmap, sqlite_store, ENV, dispatcher, clock=clock)
            report = await evaluator.tick()  # nothing listens on the hook's port
            assert sorted((s.note.channel, s.error is None) for s in report.sent) == [
                ("hook", False),
                ("mail", True),
            ]
            assert len(box.messages) == 1
            [hook_note] = [n for n in book.notifications() if n.channel == "hook"]
            assert (hook_note.state, hook_note.attempts) == ("pending", 1)
            assert "connection" in (hook_note.last_error or "")
            assert hook_note.next_us > int(clock() * 1e6)  # waits for its retry
            ids = [e.id for e in sqlite_store.list_exceptions(kind="dead_delivery")]
            sqlite_store.resolve_exceptions(ids, int(clock() * 1e6))
            clock.advance(1)
            await evaluator.tick()  # resolved: the mail's notice goes, the hook's waits behind its firing
            assert len(box.messages) == 2 and receiver.bodies == []
            async with receiver.serving(hook_port):
                clock.advance(60)  # past the first retry's delay
                await evaluator.tick()
                await evaluator.tick()
            await evaluator.close()
            await close(dispatcher)

        asyncio.run(scenario())
    assert [b["type"] for b in receiver.bodies] == ["alert.firing", "alert.resolved"]
    assert all(n.state == "sent" for n in book.notifications())


def test_a_channel_that_refuses_for_good_is_recorded_as_failed(sqlite_store):
    clock = Clock()
    receiver = HookReceiver(SECRET)
    receiver.fail_with = 400
    with smtp_server() as (_box, smtp_port):
        hook_port = free_port()
        syncmap = hub(free_port(), hook_port, smtp_port, INBOX_RULE)
        stock(Pipeline(sqlite_store, syncmap), 2)
        dispatcher = Dispatcher.for_syncmap(syncmap, sqlite_store, ENV, clock=clock)

        async def scenario() -> None:
            await drain(dispatcher)
            evaluator = AlertEvaluator.for_syncmap(syncmap, sqlite_store, ENV, dispatcher, clock=clock)
            async with receiver.serving(hook_port):
                await evaluator.tick()
                clock.advance(3)
                await evaluator.tick()
            await evaluator.close()
            await close(dispatcher)

        asyncio.run(scenario())
    notes = {n.channel: n for n in AlertBook(sqlite_store).notifications()}
    assert notes["mail"].state == "sent"
    assert notes["hook"].state == "failed" and notes["hook"].attempts == 1
    assert "HTTP 400" in (notes["hook"].last_error or "")


def test_a_backlog_past_its_sla_and_a_breaker_open_too_long_fire_and_resolve(sqlite_store):
    """The target is down: deliveries wait for their retry (the route's lag grows) and its breaker
    opens. The lag rule fires once it has been over the 60 s SLA for 2 min, the breaker rule
    once the breaker has been open 10 min; both resolve when the target is back."""
    clock = Clock()
    receiver = HookReceiver(SECRET)
    rules = """\
    - {name: stock-late, route_lag: {for: 2m}, notify: [mail], renotify: never}
    - {name: erp-down, breaker_open: {longer_than: 10m}, notify: [hook], renotify: never}
"""
    target_port = free_port()
    with smtp_server() as (box, smtp_port):
        hook_port = free_port()
        syncmap = hub(
            target_port, hook_port, smtp_port, rules, retry="{attempts: 8, schedule: [0, 5], jitter: 0}"
        )
        stock(Pipeline(sqlite_store, syncmap), 3)
        dispatcher = Dispatcher.for_syncmap(syncmap, sqlite_store, ENV, clock=clock)
        book = AlertBook(sqlite_store)

        async def scenario() -> None:
            await drain(dispatcher)  # three refused connections: the breaker (threshold 3) opens
            assert dispatcher.workers[0].breaker.state.value == "open"
            evaluator = AlertEvaluator.for_syncmap(syncmap, sqlite_store, ENV, dispatcher, clock=clock)
            async with receiver.serving(hook_port):
                await evaluator.tick()
                assert [(a.rule, a.state) for a in book.alerts()] == [("erp-down", "pending")]
                clock.advance(90)  # lag 90 s: over the SLA, not yet for 2 min
                await evaluator.tick()
                assert sorted((a.rule, a.state) for a in book.alerts()) == [
                    ("erp-down", "pending"),
                    ("stock-late", "pending"),
                ]
                clock.advance(150)
                await evaluator.tick()
                assert len(box.messages) == 1 and receiver.bodies == []
                clock.advance(400)  # 640 s since the breaker opened
                await evaluator.tick()
                await evaluator.tick()
                assert len(box.messages) == 1 and len(receiver.bodies) == 1
                target = LoopbackTarget()
                async with target.serving(target_port):
                    clock.advance(1800)  # the breaker's cool-down: a probe goes, it closes
                    await drain(dispatcher)
                    await drain(dispatcher)
                assert dispatcher.workers[0].breaker.state.value == "closed"
                assert len(target.received) == 3
                await evaluator.tick()
            await evaluator.close()
            await close(dispatcher)

        asyncio.run(scenario())
    assert [m["Subject"] for m in box.messages] == [
        "[logisync] FIRING warning: stock-late · stock-to-erp",
        "[logisync] RESOLVED warning: stock-late · stock-to-erp",
    ]
    assert (
        "route stock-to-erp: the oldest undelivered change is 4 min old, over its SLA of 60 s (3 pending"
        in (box.messages[0].get_content())
    )
    assert [b["type"] for b in receiver.bodies] == ["alert.firing", "alert.resolved"]
    down = receiver.bodies[0]["data"]
    assert down["subject"] == "erp" and down["detail"]["state"] == "open"
    assert down["summary"].startswith("deliveries to erp are held back: its circuit breaker is open")
    assert all(a.state == "resolved" for a in book.alerts())


def test_an_overdue_997_fires_per_partner_and_a_late_997_resolves_it(store):
    receiver = HookReceiver(SECRET)
    clock = Clock()
    syncmap = parse_syncmap(
        f"""\
systems:
  acme:
    kind: edi_partner
    connector: edi
    edi: {{partner: {{qualifier: ZZ, id: ACME}}, us: {{qualifier: ZZ, id: HUB}}, receives: ["856"]}}
alerts:
  channels:
    hook: {{webhook: {{url: "http://127.0.0.1:{free_port()}/alerts", secret_env: ALERT_HOOK_SECRET,
            allow_private_network: true}}}}
  rules:
    - {{name: edi-997-late, ack_overdue: {{}}, notify: [hook]}}
""",
        env=ENV,
    )
    port = int(syncmap.alerts.channels["hook"].webhook.url.split(":")[2].split("/")[0])  # type: ignore[union-attr]
    ledger = EdiLedger(store)  # type: ignore[arg-type]
    now = int(clock() * 1e6)
    hours = 3_600_000_000
    ledger.track(
        [
            GroupRow(
                "acme",
                7,
                "SH",
                101,
                [["856", "0001"]],
                "waiting",
                now - 6 * hours,
                now - 2 * hours,
                now,
                None,
            ),
            GroupRow(
                "acme", 8, "SH", 102, [["856", "0002"]], "waiting", now - hours, now + 3 * hours, now, None
            ),
        ]
    )

    async def scenario() -> None:
        evaluator = AlertEvaluator.for_syncmap(syncmap, store, ENV, clock=clock)
        async with receiver.serving(port):
            await evaluator.tick()
            ledger.settle("acme", 7, "accepted", {"status": "A"}, int(clock() * 1e6))
            clock.advance(5)
            await evaluator.tick()
        await evaluator.close()

    asyncio.run(scenario())
    assert [b["type"] for b in receiver.bodies] == ["alert.firing", "alert.resolved"]
    data = receiver.bodies[0]["data"]
    assert data["subject"] == "acme"
    assert (
        data["summary"]
        == "acme has not acknowledged 1 of our groups past their due time (oldest: SH 7, sent 6.0 h ago)"
    )


def test_two_hub_processes_evaluating_at_once_fire_one_alert(postgres_store, pg_url):
    """Two evaluators on one PostgreSQL store (two connections, as two `logisync serve` processes
    have), evaluating the same condition at the same moment: one alert, one notification each."""
    from logisync.store import open_store

    clock = Clock()
    with smtp_server() as (_box, smtp_port):
        syncmap = hub(free_port(), free_port(), smtp_port, INBOX_RULE)
        stock(Pipeline(postgres_store, syncmap), 3)
        dispatcher = Dispatcher.for_syncmap(syncmap, postgres_store, ENV, clock=clock)
        other = open_store(pg_url)
        try:

            async def scenario() -> None:
                await drain(dispatcher)
                await close(dispatcher)

            asyncio.run(scenario())
            evaluators = [
                AlertEvaluator.for_syncmap(syncmap, s, ENV, clock=clock) for s in (postgres_store, other) * 3
            ]

            async def together() -> None:
                await asyncio.gather(*(asyncio.to_thread(e.evaluate) for e in evaluators))

            asyncio.run(together())
        finally:
            other.close()
    book = AlertBook(postgres_store)
    assert [(a.rule, a.state) for a in book.alerts()] == [("dead-deliveries", "firing")]
    assert sorted((n.channel, n.event) for n in book.notifications()) == [
        ("hook", "firing"),
        ("mail", "firing"),
    ]
