"""The ingest pipeline on both stores: one outcome per change, idempotency, ordering, outbox, faults."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from logisync.config import parse_syncmap
from logisync.domain.change import Change
from logisync.domain.kinds import Domain
from logisync.history import history
from logisync.pipeline import Pipeline
from logisync.store import open_store

TN = "1Z999AA10123456784"  # a tracking number
T0 = datetime(2024, 5, 1, 8, 0, tzinfo=UTC)


def inv(cid: str, key: str = "SKU-1@DC1", v: int | None = None, **fields: Any) -> Change:
    return Change(id=cid, domain=Domain.inventory, key=key, fields=fields, version=v)


def change(cid: str, domain: str, key: str, v: int | None = None, **fields: Any) -> Change:
    return Change(id=cid, domain=Domain(domain), key=key, fields=fields, version=v)


def event(cid: str, hours: int, **fields: Any) -> Change:
    return Change(
        id=cid, domain=Domain.tracking, key=TN, fields=fields, occurred_at=T0 + timedelta(hours=hours)
    )


def fields_of(store, domain: str, key: str) -> dict[str, Any] | None:
    record = store.get_record(domain, key)
    return None if record is None else record.fields


def outbox(store, route: str | None = None) -> list:
    return store.list_outbox(route=route, limit=100_000)


def snapshot(store) -> dict[str, Any]:
    """Everything the store holds, through the Store protocol."""
    return {
        "records": {
            d.value: [(r.key, r.fields, r.prov, r.revision, r.last_seq) for r in store.iter_records(d.value)]
            for d in Domain
        },
        "log": store.count_changes(),
        "counts": store.outcome_counts(),
        "outbox": outbox(store),
        "exceptions": store.list_exceptions(state=None, limit=100_000),
    }


@pytest.fixture
def pipeline(store, syncmap) -> Pipeline:
    return Pipeline(store, syncmap)


# -- every outcome, with its reason and its exception -------------------------------------------


def test_applied_sets_fields_with_provenance(store, pipeline):
    [out] = pipeline.ingest("wms", [inv("c1", v=3, on_hand=10, allocated=2)], source="test")
    assert (out.outcome, out.reason, out.applied_fields) == ("applied", None, ["on_hand", "allocated"])
    record = store.get_record("inventory", "SKU-1@DC1")
    assert record.fields == {"on_hand": 10, "allocated": 2}
    assert record.revision == 1
    assert {name: (p["s"], p["c"], p["v"]) for name, p in record.prov.items()} == {
        "on_hand": ("wms", "c1", 3),
        "allocated": ("wms", "c1", 3),
    }
    entry = store.get_change("wms", "c1")
    assert (entry.outcome, entry.applied, entry.source, entry.payload) == (
        "applied",
        ["on_hand", "allocated"],
        "test",
        {"on_hand": 10, "allocated": 2},
    )
    assert record.prov["on_hand"]["q"] == entry.seq
    assert store.list_exceptions() == []


def test_bad_data_is_quarantined_with_a_validation_exception(store, pipeline):
    [out] = pipeline.ingest("wms", [inv("c1", on_hand=-5)])
    assert out.outcome == "quarantined"
    assert out.reason == "field on_hand: Input should be greater than or equal to 0 (got -5)"
    assert store.get_record("inventory", "SKU-1@DC1") is None
    [exc] = store.list_exceptions()
    assert (exc.kind, exc.state, exc.system, exc.change_id, exc.domain, exc.key, exc.reason) == (
        "validation",
        "open",
        "wms",
        "c1",
        "inventory",
        "SKU-1@DC1",
        out.reason,
    )
    assert exc.detail == {"rule": "non_negative", "field": "on_hand", "value": -5, "fields": {"on_hand": -5}}
    assert out.problem == {"rule": "non_negative", "field": "on_hand", "value": -5}
    entry = store.get_change("wms", "c1")
    assert (entry.outcome, entry.reason, entry.payload, entry.applied) == (
        "quarantined",
        out.reason,
        {"on_hand": -5},
        None,
    )
    assert outbox(store) == []


def test_a_bad_key_is_quarantined(store, pipeline):
    [out] = pipeline.ingest("wms", [inv("c1", key="SKU-1", on_hand=1)])
    assert out.outcome == "quarantined"
    assert out.reason == "key 'SKU-1' is not a valid inventory key (expected like 'SKU-1@DC1')"
    assert [x.kind for x in store.list_exceptions()] == ["validation"]
    assert store.count_records() == 0


def test_writing_outside_the_scopes_is_rejected_with_a_scope_exception(store, pipeline):
    [out] = pipeline.ingest("shop", [inv("c1", uom="each")])
    assert out.outcome == "rejected"
    assert out.reason == "system 'shop' may not write inventory (its write scopes: order, product)"
    [exc] = store.list_exceptions()
    assert (exc.kind, exc.system, exc.change_id, exc.reason) == ("scope", "shop", "c1", out.reason)
    assert store.count_records() == 0


def test_a_system_not_in_the_sync_map_is_rejected(store, pipeline):
    [out] = pipeline.ingest("ghost", [inv("c1", on_hand=1)])
    assert out.outcome == "rejected"
    assert out.reason == "system 'ghost' may not write inventory (its write scopes: none)"


def test_ownership_conflict_with_reject_policy(store, pipeline):
    pipeline.ingest("erp", [change("e1", "product", "SKU-1", v=1, name="Mug")])
    [out] = pipeline.ingest("shop", [change("s1", "product", "SKU-1", v=9, name="Cup")])
    assert out.outcome == "rejected"
    assert out.reason == "ownership: 'shop' does not own name (product is owned by erp)"
    assert fields_of(store, "product", "SKU-1") == {"name": "Mug"}
    [exc] = store.list_exceptions(kind="ownership_conflict")
    assert (exc.system, exc.change_id, exc.key) == ("shop", "s1", "SKU-1")
    assert exc.detail["policy"] == "reject"
    assert exc.detail["owners"] == ["erp"]
    assert exc.detail["conflicting_fields"] == ["name"]


def test_ownership_conflict_with_propose_policy(store, pipeline):
    pipeline.ingest("shop", [change("s1", "product", "SKU-1", v=1, price="10.00")])
    [out] = pipeline.ingest("erp", [change("e1", "product", "SKU-1", v=2, price="12.50")])
    assert out.outcome == "quarantined"
    assert out.reason == (
        "ownership: 'erp' does not own price (product.pricing is owned by shop); "
        "held as a proposal for the owner to approve"
    )
    assert fields_of(store, "product", "SKU-1") == {"price": "10.00"}
    [exc] = store.list_exceptions()
    assert exc.kind == "ownership_conflict"
    assert exc.detail == {
        "fields": {"price": "12.50"},
        "conflicting_fields": ["price"],
        "owners": ["shop"],
        "policy": "propose",
    }


def test_an_older_version_is_stale_without_an_exception(store, pipeline):
    pipeline.ingest("wms", [inv("c2", v=7, on_hand=70)])
    [out] = pipeline.ingest("wms", [inv("c1", v=6, on_hand=60)])
    assert out.outcome == "stale"
    assert out.reason == "older than the golden record (stamp 6): on_hand (has 7 from wms)"
    assert out.applied_fields is None
    record = store.get_record("inventory", "SKU-1@DC1")
    assert (record.fields, record.revision) == ({"on_hand": 70}, 1)
    assert store.list_exceptions() == []
    assert len(outbox(store)) == 1  # only the applied change goes out
    assert store.get_change("wms", "c1").outcome == "stale"


def test_stale_field_by_field(store, pipeline):
    pipeline.ingest("wms", [inv("a", v=5, on_hand=5)])
    pipeline.ingest("wms", [inv("b", v=3, allocated=1)])
    [out] = pipeline.ingest("wms", [inv("c", v=4, on_hand=4, allocated=2)])
    assert out.outcome == "applied"
    assert out.applied_fields == ["allocated"]
    assert out.reason == "older than the golden record (stamp 4): on_hand (has 5 from wms)"
    record = store.get_record("inventory", "SKU-1@DC1")
    assert record.fields == {"on_hand": 5, "allocated": 2}
    assert (record.prov["on_hand"]["c"], record.prov["allocated"]["c"]) == ("a", "c")
    entry = store.get_change("wms", "c")
    assert entry.applied == ["allocated"]
    assert entry.payload == {"on_hand": 4, "allocated": 2}
    [out] = pipeline.ingest("wms", [inv("d", v=2, on_hand=1, allocated=1)])
    assert out.outcome == "stale"
    assert "on_hand (has 5 from wms)" in out.reason
    assert "allocated (has 4 from wms)" in out.reason


def test_several_domains_in_one_batch(store, pipeline):
    outs = pipeline.ingest(
        "wms",
        [
            inv("c1", on_hand=1),
            change("c2", "order", "SO-1", status="allocated"),
            change("c3", "shipment", "SH-1", carrier="ups", tracking_numbers=[TN]),
        ],
    )
    assert [o.outcome for o in outs] == ["applied"] * 3
    assert fields_of(store, "order", "SO-1") == {"status": "allocated"}
    assert fields_of(store, "shipment", "SH-1") == {"carrier": "ups", "tracking_numbers": [TN]}
    assert store.count_records() == 3
    assert store.count_records("order") == 1


def test_an_empty_batch_does_nothing(store, pipeline):
    assert pipeline.ingest("wms", []) == []
    assert store.outcome_counts() == {}
    assert store.count_changes() == {}


# -- idempotency ---------------------------------------------------------------------------------

FIRSTS = {
    "applied": ("wms", inv("x", v=1, on_hand=1)),
    "stale": ("wms", inv("x", v=1, on_hand=1)),  # after "newer" below
    "rejected": ("shop", inv("x", uom="each")),
    "quarantined": ("wms", inv("x", on_hand=-1)),
}


@pytest.mark.parametrize("kind", list(FIRSTS))
def test_a_repeated_id_is_a_duplicate_carrying_the_first_outcome(store, pipeline, kind):
    system, first = FIRSTS[kind]
    if kind == "stale":
        pipeline.ingest("wms", [inv("newer", v=2, on_hand=2)])
    [out1] = pipeline.ingest(system, [first])
    before = snapshot(store)
    resent = first.model_copy(update={"fields": {"on_hand": 99}, "version": 100})  # same id, new body
    [out2] = pipeline.ingest(system, [resent])
    assert out1.outcome == kind
    assert out2.outcome == "duplicate"
    assert out2.reason == "this id was received before; nothing was done"
    assert out2.original.outcome == kind
    assert out2.original.reason == out1.reason
    assert out2.original.applied_fields == out1.applied_fields
    assert out2.original.received_us == out1.received_us
    after = snapshot(store)
    assert after["counts"][(system, "inventory", "duplicate")] == 1
    del after["counts"], before["counts"]
    assert after == before  # nothing else moved: no record change, no log entry, no delivery, no exception


def test_a_duplicate_keeps_its_first_outcome_after_the_store_is_reopened(store, syncmap):
    Pipeline(store, syncmap).ingest(
        "wms", [inv("c1", v=1, on_hand=1), inv("c2", v=5, on_hand=5, allocated=0), inv("c3", v=2, on_hand=2)]
    )
    url = store.url
    store.close()
    reopened = open_store(url)
    try:
        outs = Pipeline(reopened, syncmap).ingest(
            "wms",
            [inv("c1", v=1, on_hand=1), inv("c2", v=5, on_hand=5, allocated=0), inv("c3", v=9, on_hand=9)],
        )
        assert [o.outcome for o in outs] == ["duplicate"] * 3
        assert [o.original.outcome for o in outs] == ["applied", "applied", "stale"]
        assert outs[1].original.applied_fields == ["on_hand", "allocated"]
        assert outs[2].original.reason == "older than the golden record (stamp 2): on_hand (has 5 from wms)"
        assert reopened.get_record("inventory", "SKU-1@DC1").fields == {"on_hand": 5, "allocated": 0}
        assert sum(reopened.count_changes().values()) == 3
    finally:
        reopened.close()


def test_an_id_repeated_inside_one_batch(store, pipeline):
    outs = pipeline.ingest(
        "wms", [inv("c1", v=1, on_hand=1), inv("c1", v=2, on_hand=2), inv("c1", v=3, on_hand=3)]
    )
    assert [o.outcome for o in outs] == ["applied", "duplicate", "duplicate"]
    assert outs[1].reason == "repeated in the same batch"
    assert outs[1].original.outcome == "applied"
    assert outs[2].original is outs[0]
    assert fields_of(store, "inventory", "SKU-1@DC1") == {"on_hand": 1}
    assert store.count_changes() == {"applied": 1}
    assert store.outcome_counts() == {
        ("wms", "inventory", "applied"): 1,
        ("wms", "inventory", "duplicate"): 2,
    }
    assert len(outbox(store)) == 1


def test_an_id_repeated_inside_a_batch_carries_the_final_first_outcome(store, pipeline):
    pipeline.ingest("wms", [inv("new", v=9, on_hand=9)])
    outs = pipeline.ingest("wms", [inv("c1", v=1, on_hand=1), inv("c1", v=1, on_hand=1)])
    assert outs[0].outcome == "stale"
    assert outs[1].original.outcome == "stale"


def test_ids_are_per_system(store, pipeline):
    outs_wms = pipeline.ingest("wms", [inv("42", on_hand=1)])
    outs_erp = pipeline.ingest("erp", [change("42", "product", "SKU-1", name="Mug")])
    assert outs_wms[0].outcome == outs_erp[0].outcome == "applied"
    assert store.get_change("wms", "42").domain == "inventory"
    assert store.get_change("erp", "42").domain == "product"


def test_counts_balance_and_the_log_has_one_entry_per_id(store, pipeline):
    sent = 0
    batches = [
        ("wms", [inv("a", v=1, on_hand=1), inv("b", v=2, on_hand=2), inv("a", v=1, on_hand=1)]),
        ("wms", [inv("a", v=1, on_hand=1), inv("c", v=1, on_hand=3), inv("d", on_hand=-1)]),
        ("shop", [inv("a", uom="each"), change("o1", "order", "SO-1", channel="web")]),
        ("shop", [change("p1", "product", "SKU-1", name="x"), change("o1", "order", "SO-1", channel="web")]),
        ("erp", [change("p1", "product", "SKU-1", price="1.00"), change("p2", "product", "SKU-1", name="y")]),
        ("carrier", [event("e1", 1, status="in_transit"), event("e2", 0, status="pre_transit")]),
        ("carrier", [event("e1", 1, status="in_transit")]),
    ]
    distinct = set()
    for system, changes in batches:
        outs = pipeline.ingest(system, changes)
        assert len(outs) == len(changes)
        assert [o.id for o in outs] == [c.id for c in changes]
        sent += len(changes)
        distinct |= {(system, c.id) for c in changes}
    counts = store.outcome_counts()
    assert sum(counts.values()) == sent == 15
    logged = store.count_changes()
    assert sum(logged.values()) == len(distinct) == 11
    by_outcome: dict[str, int] = {}
    for (_, _, outcome), n in counts.items():
        by_outcome[outcome] = by_outcome.get(outcome, 0) + n
    assert by_outcome == {"duplicate": 4, **logged}
    assert logged == {"applied": 6, "stale": 1, "rejected": 2, "quarantined": 2}
    for system, cid in distinct:
        assert store.get_change(system, cid) is not None


def test_a_large_batch_and_its_replay(store, pipeline):
    changes = [inv(f"c{i}", key=f"SKU-{i}@DC1", v=1, on_hand=i) for i in range(1200)]
    assert {o.outcome for o in pipeline.ingest("wms", changes)} == {"applied"}
    again = pipeline.ingest("wms", changes[::-1])
    assert {o.outcome for o in again} == {"duplicate"}
    assert {o.original.outcome for o in again} == {"applied"}
    assert store.count_records("inventory") == 1200
    assert store.count_changes() == {"applied": 1200}
    assert len(outbox(store)) == 1200


# -- ordering -------------------------------------------------------------------------------------


def test_without_a_version_the_later_change_of_a_batch_wins(store, pipeline):
    """No version and no event time: arrival order decides, and within a batch the later line arrived later."""
    outs = pipeline.ingest("wms", [inv("line-9", on_hand=9), inv("line-10", on_hand=10)])
    assert fields_of(store, "inventory", "SKU-1@DC1") == {"on_hand": 10}
    assert [o.outcome for o in outs] == ["applied", "applied"]


def test_without_a_version_a_later_batch_wins(store, pipeline):
    pipeline.ingest("wms", [inv("b", on_hand=1)])
    [out] = pipeline.ingest("wms", [inv("a", on_hand=2)])
    assert out.outcome == "applied"
    assert fields_of(store, "inventory", "SKU-1@DC1") == {"on_hand": 2}


def test_same_id_and_version_from_two_systems_converges(store):
    """Ids are unique per system only; the winner of an exact tie must not depend on arrival order."""
    syncmap = parse_syncmap(
        "systems:\n  wms: {kind: wms}\n  erp: {kind: erp, writes: [inventory]}\n"
        "owners:\n  inventory.quantities: wms\n",
        env={},
    )
    p = Pipeline(store, syncmap)
    p.ingest("wms", [inv("17", key="SKU-1@DC1", v=5, uom="each")])
    p.ingest("erp", [inv("17", key="SKU-1@DC1", v=5, uom="case")])
    p.ingest("erp", [inv("18", key="SKU-2@DC1", v=5, uom="case")])  # the same race, the other way round
    p.ingest("wms", [inv("18", key="SKU-2@DC1", v=5, uom="each")])
    one, two = store.get_record("inventory", "SKU-1@DC1"), store.get_record("inventory", "SKU-2@DC1")
    assert one.fields == two.fields
    assert one.prov["uom"]["s"] == two.prov["uom"]["s"]


def test_late_tracking_events_are_kept_but_do_not_regress_the_record(store, pipeline):
    outs = pipeline.ingest(
        "carrier",
        [event("e1", 1, status="in_transit", city="Leipzig"), event("e3", 5, status="delivered")],
    )
    assert [o.outcome for o in outs] == ["applied", "applied"]
    [late] = pipeline.ingest("carrier", [event("e2", 3, status="out_for_delivery")])
    assert late.outcome == "applied"  # an event is history: kept, never "stale"
    assert late.applied_fields == []
    assert late.reason == "event kept in the history; the record already holds newer values"
    record = store.get_record("tracking", TN)
    assert record.fields == {"status": "delivered", "city": "Leipzig"}
    assert record.prov["status"]["c"] == "e3"
    entry = store.get_change("carrier", "e2")
    assert (entry.outcome, entry.applied, entry.payload) == ("applied", [], {"status": "out_for_delivery"})
    # every event is enqueued, in arrival order, and none is coalesced away
    rows = outbox(store, "tracking-to-shop")
    assert len(rows) == 3
    assert not any(r.coalescing for r in rows)
    log = store.get_changes([r.change_seq for r in rows])
    assert [log[r.change_seq].change_id for r in rows] == ["e1", "e3", "e2"]
    assert [e["change_id"] for e in history(store, "tracking", TN)] == ["e1", "e3", "e2"]


def test_a_late_event_still_fills_fields_nothing_newer_has(store, pipeline):
    pipeline.ingest("carrier", [event("e3", 5, status="delivered")])
    [late] = pipeline.ingest("carrier", [event("e1", 1, status="in_transit", city="Leipzig")])
    assert late.applied_fields == ["city"]
    assert fields_of(store, "tracking", TN) == {"status": "delivered", "city": "Leipzig"}


# -- the outbox ------------------------------------------------------------------------------------


def to_send(store, route: str) -> list[tuple[str, int]]:
    """What the dispatcher sends from the pending rows: a state key's latest row only, every event."""
    latest: dict[str, int] = {}
    sends: list[tuple[str, int]] = []
    for row in store.list_outbox(state="pending", route=route, limit=100_000):
        if row.coalescing:
            latest[row.key] = max(latest.get(row.key, 0), row.change_seq)
        else:
            sends.append((row.key, row.change_seq))
    return sorted(latest.items()) + sends


