"""Property: for any interleaving of orders from two channels (and an ERP's backordering B2B orders),
cancels, allocations, holds and stock changes from the WMS (absolute values, receipts, damage,
counts), holds never exceed stock, the records agree with each other, every channel's availability,
kept up to date from the outbox alone, equals the formula recomputed from scratch, only the seller's
lines are ever refused, the seller stays the first channel whose order was taken, no change takes
units another order holds (only stock falling under its holds releases them), and no order stays
backordered while its channel could sell it a unit."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fixtures.channels import RULES, SYNCMAP
from logisync.domain.atp import AtpIndex, channel_atp
from logisync.domain.change import Change
from logisync.domain.inventory import available, free_stock
from logisync.domain.kinds import Domain
from logisync.pipeline import Pipeline
from logisync.pipeline.reservations import EVERYWHERE
from logisync.store import open_store

SKUS = ("SKU-1", "SKU-2")
LOCATIONS = ("DC1", "DC2")
ORDERS = ("O-1", "O-2", "O-3", "O-4", "O-5")

operation = st.one_of(
    st.tuples(
        st.just("order"),
        st.sampled_from(["shop", "market", "erp"]),
        st.sampled_from(ORDERS),
        st.sampled_from(SKUS),
        st.integers(1, 4),
    ),
    st.tuples(st.just("cancel"), st.sampled_from(ORDERS)),
    st.tuples(st.just("allocate"), st.sampled_from(ORDERS)),
    st.tuples(st.just("hold"), st.sampled_from(ORDERS)),
    st.tuples(st.just("accept"), st.sampled_from(ORDERS)),
    st.tuples(st.just("stock"), st.sampled_from(SKUS), st.sampled_from(LOCATIONS), st.integers(0, 8)),
    st.tuples(st.just("allocated"), st.sampled_from(SKUS), st.sampled_from(LOCATIONS), st.integers(0, 3)),
    st.tuples(st.just("receipt"), st.sampled_from(SKUS), st.sampled_from(LOCATIONS), st.integers(1, 4)),
    st.tuples(st.just("damage"), st.sampled_from(SKUS), st.sampled_from(LOCATIONS), st.integers(1, 3)),
    st.tuples(st.just("count"), st.sampled_from(SKUS), st.sampled_from(LOCATIONS), st.integers(0, 8)),
)
MOVES = {"receipt": ("receipt", 1), "damage": ("damage", -1)}


STATUSES = {"cancel": "cancelled", "allocate": "allocated", "hold": "on_hold", "accept": "accepted"}


def as_change(i: int, op: tuple[Any, ...]) -> tuple[str, Change]:
    kind = op[0]
    if kind == "order":
        _, channel, key, sku, n = op
        lines = [{"line_no": 1, "sku": sku, "quantity": n}]
        return channel, Change(id=f"c{i}", domain=Domain.order, key=key, fields={"lines": lines})
    if kind in STATUSES:
        return "wms", Change(id=f"c{i}", domain=Domain.order, key=op[1], fields={"status": STATUSES[kind]})
    _, sku, loc, n = op
    key = f"{sku}@{loc}"
    if kind in MOVES:
        reason, sign = MOVES[kind]
        fields: dict[str, Any] = {"adjust": {"on_hand": sign * n, "reason": reason}}
    elif kind == "count":
        fields = {"on_hand": n, "counted_at": f"2026-11-28T10:{i % 60:02d}:00Z"}
    else:
        fields = {"on_hand" if kind == "stock" else "allocated": n}
    return "wms", Change(id=f"c{i}", domain=Domain.inventory, key=key, fields=fields)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(operation, min_size=1, max_size=25))
def test_holds_never_exceed_stock_and_channel_atp_follows_the_outbox(ops):
    store = open_store("sqlite:///:memory:")
    try:
        pipeline = Pipeline(store, SYNCMAP)
        index = AtpIndex(RULES)
        fed = 0  # outbox rows already read
        converted = False  # an order was allocated: its hold converted
        sellers: dict[str, str] = {}  # the first channel whose order was taken, by order
        ops = [("stock", sku, loc, 4) for sku in SKUS for loc in LOCATIONS] + ops  # stock to start with
        for i, op in enumerate(ops):
            system, change = as_change(i, op)
            if op[0] == "order":
                before = atp_now(store, system, op[3])
            held_before = all_holds(store)
            [out] = pipeline.ingest(system, [change])
            if out.outcome == "insufficient_stock":  # only a seller's lines, only for want of stock
                assert op[0] == "order" and system == "shop" and before < op[4]
            if op[0] == "order" and out.outcome == "applied":
                sellers.setdefault(op[2], system)
            converted = converted or op[0] == "allocate"
            # an order's holds shrink only by its own change, or where stock fell under the holds
            mine = op[1] if op[0] in STATUSES else op[2] if op[0] == "order" else None
            spot = (op[1], op[2]) if op[0] not in STATUSES and op[0] != "order" else None
            for (key, sku, loc), units in held_before.items():
                if key != mine and (sku, loc) != spot:
                    assert all_holds(store).get((key, sku, loc), 0) >= units, (key, sku, loc)
            if not converted:  # (a converted hold frees units only once the WMS's stock says so)
                check_no_fillable_backorder(store)
            # the ATP a channel is told follows from the outbox: every position change is queued
            rows = sorted(store.list_outbox(limit=100_000), key=lambda r: r.id)
            for row in rows[fed:]:
                sku, _, loc = row.key.rpartition("@")
                index.set(sku, loc, available(store.get_record("inventory", row.key).fields))
            fed = len(rows)
            check(store, index, sellers)
    finally:
        store.close()


def all_holds(store) -> dict[tuple[str, str, str], int]:
    """(order, sku, location) -> units held, from the orders."""
    return {
        (r.key, sku, loc): units
        for r in store.iter_records("order")
        for sku, at in (r.fields.get("reservations") or {}).items()
        for loc, units in at.items()
    }


def check_no_fillable_backorder(store) -> None:
    """A backordered order of a channel selling all it has (share 1, no safety stock) leaves it nothing."""
    for r in store.iter_records("order"):
        rule = RULES.get(r.fields.get("seller"), EVERYWHERE)
        if rule.share != 1 or rule.safety_stock:
            continue  # a channel selling a share: one fill takes what it may sell at that moment
        for sku in r.fields.get("backorders") or {}:
            assert atp_now(store, r.fields.get("seller"), sku) == 0, (r.key, r.fields)


def atp_now(store, channel: str, sku: str) -> int:
    positions = {
        r.key.rpartition("@")[2]: available(r.fields)
        for r in store.iter_records("inventory", prefix=f"{sku}@")
    }
    return channel_atp(positions, RULES.get(channel, EVERYWHERE))


def check(store, index: AtpIndex, sellers: dict[str, str]) -> None:
    orders = {r.key: r.fields for r in store.iter_records("order")}
    for record in store.iter_records("inventory"):
        by = record.fields.get("reserved_by") or {}
        assert (record.fields.get("reserved") or 0) == sum(by.values())
        assert sum(by.values()) <= max(0, free_stock(record.fields)), record
        sku, _, loc = record.key.rpartition("@")
        for key, units in by.items():  # the position and the order agree on every hold
            assert (orders[key].get("reservations") or {}).get(sku, {}).get(loc) == units
    for key, fields in orders.items():
        for sku, at in (fields.get("reservations") or {}).items():
            for loc, units in at.items():
                position = store.get_record("inventory", f"{sku}@{loc}").fields
                assert (position.get("reserved_by") or {}).get(key) == units
        if fields.get("status") in ("cancelled", "allocated"):
            assert not fields.get("reservations")
        if fields.get("status") == "on_hold" and fields.get("handed_over"):  # held after allocation
            assert not fields.get("reservations")
        if key in sellers:  # recorded once: another channel editing the lines does not take it over
            assert fields["seller"] == sellers[key]
    for channel in RULES:
        for sku in SKUS:
            assert index.atp(channel, sku) == atp_now(store, channel, sku)
