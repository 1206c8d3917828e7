"""Every KPI on both stores, on a hand-built history whose answers are worked out here."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from logisync.config import parse_syncmap
from logisync.domain.change import Change, now_us
from logisync.domain.kinds import Domain
from logisync.kpi.report import Window, compute, series
from logisync.pipeline import Pipeline
from logisync.store import open_store
from logisync.store.base import NewException
from logisync.store.reconcile_runs import finish_run, start_run

MAP = """\
systems:
  wms: {kind: wms, writes: ['*']}
  shop: {kind: marketplace, writes: ['*']}
  market: {kind: marketplace, writes: ['*']}
owners:
  inventory.quantities: wms
routes:
  - {name: stock-to-shop, domain: inventory, to: shop, filter: {sku: [NONE]}}
"""
HOUR = 3_600_000_000


def iso(us: int) -> str:
    return datetime.fromtimestamp(us / 1e6, tz=UTC).isoformat()


def order(
    key: str, channel: str, warehouse: str, placed: int, shipped: int | None, lines: list[tuple]
) -> Change:
    fields = {
        "channel": channel,
        "warehouse": warehouse,
        "placed_at": iso(placed),
        "status": "shipped" if shipped else "accepted",
        "lines": [
            {"line_no": i + 1, "sku": f"SKU-{i + 1}", "quantity": q, "shipped": s, "cancelled": c}
            for i, (q, s, c) in enumerate(lines)
        ],
    }
    if shipped is not None:
        fields["shipped_at"] = iso(shipped)
    return Change(id=f"{key}-1", domain=Domain.order, key=key, fields=fields)


@pytest.fixture
def history(store):
    """Orders, counts, exceptions, deliveries, reconciliation runs and EDI groups, by hand."""
    syncmap = parse_syncmap(MAP, env={})
    pipeline = Pipeline(store, syncmap)
    now = now_us()
    t0 = now - 5 * 24 * HOUR  # placed five days ago
    outcomes = pipeline.ingest(
        "shop",
        [
            # O-1: in full in 24 h, but a shipment carried units for no line (mismatch below)
            order("O-1", "shop", "DC1", t0, t0 + 24 * HOUR, [(10, 10, 0), (5, 5, 0)]),
            # O-2: 2 of 4 shipped after 72 h; its second line was cancelled whole
            order("O-2", "shop", "DC2", t0, t0 + 72 * HOUR, [(4, 2, 0), (6, 0, 6)]),
            # O-4: shipped a month ago (outside the window); O-5: not shipped yet
            order("O-4", "market", "DC1", t0 - 30 * 24 * HOUR, t0 - 29 * 24 * HOUR, [(1, 1, 0)]),
            order("O-5", "shop", "DC1", t0, None, [(1, 0, 0)]),
        ],
    )
    outcomes += pipeline.ingest(
        # O-3: 4 shipped of 3 ordered after 12 h (in full and on time, but not accurate)
        "market",
        [order("O-3", "market", "DC1", t0, t0 + 12 * HOUR, [(3, 4, 0)])],
    )
    assert [o.outcome.value for o in outcomes] == ["applied"] * 5
    # counts: S-1 10 -> 8 (off 2); S-2 5 -> 5 (no difference); S-3 20 -> 25 -> 24 (latest: off 1 of 25)
    stock = [("S-1@DC1", 10), ("S-2@DC1", 5), ("S-3@DC2", 20)]
    pipeline.ingest(
        "wms", [Change(id=f"p-{k}", domain=Domain.inventory, key=k, fields={"on_hand": v}) for k, v in stock]
    )
    later = datetime.now(UTC) + timedelta(seconds=5)
    for i, (key, counted) in enumerate([("S-1@DC1", 8), ("S-2@DC1", 5), ("S-3@DC2", 25), ("S-3@DC2", 24)]):
        at = (later + timedelta(seconds=i)).isoformat()
        [out] = pipeline.ingest(
            "wms",
            [
                Change(
                    id=f"count-{i}",
                    domain=Domain.inventory,
                    key=key,
                    fields={"on_hand": counted, "counted_at": at},
                )
            ],
        )
        assert out.outcome.value == "applied", out.reason
    # exceptions: a shipment mismatch on O-1 (wms), a quarantined change (shop)
    with store.write() as tx:
        tx.open_exceptions(
            [NewException("shipment_mismatch", "1 of SKU-9 matches no line", "order", "O-1", "wms")], now
        )
    [bad] = pipeline.ingest(
        "shop", [Change(id="bad", domain=Domain.inventory, key="S-9@DC1", fields={"on_hand": -1})]
    )
    assert bad.outcome.value in ("quarantined", "rejected")
    # deliveries on stock-to-shop: 1, 2, 3 and 10 seconds from accepted to delivered
    for i, lag in enumerate([1, 2, 3, 10]):
        store._execute(
            "INSERT INTO outbox (route, domain, key, change_seq, coalescing, state, attempts, next_attempt_us, "
            "first_us, updated_us) VALUES ('stock-to-shop', 'inventory', ?, 1, 1, 'delivered', 1, ?, ?, ?)",
            (f"K-{i}", now, now - lag * 1_000_000, now),
        )
    # reconciliation runs: 6 units of 100, 4 of 300
    for units, hub in ((6, 100), (4, 300)):
        run = start_run(store, "shop-inventory", "shop", "inventory", "x.csv", now)
        finish_run(store, run, now, state="done", units=units, summary={"hub_units": hub})
    # EDI groups to acme: acked in time; overdue; waiting, not due yet (left out); acked late
    for control, sent, due, state, updated in (
        (1, now - 1 * HOUR, now + 23 * HOUR, "accepted", now - HOUR // 2),
        (2, now - 50 * HOUR, now - 26 * HOUR, "overdue", now - 26 * HOUR),
        (3, now - 2 * HOUR, now + 22 * HOUR, "waiting", now - 2 * HOUR),
        (4, now - 30 * HOUR, now - 6 * HOUR, "accepted", now - HOUR),
    ):
        store._execute(
            "INSERT INTO edi_outbound_groups (partner, control, functional_id, interchange, sets, state, sent_us, "
            "due_us, updated_us) VALUES ('acme', ?, 'SH', 1, '[]', ?, ?, ?, ?)",
            (control, state, sent, due, updated),
        )
    return store, syncmap, now


def values(kpis, group="all"):
    return {v.kpi: v for v in kpis if v.group == group}


def test_every_kpi_over_the_window(history):
    store, syncmap, now = history
    window = Window(now - 7 * 24 * HOUR, now_us() + 1)
    got = values(compute(store, window, syncmap=syncmap))
    # orders shipped in the window: O-1, O-2, O-3
    assert got["order_accuracy"].value == pytest.approx(1 / 3)  # O-1 mismatched, O-3 over-shipped
    assert (got["order_accuracy"].numerator, got["order_accuracy"].denominator) == (1, 3)
    assert got["otif"].value == pytest.approx(2 / 3)  # O-1 (24 h, full) and O-3 (12 h, full)
    assert got["order_to_ship_avg"].value == pytest.approx((24 + 72 + 12) / 3)
    assert got["order_to_ship_p90"].value == pytest.approx(24 + 0.8 * (72 - 24))  # 12, 24, 72 interpolated
    # lines with units left: 10/10, 5/5, 2/4, 3/3 (4 shipped, counted up to 3); O-2's second line is cancelled
    assert got["fill_rate_units"].value == pytest.approx(20 / 22)
    assert got["fill_rate_lines"].value == pytest.approx(3 / 4)
    # counts: 3 positions, 2 differed; units off 2 + 0 + 1 of 10 + 5 + 25 expected
    assert got["inventory_variance_positions"].value == pytest.approx(2 / 3)
    assert got["inventory_variance_units"].value == pytest.approx(3 / 40)
    assert got["reconciliation_variance_units"].value == pytest.approx(10 / 400)
    assert got["exceptions.shipment_mismatch"].value == 1
    assert got["exceptions.validation"].value == 1
    # O-5 (accepted, not shipped) asks for SKU-1 the hub has no stock of: the oversell guard says so
    assert got["exceptions.insufficient_stock"].value == 1
    assert sorted(k for k in got if k.startswith("exceptions.")) == [
        "exceptions.insufficient_stock",
        "exceptions.shipment_mismatch",
        "exceptions.validation",
    ]
    lag = values(compute(store, window, syncmap=syncmap), "stock-to-shop")
    assert lag["sync_lag_p50"].value == pytest.approx(2.5)
    assert lag["sync_lag_p99"].value == pytest.approx(3 + 0.97 * 7)
    assert got["edi_acks_on_time"].value == pytest.approx(1 / 3)  # 1 in time, 1 overdue, 1 late; 1 waiting


def test_kpis_per_channel_location_and_partner(history):
    store, syncmap, now = history
    window = Window(now - 7 * 24 * HOUR, now_us() + 1)
    by_channel = compute(store, window, by="channel", syncmap=syncmap)
    assert values(by_channel, "shop")["order_accuracy"].value == pytest.approx(1 / 2)  # O-1 no, O-2 yes
    assert values(by_channel, "market")["order_accuracy"].value == 0
    assert values(by_channel, "shop")["fill_rate_units"].value == pytest.approx(17 / 19)
    assert values(by_channel, "all")["inventory_variance_positions"].value == pytest.approx(
        2 / 3
    )  # no channel
    by_location = compute(store, window, by="location", syncmap=syncmap)
    assert values(by_location, "DC1")["inventory_variance_units"].value == pytest.approx(2 / 15)
    assert values(by_location, "DC2")["inventory_variance_units"].value == pytest.approx(1 / 25)
    assert values(by_location, "DC1")["otif"].value == pytest.approx(1.0)  # O-1 and O-3
    by_partner = compute(store, window, by="partner", syncmap=syncmap)
    assert values(by_partner, "shop")["sync_lag_p50"].value == pytest.approx(2.5)  # the route's target
    assert values(by_partner, "acme")["edi_acks_on_time"].value == pytest.approx(1 / 3)
    assert values(by_partner, "wms")["exceptions.shipment_mismatch"].value == 1
    with pytest.raises(ValueError, match="cannot group by 'sku'"):
        compute(store, window, by="sku")


def test_a_window_with_nothing_in_it_and_a_time_series(history):
    store, syncmap, now = history
    empty = compute(store, Window(now - 100 * 24 * HOUR, now - 90 * 24 * HOUR), syncmap=syncmap)
    assert empty == []
    buckets = series(store, Window(now - 6 * 24 * HOUR, now + 24 * HOUR), 24 * 3600, syncmap=syncmap)
    assert len(buckets) == 7
    shipped_per_day = [
        sum(1 for v in b["kpis"] if v["kpi"] == "order_accuracy" and v["count"]) for b in buckets
    ]
    # O-3 ships 5 days ago + 12 h, O-1 + 24 h, O-2 + 72 h: three different days
    assert sum(shipped_per_day) == 3


def test_reading_the_kpis_leaves_a_sqlite_stores_wal_to_the_store(tmp_path):
    """The KPI reads share the process with the store's own connections (`logisync serve`, the
    demo): they must not touch its WAL files. The SQLite ADBC driver linked a second SQLite into
    the process, and closing its connection checkpointed and deleted `-wal` and `-shm` under the
    store's open connections (the demo then died of SIGBUS while the KPIs were read)."""
    db = tmp_path / "hub.db"
    store = open_store(f"sqlite:///{db}")
    try:
        pipeline = Pipeline(store, parse_syncmap(MAP, env={}))
        now = now_us()
        pipeline.ingest("shop", [order("O-1", "shop", "DC1", now - 5 * HOUR, now - HOUR, [(2, 2, 0)])])
        wal, shm = db.with_name("hub.db-wal"), db.with_name("hub.db-shm")
        assert wal.exists() and shm.exists()
        shm_inode = shm.stat().st_ino
        [otif] = [v for v in compute(store, Window(now - 24 * HOUR, now)) if v.kpi == "otif"]
        assert otif.value == 1.0 and otif.count == 1  # read through the store's own SQLite
        assert wal.exists() and shm.exists() and shm.stat().st_ino == shm_inode
        pipeline.ingest("shop", [order("O-2", "shop", "DC1", now - 4 * HOUR, now - HOUR, [(1, 1, 0)])])
        assert store.get_record("order", "O-2") is not None  # the store goes on as before
    finally:
        store.close()
