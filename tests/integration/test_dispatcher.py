"""The dispatcher on both stores, with a recording sender and an injected clock: coalescing, event
order, retries and dead letters, shadow mode, the breaker, the ATP transform, echo suppression."""

from __future__ import annotations

import asyncio
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from logisync.config import parse_syncmap
from logisync.delivery.breaker import BreakerPolicy, CircuitBreaker
from logisync.delivery.dispatcher import Dispatcher, RouteWorker
from logisync.delivery.errors import DeliveryError, ErrorKind
from logisync.delivery.outgoing import Delivery
from logisync.delivery.retry import RetryPolicy
from logisync.domain.change import Change
from logisync.domain.kinds import Domain
from logisync.pipeline import Pipeline
from logisync.store.outbox import OutboxQueue

MAP = """\
systems:
  wms: {kind: wms}
  shop: {kind: storefront, writes: [order]}
  carrier: {kind: carrier}
  erp: {kind: erp}
owners:
  inventory.quantities: wms
  tracking: carrier
routes:
  - {name: stock-to-erp, domain: inventory, to: erp, mapping: {sku: key, qty: fields.on_hand, was: "previous.on_hand?"}}
  - {name: stock-to-shop, domain: inventory, to: shop, transform: {atp: {locations: [DC1, DC2]}}}
  - {name: stock-to-wms, domain: inventory, to: wms}
  - {name: tracking-to-shop, domain: tracking, to: shop}
  - {name: stock-shadow, domain: inventory, to: erp, mode: shadow}
"""
SYNCMAP = parse_syncmap(MAP, env={})
ROUTES = {r.name: r for r in SYNCMAP.routes}
T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


class Recorder:
    """A sender that records what it is given and fails as told."""

    def __init__(self, clock: Clock) -> None:
        self.sent: list[tuple[Delivery, Any]] = []
        self.failures: list[DeliveryError | None] = []  # popped per call; None = success
        self.calls_batched: list[int] = []

    async def send(self, delivery: Delivery, body: Any) -> DeliveryError | None:
        self.sent.append((delivery, body))
        return self.failures.pop(0) if self.failures else None

    async def send_batch(self, deliveries: list[Delivery], bodies: list[Any]) -> DeliveryError | None:
        self.calls_batched.append(len(deliveries))
        self.sent.extend(zip(deliveries, bodies, strict=True))
        return self.failures.pop(0) if self.failures else None


@pytest.fixture
def clock() -> Clock:
    return Clock()


def worker(store, route: str, clock: Clock, sender: Recorder, **kw: Any) -> RouteWorker:
    return RouteWorker(ROUTES[route], store, OutboxQueue(store), sender, clock=clock, **kw)


def stock(cid: str, key: str = "SKU-1@DC1", **fields: Any) -> Change:
    return Change(id=cid, domain=Domain.inventory, key=key, fields=fields)


def run(coro):
    return asyncio.run(coro)


def test_a_burst_to_one_key_is_one_call_with_the_latest_record(store, clock):
    pipeline = Pipeline(store, SYNCMAP)
    for i in range(50):
        pipeline.ingest("wms", [stock(f"s{i}", on_hand=i)])
    sender = Recorder(clock)
    w = worker(store, "stock-to-erp", clock, sender)
    assert run(w.drain()) == 1
    [(_, body)] = sender.sent
    assert body == {"sku": "SKU-1@DC1", "qty": 49}  # no `was`: nothing delivered before
    states = [row.state for row in store.list_outbox(route="stock-to-erp", limit=100)]
    assert states.count("coalesced") == 49 and states.count("delivered") == 1
    # compare-and-set: the next delivery carries what the target last received
    pipeline.ingest("wms", [stock("s50", on_hand=7)])
    run(w.drain())
    assert sender.sent[-1][1] == {"sku": "SKU-1@DC1", "qty": 7, "was": 49}


