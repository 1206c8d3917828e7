"""File imports through the pipeline, on both stores: good rows apply, bad rows are quarantined with
their file, line and column, and the same bytes twice are applied once."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from logisync.config import parse_syncmap
from logisync.files.importer import FileImporter, FileRejected
from logisync.pipeline import Pipeline
from logisync.store.xrefs import XrefTable

SYNCMAP = """\
systems:
  shop:
    kind: marketplace
    xref: {sku: listing_id}
    files:
      imports:
        - {name: levels, domain: inventory, format: csv, fields: {sku: Listing, location: Site, inbound: {from: Qty, type: int}}}
  erp:
    kind: erp
    files:
      imports:
        - name: stock
          domain: inventory
          format: csv
          match: "stock*.csv"
          fields:
            sku: {from: ItemNo, xref: sku}
            location: {from: Whse, default: DC1}
            on_hand: {from: Qty, type: int}
        - name: items
          domain: product
          format: json
          items: data.item
          fields:
            sku: code
            name: title
            weight_kg: {from: weight_lb, type: decimal, unit: {from: lb, to: kg}}
        - name: moves
          domain: inventory
          format: ndjson
          id: "move-{ref}"
          fields:
            ref: ref
            sku: sku
            location: site
            adjust.on_hand: {from: delta, type: int}
            adjust.reason: {from: why, default: cycle_count}
owners:
  inventory.quantities: erp
  inventory.inbound: shop
  product: erp
