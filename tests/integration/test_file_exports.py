"""Snapshot exports on both stores: every record, the mapped columns, written whole or not at all."""

from __future__ import annotations

import csv
import io
import os
from datetime import UTC, datetime

import orjson
import pytest

from logisync.config.files import FileExport
from logisync.domain.change import Change
from logisync.files import exporter
from logisync.files.exporter import export, file_name
from logisync.pipeline import Pipeline

AT = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)


def stock(store, syncmap, n: int = 3) -> None:
    changes = [
        Change(id=f"c{i}", domain="inventory", key=f"SKU-{i}@DC1", fields={"on_hand": 10 * i, "allocated": i})
        for i in range(1, n + 1)
    ]
    Pipeline(store, syncmap).ingest("wms", changes)


def spec(**kw) -> FileExport:
    return FileExport.model_validate(
        {"name": "nightly-stock", "domain": "inventory", "schedule": "0 2 * * *", **kw}
    )


def test_a_csv_export_has_the_mapped_columns_of_every_record(store, syncmap, tmp_path):
    out = tmp_path / "out"
    stock(store, syncmap)
    columns = {"ItemNo": "sku", "Whse": "location", "OnHand": "on_hand", "Free": "available", "Uom": "uom"}
    done = export(store, spec(format="csv", columns=columns), out, at=AT)
    assert done.path == out / "nightly-stock-20260601T020000Z.csv" and done.rows == 3
    rows = list(csv.reader(io.StringIO(done.path.read_text())))
    assert rows[0] == ["ItemNo", "Whse", "OnHand", "Free", "Uom"]
    assert rows[1:] == [
        ["SKU-1", "DC1", "10", "9", ""],
        ["SKU-2", "DC1", "20", "18", ""],
        ["SKU-3", "DC1", "30", "27", ""],
    ]
    assert os.listdir(out) == [done.path.name]  # no part file left behind


def test_json_and_ndjson_exports_and_a_file_name_template(store, syncmap, tmp_path):
    out = tmp_path / "out"
    stock(store, syncmap, 2)
    as_json = export(store, spec(format="json", filename="stock-{date}.json"), out, at=AT)
    assert as_json.path.name == "stock-2026-06-01.json"
    data = orjson.loads(as_json.path.read_bytes())
    assert data[0] == {"key": "SKU-1@DC1", "on_hand": 10, "allocated": 1, "available": 9}
    lines = export(store, spec(format="ndjson", columns={"sku": "sku", "qty": "on_hand"}), out, at=AT)
    assert [orjson.loads(x) for x in lines.path.read_bytes().splitlines()] == [
        {"sku": "SKU-1", "qty": 10},
        {"sku": "SKU-2", "qty": 20},
    ]
    assert file_name(spec(format="ndjson"), AT) == "nightly-stock-20260601T020000Z.ndjson"


def test_an_export_that_fails_midway_leaves_no_file(store, syncmap, tmp_path, monkeypatch):
    out = tmp_path / "out"
    stock(store, syncmap)

    def broken(*args):
        yield {"ItemNo": "SKU-1"}
        raise RuntimeError("the store went away")

    monkeypatch.setattr(exporter, "_rows", broken)
    with pytest.raises(RuntimeError):
        export(store, spec(format="csv", columns={"ItemNo": "sku"}), out, at=AT)
    assert os.listdir(out) == []


def test_a_csv_export_needs_columns():
    with pytest.raises(ValueError, match="a csv export needs `columns`"):
        spec(format="csv")
    with pytest.raises(ValueError, match="may use"):
        spec(format="json", filename="{name}-{host}.json")