def test_echo_suppression_the_wms_is_not_sent_its_own_change(store, clock):
    Pipeline(store, SYNCMAP).ingest("wms", [stock("s1", on_hand=3)])
    assert store.list_outbox(route="stock-to-wms") == []


def test_events_go_one_at_a_time_per_key_in_order_and_a_retry_holds_back_the_next(store, clock):
    pipeline = Pipeline(store, SYNCMAP)
    tn = "1Z999AA10123456784"
    for i, status in enumerate(["label_created", "in_transit", "delivered"]):
        at = T0 + timedelta(hours=i)
        pipeline.ingest(
            "carrier",
            [
                Change(
                    id=f"e{i}",
                    domain=Domain.tracking,
                    key=tn,
                    occurred_at=at,
                    fields={"status": status, "occurred_at": at.isoformat()},
                )
            ],
        )
    sender = Recorder(clock)
    sender.failures = [DeliveryError(ErrorKind.unavailable, "down", status=503)]
    w = worker(
        store,
        "tracking-to-shop",
        clock,
        sender,
        retry=RetryPolicy(attempts=3, schedule=(0, 10, 10), jitter=0),
    )
    assert run(w.run_round()) == 1  # only the head of the key's queue
    assert run(w.run_round()) == 0  # it waits for its retry: the next event may not overtake it
    clock.now += 10
    run(w.drain())
    statuses = [d.fields["status"] for d, _ in sender.sent]
    assert statuses == ["label_created", "label_created", "in_transit", "delivered"]


def test_a_permanent_failure_is_dead_at_once_with_an_exception(store, clock):
    Pipeline(store, SYNCMAP).ingest("wms", [stock("s1", on_hand=3)])
    sender = Recorder(clock)
    sender.failures = [DeliveryError(ErrorKind.rejected, "bad sku", status=422)]
    w = worker(store, "stock-to-erp", clock, sender)
    run(w.drain())
    [row] = store.list_outbox(route="stock-to-erp")
    assert (row.state, row.attempts) == ("dead", 1)
    [exc] = store.list_exceptions(kind="dead_delivery")
    assert (exc.route, exc.key, exc.system) == ("stock-to-erp", "SKU-1@DC1", "erp")
    assert exc.detail["error_kind"] == "rejected" and exc.detail["body"] == {"sku": "SKU-1@DC1", "qty": 3}
    # the inbox's retry puts it back, and it goes
    assert OutboxQueue(store).requeue(row.id, int(clock.now * 1e6))
    run(w.drain())
    assert store.list_outbox(route="stock-to-erp")[0].state == "delivered"


def test_transient_failures_retry_on_schedule_then_die_when_exhausted(store, clock):
    Pipeline(store, SYNCMAP).ingest("wms", [stock("s1", on_hand=3)])
    sender = Recorder(clock)
    sender.failures = [DeliveryError(ErrorKind.timeout, "slow")] * 3
    w = worker(
        store, "stock-to-erp", clock, sender, retry=RetryPolicy(attempts=3, schedule=(0, 5, 60), jitter=0)
    )
    run(w.drain())
    [row] = store.list_outbox(route="stock-to-erp")
    assert (row.state, row.attempts, row.next_attempt_us) == ("pending", 1, int((clock.now + 5) * 1e6))
    clock.now += 5
    run(w.drain())
    clock.now += 59
    assert run(w.drain()) == 0  # not due yet
    clock.now += 1
    run(w.drain())
    [row] = store.list_outbox(route="stock-to-erp")
    assert (row.state, row.attempts) == ("dead", 3)
    assert "gave up after 3 attempts" in store.list_exceptions(kind="dead_delivery")[0].reason


def test_retry_after_from_the_target_is_honoured(store, clock):
    Pipeline(store, SYNCMAP).ingest("wms", [stock("s1", on_hand=3)])
    sender = Recorder(clock)
    sender.failures = [DeliveryError(ErrorKind.throttled, "slow down", status=429, retry_after=120)]
    w = worker(
        store, "stock-to-erp", clock, sender, retry=RetryPolicy(attempts=3, schedule=(0, 5, 5), jitter=0)
    )
    run(w.drain())
    [row] = store.list_outbox(route="stock-to-erp")
    assert row.next_attempt_us == int((clock.now + 120) * 1e6)


