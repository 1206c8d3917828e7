"""Hub processes on one store, ingesting overlapping keys and ids at the same time.

On PostgreSQL the writers really run at once (the pipeline serializes them per key and id with
advisory locks, taken in one order); on SQLite they take turns on the file's write lock. A batch
that still meets another writer backs off and goes again, and is set aside for retry, never lost.
"""

from __future__ import annotations

import random
import sqlite3
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import closing
from typing import Any

import psycopg
import pytest

from fixtures.channels import SYNCMAP as CHANNELS
from logisync.domain.change import Change, Outcome
from logisync.domain.inventory import available, free_stock
from logisync.domain.kinds import Domain
from logisync.errors import StoreBusy
from logisync.inbox import Inbox
from logisync.pipeline import Pipeline
from logisync.pipeline.contention import BusyRetry
from logisync.store import open_store
from logisync.store.base import Store
from logisync.store.postgres import _lock_bucket

KEYS = [f"SKU-{i}@DC1" for i in range(6)]
VERSIONS = 30
BATCH = 12


def all_changes() -> list[Change]:
    """For every key, versions 1..30 of on_hand and of allocated, each its own change."""
    return [
        Change(id=f"{key}/{field}/{v}", domain=Domain.inventory, key=key, fields={field: v}, version=v)
        for key in KEYS
        for field in ("on_hand", "allocated")
        for v in range(1, VERSIONS + 1)
    ]


@pytest.fixture
def second_store(store) -> Iterator[Store]:
    """Another connection to the same store: what a second hub process would hold."""
    other = open_store(store.url)
    try:
        yield other
    finally:
        other.close()


def ids_logged_twice(store) -> list[tuple[str, str]]:
    sql = "SELECT system, change_id FROM changes GROUP BY system, change_id HAVING count(*) > 1"
    if store.dialect == "sqlite":
        with closing(sqlite3.connect(store.path)) as conn:
            return conn.execute(sql).fetchall()
    with psycopg.connect(store.url) as conn:
        return conn.execute(sql).fetchall()


def run_together(jobs: list[tuple[Pipeline, list[list[Change]]]]) -> list[list[Outcome]]:
    """Run each pipeline's batches in a thread of its own, all starting at once; re-raise any error."""
    start = threading.Barrier(len(jobs))
    results: list[list[Outcome]] = [[] for _ in jobs]
    errors: list[BaseException] = []

    def work(i: int, pipeline: Pipeline, batches: list[list[Change]]) -> None:
        try:
            start.wait()
            for batch in batches:
                results[i].extend(pipeline.ingest("wms", batch))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i, p, b)) for i, (p, b) in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


def batches_of(changes: list[Change], rng: random.Random) -> list[list[Change]]:
    changes = list(changes)
    rng.shuffle(changes)
    return [changes[i : i + BATCH] for i in range(0, len(changes), BATCH)]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_two_writers_lose_no_update_and_log_no_id_twice(store, second_store, syncmap, seed):
    rng = random.Random(seed)
    changes = all_changes()
    # the first writer gets every on_hand change and a third of the others, the second the rest
    # and a third of the first's: the same keys all the time, and many ids sent by both
    mine = [c for c in changes if "on_hand" in c.fields or rng.random() < 0.33]
    theirs = [c for c in changes if "allocated" in c.fields or rng.random() < 0.33]
    assert {c.id for c in mine} | {c.id for c in theirs} == {c.id for c in changes}
    both = {c.id for c in mine} & {c.id for c in theirs}
    assert both

    results = run_together(
        [
            (Pipeline(store, syncmap), batches_of(mine, rng)),
            (Pipeline(second_store, syncmap), batches_of(theirs, rng)),
        ]
    )

    # every change has one outcome; an id sent twice is applied (or stale) once, a duplicate once
    sent = len(mine) + len(theirs)
    assert sum(len(r) for r in results) == sent
    outcomes: dict[str, list[str]] = {}
    for r in results:
        for o in r:
            outcomes.setdefault(o.id, []).append(o.outcome.value)
    for cid in both:
        assert len(outcomes[cid]) == 2, cid
        assert outcomes[cid].count("duplicate") == 1, (cid, outcomes[cid])
    assert sum(store.outcome_counts().values()) == sent
    assert sum(store.count_changes().values()) == len(changes)

    # no lost update: every field holds its newest version, set by the change that carried it
    for key in KEYS:
        record = store.get_record("inventory", key)
        assert record.fields == {"on_hand": VERSIONS, "allocated": VERSIONS}, key
        assert record.prov["on_hand"]["c"] == f"{key}/on_hand/{VERSIONS}"
        assert record.prov["allocated"]["c"] == f"{key}/allocated/{VERSIONS}"
        # and the record's history chain holds every one of its changes exactly once
        chain = store.record_log("inventory", key)
        assert len(chain) == len({e.change_id for e in chain}) == 2 * VERSIONS

    assert ids_logged_twice(store) == []