def test_a_burst_to_one_key_coalesces_to_its_latest_revision(store, pipeline):
    for v in range(1, 51):
        pipeline.ingest("wms", [inv(f"c{v}", v=v, on_hand=v)])
    record = store.get_record("inventory", "SKU-1@DC1")
    assert record.revision == 50
    rows = outbox(store, "stock-to-shop")
    assert rows
    assert all(r.coalescing and r.state == "pending" and r.key == "SKU-1@DC1" for r in rows)
    [(key, seq)] = to_send(store, "stock-to-shop")
    assert key == "SKU-1@DC1"
    assert seq == record.last_seq == record.prov["on_hand"]["q"]
    latest = store.get_changes([seq])[seq]
    assert (latest.change_id, latest.payload) == ("c50", {"on_hand": 50})


def test_a_burst_in_one_batch_coalesces_too(store, pipeline):
    pipeline.ingest("wms", [inv(f"c{v:02d}", v=v, on_hand=v) for v in range(1, 51)])
    [(_, seq)] = to_send(store, "stock-to-shop")
    assert store.get_changes([seq])[seq].payload == {"on_hand": 50}


def test_route_filters_are_respected(store, pipeline):
    pipeline.ingest(
        "wms",
        [
            inv("c1", key="SKU-1@DC1", on_hand=1),
            inv("c2", key="ABC-1@DC1", on_hand=1),
            inv("c3", key="SKU-2@DC2", on_hand=1),
        ],
    )
    assert sorted(r.key for r in outbox(store)) == ["SKU-1@DC1", "SKU-2@DC2"]  # sku_prefix: [SKU-]
    assert {r.route for r in outbox(store)} == {"stock-to-shop"}