"""


@pytest.fixture
def erp(store):
    syncmap = parse_syncmap(SYNCMAP, "hub.yaml", env={})
    imports = {i.name: ("erp", i) for i in syncmap.systems["erp"].files.imports}
    imports["levels"] = ("shop", syncmap.systems["shop"].files.imports[0])
    pipeline = Pipeline(store, syncmap)
    XrefTable(store).load("erp", "sku", [("I-1", "SKU-1", "t"), ("I-2", "SKU-2", "t")])
    XrefTable(store).load("shop", "sku", [("L-1", "SKU-1", "t")])
    return lambda name, **kw: FileImporter(pipeline, store, imports[name][0], imports[name][1], **kw)


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def test_good_rows_apply_and_bad_rows_are_quarantined_with_line_and_column(erp, store, tmp_path):
    path = write(tmp_path, "stock-1.csv", "ItemNo,Whse,Qty\nI-1,DC1,5\nI-2,,x\nI-9,DC2,3\nI-2,DC2,7\nI-1\n")
    report = erp("stock", batch=2).run(path)
    assert report.rows == 5 and report.balanced
    assert dict(report.counts) == {"applied": 2, "bad_row": 3}
    assert store.get_record("inventory", "SKU-1@DC1").fields["on_hand"] == 5
    assert store.get_record("inventory", "SKU-2@DC2").fields["on_hand"] == 7
    assert [(n.where, n.reason) for n in report.notes] == [
        ("line 3", "column Qty: expected a whole number, got 'x'"),
        ("line 4", "column ItemNo: 'I-9' is not a known erp sku id (load it with `logisync xref load`)"),
        ("line 6", "has 1 columns; the header has 3"),
    ]
    exceptions = {x.reason: x for x in store.list_exceptions()}
    bad = exceptions["stock-1.csv:3: column Qty: expected a whole number, got 'x'"]
    assert (bad.kind, bad.system, bad.domain) == ("bad_row", "erp", "inventory")
    assert bad.detail == {
        "file": "stock-1.csv",
        "line": 3,
        "import": "stock",
        "column": "Qty",
        "value": "x",
        "row": {"ItemNo": "I-2", "Whse": "", "Qty": "x"},
    }
    unknown = exceptions[
        "stock-1.csv:4: column ItemNo: 'I-9' is not a known erp sku id (load it with `logisync xref load`)"
    ]
    assert unknown.kind == "unknown_xref" and unknown.detail["value"] == "I-9"
    assert "stock-1.csv:6: has 1 columns; the header has 3" in exceptions
    counts = store.outcome_counts()
    assert counts[("erp", "inventory", "applied")] == 2
    assert counts[("erp", "inventory", "quarantined")] == 3  # received = sum of outcomes


def test_the_same_file_twice_is_applied_once_and_says_so(erp, store, tmp_path):
    path = write(tmp_path, "stock-1.csv", "ItemNo,Whse,Qty\nI-1,DC1,5\n")
    first = erp("stock").run(path)
    again = write(tmp_path, "stock-2.csv", path.read_bytes())  # same bytes, another name
    second = erp("stock").run(again)
    assert first.duplicate_of is None and second.duplicate_of is not None
    assert (second.duplicate_of.name, second.duplicate_of.rows) == ("stock-1.csv", 1)
    assert second.rows == 0 and not second.counts
    assert len(store.record_log("inventory", "SKU-1@DC1")) == 1
    changed = write(tmp_path, "stock-3.csv", "ItemNo,Whse,Qty\nI-1,DC1,6\n")
    assert erp("stock").run(changed).counts["applied"] == 1


def test_a_file_stopped_midway_runs_again_without_applying_twice(erp, store, tmp_path):
    path = write(
        tmp_path,
        "moves.ndjson",
        b"".join(
            orjson.dumps({"ref": n, "sku": "SKU-1", "site": "DC1", "delta": 1}) + b"\n" for n in range(5)
        ),
    )
    importer = erp("moves", batch=2)
    calls = 0
    real = importer.pipeline.ingest

    def failing(*args, **kw):
        nonlocal calls
        calls += 1
        if calls == 2:
            raise RuntimeError("store went away")
        return real(*args, **kw)

    importer.pipeline.ingest = failing
    with pytest.raises(RuntimeError):
        importer.run(path)
    importer.pipeline.ingest = real
    report = importer.run(path)  # no receipt was written: the file is read again
    assert dict(report.counts) == {"duplicate": 2, "applied": 3}
    assert store.get_record("inventory", "SKU-1@DC1").fields["on_hand"] == 5


def test_json_and_ndjson_imports(erp, store, tmp_path):
    path = write(
        tmp_path,
        "items.json",
        '{"data": [{"code": "SKU-1", "title": "Mug", "weight_lb": 2}, {"code": "SKU-2", "weight_lb": "heavy"}]}',
    )
    report = erp("items").run(path)
    assert dict(report.counts) == {"applied": 1, "bad_row": 1}
    assert report.notes[0].where == "item 2"
    assert store.get_record("product", "SKU-1").fields["weight_kg"] == pytest.approx(0.90718474)
    (x,) = [x for x in store.list_exceptions() if x.kind == "bad_row"]
    assert x.reason == "items.json item 2: column weight_lb: expected a number, got 'heavy'"
    assert x.detail["item"] == 2


def test_a_pipeline_refusal_is_reported_with_its_line(erp, store, tmp_path):
    path = write(tmp_path, "moves.ndjson", '{"ref": 1, "sku": "SKU-1", "site": "DC1", "delta": -3}\n')
    report = erp("moves").run(path)
    assert dict(report.counts) == {"rejected": 1}
    assert report.notes[0].where == "line 1" and report.notes[0].outcome == "rejected"
    assert report.notes[0].reason == "adjustment of -3 would take on_hand below zero (the record has 0)"


def test_a_file_without_the_mapped_columns_is_refused_whole(erp, store, tmp_path):
    path = write(tmp_path, "stock-x.csv", "Item,Qty\nI-1,5\n")
    with pytest.raises(FileRejected, match="the header has no column 'ItemNo'"):
        erp("stock").run(path)
    assert store.count_records() == 0


def test_a_system_whose_ids_the_hub_translates_gets_them_translated_by_the_pipeline(erp, store, tmp_path):
    """shop's `xref: {sku: listing_id}` translates its inventory keys on ingest: the import maps
    the listing id as it comes, and an unknown one is the pipeline's quarantine, with its line."""
    path = write(tmp_path, "levels.csv", "Listing,Site,Qty\nL-1,DC1,4\nL-9,DC1,2\n")
    report = erp("levels").run(path)
    assert dict(report.counts) == {"applied": 1, "quarantined": 1}
    assert store.get_record("inventory", "SKU-1@DC1").fields["inbound"] == 4
    (note,) = report.notes
    assert (note.where, note.outcome) == ("line 3", "quarantined")
    assert "L-9" in note.reason


