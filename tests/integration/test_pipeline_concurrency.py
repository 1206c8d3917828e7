"""Two hub processes on one store, ingesting overlapping keys and ids at the same time.

On PostgreSQL the writers really run at once (the pipeline serializes them per key and id with
advisory locks); on SQLite they take turns on the file's write lock.
"""

from __future__ import annotations

import random
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import closing

import psycopg
import pytest

from logisync.domain.change import Change, Outcome
from logisync.domain.kinds import Domain
from logisync.pipeline import Pipeline
from logisync.store import open_store
from logisync.store.base import Store

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