def test_changes_are_not_echoed_back_to_their_origin(store, pipeline):
    pipeline.ingest("wms", [change("w1", "order", "SO-1", status="allocated")])
    assert outbox(store, "orders-to-wms") == []
    pipeline.ingest("shop", [change("s1", "order", "SO-1", channel="web")])
    [row] = outbox(store, "orders-to-wms")
    assert store.get_changes([row.change_seq])[row.change_seq].change_id == "s1"


def test_nothing_but_applied_changes_is_enqueued(store, pipeline):
    pipeline.ingest("wms", [inv("c2", v=2, on_hand=2)])
    pipeline.ingest("wms", [inv("c1", v=1, on_hand=1), inv("c3", on_hand=-1), inv("c2", v=2, on_hand=2)])
    pipeline.ingest("shop", [inv("s1", on_hand=1)])
    assert len(outbox(store)) == 1


# -- bad input never corrupts the store ------------------------------------------------------------


def test_a_mixed_batch_applies_the_good_and_records_the_bad(store, pipeline):
    pipeline.ingest("wms", [inv("seed", v=5, on_hand=5, allocated=1)])
    before = store.get_record("inventory", "SKU-1@DC1")
    batch = [
        inv("good-1", key="SKU-2@DC1", v=1, on_hand=3),
        inv("bad-value", v=9, on_hand=-3),
        inv("bad-key", key="SKU-1", v=9, on_hand=3),
        inv("bad-field", v=9, on_hand=3, colour="red"),
        inv("derived", v=9, available=3),
        change("owned", "order", "SO-1", channel="web"),  # order.lines belong to the shop
        inv("stale", v=4, on_hand=4),
        inv("good-2", key="SKU-3@DC1", v=1, on_hand=4),
        inv("good-1", key="SKU-2@DC1", v=1, on_hand=3),
    ]
    outs = pipeline.ingest("wms", batch)
    assert [o.outcome for o in outs] == [
        "applied",
        "quarantined",
        "quarantined",
        "quarantined",
        "quarantined",
        "rejected",
        "stale",
        "applied",
        "duplicate",
    ]
    assert outs[3].reason == "field colour: unknown field (got 'red')"
    assert outs[4].reason == "field available: derived by the hub, cannot be written"
    after = store.get_record("inventory", "SKU-1@DC1")
    assert (after.fields, after.prov, after.revision) == (before.fields, before.prov, before.revision)
    assert fields_of(store, "inventory", "SKU-2@DC1") == {"on_hand": 3}
    assert fields_of(store, "inventory", "SKU-3@DC1") == {"on_hand": 4}
    assert store.get_record("order", "SO-1") is None
    assert sorted((x.kind, x.change_id) for x in store.list_exceptions()) == [
        ("ownership_conflict", "owned"),
        ("validation", "bad-field"),
        ("validation", "bad-key"),
        ("validation", "bad-value"),
        ("validation", "derived"),
    ]
    for o in outs[:-1]:
        assert store.get_change("wms", o.id).outcome == o.outcome
    assert sum(store.outcome_counts().values()) == 1 + len(batch)