def test_shadow_mode_computes_and_records_and_sends_nothing(store, clock):
    Pipeline(store, SYNCMAP).ingest("wms", [stock("s1", on_hand=3)])
    sender = Recorder(clock)
    w = worker(store, "stock-shadow", clock, sender)
    run(w.drain())
    assert sender.sent == []
    [row] = store.list_outbox(route="stock-shadow")
    assert row.state == "shadowed"
    assert OutboxQueue(store).last_fields("stock-shadow", ["SKU-1@DC1"]) == {"SKU-1@DC1": {"on_hand": 3}}


def test_the_atp_route_sends_one_figure_per_sku(store, clock):
    pipeline = Pipeline(store, SYNCMAP)
    pipeline.ingest(
        "wms",
        [
            stock("a", "SKU-1@DC1", on_hand=4),
            stock("b", "SKU-1@DC2", on_hand=5),
            stock("c", "SKU-1@DC9", on_hand=50),
        ],
    )
    sender = Recorder(clock)
    run(worker(store, "stock-to-shop", clock, sender).drain())
    assert [d.fields for d, _ in sender.sent] == [{"sku": "SKU-1", "available_to_promise": 9}]


def test_the_breaker_opens_and_holds_calls_back_then_probes(store, clock):
    pipeline = Pipeline(store, SYNCMAP)
    for i in range(6):
        pipeline.ingest("wms", [stock(f"s{i}", f"SKU-{i}@DC1", on_hand=1)])
    sender = Recorder(clock)
    sender.failures = [DeliveryError(ErrorKind.unavailable, "down", status=503)] * 6
    breaker = CircuitBreaker(BreakerPolicy(threshold=3, cooldown=30))
    w = worker(store, "stock-to-erp", clock, sender, breaker=breaker, round_size=3)
    run(w.run_round())
    assert breaker.state.value == "open"
    calls = len(sender.sent)
    clock.now += 10  # every retry is due, the breaker is not
    assert run(w.drain()) == 0 and len(sender.sent) == calls
    clock.now += 25
    sender.failures = []
    run(w.run_round())  # one probe
    assert len(sender.sent) == calls + 1 and breaker.state.value == "closed"


def test_a_route_that_does_not_coalesce_sends_every_change_in_order(store, clock):
    hub = parse_syncmap(
        MAP.replace(
            "mode: shadow}", "mode: shadow}\n  - {name: every, domain: inventory, to: erp, coalesce: false}"
        ),
        env={},
    )
    pipeline = Pipeline(store, hub)
    for i in range(5):
        pipeline.ingest("wms", [stock(f"s{i}", on_hand=i)])
    sender = Recorder(clock)
    w = RouteWorker(
        next(r for r in hub.routes if r.name == "every"), store, OutboxQueue(store), sender, clock=clock
    )
    run(w.drain())
    assert [d.fields["on_hand"] for d, _ in sender.sent] == [0, 1, 2, 3, 4]


def test_a_batching_route_sends_up_to_its_batch_per_call_and_settles_them_together(store, clock):
    hub = parse_syncmap(
        MAP.replace(
            "mode: shadow}", "mode: shadow}\n  - {name: batched, domain: inventory, to: erp, batch: 4}"
        ),
        env={},
    )
    pipeline = Pipeline(store, hub)
    for i in range(10):
        pipeline.ingest("wms", [stock(f"s{i}", f"SKU-{i}@DC1", on_hand=i)])
    sender = Recorder(clock)
    sender.failures = [None, DeliveryError(ErrorKind.unavailable, "down", status=503), None]
    route = next(r for r in hub.routes if r.name == "batched")
    w = RouteWorker(
        route,
        store,
        OutboxQueue(store),
        sender,
        clock=clock,
        retry=RetryPolicy(attempts=3, schedule=(0, 5, 5), jitter=0),
    )
    run(w.run_round())
    assert sorted(sender.calls_batched) == [2, 4, 4]
    states = sorted(row.state for row in store.list_outbox(route="batched"))
    assert states.count("pending") in (2, 4) and states.count("delivered") == 10 - states.count("pending")