def test_two_writers_sending_the_very_same_batches(store, second_store, syncmap):
    """A sender that retries on another front end while the first is still working: one wins each id."""
    rng = random.Random(7)
    batches = batches_of(all_changes(), rng)
    results = run_together([(Pipeline(store, syncmap), batches), (Pipeline(second_store, syncmap), batches)])
    firsts = [o for r in results for o in r if o.outcome != "duplicate"]
    dups = [o for r in results for o in r if o.outcome == "duplicate"]
    assert len(firsts) == len(dups) == len(all_changes())
    assert {o.id for o in firsts} == {c.id for c in all_changes()}
    for key in KEYS:
        assert store.get_record("inventory", key).fields == {
            "on_hand": VERSIONS,
            "allocated": VERSIONS,
        }


# -- orders and stock racing over many records: locks in order, no deadlock, nothing lost ---------
SKUS = [f"SKU-{i}" for i in range(8)]
POSITIONS = [f"{sku}@{loc}" for sku in SKUS for loc in ("DC1", "DC2")]


def order_batches(rng: random.Random, prefix: str, n: int) -> list[list[Change]]:
    """Orders of three lines over random SKUs, three orders a batch, cancelling some earlier ones."""
    batches = []
    for b in range(n):
        batch = []
        for i in range(3):
            lines = [
                {"line_no": j, "sku": sku, "quantity": rng.randint(1, 6)}
                for j, sku in enumerate(rng.sample(SKUS, 3), 1)
            ]
            batch.append(
                Change(
                    id=f"{prefix}-{b}-{i}",
                    domain=Domain.order,
                    key=f"{prefix}-{b}-{i}",
                    fields={"lines": lines},
                )
            )
        batches.append(batch)
    return batches


def stock_batches(rng: random.Random, n: int) -> list[list[Change]]:
    """The WMS: six positions a batch, in random order: counts that raise or drop stock, receipts."""
    batches = []
    for b in range(n):
        batch = []
        for i, key in enumerate(rng.sample(POSITIONS, 6)):
            if rng.random() < 0.5:
                fields: dict[str, Any] = {"on_hand": rng.randint(0, 12)}
            else:
                fields = {"adjust": {"on_hand": rng.randint(1, 5), "reason": "receipt"}}
            batch.append(Change(id=f"w-{b}-{i}", domain=Domain.inventory, key=key, fields=fields))
        batches.append(batch)
    return batches


def cancel_batches(rng: random.Random, prefixes: list[str], n: int) -> list[list[Change]]:
    return [
        [
            Change(
                id=f"x-{b}-{i}",
                domain=Domain.order,
                key=f"{rng.choice(prefixes)}-{rng.randrange(n)}-{i}",
                fields={"status": "cancelled"},
            )
            for i in range(3)
        ]
        for b in range(n)
    ]