def test_a_bad_change_on_an_existing_record_is_in_its_history_only(store, pipeline):
    pipeline.ingest("wms", [inv("c1", v=1, on_hand=1)])
    pipeline.ingest("wms", [inv("c2", v=2, on_hand=-1)])
    pipeline.ingest("shop", [inv("s1", v=3, on_hand=3)])
    record = store.get_record("inventory", "SKU-1@DC1")
    assert (record.fields, record.revision) == ({"on_hand": 1}, 1)
    assert [(e["change_id"], e["outcome"]) for e in history(store, "inventory", "SKU-1@DC1")] == [
        ("c1", "applied"),
        ("c2", "quarantined"),
        ("s1", "rejected"),
    ]


class InjectedFault(RuntimeError):
    pass


class FaultyTx:
    """A write transaction that fails right after one of its steps has run."""

    def __init__(self, tx: Any, step: str) -> None:
        self._tx = tx
        self._step = step

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self._tx, name)
        if name != self._step:
            return attr

        def step(*args: Any, **kwargs: Any) -> Any:
            attr(*args, **kwargs)
            raise InjectedFault(f"fault after {name}")

        return step


STEPS = ["append_changes", "save_records", "enqueue", "open_exceptions", "count_outcomes"]


@pytest.mark.parametrize("step", STEPS)
def test_a_fault_mid_transaction_rolls_back_everything(store, syncmap, monkeypatch, step):
    pipeline = Pipeline(store, syncmap)
    pipeline.ingest("wms", [inv("seed", v=1, on_hand=1), inv("seed-2", key="SKU-9@DC1", v=1, on_hand=9)])
    batch = [
        inv("c1", v=2, on_hand=2),  # updates an existing record
        inv("c2", key="SKU-2@DC1", v=1, on_hand=5),  # creates one
        inv("c3", v=1, on_hand=-1),  # quarantined: an exception
        inv("seed", v=1, on_hand=1),  # a duplicate
        inv("c4", key="SKU-9@DC1", v=0, on_hand=0),  # stale
    ]
    before = snapshot(store)
    real_write = store.write

    @contextmanager
    def faulty_write() -> Iterator[Any]:
        with real_write() as tx:
            yield FaultyTx(tx, step)

    monkeypatch.setattr(store, "write", faulty_write)
    with pytest.raises(InjectedFault):
        pipeline.ingest("wms", batch)
    monkeypatch.undo()
    assert snapshot(store) == before
    for cid in ["c1", "c2", "c3", "c4"]:
        assert store.get_change("wms", cid) is None

    outs = pipeline.ingest("wms", batch)  # the sender was not acked, so it resends: now it all goes in
    assert [o.outcome for o in outs] == ["applied", "applied", "quarantined", "duplicate", "stale"]
    assert fields_of(store, "inventory", "SKU-1@DC1") == {"on_hand": 2}
    assert fields_of(store, "inventory", "SKU-2@DC1") == {"on_hand": 5}
    assert sum(store.outcome_counts().values()) == 2 + len(batch)
    assert sum(store.count_changes().values()) == 6
    assert [x.change_id for x in store.list_exceptions()] == ["c3"]
    assert len(outbox(store)) == 4