def test_bad_rows_group_by_import_and_column_in_the_inbox(erp, store, tmp_path):
    from logisync.inbox import Inbox
    from logisync.store.inbox import ExceptionFilter

    rows = "".join(f"I-1,DC{i},x\n" for i in range(5)) + "I-1\nI-7,DC1,1\n"
    erp("stock").run(write(tmp_path, "stock-9.csv", "ItemNo,Whse,Qty\n" + rows))
    groups = {(g.kind, g.cause): g.count for g in Inbox(store).groups(ExceptionFilter())}
    assert groups[("bad_row", "erp stock: column Qty")] == 5
    assert groups[("bad_row", "erp stock: rows that could not be read")] == 1
    assert groups[("unknown_xref", "erp sku I-7")] == 1


def test_any_domain_an_order_with_a_line_from_one_row(store, tmp_path):
    syncmap = parse_syncmap(
        """\
systems:
  shop:
    kind: marketplace
    files:
      imports:
        - name: orders
          domain: order
          format: csv
          key: "{number}"
          id: "shop-order-{number}"
          fields:
            number: OrderNo
            placed_at: {from: Placed, type: datetime, format: "%d/%m/%Y %H:%M"}
            currency: {from: Cur, default: EUR}
            lines.0.line_no: {default: 1}
            lines.0.sku: Sku
            lines.0.quantity: {from: Qty, type: int}
            lines.0.unit_price: {from: Price, type: decimal}
owners:
  order.lines: shop
""",
        "hub.yaml",
        env={},
    )
    spec = syncmap.systems["shop"].files.imports[0]
    path = write(
        tmp_path, "orders.csv", "OrderNo,Placed,Cur,Sku,Qty,Price\nSO-1,02/03/2026 09:30,,SKU-1,2,9.95\n"
    )
    report = FileImporter(Pipeline(store, syncmap), store, "shop", spec).run(path)
    assert dict(report.counts) == {"applied": 1}, report.notes
    order = store.get_record("order", "SO-1").fields
    assert order["placed_at"] == "2026-03-02T09:30:00Z"  # a time without an offset is UTC
    assert order["currency"] == "EUR"
    assert order["lines"][0]["sku"] == "SKU-1" and order["lines"][0]["quantity"] == 2
    assert store.get_change("shop", "shop-order-SO-1") is not None


def test_a_file_run_again_after_a_stop_does_not_quarantine_its_bad_rows_twice(erp, store, tmp_path):
    path = write(tmp_path, "stock-5.csv", "ItemNo,Whse,Qty\nI-1,DC1,x\nI-1,DC2,1\nI-2,DC1,y\nI-2,DC2,2\n")
    importer = erp("stock", batch=1)
    real, calls = importer.pipeline.ingest, []

    def failing(*args, **kw):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("store went away")
        return real(*args, **kw)

    importer.pipeline.ingest = failing
    with pytest.raises(RuntimeError):
        importer.run(path)
    importer.pipeline.ingest = real
    report = importer.run(path)
    assert dict(report.counts) == {"bad_row": 2, "duplicate": 1, "applied": 1}
    reasons = sorted(x.reason for x in store.list_exceptions())
    assert reasons == [
        "stock-5.csv:2: column Qty: expected a whole number, got 'x'",
        "stock-5.csv:4: column Qty: expected a whole number, got 'y'",
    ]
    counts = store.outcome_counts()
    assert counts[("erp", "inventory", "quarantined")] == 2
    # again: lines 2 and 4 (bad rows quarantined before the stop, with their batches) and 3 (applied)
    assert counts[("erp", "inventory", "duplicate")] == 3


def test_a_bad_row_cannot_be_retried_from_the_inbox(erp, store, tmp_path):
    from logisync.inbox import ActionRefused, Inbox

    erp("stock").run(write(tmp_path, "stock-6.csv", "ItemNo,Whse,Qty\nI-1,DC1,x\n"))
    (row,) = store.list_exceptions()
    with pytest.raises(ActionRefused, match="never became a change, so there is nothing to retry"):
        Inbox(store).retry(row.id, "cli:test")