def test_without_a_mapping_a_compare_and_set_target_gets_what_it_last_received(store, clock):
    hub = parse_syncmap(
        MAP.replace("mode: shadow}", "mode: shadow}\n  - {name: plain, domain: inventory, to: erp}"), env={}
    )
    pipeline = Pipeline(store, hub)
    route = next(r for r in hub.routes if r.name == "plain")
    sender = Recorder(clock)
    w = RouteWorker(route, store, OutboxQueue(store), sender, clock=clock, compare_and_set=True)
    pipeline.ingest("wms", [stock("s1", on_hand=5)])
    run(w.drain())
    pipeline.ingest("wms", [stock("s2", on_hand=3)])
    run(w.drain())
    first, second = (body for _, body in sender.sent)
    assert first["expected"] is None and first["data"] == {"on_hand": 5}
    assert second["expected"] == {"on_hand": 5} and second["data"] == {"on_hand": 3}


def tracking_events(pipeline: Pipeline, tn: str, n: int) -> None:
    for i in range(n):
        at = T0 + timedelta(hours=i)
        fields = {"status": "in_transit", "occurred_at": at.isoformat(), "event_id": f"{i:03d}"}
        pipeline.ingest(
            "carrier", [Change(id=f"e{i}", domain=Domain.tracking, key=tn, occurred_at=at, fields=fields)]
        )


def test_a_round_that_fails_leaves_nothing_in_flight_and_the_keys_order_holds(store, clock):
    tn = "1Z999AA10123456784"
    tracking_events(Pipeline(store, SYNCMAP), tn, 3)
    sender = Recorder(clock)
    w = worker(
        store,
        "tracking-to-shop",
        clock,
        sender,
        retry=RetryPolicy(attempts=3, schedule=(0, 10, 10), jitter=0),
    )
    build = w._build
    faults = [RuntimeError("the store went away")]

    def failing(leases):
        if faults:
            raise faults.pop()
        return build(leases)

    w._build = failing  # type: ignore[method-assign]
    assert run(w.run_round()) == 1
    [head, *rest] = store.list_outbox(route="tracking-to-shop")
    assert (head.state, head.attempts) == ("pending", 1)
    assert head.last_error == "round_failed: RuntimeError: the store went away"
    assert {r.state for r in rest} == {"pending"} and w.stats.failed_rounds == 1
    assert run(w.run_round()) == 0  # the head waits for its retry; nothing overtakes it
    clock.now += 10
    run(w.drain())
    assert [d.fields["event_id"] for d, _ in sender.sent] == ["000", "001", "002"]


def test_a_round_whose_outcome_cannot_be_recorded_gives_its_leases_back(store, clock):
    Pipeline(store, SYNCMAP).ingest("wms", [stock("s1", on_hand=3)])
    sender = Recorder(clock)
    w = worker(store, "stock-to-erp", clock, sender)
    settle = w.queue.settle

    def broken(results, now_us):
        raise RuntimeError("disk full")

    w.queue.settle = broken  # type: ignore[method-assign]
    with pytest.raises(RuntimeError):
        run(w.run_round())
    assert [r.state for r in store.list_outbox(route="stock-to-erp")] == ["pending"]  # not stuck in flight
    w.queue.settle = settle  # type: ignore[method-assign]
    run(w.drain())
    assert [r.state for r in store.list_outbox(route="stock-to-erp")] == ["delivered"]


