"""Properties of the pipeline: any shuffling, duplication and batching of a set of changes ends in the
same records as applying each once in source order, and the outcome counts always balance."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fixtures.pg import data_tables
from logisync.config import parse_syncmap
from logisync.domain.change import Change, to_us
from logisync.domain.kinds import Domain
from logisync.pipeline import Pipeline
from logisync.store import open_store

# wms owns the quantities; erp may write inventory too, so it sets the fields nobody owns (and is
# rejected when it touches a quantity); the carrier sends tracking events ordered by event time
MAP = parse_syncmap(
    """\
systems:
  wms: {kind: wms}
  erp: {kind: erp, writes: [inventory]}
  carrier: {kind: carrier}
owners:
  inventory.quantities: wms
  tracking: carrier
routes:
  - {name: stock-to-erp, domain: inventory, to: erp}
  - {name: tracking-to-erp, domain: tracking, to: erp}
""",
    env={},
)
QUANTITIES = {"on_hand", "allocated", "inbound"}
T0 = datetime(2024, 5, 1, tzinfo=UTC)


@dataclass(frozen=True)
class Sent:
    system: str
    change: Change


def inventory_change(i: int) -> st.SearchStrategy[Sent]:
    return st.builds(
        lambda system, key, fields, v: Sent(
            system, Change(id=f"c{i}", domain=Domain.inventory, key=key, fields=fields, version=v)
        ),
        st.sampled_from(["wms", "wms", "erp"]),
        st.sampled_from(["SKU-1@DC1", "SKU-2@DC1", "ABC-1@DC2"]),
        st.dictionaries(
            st.sampled_from(["on_hand", "allocated", "inbound", "uom"]),
            st.integers(0, 9),
            min_size=1,
            max_size=3,
        ).map(lambda f: {k: (f"u{v}" if k == "uom" else v) for k, v in f.items()}),
        st.integers(0, 4),  # few versions: ties happen, and the change id breaks them
    )


def tracking_event(i: int) -> st.SearchStrategy[Sent]:
    return st.builds(
        lambda key, fields, minutes: Sent(
            "carrier",
            Change(
                id=f"c{i}",
                domain=Domain.tracking,
                key=key,
                fields=fields,
                occurred_at=T0 + timedelta(minutes=minutes),
            ),
        ),
        st.sampled_from(["1Z0000AA01", "1Z0000AA02"]),
        st.dictionaries(
            st.sampled_from(["status", "city"]),
            st.sampled_from(["in_transit", "out_for_delivery", "delivered"]),
            min_size=1,
        ).map(lambda f: {k: (v if k == "status" else v.upper()) for k, v in f.items()}),
        st.integers(0, 4),
    )


@st.composite
def scenarios(draw: st.DrawFn, max_changes: int = 10) -> tuple[list[Sent], list[list[Sent]]]:
    """A set of changes (ids unique) and a delivery of it: shuffled, some resent, cut into batches."""
    n = draw(st.integers(1, max_changes))
    changes = [draw(st.one_of(inventory_change(i), tracking_event(i))) for i in range(n)]
    resent = draw(st.lists(st.sampled_from(changes), max_size=n))
    delivery = draw(st.permutations(changes + resent))
    cuts = sorted(draw(st.sets(st.integers(1, len(delivery) - 1))) if len(delivery) > 1 else set())
    bounds = [0, *cuts, len(delivery)]
    return changes, [delivery[a:b] for a, b in itertools.pairwise(bounds)]


def send(pipeline: Pipeline, batch: list[Sent]) -> None:
    """One batch as the hub receives it: one call per system, in the order each first appears."""
    for system in dict.fromkeys(s.system for s in batch):
        changes = [s.change for s in batch if s.system == system]
        assert len(pipeline.ingest(system, changes)) == len(changes)


def records(store) -> dict[tuple[str, str], dict[str, tuple[Any, str, str, int]]]:
    """Every record: each field's value and who set it (system, change id, stamp)."""
    return {
        (d.value, r.key): {
            name: (value, r.prov[name]["s"], r.prov[name]["c"], r.prov[name]["v"])
            for name, value in r.fields.items()
        }
        for d in (Domain.inventory, Domain.tracking)
        for r in store.iter_records(d.value)
    }