def run_systems(jobs: list[tuple[Pipeline, str, list[list[Change]]]]) -> list[list[Outcome]]:
    """Each (pipeline, system, batches) in a thread of its own, all at once; re-raise any error."""
    start = threading.Barrier(len(jobs))
    results: list[list[Outcome]] = [[] for _ in jobs]
    errors: list[BaseException] = []

    def work(i: int, pipeline: Pipeline, system: str, batches: list[list[Change]]) -> None:
        try:
            start.wait()
            for batch in batches:
                results[i].extend(pipeline.ingest(system, batch))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i, *job)) for i, job in enumerate(jobs)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


@pytest.mark.parametrize("seed", [1, 2])
def test_orders_and_stock_racing_over_many_records_never_deadlock_on_postgres(postgres_store, seed):
    """Four hub processes: two channels' orders, the WMS's stock, the WMS's cancels. Each order batch
    locks its orders and then, as the guard places holds, positions; each stock batch locks its
    positions and then, as shortfalls and refills run, orders: opposite orders, at random."""
    rng = random.Random(seed)
    setup = Pipeline(postgres_store, CHANNELS)
    setup.ingest(
        "wms",
        [Change(id=f"s-{k}", domain=Domain.inventory, key=k, fields={"on_hand": 10}) for k in POSITIONS],
    )
    n = 12
    work = [
        ("erp", order_batches(rng, "PO", n)),
        ("market", order_batches(rng, "MK", n)),
        ("wms", stock_batches(rng, n)),
        ("wms", cancel_batches(rng, ["PO", "MK"], n)),
    ]
    stores = [open_store(postgres_store.url) for _ in work]
    try:
        pipelines = [Pipeline(s, CHANNELS) for s in stores]
        results = run_systems(
            [(p, system, batches) for p, (system, batches) in zip(pipelines, work, strict=True)]
        )
    finally:
        for s in stores:
            s.close()
    contention = sum((p.contention for p in pipelines), Counter())
    print(f"contention: {dict(contention)}")
    assert contention["busy"] == 0, contention  # no deadlock needed breaking: locks were taken in order
    assert contention["set_aside"] == 0
    sent = sum(len(b) for _, batches in work for b in batches)
    assert sum(len(r) for r in results) == sent
    # the holds add up: positions and orders agree, and no position holds more than it has
    orders = {r.key: r.fields for r in postgres_store.iter_records("order")}
    for position in postgres_store.iter_records("inventory"):
        by = position.fields.get("reserved_by") or {}
        assert position.fields.get("reserved", 0) == sum(by.values())
        assert sum(by.values()) <= max(0, free_stock(position.fields)), position
        sku, _, loc = position.key.rpartition("@")
        for key, units in by.items():
            assert orders[key]["reservations"][sku][loc] == units
    for key, fields in orders.items():
        for sku, at in (fields.get("reservations") or {}).items():
            for loc, units in at.items():
                assert (postgres_store.get_record("inventory", f"{sku}@{loc}").fields["reserved_by"] or {})[
                    key
                ] == units
    # no fill was missed in a race: an ERP order (every location, share 1) waits only for a SKU
    # that has no unit free anywhere (a backordering order and a freeing change see each other)
    for key, fields in orders.items():
        if fields.get("seller") == "erp" and fields.get("status") != "cancelled":
            for sku in fields.get("backorders") or {}:
                free = [
                    available(p.fields) for p in postgres_store.iter_records("inventory", prefix=f"{sku}@")
                ]
                assert sum(max(0, a) for a in free) == 0, (key, sku, free)


def bucket_below(key: str, *others: str) -> bool:
    return all(_lock_bucket(key) < _lock_bucket(o) for o in others)


