"""The exceptions inbox on both stores: every action, the audit trail, bulk actions, groups, refusals."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from logisync.config import parse_syncmap
from logisync.delivery.dispatcher import RouteWorker
from logisync.delivery.errors import DeliveryError, ErrorKind
from logisync.delivery.outgoing import Delivery
from logisync.domain.change import Change, now_us
from logisync.domain.kinds import Domain
from logisync.inbox import ActionRefused, ExceptionNotFound, Inbox, InvalidAction
from logisync.pipeline import Pipeline
from logisync.store.base import NewException
from logisync.store.inbox import ExceptionFilter
from logisync.store.outbox import OutboxQueue

MAP = """\
systems:
  wms: {kind: wms}
  erp: {kind: erp}
  shop: {kind: storefront, writes: [order]}
  market: {kind: marketplace, writes: [order]}
owners:
  product: erp
  inventory.quantities: wms
  order.fulfillment: wms
routes:
  - {name: stock-to-erp, domain: inventory, to: erp}
  - {name: stock-to-shop, domain: inventory, to: shop, transform: {atp: {locations: [DC1]}}}
  - {name: stock-to-market, domain: inventory, to: market,
     transform: {atp: {locations: [DC1], on_insufficient: backorder}}}
"""
SYNCMAP = parse_syncmap(MAP, env={})
ROUTES = {r.name: r for r in SYNCMAP.routes}
OPEN = ExceptionFilter()
ANY = ExceptionFilter(state=None)


class Told:
    def __init__(self) -> None:
        self.times = 0

    def __call__(self) -> None:
        self.times += 1


@pytest.fixture
def pipeline(store) -> Pipeline:
    return Pipeline(store, SYNCMAP)


@pytest.fixture
def told() -> Told:
    return Told()


@pytest.fixture
def inbox(store, pipeline, told) -> Inbox:
    return Inbox(store, pipeline, on_commit=told)


def stock(cid: str, key: str = "SKU-1@DC1", version: int | None = None, **fields: Any) -> Change:
    return Change(id=cid, domain=Domain.inventory, key=key, fields=fields, version=version)


def order(cid: str, key: str, *lines: tuple[str, int]) -> Change:
    body = {"lines": [{"line_no": i, "sku": sku, "quantity": n} for i, (sku, n) in enumerate(lines, 1)]}
    return Change(id=cid, domain=Domain.order, key=key, fields=body)


def only(inbox: Inbox, where: ExceptionFilter = OPEN) -> Any:
    items, _ = inbox.page(where)
    assert len(items) == 1, [i.as_dict() for i in items]
    return items[0]


# -- retry and edit of a change ----------------------------------------------------------------------
def test_a_retry_that_fails_again_leaves_the_exception_open_with_the_outcome_in_its_trail(
    store, pipeline, inbox
):
    pipeline.ingest("wms", [stock("c1", on_hand=-1)])
    first = only(inbox)
    done = inbox.retry(first.row.id, "cli:ann")
    assert done.item.row.state == "open"
    entry = done.action
    assert (entry.actor, entry.action) == ("cli:ann", "retry")
    assert entry.detail["change_id"] == "c1~retry1"
    assert entry.detail["outcome"] == "quarantined"
    assert entry.detail["state"] == "open"
    # the replay would have opened the same exception again: it is folded into the one that stays open
    [again] = entry.detail["folded"]
    folded = inbox.get(again).row
    assert (folded.state, folded.change_id) == ("discarded", "c1~retry1")
    [discard] = inbox.table.trail(again)
    assert discard.detail["duplicate_of"] == first.row.id
    assert only(inbox).row.id == first.row.id  # one open exception, not two
    # the replay is in the log, as the original's system, naming the exception; the original is untouched
    replay = store.get_change("wms", "c1~retry1")
    assert (replay.outcome, replay.source, replay.payload) == (
        "quarantined",
        f"exception:{first.row.id}",
        {"on_hand": -1},
    )
    assert store.get_change("wms", "c1").outcome == "quarantined"
    assert inbox.retry(first.row.id, "cli:ann").action.detail["change_id"] == "c1~retry2"


def test_an_edit_replays_the_change_with_the_operators_fields_and_resolves_it(store, pipeline, inbox, told):
    pipeline.ingest("wms", [stock("c1", version=7, on_hand=-1, allocated=1)])
    exc = only(inbox).row
    done = inbox.edit(exc.id, "cli:ann", set_={"on_hand": 5})
    assert done.item.row.state == "resolved"
    assert done.action.action == "edit"
    assert done.action.detail == {
        "change_id": "c1~edit1",
        "set": {"on_hand": 5},
        "unset": [],
        "outcome": "applied",
        "reason": None,
        "state": "resolved",
    }
    record = store.get_record("inventory", "SKU-1@DC1")
    assert record.fields == {"on_hand": 5, "allocated": 1}
    # the replay keeps the original's version, under its own id; the original stays as it came
    assert (record.prov["on_hand"]["c"], record.prov["on_hand"]["v"]) == ("c1~edit1", 7)
    original = store.get_change("wms", "c1")
    assert (original.outcome, original.payload) == ("quarantined", {"on_hand": -1, "allocated": 1})
    assert told.times == 1  # the dispatchers are told: the replay put deliveries in the outbox
    assert len(store.list_outbox(route="stock-to-erp")) == 1


def test_a_replay_older_than_the_record_is_stale_and_the_exception_stays_open(store, pipeline, inbox):
    pipeline.ingest("wms", [stock("c1", version=3, on_hand=-1)])
    pipeline.ingest("wms", [stock("c2", version=5, on_hand=8)])
    exc = only(inbox).row
    done = inbox.edit(exc.id, "cli:ann", set_={"on_hand": 4})
    assert (done.item.row.state, done.action.detail["outcome"]) == ("open", "stale")
    assert store.get_record("inventory", "SKU-1@DC1").fields["on_hand"] == 8


def test_a_refused_change_that_may_now_pass_is_applied_by_a_retry(store, pipeline, inbox):
    [out] = pipeline.ingest("shop", [order("o1", "SO-1", ("SKU-1", 2))])
    assert out.outcome == "insufficient_stock"  # shop's rule: reject
    exc = only(inbox).row
    pipeline.ingest("wms", [stock("s1", on_hand=5)])
    done = inbox.retry(exc.id, "api:admin")
    assert (done.item.row.state, done.action.detail["outcome"]) == ("resolved", "applied")
    assert store.get_record("order", "SO-1").fields["reservations"] == {"SKU-1": {"DC1": 2}}


def test_an_exception_about_what_followed_an_applied_change_cannot_be_retried_but_can_be_edited(
    store, pipeline, inbox
):
    [out] = pipeline.ingest("market", [order("m1", "MK-1", ("SKU-1", 2))])
    assert out.outcome == "applied"  # market's rule: backorder
    exc = only(inbox).row
    assert exc.kind == "insufficient_stock"
    with pytest.raises(ActionRefused, match="change market/m1 was applied"):
        inbox.retry(exc.id, "cli:ann")
    assert inbox.table.trail(exc.id) == []
    pipeline.ingest("wms", [stock("s1", on_hand=1)])
    done = inbox.edit(exc.id, "cli:ann", set_={"lines[0].quantity": 1})
    assert (done.item.row.state, done.action.detail["outcome"]) == ("resolved", "applied")
    assert store.get_record("order", "MK-1").fields.get("backorders") is None


def test_an_edit_that_fails_another_way_links_the_new_exception(store, pipeline, inbox):
    pipeline.ingest("wms", [stock("c1", on_hand=-1)])
    exc = only(inbox).row
    done = inbox.edit(exc.id, "cli:ann", set_={"on_hand": 1, "available": 3})
    assert done.action.detail["outcome"] == "quarantined"
    assert "folded" in done.action.detail  # still a validation problem: the same kind, folded
    pipeline.ingest("wms", [stock("c2", key="SKU-2@DC1", on_hand=2)])
    pipeline.ingest("market", [order("m1", "MK-1", ("SKU-9", 1))])
    backorder = only(inbox, ExceptionFilter(kind="insufficient_stock")).row
    # an edit whose replay applies but opens another kind of problem: resolved, the new one linked
    edited = inbox.edit(backorder.id, "cli:ann", set_={"lines[0].sku": "SKU-8"})
    assert edited.item.row.state == "resolved"
    [new] = edited.action.detail["opened"]
    assert inbox.get(new).row.state == "open"
    assert [r.row.id for r in inbox.show(backorder.id).related] == [new]


def test_edits_are_checked_before_anything_is_sent(store, pipeline, inbox):
    pipeline.ingest("wms", [stock("c1", on_hand=-1)])
    exc = only(inbox).row
    with pytest.raises(InvalidAction, match="nothing to edit"):
        inbox.edit(exc.id, "cli:ann")
    with pytest.raises(InvalidAction, match="changes nothing"):
        inbox.edit(exc.id, "cli:ann", set_={"on_hand": -1})
    with pytest.raises(InvalidAction, match="removes every field"):
        inbox.edit(exc.id, "cli:ann", unset=["on_hand"])
    with pytest.raises(InvalidAction, match="no such field to remove"):
        inbox.edit(exc.id, "cli:ann", unset=["ghost"])
    assert store.get_change("wms", "c1~edit1") is None
    assert inbox.table.trail(exc.id) == []


def test_fields_the_log_could_not_keep_are_edited_whole_not_retried(store, pipeline, inbox):
    pipeline.ingest("wms", [stock("c1", on_hand=2**70)])
    exc = only(inbox).row
    with pytest.raises(ActionRefused, match="could not be stored as received"):
        inbox.retry(exc.id, "cli:ann")
    done = inbox.edit(exc.id, "cli:ann", set_={"on_hand": 70})
    assert done.action.detail["outcome"] == "applied"
    assert store.get_record("inventory", "SKU-1@DC1").fields == {"on_hand": 70}


def test_a_replay_id_already_in_the_log_is_skipped(store, pipeline, inbox):
    """A replay that committed but stopped before its trail entry: the next one takes the next id."""
    pipeline.ingest("wms", [stock("c1", on_hand=-1)])
    exc = only(inbox).row
    pipeline.ingest("wms", [stock("c1~retry1", on_hand=-1)])
    assert inbox.retry(exc.id, "cli:ann").action.detail["change_id"] == "c1~retry2"


def test_a_concurrent_replay_with_the_same_id_is_refused(store, pipeline, inbox, monkeypatch):
    pipeline.ingest("wms", [stock("c1", on_hand=-1)])
    exc = only(inbox).row
    real = pipeline.ingest

    def racing(system, changes, *, source=None):
        real(system, changes, source="another operator")  # the other retry commits first
        return real(system, changes, source=source)

    monkeypatch.setattr(pipeline, "ingest", racing)
    with pytest.raises(ActionRefused, match="another retry of it ran at the same moment"):
        inbox.retry(exc.id, "cli:ann")


# -- dead deliveries --------------------------------------------------------------------------------
class Failing:
    def __init__(self, *errors: DeliveryError | None) -> None:
        self.errors = list(errors)

    async def send(self, delivery: Delivery, body: Any) -> DeliveryError | None:
        return self.errors.pop(0) if self.errors else None

    async def send_batch(self, deliveries: list[Delivery], bodies: list[Any]) -> DeliveryError | None:
        return self.errors.pop(0) if self.errors else None


def dispatch(store, *errors: DeliveryError | None) -> None:
    worker = RouteWorker(ROUTES["stock-to-erp"], store, OutboxQueue(store), Failing(*errors))
    asyncio.run(worker.drain())


def test_a_dead_delivery_goes_back_to_its_queue_and_a_second_death_is_linked(store, pipeline, inbox, told):
    pipeline.ingest("wms", [stock("s1", on_hand=3)])
    dispatch(store, DeliveryError(ErrorKind.rejected, "bad sku", status=422))
    first = only(inbox, ExceptionFilter(kind="dead_delivery"))
    assert first.cause == "stock-to-erp: rejected 422"
    outbox_id = first.row.detail["outbox_id"]
    view = inbox.show(first.row.id)
    assert (view.delivery.state, view.change) == ("dead", None)
    assert view.record["fields"] == {"on_hand": 3, "available": 3}
    with pytest.raises(ActionRefused, match="a dead delivery"):
        inbox.edit(first.row.id, "cli:ann", set_={"on_hand": 4})
    done = inbox.retry(first.row.id, "cli:ann")
    assert done.item.row.state == "resolved"
    assert done.action.detail == {"outbox_id": outbox_id, "requeued": True}
    assert told.times == 1
    assert inbox.show(first.row.id).delivery.state == "pending"
    with pytest.raises(ActionRefused, match="is resolved"):
        inbox.retry(first.row.id, "cli:ann")
    dispatch(store, DeliveryError(ErrorKind.rejected, "still bad", status=422))
    second = only(inbox, ExceptionFilter(kind="dead_delivery"))
    assert second.row.id != first.row.id
    assert [r.row.id for r in inbox.show(second.row.id).related] == [first.row.id]
    assert [r.row.id for r in inbox.show(first.row.id).related] == [second.row.id]
    inbox.retry(second.row.id, "cli:ann")
    dispatch(store)
    assert store.list_outbox(route="stock-to-erp")[0].state == "delivered"


def test_a_dead_row_already_back_in_the_queue_resolves_its_exception(store, pipeline, inbox):
    pipeline.ingest("wms", [stock("s1", on_hand=3)])
    dispatch(store, DeliveryError(ErrorKind.rejected, "bad sku", status=422))
    exc = only(inbox).row
    OutboxQueue(store).requeue(exc.detail["outbox_id"], now_us())  # a retry that stopped midway
    done = inbox.retry(exc.id, "cli:ann")
    assert done.action.detail == {
        "outbox_id": exc.detail["outbox_id"],
        "requeued": False,
        "row_state": "pending",
    }
    assert done.item.row.state == "resolved"


# -- discard, assign, refusals ----------------------------------------------------------------------
def test_discard_needs_a_reason_and_closes_the_exception_for_good(store, pipeline, inbox):
    pipeline.ingest("wms", [stock("c1", on_hand=-1)])
    exc = only(inbox).row
    with pytest.raises(InvalidAction, match="say why"):
        inbox.discard(exc.id, "cli:ann", "  ")
    done = inbox.discard(exc.id, "cli:ann", "test data from the WMS sandbox")
    assert done.item.row.state == "discarded"
    assert done.action.detail == {"reason": "test data from the WMS sandbox"}
    for action in (
        lambda: inbox.retry(exc.id, "cli:bob"),
        lambda: inbox.edit(exc.id, "cli:bob", set_={"on_hand": 1}),
        lambda: inbox.discard(exc.id, "cli:bob", "again"),
        lambda: inbox.assign(exc.id, "cli:bob", "bob"),
    ):
        with pytest.raises(ActionRefused, match=f"exception {exc.id} is discarded"):
            action()
    assert [a.action for a in inbox.table.trail(exc.id)] == ["discard"]


def test_assign_and_unassign(store, pipeline, inbox):
    pipeline.ingest("wms", [stock("c1", on_hand=-1)])
    exc = only(inbox).row
    assert inbox.assign(exc.id, "cli:ann", "bob").item.row.assignee == "bob"
    with pytest.raises(ActionRefused, match="already assigned to bob"):
        inbox.assign(exc.id, "cli:ann", "bob")
    with pytest.raises(InvalidAction, match="name the person"):
        inbox.assign(exc.id, "cli:ann", " ")
    assert only(inbox, ExceptionFilter(assignee="bob")).row.id == exc.id
    done = inbox.assign(exc.id, "cli:bob", None)
    assert (done.item.row.assignee, done.action.detail) == (None, {"from": "bob", "to": None})
    with pytest.raises(ActionRefused, match="is not assigned"):
        inbox.assign(exc.id, "cli:ann", None)
    trail = inbox.table.trail(exc.id)
    assert [(a.actor, a.action) for a in trail] == [("cli:ann", "assign"), ("cli:bob", "assign")]
    assert trail[0].at_us <= trail[1].at_us


def test_exceptions_with_nothing_to_replay_say_so(store, inbox):
    with store.write() as tx:
        tx.open_exceptions(
            [NewException("sla_breach", "route 'stock-to-erp' is late", route="stock-to-erp")], 1
        )
    exc = only(inbox).row
    with pytest.raises(ActionRefused, match="resolves itself when route 'stock-to-erp' catches up"):
        inbox.retry(exc.id, "cli:ann")
    with pytest.raises(ExceptionNotFound, match="no exception 999"):
        inbox.retry(999, "cli:ann")
    with pytest.raises(ExceptionNotFound):
        inbox.show(999)


# -- bulk ------------------------------------------------------------------------------------------
def test_bulk_retry_gives_each_exception_its_result_and_goes_on_after_a_refusal(store, pipeline, inbox):
    pipeline.ingest("shop", [order("o1", "SO-1", ("SKU-1", 1)), order("o2", "SO-2", ("SKU-1", 1))])
    pipeline.ingest("market", [order("m1", "MK-1", ("SKU-2", 1))])  # applied, backordered (SKU-2 stays out)
    pipeline.ingest("shop", [order("o3", "SO-3", ("SKU-1", 1))])
    pipeline.ingest("wms", [stock("s1", on_hand=2)])
    seen: list[int] = []
    bulk = inbox.bulk(
        "retry", ExceptionFilter(kind="insufficient_stock"), "cli:ann", each=lambda r: seen.append(r.id)
    )
    assert [(r.ok, r.state, r.code) for r in bulk.results] == [
        (True, "resolved", None),
        (True, "resolved", None),
        (False, "open", "action_refused"),
        (True, "open", None),  # the stock was gone by then: insufficient again
    ]
    assert seen == [r.id for r in bulk.results]
    assert "was applied" in bulk.results[2].message
    assert bulk.as_dict()["done"] == 3 and bulk.next_after is None


def test_bulk_actions_need_a_filter_and_go_a_page_at_a_time(store, pipeline, inbox):
    pipeline.ingest("wms", [stock(f"c{i}", key=f"SKU-{i}@DC1", on_hand=-1) for i in range(5)])
    with pytest.raises(InvalidAction, match="needs a filter"):
        inbox.bulk("discard", OPEN, "cli:ann", reason="x")
    with pytest.raises(InvalidAction, match="say why"):
        inbox.bulk("discard", ExceptionFilter(kind="validation"), "cli:ann")
    with pytest.raises(InvalidAction, match="only open"):
        inbox.bulk("retry", ExceptionFilter(state="resolved", kind="validation"), "cli:ann")
    page = inbox.bulk("discard", ExceptionFilter(kind="validation"), "cli:ann", reason="sandbox", limit=3)
    assert len(page.results) == 3 and page.next_after == page.results[-1].id
    rest = inbox.bulk(
        "discard", ExceptionFilter(kind="validation"), "cli:ann", reason="sandbox", after=page.next_after
    )
    assert len(rest.results) == 2 and rest.next_after is None
    assert inbox.page(OPEN) == ([], None)
    by_cause = inbox.bulk("retry", ExceptionFilter(state=None), "cli:ann", cause="inventory on_hand: nothing")
    assert by_cause.results == []


# -- listing and groups -----------------------------------------------------------------------------
def test_groups_count_exceptions_by_root_cause(store, pipeline, inbox):
    pipeline.ingest("wms", [stock(f"c{i}", key=f"SKU-{i}@DC1", on_hand=-i - 1) for i in range(3)])
    pipeline.ingest("wms", [stock("c9", on_hand=1, colour="red")])
    pipeline.ingest("erp", [stock("e1", on_hand=1)])
    pipeline.ingest("erp", [stock("e2", on_hand=2)])
    pipeline.ingest("wms", [stock("ok", key="SKU-7@DC1", on_hand=1)])
    dispatch(store, DeliveryError(ErrorKind.rejected, "bad sku", status=422))
    groups = [(g.kind, g.cause, g.count) for g in inbox.groups(OPEN)]
    assert groups == [
        ("validation", "inventory on_hand: Input should be greater than or equal to 0", 3),
        ("scope", "erp may not write inventory", 2),
        ("dead_delivery", "stock-to-erp: rejected 422", 1),
        ("validation", "inventory colour: unknown field", 1),
    ]
    [scope] = inbox.groups(ExceptionFilter(kind="scope"))
    assert (scope.count, scope.last_id - scope.first_id) == (2, 1)
    assert inbox.count(OPEN, "erp may not write inventory") == 2
    listed, _ = inbox.page(OPEN, cause="inventory on_hand: Input should be greater than or equal to 0")
    assert [i.row.change_id for i in listed] == ["c0", "c1", "c2"]


def test_a_nul_in_an_exceptions_detail_does_not_break_grouping(store, pipeline, inbox):
    pipeline.ingest("wms", [stock("c1", on_hand=1, note="a\x00b")])
    [group] = inbox.groups(OPEN)
    assert (group.cause, group.count) == ("inventory note: unknown field", 1)
    assert only(inbox).cause == group.cause


def test_the_list_filters_and_pages_by_id(store, pipeline, inbox):
    pipeline.ingest("wms", [stock(f"c{i}", key=f"SKU-{i}@DC1", on_hand=-1) for i in range(3)])
    pipeline.ingest("erp", [stock("e1", key="SKU-0@DC1", on_hand=1)])
    everything, _ = inbox.page(ANY)
    ids = [i.row.id for i in everything]
    inbox.discard(ids[0], "cli:ann", "x")
    assert [i.row.id for i in inbox.page(OPEN)[0]] == ids[1:]
    assert [i.row.id for i in inbox.page(ExceptionFilter(state="discarded"))[0]] == ids[:1]
    assert [i.row.id for i in inbox.page(ExceptionFilter(state=None, system="erp"))[0]] == ids[3:]
    assert [i.row.id for i in inbox.page(ExceptionFilter(state=None, key="SKU-0@DC1"))[0]] == [ids[0], ids[3]]
    assert [i.row.id for i in inbox.page(ExceptionFilter(domain="order"))[0]] == []
    created = inbox.get(ids[3]).row.created_us
    assert [i.row.id for i in inbox.page(ExceptionFilter(since_us=created))[0]] == ids[3:]
    first, after = inbox.page(ANY, limit=2)
    second, end = inbox.page(ANY, after=after, limit=2)
    assert ([i.row.id for i in first + second], end) == (ids, None)
    assert inbox.count(ANY) == 4


def test_show_puts_the_change_beside_the_record_now(store, pipeline, inbox):
    pipeline.ingest("wms", [stock("c1", on_hand=5, allocated=1)])
    pipeline.ingest("erp", [stock("e1", on_hand=7, allocated=1)])
    exc = only(inbox).row
    view = inbox.show(exc.id)
    assert (view.change.change_id, view.change.outcome) == ("e1", "rejected")
    assert view.record["fields"]["on_hand"] == 5
    assert view.diff == [
        {"field": "on_hand", "change": 7, "record": 5, "same": False},
        {"field": "allocated", "change": 1, "record": 1, "same": True},
    ]
    shown = view.as_dict()
    assert shown["exception"]["detail"]["fields"] == {"on_hand": 7, "allocated": 1}
    assert shown["trail"] == [] and shown["delivery"] is None
