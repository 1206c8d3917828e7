"""The outbox's leases on both stores, and two dispatcher processes racing on one PostgreSQL outbox:
every row leased once per lease, events in order per key, expired leases taken again, due rows
never hidden behind rows that wait, the newest state version not punished for an older failure."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from logisync.config import parse_syncmap
from logisync.domain.change import Change
from logisync.domain.kinds import Domain
from logisync.pipeline import Pipeline
from logisync.store import open_store
from logisync.store.outbox import Lease, OutboxQueue, Settled

MAP = """\
systems:
  wms: {kind: wms}
  carrier: {kind: carrier}
  erp: {kind: erp}
owners:
  inventory: wms
  tracking: carrier
routes:
  - {name: stock-to-erp, domain: inventory, to: erp}
  - {name: tracking-to-erp, domain: tracking, to: erp}
"""
SYNCMAP = parse_syncmap(MAP, env={})
T0 = datetime(2026, 11, 1, 8, 0, tzinfo=UTC)
NOW = 1_800_000_000_000_000  # µs


def event(i: int, key: str) -> Change:
    at = T0 + timedelta(minutes=i)
    return Change(
        id=f"e{i}",
        domain=Domain.tracking,
        key=key,
        occurred_at=at,
        fields={"status": "in_transit", "occurred_at": at.isoformat(), "event_id": f"{i:04d}"},
    )


def stock(cid: str, key: str, on_hand: int) -> Change:
    return Change(id=cid, domain=Domain.inventory, key=key, fields={"on_hand": on_hand})


def delivered(leases: list[Lease]) -> list[Settled]:
    return [Settled(lease, "delivered", fields={}) for lease in leases]


def test_two_dispatchers_on_postgres_lease_each_row_once_and_keep_each_keys_order(pg_url, postgres_store):
    keys = [f"1Z{k:016d}" for k in range(8)]
    Pipeline(postgres_store, SYNCMAP).ingest(
        "carrier", [event(i, keys[i % len(keys)]) for i in range(160)]
    )  # 20 events per parcel
    for i in range(120):  # and a burst over 6 positions
        Pipeline(postgres_store, SYNCMAP).ingest("wms", [stock(f"s{i}", f"SKU-{i % 6}@DC1", i)])
    stores = [open_store(pg_url), open_store(pg_url)]  # two processes: two connections, two owners
    queues = [OutboxQueue(s) for s in stores]  # type: ignore[arg-type]
    sent: list[tuple[str, str, int]] = []  # (route, key, outbox id) in the order they were "sent"
    leased: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(2)
    faults: list[BaseException] = []

    def dispatcher(queue: OutboxQueue) -> None:
        try:
            race(queue)
        except BaseException as exc:  # reported below: a thread's failure must fail the test
            faults.append(exc)

    def race(queue: OutboxQueue) -> None:
        start.wait()
        idle = 0
        while idle < 3:
            got = 0
            for route in ("tracking-to-erp", "stock-to-erp"):
                leases = queue.lease(route, NOW, 3)
                with lock:
                    leased.extend(lease.id for lease in leases)
                    sent.extend((route, lease.key, lease.id) for lease in leases)
                assert queue.settle(delivered(leases), NOW) == len(leases)
                got += len(leases)
            idle = idle + 1 if got == 0 else 0

    threads = [threading.Thread(target=dispatcher, args=(q,)) for q in queues]
    try:
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        for s in stores:
            s.close()
    assert faults == []
    assert len(leased) == len(set(leased))  # no row leased twice
    events = [(k, i) for r, k, i in sent if r == "tracking-to-erp"]
    assert len(events) == 160  # every event, once
    for key in keys:  # in order per key: never event N+1 before N was settled
        ids = [i for k, i in events if k == key]
        assert ids == sorted(ids) and len(ids) == 20
    rows = postgres_store.list_outbox(limit=1000)
    assert {r.state for r in rows} == {"delivered", "coalesced"}
    stock_sent = [i for r, _, i in sent if r == "stock-to-erp"]
    assert sum(1 for r in rows if r.route == "stock-to-erp" and r.state == "delivered") == len(stock_sent)


def test_a_lease_that_ran_out_is_taken_again_and_the_late_owner_cannot_settle_it(store):
    Pipeline(store, SYNCMAP).ingest(
        "carrier", [event(0, "1Z0000000000000001"), event(1, "1Z0000000000000001")]
    )
    dead = OutboxQueue(store, lease_seconds=60)  # type: ignore[arg-type]
    live = OutboxQueue(store, lease_seconds=60)  # type: ignore[arg-type]
    [first] = dead.lease("tracking-to-erp", NOW, 10)
    assert live.lease("tracking-to-erp", NOW + 59_000_000, 10) == []  # held, and it holds the key
    [again] = live.lease("tracking-to-erp", NOW + 61_000_000, 10)
    assert again.id == first.id  # the head again, not the event behind it
    assert dead.settle(delivered([first]), NOW + 62_000_000) == 0  # too late: not its row any more
    assert store.list_outbox(route="tracking-to-erp")[0].state == "in_flight"
    assert live.settle(delivered([again]), NOW + 62_000_000) == 1
    [second] = live.lease("tracking-to-erp", NOW + 62_000_000, 10)
    assert second.id != first.id


def test_renewing_keeps_a_lease(store):
    Pipeline(store, SYNCMAP).ingest("carrier", [event(0, "1Z0000000000000001")])
    a = OutboxQueue(store, lease_seconds=60)  # type: ignore[arg-type]
    b = OutboxQueue(store, lease_seconds=60)  # type: ignore[arg-type]
    leases = a.lease("tracking-to-erp", NOW, 10)
    assert a.renew(leases, NOW + 50_000_000) == 1
    assert b.lease("tracking-to-erp", NOW + 100_000_000, 10) == []  # renewed until NOW + 110 s
    assert b.renew(leases, NOW) == 0  # not b's to renew


def test_recover_at_start_leaves_a_live_peers_rows_on_postgres_and_takes_all_on_sqlite(store):
    Pipeline(store, SYNCMAP).ingest(
        "carrier", [event(0, "1Z0000000000000001"), event(1, "1Z0000000000000002")]
    )
    peer = OutboxQueue(store)  # type: ignore[arg-type]
    assert len(peer.lease("tracking-to-erp", NOW, 10)) == 2
    taken = OutboxQueue(store).recover(["tracking-to-erp"], NOW + 1)  # type: ignore[arg-type]
    states = {r.state for r in store.list_outbox(route="tracking-to-erp")}
    if store.concurrent_writers:  # type: ignore[attr-defined]
        assert (taken, states) == (0, {"in_flight"})
    else:  # one process writes SQLite: what is in flight at start was left by a stopped run
        assert (taken, states) == (2, {"pending"})


def test_due_rows_are_not_hidden_behind_a_long_queue_that_waits(store):
    pipeline = Pipeline(store, SYNCMAP)
    pipeline.ingest("carrier", [event(i, "1Z0000000000000003") for i in range(150)])
    pipeline.ingest("carrier", [event(200, "1Z0000000000000004")])
    queue = OutboxQueue(store)  # type: ignore[arg-type]
    [head] = queue.lease("tracking-to-erp", NOW, 1)
    assert head.key == "1Z0000000000000003"
    failed = Settled(head, "pending", error="down", next_attempt_us=NOW + 3_600_000_000)
    queue.settle([failed], NOW)
    # the parcel waits for its head's retry; the other parcel's event is due and goes, even asked one at a time
    [other] = queue.lease("tracking-to-erp", NOW + 1, 1)
    assert other.key == "1Z0000000000000004"
    assert queue.lease("tracking-to-erp", NOW + 2, 500) == []


def test_the_newest_state_version_waits_out_a_backoff_but_starts_its_own_attempts(store):
    pipeline = Pipeline(store, SYNCMAP)
    pipeline.ingest("wms", [stock("s1", "SKU-1@DC1", 1)])
    queue = OutboxQueue(store)  # type: ignore[arg-type]
    [lease] = queue.lease("stock-to-erp", NOW, 10)
    queue.settle([Settled(lease, "pending", error="down", next_attempt_us=NOW + 5_000_000)], NOW)
    pipeline.ingest("wms", [stock("s2", "SKU-1@DC1", 2)])
    assert queue.lease("stock-to-erp", NOW + 4_000_000, 10) == []  # coalescing skips no backoff
    [carrier] = queue.lease("stock-to-erp", NOW + 5_000_000, 10)
    assert (carrier.coalesced, carrier.attempts) == (1, 0)  # its own attempts: a fresh version
    assert carrier.first_us == lease.first_us  # lag still counts from the oldest change it carries