def test_a_round_cancelled_while_it_leases_gives_the_leases_back(store, clock):
    """The hub stops while a round's lease runs in its thread: the thread leases all the same, and
    the round gives those back rather than leaving them in flight (seen at the demo's exit)."""
    Pipeline(store, SYNCMAP).ingest("wms", [stock("s1", on_hand=3), stock("s2", "SKU-2@DC1", on_hand=1)])
    w = worker(store, "stock-to-erp", clock, Recorder(clock))
    leasing, go = threading.Event(), threading.Event()
    lease = w.queue.lease

    def slow(*args: Any) -> Any:
        leasing.set()
        go.wait(30)
        return lease(*args)

    w.queue.lease = slow  # type: ignore[method-assign]

    async def cancel_mid_lease() -> None:
        task = asyncio.create_task(w.run_round())
        while not leasing.is_set():
            await asyncio.sleep(0.01)
        task.cancel()
        asyncio.get_running_loop().call_later(0.2, go.set)  # the thread leases after the cancel
        with pytest.raises(asyncio.CancelledError):
            await task

    run(cancel_mid_lease())
    assert {r.state for r in store.list_outbox(route="stock-to-erp")} == {"pending"}  # none in flight
    w.queue.lease = lease  # type: ignore[method-assign]
    assert run(w.drain()) == 2


def test_a_nudge_during_a_round_is_not_lost(store, clock):
    """The round nudges the dispatcher itself (a commit while it ran) and finds nothing; the poll is an
    hour: the worker must look again at once because of the nudge (a lost nudge hangs until the timeout)."""
    rounds: list[int] = []

    class Nudged(RouteWorker):
        async def run_round(self) -> int:
            rounds.append(1)
            if len(rounds) == 1:
                dispatcher.notify()
            else:
                stop.set()
            return 0

    w = Nudged(ROUTES["stock-to-erp"], store, OutboxQueue(store), Recorder(clock), clock=clock)
    dispatcher = Dispatcher(store, [w], clock=clock, poll=3600)
    stop = asyncio.Event()

    async def scenario() -> None:
        await asyncio.wait_for(dispatcher.run(stop), timeout=60)

    run(scenario())
    assert len(rounds) == 2


def test_a_python_function_mapping_builds_the_body_and_a_body_that_is_not_json_is_dead(store, clock):
    hub = parse_syncmap(
        MAP.replace(
            "mode: shadow}",
            "mode: shadow}\n  - {name: by-function, domain: inventory, to: erp, mapping: 'fixtures.mappings:with_a_set'}"
            "\n  - {name: erp-function, domain: inventory, to: erp, mapping: 'fixtures.mappings:to_erp'}",
        ),
        env={},
    )
    pipeline = Pipeline(store, hub)
    pipeline.ingest("wms", [stock("s1", "SKU-1@DC1", on_hand=13), stock("s2", "SKU-2@DC1", on_hand=5)])
    routes = {r.name: r for r in hub.routes}
    sender = Recorder(clock)
    w = RouteWorker(routes["by-function"], store, OutboxQueue(store), sender, clock=clock)
    assert run(w.run_round()) == 2  # the round goes on past the body that is not JSON
    assert [body for _, body in sender.sent] == [{"item": "SKU-2@DC1", "qty": 5}]
    states = {r.key: (r.state, r.last_error) for r in store.list_outbox(route="by-function")}
    assert states["SKU-2@DC1"] == ("delivered", None)
    state, error = states["SKU-1@DC1"]
    assert state == "dead" and error.startswith("mapping: mapping 'body': is not JSON")
    [exc] = store.list_exceptions(kind="dead_delivery")
    assert (exc.route, exc.key, exc.detail["error_kind"]) == ("by-function", "SKU-1@DC1", "mapping")
    erp = Recorder(clock)
    run(RouteWorker(routes["erp-function"], store, OutboxQueue(store), erp, clock=clock).drain())
    assert sorted(body["item"] for _, body in erp.sent) == ["SKU-1", "SKU-2"]
    assert {body["qty"] for _, body in erp.sent} == {13, 5}
