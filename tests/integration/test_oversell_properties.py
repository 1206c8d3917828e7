"""Property: for any interleaving of orders from two channels, cancels, allocations, holds and stock
changes, holds never exceed stock, the records agree with each other, every channel's availability,
kept up to date from the outbox alone, equals the formula recomputed from scratch, only the seller's
lines are ever refused, and the seller stays the first channel whose order was taken."""

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
from logisync.store import open_store

SKUS = ("SKU-1", "SKU-2")
LOCATIONS = ("DC1", "DC2")
ORDERS = ("O-1", "O-2", "O-3", "O-4", "O-5")

operation = st.one_of(
    st.tuples(
        st.just("order"),
        st.sampled_from(["shop", "market"]),
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
)


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
    name = "on_hand" if kind == "stock" else "allocated"
    return "wms", Change(id=f"c{i}", domain=Domain.inventory, key=f"{sku}@{loc}", fields={name: n})


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(operation, min_size=1, max_size=25))
def test_holds_never_exceed_stock_and_channel_atp_follows_the_outbox(ops):
    store = open_store("sqlite:///:memory:")
    try:
        pipeline = Pipeline(store, SYNCMAP)
        index = AtpIndex(RULES)
        fed = 0  # outbox rows already read
        sellers: dict[str, str] = {}  # the first channel whose order was taken, by order
        ops = [("stock", sku, loc, 4) for sku in SKUS for loc in LOCATIONS] + ops  # stock to start with
        for i, op in enumerate(ops):
            system, change = as_change(i, op)
            if op[0] == "order":
                before = atp_now(store, system, op[3])
            [out] = pipeline.ingest(system, [change])
            if out.outcome == "insufficient_stock":  # only a seller's lines, only for want of stock
                assert op[0] == "order" and system == "shop" and before < op[4]
            if op[0] == "order" and out.outcome == "applied":
                sellers.setdefault(op[2], system)
            # the ATP a channel is told follows from the outbox: every position change is queued
            rows = sorted(store.list_outbox(limit=100_000), key=lambda r: r.id)
            for row in rows[fed:]:
                sku, _, loc = row.key.rpartition("@")
                index.set(sku, loc, available(store.get_record("inventory", row.key).fields))
            fed = len(rows)
            check(store, index, sellers)
    finally:
        store.close()


def atp_now(store, channel: str, sku: str) -> int:
    positions = {
        r.key.rpartition("@")[2]: available(r.fields)
        for r in store.iter_records("inventory", prefix=f"{sku}@")
    }
    return channel_atp(positions, RULES[channel])


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