# -- review fixes ---------------------------------------------------------------------------------


def test_a_change_without_its_version_does_not_freeze_the_field(store, pipeline):
    """Versions and times are not compared with each other: the later arrival wins across kinds."""
    pipeline.ingest("wms", [inv("v1", v=5, on_hand=5)])
    pipeline.ingest("wms", [inv("t1", on_hand=6)])  # no version: stamped with its arrival time
    [out] = pipeline.ingest("wms", [inv("v2", v=6, on_hand=7)])
    assert out.outcome == "applied"
    assert fields_of(store, "inventory", "SKU-1@DC1") == {"on_hand": 7}
    [old] = pipeline.ingest("wms", [inv("v0", v=4, on_hand=1)])  # among versions, order still holds
    assert old.outcome == "stale"


def test_a_late_event_with_its_time_among_the_fields_does_not_regress_the_status(store, pipeline):
    def carrier_event(cid: str, hours: int, status: str) -> Change:
        when = (T0 + timedelta(hours=hours)).isoformat()
        return Change(id=cid, domain=Domain.tracking, key=TN, fields={"status": status, "occurred_at": when})

    pipeline.ingest("carrier", [carrier_event("e2", 30, "delivered")])
    [late] = pipeline.ingest("carrier", [carrier_event("e1", 2, "in_transit")])
    assert late.outcome == "applied"  # kept in the history, as every event is
    assert fields_of(store, "tracking", TN)["status"] == "delivered"


