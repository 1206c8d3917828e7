"""The diff engine on both stores: every kind of variance, tolerances, and differences a delivery
still in flight explains (not variances)."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest

from logisync.config import parse_syncmap
from logisync.domain.change import Change, now_us
from logisync.domain.kinds import Domain
from logisync.pipeline import Pipeline
from logisync.reconcile.diff import DiffEngine, SnapshotInput
from logisync.reconcile.errors import SnapshotError
from logisync.reconcile.rules import DiffRule, FieldRule, default_rule
from logisync.store.golden import read_golden

MAP = """\
systems:
  wms: {kind: wms}
  erp: {kind: erp}
  shop: {kind: marketplace}
owners:
  inventory.quantities: wms
  product: erp
routes:
  - {name: stock-to-shop, domain: inventory, to: shop}
"""


def inv(cid: str, key: str, **fields) -> Change:
    return Change(id=cid, domain=Domain.inventory, key=key, fields=fields)


@pytest.fixture
def hub(store):
    """Golden positions: on_hand 10, 20, 30, 0 and 7, and one priced product."""
    pipeline = Pipeline(store, parse_syncmap(MAP, env={}))
    pipeline.ingest(
        "wms",
        [
            inv("w1", "SKU-1@DC1", on_hand=10, allocated=1),
            inv("w2", "SKU-2@DC1", on_hand=20, allocated=0),
            inv("w3", "SKU-3@DC2", on_hand=30, allocated=2),
            inv("w4", "SKU-4@DC2", on_hand=0),
            inv("w5", "SKU-5@DC2", on_hand=7),
        ],
    )
    pipeline.ingest("erp", [Change(id="p1", domain=Domain.product, key="SKU-3", fields={"price": 2.5})])
    return store


def snapshot_csv(tmp_path: Path, text: str) -> SnapshotInput:
    path = tmp_path / "snap.csv"
    path.write_text(text)
    return SnapshotInput(label=str(path), path=path, format="csv")


def diff(
    store, snapshot: SnapshotInput, rule: DiffRule | None = None, routes=(), since_us: int | None = None
):
    rule = rule or default_rule("inventory")
    golden = read_golden(store, "inventory", list(routes), now_us() if since_us is None else since_us)  # type: ignore[arg-type]
    engine = DiffEngine(rule)
    return engine.run(golden.records, snapshot, explained=golden.explained, prices=golden.prices)


def by_key(rows):
    return {(r["key"], r["kind"], r["field"]): r for r in rows}


def test_every_kind_of_variance_is_reported_with_units_and_value(hub, tmp_path):
    snap = snapshot_csv(
        tmp_path,
        "sku,location,on_hand\n"
        "SKU-1,DC1,10\n"  # equal
        "SKU-3,DC2,27\n"  # differs by -3 units, priced 2.5
        "SKU-4,DC2,0\n"  # equal (0)
        "SKU-9,DC1,4\n"  # missing in the hub
        "SKU-8,DC1,0\n"  # missing in the hub, but empty: no variance
        "SKU-5,DC2,seven\n"  # unreadable
        ",DC1,3\n"  # unreadable key
        "SKU-6,DC1,1\n"
        "SKU-6,DC1,2\n",  # listed twice
    )
    with diff(hub, snap) as result:
        rows = by_key(result.rows())
        summary = result.summary()
    # SKU-2@DC1 (20 on hand) is not in the snapshot
    assert rows[("SKU-2@DC1", "missing_in_system", None)]["units"] == 20
    assert rows[("SKU-2@DC1", "missing_in_system", None)]["delta"] == -20
    assert rows[("SKU-3@DC2", "differs", "on_hand")]["delta"] == -3
    assert rows[("SKU-3@DC2", "differs", "on_hand")]["value"] == 7.5  # 3 units at 2.5
    assert rows[("SKU-3@DC2", "differs", "on_hand")]["hub"] == "30"
    assert rows[("SKU-3@DC2", "differs", "on_hand")]["system"] == "27"
    assert rows[("SKU-9@DC1", "missing_in_hub", None)]["units"] == 4
    assert rows[("SKU-5@DC2", "unreadable", "on_hand")]["system"] == "seven"
    assert rows[(None, "unreadable", "key")]["snapshot_row"] == 7
    assert rows[("SKU-6@DC1", "duplicate_in_system", None)]["system"] == "2"
    assert len(rows) == 6  # nothing else: equal values, zero positions absent on one side
    assert summary.by_kind == {
        "missing_in_system": 1,
        "missing_in_hub": 1,
        "differs": 1,
        "unreadable": 2,
        "duplicate_in_system": 1,
    }
    assert summary.units == 20 + 3 + 4
    assert summary.value == 7.5
    assert summary.hub_keys == 5 and summary.system_keys == 7 and summary.matched_keys == 4
    assert summary.worst_skus[0].name == "SKU-2" and summary.worst_skus[0].units == 20
    assert [w.name for w in summary.worst_locations] == ["DC1", "DC2"]
    assert summary.worst_locations[0].units == 24  # SKU-2 (20) and SKU-9 (4) at DC1


def test_tolerances_absolute_and_relative_per_field(hub, tmp_path):
    snap = snapshot_csv(
        tmp_path,
        "key,on_hand,allocated\nSKU-1@DC1,11,1\nSKU-2@DC1,21,0\nSKU-3@DC2,32,3\nSKU-4@DC2,0,0\nSKU-5@DC2,7,0\n",
    )
    rule = DiffRule(
        "inventory",
        (FieldRule("on_hand", tolerance_pct=5), FieldRule("allocated", tolerance=0)),
        units_field="on_hand",
        absent_is_zero=True,
        split_key=True,
    )
    with diff(hub, snap, rule) as result:
        rows = by_key(result.rows())
    # on_hand: 5% of 10 is 0.5 < 1 (differs); 5% of 20 is 1 (within); 5% of 30 is 1.5 < 2 (differs)
    assert ("SKU-1@DC1", "differs", "on_hand") in rows
    assert ("SKU-2@DC1", "differs", "on_hand") not in rows
    assert rows[("SKU-3@DC2", "differs", "on_hand")]["units"] == 2
    # allocated: exact; a difference there is reported but adds no units
    assert rows[("SKU-3@DC2", "differs", "allocated")]["units"] == 0
    assert ("SKU-5@DC2", "differs", "allocated") not in rows  # absent in the hub counts as 0
    assert len(rows) == 3


def test_text_fields_and_a_domain_without_split_keys(store, tmp_path):
    pipeline = Pipeline(store, parse_syncmap(MAP, env={}))
    pipeline.ingest(
        "erp",
        [
            Change(id="p1", domain=Domain.product, key="SKU-1", fields={"name": "Mug", "status": "active"}),
            Change(id="p2", domain=Domain.product, key="SKU-2", fields={"name": "Cup", "status": "active"}),
        ],
    )
    path = tmp_path / "products.ndjson"
    path.write_text('{"id": "SKU-1", "name": "Mug"}\n{"id": "SKU-2", "name": "Cup!"}\n')
    snap = SnapshotInput(label=str(path), path=path, format="ndjson", columns={"key": "id"})
    golden = read_golden(store, "product", [], now_us())  # type: ignore[arg-type]
    rule = DiffRule("product", (FieldRule("name", kind="text"),))
    with DiffEngine(rule).run(golden.records, snap) as result:
        rows = result.rows()
    assert [(r["key"], r["kind"], r["hub"], r["system"]) for r in rows] == [
        ("SKU-2", "differs", "Cup", "Cup!")
    ]


def test_a_difference_a_pending_delivery_will_fix_is_not_a_variance(hub, tmp_path):
    # every position went to stock-to-shop's outbox as pending: all of them are in flight
    snap = snapshot_csv(tmp_path, "key,on_hand\nSKU-1@DC1,9\nSKU-2@DC1,20\nSKU-3@DC2,30\nSKU-5@DC2,7\n")
    with diff(hub, snap, routes=["stock-to-shop"]) as result:
        assert result.rows() == []
        summary = result.summary()
        assert summary.explained_keys == 1 and summary.variances == 0
        assert result.explained_keys() == ["SKU-1@DC1"]
    with diff(hub, snap, routes=["another-route"]) as result:  # not the route to this system
        assert [r["key"] for r in result.rows()] == ["SKU-1@DC1"]


def test_a_delivery_settled_before_the_snapshot_explains_nothing(hub, tmp_path):
    hub._execute("UPDATE outbox SET state = 'delivered', updated_us = 1000")
    snap = snapshot_csv(tmp_path, "key,on_hand\nSKU-1@DC1,9\nSKU-2@DC1,20\nSKU-3@DC2,30\nSKU-5@DC2,7\n")
    with diff(hub, snap, routes=["stock-to-shop"], since_us=2000) as result:
        assert [r["key"] for r in result.rows()] == ["SKU-1@DC1"]
    with diff(hub, snap, routes=["stock-to-shop"], since_us=500) as result:  # delivered after it
        assert result.rows() == []


def test_reports_are_written_as_csv_and_parquet(hub, tmp_path):
    snap = snapshot_csv(tmp_path, "key,on_hand\nSKU-1@DC1,9\n")
    with diff(hub, snap) as result:
        assert result.write(tmp_path / "out" / "v.parquet") == 4
        assert result.write(tmp_path / "v.csv") == 4
        with pytest.raises(SnapshotError, match=r"\.csv or a \.parquet"):
            result.write(tmp_path / "v.xlsx")
    table = pq.read_table(tmp_path / "out" / "v.parquet")
    assert sorted(table.column("key").to_pylist()) == ["SKU-1@DC1", "SKU-2@DC1", "SKU-3@DC2", "SKU-5@DC2"]
    assert (tmp_path / "v.csv").read_text().splitlines()[0].startswith("key,sku,location,kind,field")


def test_a_snapshot_without_the_columns_compared_says_which(hub, tmp_path):
    with pytest.raises(
        SnapshotError, match=r"no column 'on_hand' to compare; its columns are \['key', 'qty'\]"
    ):
        diff(hub, snapshot_csv(tmp_path, "key,qty\nSKU-1@DC1,9\n"))
    with pytest.raises(SnapshotError, match=r"no key column 'key' \(or sku and location columns\)"):
        diff(hub, snapshot_csv(tmp_path, "item,on_hand\nSKU-1,9\n"))
    with pytest.raises(SnapshotError, match=r"snap\.csv"):
        diff(hub, SnapshotInput(label=str(tmp_path / "snap.csv"), path=tmp_path / "nope.csv", format="csv"))