def expected(changes: list[Sent]) -> dict[tuple[str, str], dict[str, tuple[Any, str, str, int]]]:
    """The model: per field, the accepted change with the greatest (stamp, id) wins."""
    best: dict[tuple[str, str], dict[str, tuple[Any, str, str, int]]] = {}
    for s in changes:
        c = s.change
        if s.system == "erp" and QUANTITIES & set(c.fields):
            continue  # rejected: erp does not own the quantities
        stamp = c.version if c.version is not None else to_us(c.occurred_at)
        fields = best.setdefault((c.domain.value, c.key), {})
        for name, value in c.fields.items():
            old = fields.get(name)
            if old is None or (old[3], old[2]) < (stamp, c.id):
                fields[name] = (value, s.system, c.id, stamp)
    return best


def in_source_order(changes: list[Sent]) -> dict:
    store = open_store("sqlite:///:memory:")
    try:
        pipeline = Pipeline(store, MAP)
        for s in changes:
            send(pipeline, [s])
        return records(store)
    finally:
        store.close()


def check_scenario(store, changes: list[Sent], batches: list[list[Sent]]) -> None:
    pipeline = Pipeline(store, MAP)
    for batch in batches:
        send(pipeline, batch)
    got = records(store)
    assert got == expected(changes)
    assert got == in_source_order(changes)
    # counts balance: every change sent has one outcome; the log holds each distinct change once
    sent = sum(len(b) for b in batches)
    counts = store.outcome_counts()
    assert sum(counts.values()) == sent
    assert sum(n for (_, _, o), n in counts.items() if o == "duplicate") == sent - len(changes)
    assert sum(store.count_changes().values()) == len(changes)


@settings(max_examples=150, deadline=None)
@given(scenarios())
def test_any_delivery_ends_in_the_same_records_sqlite(scenario):
    changes, batches = scenario
    store = open_store("sqlite:///:memory:")
    try:
        check_scenario(store, changes, batches)
    finally:
        store.close()


@pytest.mark.postgres
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(scenario=scenarios())
def test_any_delivery_ends_in_the_same_records_postgres(postgres_store, scenario):
    with psycopg.connect(postgres_store.url, autocommit=True) as conn:  # a fresh store for each example
        conn.execute(f"TRUNCATE {', '.join(data_tables(conn))} RESTART IDENTITY")
    changes, batches = scenario
    check_scenario(postgres_store, changes, batches)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["wms", "erp", "shop", "carrier", "ghost"]),
            st.sampled_from(["c1", "c2", "c3", "c4", "c5", "c6"]),
            st.sampled_from(list(Domain)),
            st.sampled_from(["SKU-1@DC1", "SKU-1", "1Z0000AA01", "bad key!"]),
            st.dictionaries(
                st.sampled_from(["on_hand", "reserved", "status", "name", "channel", "colour"]),
                st.one_of(st.integers(-2, 5), st.sampled_from(["delivered", "x"])),
                max_size=2,
            ),
            st.one_of(st.none(), st.integers(0, 3)),
        ),
        min_size=1,
        max_size=30,
    ),
    st.integers(1, 8),
)
def test_counts_always_balance_whatever_is_sent(sends, batch_size):
    """Any mix of good, bad, foreign, repeated and unknown-system changes: received = sum of outcomes."""
    store = open_store("sqlite:///:memory:")
    try:
        pipeline = Pipeline(store, MAP)
        received = 0
        distinct = set()
        for i in range(0, len(sends), batch_size):
            chunk = sends[i : i + batch_size]
            for system in dict.fromkeys(s[0] for s in chunk):
                changes = [
                    Change(id=cid, domain=domain, key=key, fields=fields, version=v)
                    for s, cid, domain, key, fields, v in chunk
                    if s == system
                ]
                outcomes = pipeline.ingest(system, changes)
                assert [o.id for o in outcomes] == [c.id for c in changes]
                received += len(changes)
                distinct |= {(system, c.id) for c in changes}
        assert sum(store.outcome_counts().values()) == received
        assert sum(store.count_changes().values()) == len(distinct)
    finally:
        store.close()