def test_a_lock_below_those_held_is_never_waited_for_so_two_writers_do_not_deadlock_on_postgres(
    postgres_store,
):
    """An outside writer holds a position's lock, then asks for the order's. The pipeline holds the
    order's lock and needs the position's, which is below it: waiting would be a deadlock. It rolls
    back instead, and its next try waits for the position first, in order."""
    sku = next(
        f"SKU-{i}"
        for i in range(1000)
        if bucket_below(f"r:inventory/SKU-{i}@DC1", "r:order/PO-1", "i:erp/e1")
    )
    position = f"{sku}@DC1"
    pipeline = Pipeline(postgres_store, CHANNELS)
    pipeline.ingest("wms", [Change(id="s1", domain=Domain.inventory, key=position, fields={"on_hand": 5})])
    holding, asked, done = threading.Event(), threading.Event(), threading.Event()
    outside_error: list[BaseException] = []

    def outside() -> None:
        try:
            with psycopg.connect(postgres_store.url) as conn:
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_lock_bucket(f"r:inventory/{position}"),))
                holding.set()
                asked.wait(5)
                time.sleep(0.2)  # the pipeline holds the order's lock and has met the position's by now
                conn.execute("SELECT pg_advisory_xact_lock(%s)", (_lock_bucket("r:order/PO-1"),))
            done.set()
        except BaseException as exc:
            outside_error.append(exc)

    thread = threading.Thread(target=outside)
    thread.start()
    holding.wait(5)
    asked.set()
    [out] = pipeline.ingest(
        "erp",
        [
            Change(
                id="e1",
                domain=Domain.order,
                key="PO-1",
                fields={"lines": [{"line_no": 1, "sku": sku, "quantity": 2}]},
            )
        ],
    )
    thread.join()
    assert outside_error == [] and done.is_set()  # neither writer was chosen as a deadlock victim
    assert out.outcome == "applied"
    assert postgres_store.get_record("order", "PO-1").fields["reservations"] == {sku: {"DC1": 2}}
    assert pipeline.contention["lock_order"] >= 1 and pipeline.contention["busy"] == 0


def test_a_batch_that_stays_busy_backs_off_then_is_set_aside_for_retry_not_lost(store):
    pipeline = Pipeline(store, CHANNELS, BusyRetry(attempts=4, base_s=0.01, cap_s=0.03))
    waits: list[float] = []
    pipeline._sleep = waits.append
    pipeline._random = lambda: 0.99
    real = pipeline._transaction

    def busy(*args: Any, **kwargs: Any) -> Any:
        raise StoreBusy("another writer held what this batch needed; retry it (40P01)")

    pipeline._transaction = busy  # type: ignore[method-assign]
    change = Change(id="w1", domain=Domain.inventory, key="SKU-1@DC1", fields={"on_hand": 7})
    outs = pipeline.ingest("wms", [change, change])
    assert [o.outcome for o in outs] == ["quarantined", "duplicate"]
    assert "through 4 tries" in outs[0].reason and "exceptions inbox" in outs[0].reason
    assert waits == pytest.approx([0.0099, 0.0198, 0.0297])  # backed off, under the cap, 3 waits for 4 tries
    assert store.get_record("inventory", "SKU-1@DC1") is None
    assert store.outcome_counts() == {
        ("wms", "inventory", "quarantined"): 1,
        ("wms", "inventory", "duplicate"): 1,
    }
    [exc] = store.list_exceptions(kind="store_busy")
    assert (exc.system, exc.change_id, exc.detail) == ("wms", "w1", {"attempts": 4, "error": "store_busy"})
    # the sender sending it again is told what happened; the inbox applies it once the store is free
    [again] = pipeline.ingest("wms", [change])
    assert again.outcome == "duplicate" and again.original.outcome == "quarantined"
    pipeline._transaction = real  # type: ignore[method-assign]
    done = Inbox(store, pipeline).retry(exc.id, "cli:ann")
    assert done.item.row.state == "resolved"
    assert store.get_record("inventory", "SKU-1@DC1").fields["on_hand"] == 7
