"""`merge`: the newest value of every field wins, field by field; ties go to the greater change id."""

from __future__ import annotations

import itertools

from logisync.domain.record import RecordState, describe_stale, merge


def record() -> RecordState:
    return RecordState("inventory", "SKU-1@DC1")


def test_a_first_change_sets_every_field_with_provenance():
    r = record()
    result = merge(r, "wms", "c1", 5, {"on_hand": 10, "allocated": 2}, at_us=1000, seq=1)
    assert result.applied == ["on_hand", "allocated"]
    assert result.stale == []
    assert r.fields == {"on_hand": 10, "allocated": 2}
    assert r.prov["on_hand"] == {"s": "wms", "c": "c1", "v": 5, "q": 1, "p": None}
    assert (r.revision, r.updated_us) == (1, 1000)


def test_a_newer_change_replaces_and_remembers_what_it_replaced():
    r = record()
    merge(r, "wms", "c1", 5, {"on_hand": 10}, at_us=1000, seq=1)
    result = merge(r, "wms", "c2", 6, {"on_hand": 11}, at_us=2000, seq=2)
    assert result.applied == ["on_hand"]
    assert r.fields == {"on_hand": 11}
    assert r.prov["on_hand"] == {"s": "wms", "c": "c2", "v": 6, "q": 2, "p": 1}
    assert (r.revision, r.updated_us) == (2, 2000)


def test_an_older_change_is_stale_and_changes_nothing():
    r = record()
    merge(r, "wms", "c2", 6, {"on_hand": 11}, at_us=1000, seq=1)
    before = (dict(r.fields), {k: dict(v) for k, v in r.prov.items()}, r.revision, r.updated_us)
    result = merge(r, "wms", "c1", 5, {"on_hand": 10}, at_us=2000, seq=2)
    assert result.applied == []
    assert result.stale == ["on_hand"]
    assert (r.fields, r.prov, r.revision, r.updated_us) == before


def test_field_by_field_one_newer_and_one_older():
    r = record()
    merge(r, "wms", "a", 5, {"on_hand": 5}, at_us=1, seq=1)
    merge(r, "wms", "b", 3, {"allocated": 1}, at_us=2, seq=2)
    result = merge(r, "wms", "c", 4, {"on_hand": 4, "allocated": 2}, at_us=3, seq=3)
    assert result.applied == ["allocated"]
    assert result.stale == ["on_hand"]
    assert r.fields == {"on_hand": 5, "allocated": 2}
    assert r.prov["on_hand"]["c"] == "a"
    assert r.prov["allocated"]["c"] == "c"
    assert r.revision == 3
    assert (
        describe_stale(r, result.stale, 4)
        == "older than the golden record (stamp 4): on_hand (has 5 from wms)"
    )


def test_equal_stamps_are_broken_by_the_change_id():
    r = record()
    merge(r, "wms", "b", 5, {"on_hand": 2}, at_us=1, seq=1)
    assert merge(r, "wms", "a", 5, {"on_hand": 1}, at_us=2, seq=2).stale == ["on_hand"]
    assert merge(r, "wms", "c", 5, {"on_hand": 3}, at_us=3, seq=3).applied == ["on_hand"]
    assert r.fields["on_hand"] == 3


def test_the_same_change_again_is_stale():
    r = record()
    merge(r, "wms", "c1", 5, {"on_hand": 1}, at_us=1, seq=1)
    assert merge(r, "wms", "c1", 5, {"on_hand": 1}, at_us=2, seq=2).stale == ["on_hand"]
    assert r.revision == 1


def test_any_arrival_order_ends_in_the_same_record():
    changes = [
        ("wms", "c1", 1, {"on_hand": 1, "allocated": 0}),
        ("wms", "c2", 3, {"on_hand": 3}),
        ("wms", "c3", 2, {"on_hand": 2, "allocated": 2}),
        ("wms", "c4", 3, {"allocated": 4, "inbound": 9}),
        ("wms", "c0", 3, {"on_hand": 30}),  # same stamp as c2, smaller id: loses
    ]
    results = set()
    for order in itertools.permutations(changes):
        r = record()
        for seq, (system, cid, stamp, fields) in enumerate(order, start=1):
            merge(r, system, cid, stamp, fields, at_us=seq, seq=seq)
        results.add(repr(sorted((k, v, r.prov[k]["c"]) for k, v in r.fields.items())))
    assert results == {repr([("allocated", 4, "c4"), ("inbound", 9, "c4"), ("on_hand", 3, "c2")])}


def test_ties_between_systems_using_the_same_change_id_converge():
    """Ids are unique per system only: wms's change 17 and erp's change 17 are different changes.

    With equal stamps and equal ids, the winner must still not depend on which arrived first.
    """
    ends = []
    for first, second in [("wms", "erp"), ("erp", "wms")]:
        r = record()
        merge(r, first, "17", 5, {"reserved": first}, at_us=1, seq=1)
        merge(r, second, "17", 5, {"reserved": second}, at_us=2, seq=2)
        ends.append((r.fields["reserved"], r.prov["reserved"]["s"]))
    assert ends[0] == ends[1]


def test_a_change_with_nothing_new_does_not_bump_the_revision():
    r = record()
    merge(r, "wms", "c1", 5, {"on_hand": 1}, at_us=10, seq=1)
    merge(r, "wms", "c0", 4, {"on_hand": 0}, at_us=20, seq=2)
    assert (r.revision, r.updated_us) == (1, 10)