def test_a_control_character_in_a_field_name_is_quarantined_on_every_store(store, pipeline):
    [out] = pipeline.ingest("wms", [inv("n1", **{"on\x00hand": 1})])
    assert out.outcome == "quarantined"
    assert "on\\x00hand" in out.reason
    [exc] = store.list_exceptions()
    assert "\x00" not in exc.reason


def test_quantities_are_bounded_so_derived_figures_stay_in_64_bits(store, pipeline):
    [out] = pipeline.ingest("wms", [inv("q1", on_hand=0, allocated=18446744073709551615)])
    assert out.outcome == "quarantined"
    assert "allocated" in out.reason


# -- lifecycles -----------------------------------------------------------------------------------


def order_status(cid: str, v: int, status: str) -> Change:
    return Change(id=cid, domain=Domain.order, key="SO-1", fields={"status": status}, version=v)


def test_an_order_moves_forward_and_an_illegal_move_is_rejected_with_an_exception(store, pipeline):
    for i, status in enumerate(["accepted", "allocated", "picking", "packed", "shipped", "delivered"], 1):
        [out] = pipeline.ingest("wms", [order_status(f"s{i}", i, status)])
        assert out.outcome == "applied", (status, out.reason)
    [back] = pipeline.ingest("wms", [order_status("s7", 7, "picking")])
    assert back.outcome == "rejected"
    assert "order cannot move from 'delivered' to 'picking'" in back.reason
    assert fields_of(store, "order", "SO-1") == {"status": "delivered"}
    [exc] = store.list_exceptions(kind="illegal_transition")
    assert (exc.change_id, exc.detail["from"]) == ("s7", "delivered")


def test_an_older_status_is_stale_not_an_illegal_move(store, pipeline):
    pipeline.ingest("wms", [order_status("s2", 2, "shipped")])
    [late] = pipeline.ingest("wms", [order_status("s1", 1, "picking")])  # a late webhook, not a move back
    assert late.outcome == "stale"
    assert store.list_exceptions(kind="illegal_transition") == []


def test_the_first_status_the_hub_hears_of_is_taken_as_it_comes(store, pipeline):
    [out] = pipeline.ingest("wms", [order_status("s1", 1, "packed")])  # an order already in flight at go-live
    assert out.outcome == "applied"


def test_a_cancel_after_shipping_is_rejected(store, pipeline):
    pipeline.ingest("wms", [order_status("s1", 1, "shipped")])
    [cancel] = pipeline.ingest("wms", [order_status("s2", 2, "cancelled")])
    assert cancel.outcome == "rejected"
    assert fields_of(store, "order", "SO-1") == {"status": "shipped"}
