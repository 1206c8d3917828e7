"""The inbox and explorer pages' data, on both stores: filters, keyset pages, groups, detail, edit
form, bulk, search by SKU/order/shipment/tracking number, provenance, timeline, time travel."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from logisync.config import parse_syncmap
from logisync.domain.change import Change, now_us
from logisync.domain.kinds import Domain
from logisync.inbox import Inbox, InvalidAction
from logisync.pipeline import Pipeline
from logisync.web.explorer_view import parse_moment, record_page, search
from logisync.web.inbox_view import (
    BadFilter,
    bulk_filtered,
    bulk_selected,
    detail,
    edits_from_form,
    inbox_page,
    parse_query,
)

MAP = """\
systems:
  wms: {kind: wms}
  erp: {kind: erp}
  carrier: {kind: carrier}
  shop: {kind: marketplace, writes: [order]}
owners:
  product: erp
  inventory.quantities: wms
  shipment: wms
  tracking: carrier
routes:
  - {name: stock-to-erp, domain: inventory, to: erp}
"""
SYNCMAP = parse_syncmap(MAP, env={})
HOUR = 3600 * 1_000_000


@pytest.fixture
def pipeline(store) -> Pipeline:
    return Pipeline(store, SYNCMAP)


@pytest.fixture
def inbox(store, pipeline) -> Inbox:
    return Inbox(store, pipeline)


def change(cid: str, domain: str = "inventory", key: str = "SKU-1@DC1", **fields: Any) -> Change:
    return Change(id=cid, domain=Domain(domain), key=key, fields=fields)


def bad_stock(pipeline: Pipeline, n: int, prefix: str = "SKU-") -> None:
    pipeline.ingest("wms", [change(f"bad-{prefix}{i}", key=f"{prefix}{i}@DC1", on_hand=-1) for i in range(n)])


def test_the_list_is_a_keyset_page_and_the_next_page_goes_on_from_it(inbox, pipeline):
    bad_stock(pipeline, 5)
    query = parse_query({"limit": "2"})
    first = inbox_page(inbox, query, now_us())
    assert [i.row.key for i in first.items] == ["SKU-0@DC1", "SKU-1@DC1"]
    assert first.total == 5 and first.next_after == first.items[-1].row.id
    assert dict(first.kinds) == {"validation": 5}
    nxt = parse_query({"limit": "2", "after": str(first.next_after)})
    assert [i.row.key for i in inbox_page(inbox, nxt, now_us()).items] == ["SKU-2@DC1", "SKU-3@DC1"]
    assert "after=" in query.url(after=first.next_after) and "limit=2" in query.url()


def test_filters_key_prefix_age_and_assignee(inbox, pipeline):
    bad_stock(pipeline, 3, "SKU-")
    bad_stock(pipeline, 2, "ABC-")
    now = now_us()
    assert inbox_page(inbox, parse_query({"key": "ABC-"}), now).total == 2
    assert [i.row.key for i in inbox_page(inbox, parse_query({"key": "SKU-2"}), now).items] == ["SKU-2@DC1"]
    assert inbox_page(inbox, parse_query({"key": "sku-"}), now).total == 0  # keys are case-sensitive
    assert inbox_page(inbox, parse_query({"age": "1h"}), now).total == 5
    assert inbox_page(inbox, parse_query({"age": "gt1h"}), now).total == 0
    assert inbox_page(inbox, parse_query({"age": "gt1h"}), now + 2 * HOUR).total == 5
    first = inbox_page(inbox, parse_query({}), now).items[0].row.id
    inbox.assign(first, "user:ann", "ann")
    assert [i.row.id for i in inbox_page(inbox, parse_query({"assignee": "me"}), now, me="ann").items] == [
        first
    ]
    assert inbox_page(inbox, parse_query({"assignee": "me"}), now, me="bob").total == 0
    assert inbox_page(inbox, parse_query({"kind": "validation", "domain": "inventory"}), now).total == 5
    assert inbox_page(inbox, parse_query({"system": "erp"}), now).total == 0
    assert inbox_page(inbox, parse_query({"state": "resolved"}), now).total == 0


@pytest.mark.parametrize(
    ("params", "where"),
    [
        ({"state": "stuck"}, "state"),
        ({"domain": "parcel"}, "domain"),
        ({"age": "3w"}, "age"),
        ({"after": "-1"}, "after"),
        ({"limit": "100000"}, "limit"),
        ({"view": "pie"}, "view"),
        ({"key": "x" * 201}, "key"),
    ],
)
def test_a_bad_filter_is_refused_naming_it(params, where):
    with pytest.raises(BadFilter) as refused:
        parse_query(params)
    assert refused.value.where == where and where in refused.value.message


def test_groups_by_root_cause(inbox, pipeline):
    bad_stock(pipeline, 3)
    pipeline.ingest("wms", [change("x1", key="SKU-9@DC1", colour="red")])
    page = inbox_page(inbox, parse_query({"view": "groups"}), now_us())
    assert [(g.cause, g.count) for g in page.groups] == [
        ("inventory on_hand: Input should be greater than or equal to 0", 3),
        ("inventory colour: unknown field", 1),
    ]
    one = parse_query({"cause": "inventory colour: unknown field", "kind": "validation"})
    assert [i.row.change_id for i in inbox_page(inbox, one, now_us()).items] == ["x1"]


def test_detail_has_the_problem_the_diff_and_the_edit_form(inbox, pipeline, store):
    pipeline.ingest("wms", [change("c1", on_hand=5, allocated=1)])
    pipeline.ingest("wms", [change("c2", on_hand=-3, note="late")])
    [item] = inbox.page(parse_query({}).where(now_us()))[0]
    shown = detail(inbox, item.row.id)
    assert shown.problems == [
        {"rule": "non_negative", "field": "on_hand", "value": -3},
        {"rule": "unknown_field", "field": "note", "value": "late"},
    ]
    assert shown.record == ("inventory", "SKU-1@DC1")
    assert [(d["field"], d["change"], d["record"]) for d in shown.view.diff] == [
        ("on_hand", -3, 5),
        ("note", "late", None),
    ]
    assert [(f.name, f.text, f.is_text) for f in shown.edit_fields] == [
        ("on_hand", "-3", False),
        ("note", "late", True),
    ]
    assert shown.can_replay


def test_the_edit_form_sets_only_what_changed_and_names_a_bad_value():
    payload = {"on_hand": -3, "note": "late", "lines": [{"qty": 1}]}
    form = {"field.on_hand": "4", "field.note": "late", "field.lines": '[{"qty": 1}]'}
    assert edits_from_form(form, payload) == ({"on_hand": 4}, [])
    assert edits_from_form({"field.note": "12", "remove.on_hand": "on"}, payload) == (
        {"note": "12"},
        ["on_hand"],
    )
    assert edits_from_form({"add_path": "lines[0].qty", "add_value": "2"}, payload) == (
        {"lines[0].qty": 2},
        [],
    )
    assert edits_from_form({"add_path": "colour", "add_value": "red"}, payload) == ({"colour": "red"}, [])
    with pytest.raises(BadFilter) as refused:
        edits_from_form({"field.on_hand": "four"}, payload)
    assert refused.value.where == "field.on_hand" and "on_hand" in refused.value.message
    with pytest.raises(BadFilter):
        edits_from_form({"add_value": "2"}, payload)


def test_an_edit_from_the_form_resolves_the_exception(inbox, pipeline, store):
    bad_stock(pipeline, 1)
    [item] = inbox.page(parse_query({}).where(now_us()))[0]
    shown = detail(inbox, item.row.id)
    set_, unset = edits_from_form({"field.on_hand": "7"}, shown.view.change.payload)
    done = inbox.edit(item.row.id, "user:operator", set_=set_, unset=unset)
    assert done.item.row.state == "resolved" and done.action.actor == "user:operator"
    assert store.get_record("inventory", "SKU-0@DC1").fields == {"on_hand": 7}


def test_bulk_on_a_selection_and_on_a_filter(inbox, pipeline):
    bad_stock(pipeline, 4)
    ids = [i.row.id for i in inbox.page(parse_query({}).where(now_us()))[0]]
    with pytest.raises(InvalidAction):
        bulk_selected(inbox, "discard", ids[:2], "user:op", reason=" ")
    done = bulk_selected(inbox, "discard", ids[:2], "user:op", reason="test data")
    assert [(r.id, r.ok, r.state) for r in done.results] == [
        (ids[0], True, "discarded"),
        (ids[1], True, "discarded"),
    ]
    again = bulk_selected(inbox, "retry", [ids[0], ids[2]], "user:op")
    assert [(r.ok, r.code) for r in again.results] == [(False, "action_refused"), (True, None)]
    with pytest.raises(InvalidAction):
        bulk_filtered(inbox, "discard", parse_query({}), now_us(), "user:op", me=None, reason="x")
    by_filter = bulk_filtered(
        inbox, "discard", parse_query({"key": "SKU-"}), now_us(), "user:op", me=None, reason="cleanup"
    )
    assert [r.id for r in by_filter.results] == ids[2:] and all(r.ok for r in by_filter.results)
    assert inbox.get(ids[3]).row.state == "discarded"


def seed_logistics(pipeline: Pipeline) -> None:
    pipeline.ingest(
        "erp",
        [change("p1", "product", "SKU-1", name="Widget"), change("p2", "product", "SKU-10", name="Ten")],
    )
    pipeline.ingest("wms", [change("s1", on_hand=5), change("s2", key="SKU-1@DC2", on_hand=1)])
    pipeline.ingest("shop", [change("o1", "order", "SO-1", channel="shop", status="created")])
    pipeline.ingest(
        "wms",
        [
            change(
                "sh1",
                "shipment",
                "SH-1",
                order_number="SO-1",
                carrier="ups",
                tracking_numbers=["1Z999AA10123456784"],
            )
        ],
    )


def test_search_by_sku_order_shipment_and_tracking_number(store, pipeline):
    seed_logistics(pipeline)
    sku = search(store, "SKU-1", "sku")
    assert [(s.domain, [h.key for h in s.hits]) for s in sku.sections] == [
        ("product", ["SKU-1", "SKU-10"]),
        ("inventory", ["SKU-1@DC1", "SKU-1@DC2"]),
    ]
    assert [h.key for h in search(store, "SO-1", "order").sections[0].hits] == ["SO-1"]
    assert [h.key for h in search(store, "SH-", "shipment").sections[0].hits] == ["SH-1"]
    [tracking] = search(store, "1Z999AA10123456784", "tracking").sections[0].hits
    assert tracking.link == ("shipment", "SH-1")
    anything = search(store, "SH-1")
    assert [s.domain for s in anything.sections] == ["shipment"]
    with pytest.raises(BadFilter):
        search(store, "x", "pallet")


def test_search_pages_by_key_within_a_domain(store, pipeline):
    pipeline.ingest("wms", [change(f"s{i}", key=f"SKU-{i}@DC1", on_hand=i) for i in range(5)])
    first = search(store, "SKU-", "sku", domain="inventory", limit=2)
    [section] = first.sections
    assert [h.key for h in section.hits] == ["SKU-0@DC1", "SKU-1@DC1"] and section.next_after == "SKU-1@DC1"
    rest = search(store, "SKU-", "sku", domain="inventory", after=section.next_after, limit=2)
    assert [h.key for h in rest.sections[0].hits] == ["SKU-2@DC1", "SKU-3@DC1"]


def test_a_record_with_provenance_timeline_time_travel_and_its_exceptions(store, pipeline, inbox):
    pipeline.ingest("wms", [change("s1", on_hand=5)])
    between = now_us()
    pipeline.ingest("wms", [change("s2", on_hand=8, allocated=2)])
    pipeline.ingest("wms", [change("s3", on_hand=-1)])
    page = record_page(store, inbox, "inventory", "SKU-1@DC1")
    assert page is not None
    rows = {r.name: r for r in page.fields}
    assert (rows["on_hand"].value, rows["on_hand"].system, rows["on_hand"].change_id) == (8, "wms", "s2")
    assert rows["on_hand"].replaced["change_id"] == "s1"
    assert rows["available"].value == 6 and rows["available"].system is None  # derived
    assert [e["change_id"] for e in page.timeline] == ["s3", "s2", "s1"]  # newest first
    assert [x.row.change_id for x in page.exceptions] == ["s3"] and page.open_exceptions == 1
    assert ("product", "product", "SKU-1") in page.references
    past = record_page(store, inbox, "inventory", "SKU-1@DC1", as_of_us=between)
    assert past is not None and {r.name: r.value for r in past.fields}["on_hand"] == 5
    assert {r.name: r.change_id for r in past.fields}["on_hand"] == "s1"
    assert record_page(store, inbox, "inventory", "SKU-1@DC1", as_of_us=between - 10 * HOUR) is None
    assert record_page(store, inbox, "inventory", "NOPE@DC1") is None


def test_the_timeline_pages_back(store, pipeline, inbox, monkeypatch):
    import logisync.web.explorer_view as ev

    monkeypatch.setattr(ev, "HISTORY", 2)
    pipeline.ingest("wms", [change(f"s{i}", on_hand=i) for i in range(5)])
    page = record_page(store, inbox, "inventory", "SKU-1@DC1")
    assert [e["change_id"] for e in page.timeline] == ["s4", "s3"]
    older = record_page(store, inbox, "inventory", "SKU-1@DC1", before=page.older)
    assert [e["change_id"] for e in older.timeline] == ["s2", "s1"]


def test_parse_moment():
    assert parse_moment("2026-03-01T12:00") == parse_moment("2026-03-01T12:00:00Z")
    assert parse_moment("2026-03-01T12:00:00+01:00") == int(
        datetime(2026, 3, 1, 11, tzinfo=UTC).timestamp() * 1e6
    )
    with pytest.raises(BadFilter) as refused:
        parse_moment("yesterday")
    assert refused.value.where == "as_of"
