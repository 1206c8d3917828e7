"""Cross-reference tables on both stores: loaded, learned from inbound records, used on ingest."""

from __future__ import annotations

from typing import Any

import pytest

from logisync.config import parse_syncmap
from logisync.domain.change import Change
from logisync.domain.kinds import Domain
from logisync.pipeline import Pipeline
from logisync.store.xrefs import Loaded, XrefTable

MAP = """\
systems:
  erp:  {kind: erp}
  wms:  {kind: wms}
  shop: {kind: marketplace, xref: {sku: listing_id}}
  acme: {kind: edi_partner, writes: [return, shipment, inventory], xref: {sku: item_number, location: site}}
  ups:  {kind: carrier, writes: [shipment], xref: {service: service_code}}
owners:
  product: erp
  product.attributes: shop
  location: erp
  inventory: wms
  inventory.inbound: acme
  order.lines: shop
"""


@pytest.fixture
def pipeline(store) -> Pipeline:
    return Pipeline(store, parse_syncmap(MAP, env={}))


def change(cid: str, domain: str, key: str, **fields: Any) -> Change:
    return Change(id=cid, domain=Domain(domain), key=key, fields=fields)


def line(no: int, sku: str, quantity: int = 1, **more: Any) -> dict[str, Any]:
    return {"line_no": no, "sku": sku, "quantity": quantity, **more}


# -- the table --------------------------------------------------------------------------------------


def test_loading_counts_new_changed_and_unchanged_pairs_and_keeps_their_source(store):
    table = XrefTable(store)
    assert table.load("shop", "sku", [("L-1", "SKU-1", "a.csv:2"), ("L-2", "SKU-2", "a.csv:3")]) == Loaded(
        2, 0, 0
    )
    again = table.load(
        "shop", "sku", [("L-1", "SKU-1", "b.csv:2"), ("L-2", "SKU-9", "b.csv:3"), ("L-3", "SKU-3", "b.csv:4")]
    )
    assert again == Loaded(new=1, changed=1, unchanged=1)
    rows = table.list("shop", "sku")
    assert [(r.external_id, r.canonical, r.source) for r in rows] == [
        ("L-1", "SKU-1", "a.csv:2"),  # unchanged: still from where it was first loaded
        ("L-2", "SKU-9", "b.csv:3"),
        ("L-3", "SKU-3", "b.csv:4"),
    ]
    assert [r.external_id for r in table.list("shop", "sku", after="L-1", limit=1)] == ["L-2"]
    assert table.resolve("shop", "sku", ["L-3", "L-404"]) == {"L-3": "SKU-3"}


def test_tables_are_per_system_and_kind(store):
    table = XrefTable(store)
    table.load("shop", "sku", [("X", "SKU-1", "f:2")])
    table.load("acme", "sku", [("X", "SKU-2", "f:2")])
    table.load("acme", "location", [("X", "DC1", "f:2")])
    assert table.resolve("shop", "sku", ["X"]) == {"X": "SKU-1"}
    assert table.resolve("acme", "sku", ["X"]) == {"X": "SKU-2"}
    assert table.resolve("acme", "location", ["X"]) == {"X": "DC1"}
    assert table.resolve("acme", "service", ["X"]) == {}


def test_many_pairs_load_in_one_go(store):
    pairs = [(f"L-{i:05d}", f"SKU-{i}", f"big.csv:{i + 2}") for i in range(2_000)]
    assert XrefTable(store).load("shop", "sku", pairs) == Loaded(new=2_000)
    assert XrefTable(store).resolve("shop", "sku", ["L-01999"]) == {"L-01999": "SKU-1999"}


# -- on ingest --------------------------------------------------------------------------------------


def test_a_listing_id_on_an_order_line_becomes_the_sku_and_the_line_keeps_the_id(store, pipeline):
    XrefTable(store).load("shop", "sku", [("L-1", "SKU-1", "f:2"), ("L-2", "SKU-2", "f:3")])
    [out] = pipeline.ingest(
        "shop", [change("o1", "order", "SO-1", lines=[line(1, "L-1", 2), line(2, "L-2")])]
    )
    assert out.outcome == "applied", out.reason
    lines = store.get_record("order", "SO-1").fields["lines"]
    assert [(x["sku"], x["quantity"], x["received"]) for x in lines] == [
        ("SKU-1", 2, {"sku": "L-1"}),
        ("SKU-2", 1, {"sku": "L-2"}),
    ]
    logged = store.get_change("shop", "o1").payload["lines"]
    assert [(x["sku"], x["received"]["sku"]) for x in logged] == [("SKU-1", "L-1"), ("SKU-2", "L-2")]


def test_an_id_with_no_mapping_is_quarantined_with_the_system_kind_and_id(store, pipeline):
    XrefTable(store).load("shop", "sku", [("L-1", "SKU-1", "f:2")])
    [out] = pipeline.ingest("shop", [change("o1", "order", "SO-1", lines=[line(1, "L-1"), line(2, "L-404")])])
    assert out.outcome == "quarantined"
    assert out.reason == (
        "lines[1].sku: L-404 is not a known shop listing_id (its cross-reference table for sku has no such id)"
    )
    assert store.get_record("order", "SO-1") is None
    [exc] = store.list_exceptions(kind="unknown_xref")
    assert (exc.system, exc.change_id, exc.domain, exc.key) == ("shop", "o1", "order", "SO-1")
    assert {k: exc.detail[k] for k in ("rule", "field", "value", "system", "kind", "name")} == {
        "rule": "unknown_xref",
        "field": "lines[1].sku",
        "value": "L-404",
        "system": "shop",
        "kind": "sku",
        "name": "listing_id",
    }
    # the change log keeps the change as it came, ids and all
    assert [x["sku"] for x in store.get_change("shop", "o1").payload["lines"]] == ["L-1", "L-404"]


def test_a_partners_item_numbers_and_site_code_on_a_return_are_translated(store, pipeline):
    XrefTable(store).load("acme", "sku", [("ITEM-77", "SKU-1", "f:2")])
    XrefTable(store).load("acme", "location", [("SITE-9", "DC1", "f:2")])
    [out] = pipeline.ingest(
        "acme",
        [change("r1", "return", "RMA-1", location="SITE-9", lines=[{"sku": "ITEM-77", "quantity": 1}])],
    )
    assert out.outcome == "applied", out.reason
    fields = store.get_record("return", "RMA-1").fields
    assert fields["location"] == "DC1"
    assert fields["lines"][0]["sku"] == "SKU-1" and fields["lines"][0]["received"] == {"sku": "ITEM-77"}


def test_a_partners_unknown_site_is_quarantined_on_its_field(store, pipeline):
    [out] = pipeline.ingest("acme", [change("r1", "return", "RMA-1", location="SITE-0")])
    assert out.outcome == "quarantined"
    assert out.reason.startswith("location: SITE-0 is not a known acme site")


def test_a_carriers_service_code_becomes_the_canonical_service(store, pipeline):
    XrefTable(store).load("ups", "service", [("03", "ground", "f:2")])
    [ok, bad] = pipeline.ingest(
        "ups",
        [change("s1", "shipment", "SH-1", service="03"), change("s2", "shipment", "SH-2", service="99")],
    )
    assert ok.outcome == "applied" and store.get_record("shipment", "SH-1").fields["service"] == "ground"
    assert bad.outcome == "quarantined"
    assert bad.reason.startswith("service: 99 is not a known ups service_code")


def test_shipment_package_lines_are_translated(store, pipeline):
    XrefTable(store).load("acme", "sku", [("ITEM-1", "SKU-1", "f:2")])
    packages = [{"package_id": "P1", "lines": [{"sku": "ITEM-1", "quantity": 3}]}]
    [out] = pipeline.ingest("acme", [change("s1", "shipment", "SH-1", packages=packages)])
    assert out.outcome == "applied", out.reason
    [pkg_line] = store.get_record("shipment", "SH-1").fields["packages"][0]["lines"]
    assert (pkg_line["sku"], pkg_line["received"]) == ("SKU-1", {"sku": "ITEM-1"})


def test_a_product_change_carrying_the_listing_id_teaches_the_pair(store, pipeline):
    [out] = pipeline.ingest("shop", [change("p1", "product", "SKU-5", attributes={"listing_id": "L-5"})])
    assert out.outcome == "applied", out.reason
    [learned] = XrefTable(store).list("shop", "sku")
    assert (learned.external_id, learned.canonical, learned.source) == ("L-5", "SKU-5", "shop/p1")
    # and the next order from the marketplace uses it, even in the same batch as the lesson
    outs = pipeline.ingest(
        "shop",
        [
            change("p2", "product", "SKU-6", attributes={"listing_id": "L-6"}),
            change("o1", "order", "SO-1", lines=[line(1, "L-5"), line(2, "L-6")]),
        ],
    )
    assert [o.outcome for o in outs] == ["applied", "applied"], outs[1].reason
    assert [x["sku"] for x in store.get_record("order", "SO-1").fields["lines"]] == ["SKU-5", "SKU-6"]


def test_nothing_is_learned_from_a_change_the_system_may_not_make(store, pipeline):
    [out] = pipeline.ingest(
        "shop", [change("p1", "product", "SKU-5", name="Mug", attributes={"listing_id": "L-5"})]
    )
    assert out.outcome == "rejected"  # name is the ERP's
    assert XrefTable(store).list("shop", "sku") == []


def test_a_system_without_xref_sends_canonical_skus_untouched(store, pipeline):
    [out] = pipeline.ingest("shop", [change("p1", "product", "SKU-5", attributes={"colour": "red"})])
    assert out.outcome == "applied"
    [out] = pipeline.ingest("wms", [change("i1", "inventory", "L-5@DC1", on_hand=3)])
    assert out.outcome == "applied"  # keys are never translated: the wms has no xref anyway


# -- keys: translated before the transaction locks and reads the record --------------------------------


def test_a_partners_inventory_key_is_the_canonical_record_locked_read_and_logged(
    store, pipeline, monkeypatch
):
    from logisync.store.sql import SqlWriteTx

    XrefTable(store).load("acme", "sku", [("ITEM-77", "SKU-1", "f:2")])
    XrefTable(store).load("acme", "location", [("SITE-9", "DC1", "f:2")])
    assert (
        pipeline.ingest("wms", [change("w1", "inventory", "SKU-1@DC1", on_hand=10)])[0].outcome == "applied"
    )
    locked: list[str] = []
    read: list[str] = []
    lock_keys, load_records = SqlWriteTx.lock_keys, SqlWriteTx.load_records
    monkeypatch.setattr(
        SqlWriteTx, "lock_keys", lambda tx, keys: (locked.extend(keys), lock_keys(tx, keys))[1]
    )
    monkeypatch.setattr(
        SqlWriteTx, "load_records", lambda tx, d, keys: (read.extend(keys), load_records(tx, d, keys))[1]
    )
    [out] = pipeline.ingest("acme", [change("a1", "inventory", "ITEM-77@SITE-9", inbound=4)])
    assert out.outcome == "applied", out.reason
    assert out.reason == "as received: key 'ITEM-77@SITE-9'"
    assert "SKU-1@DC1" in read and not any("ITEM-77" in k for k in read)
    assert bool(locked) == store.url.startswith("postgres")  # PostgreSQL locks keys; SQLite has one writer
    if locked:
        assert "r:inventory/SKU-1@DC1" in locked and not any("ITEM-77" in k for k in locked)
    assert store.get_record("inventory", "ITEM-77@SITE-9") is None
    assert store.get_record("inventory", "SKU-1@DC1").fields == {"on_hand": 10, "inbound": 4}
    logged = store.get_change("acme", "a1")
    assert (logged.key, logged.reason) == ("SKU-1@DC1", "as received: key 'ITEM-77@SITE-9'")
    # one record, one history: the WMS's change and the partner's
    assert [e.change_id for e in store.record_log("inventory", "SKU-1@DC1")] == ["w1", "a1"]


def test_a_key_with_an_unknown_part_is_quarantined_naming_the_part(store, pipeline):
    XrefTable(store).load("acme", "sku", [("ITEM-77", "SKU-1", "f:2")])
    [out] = pipeline.ingest("acme", [change("a1", "inventory", "ITEM-77@SITE-0", inbound=4)])
    assert out.outcome == "quarantined"
    assert (
        out.reason
        == "key: SITE-0 is not a known acme site (its cross-reference table for location has no such id)"
    )
    assert out.problem == {"rule": "unknown_xref", "field": "key", "value": "SITE-0"}
    [exc] = store.list_exceptions(kind="unknown_xref")
    assert (exc.key, exc.detail["kind"], exc.detail["value"]) == ("ITEM-77@SITE-0", "location", "SITE-0")


def test_a_system_names_only_the_kinds_it_has_an_xref_for(store):
    """shop translates SKUs; an inventory key's location is taken as it is."""
    text = MAP.replace(
        "shop: {kind: marketplace,", "shop: {kind: marketplace, writes: [inventory, order, product],"
    )
    text = text.replace("inventory.inbound: acme", "inventory.inbound: shop")
    pipeline = Pipeline(store, parse_syncmap(text, env={}))
    XrefTable(store).load("shop", "sku", [("L-1", "SKU-1", "f:2")])
    [out] = pipeline.ingest("shop", [change("s1", "inventory", "L-1@DC1", inbound=2)])
    assert out.outcome == "applied", out.reason
    assert store.get_record("inventory", "SKU-1@DC1").fields == {"inbound": 2}


def test_an_item_number_taught_earlier_in_the_batch_translates_a_key(store):
    text = MAP.replace("product.attributes: shop", "product.attributes: acme").replace(
        "writes: [return, shipment, inventory]", "writes: [return, shipment, inventory, product]"
    )
    pipeline = Pipeline(store, parse_syncmap(text, env={}))
    XrefTable(store).load("acme", "location", [("SITE-9", "DC1", "f:2")])
    outs = pipeline.ingest(
        "acme",
        [
            change("p1", "product", "SKU-5", attributes={"item_number": "ITEM-5"}),
            change("a1", "inventory", "ITEM-5@SITE-9", inbound=3),
        ],
    )
    assert [o.outcome for o in outs] == ["applied", "applied"], outs
    assert store.get_record("inventory", "SKU-5@DC1").fields == {"inbound": 3}
    assert XrefTable(store).resolve("acme", "sku", ["ITEM-5"]) == {"ITEM-5": "SKU-5"}


def test_top_level_fields_keep_what_was_sent_in_their_provenance(store, pipeline):
    from logisync.history import explain, view

    XrefTable(store).load("acme", "location", [("SITE-9", "DC1", "f:2")])
    XrefTable(store).load("ups", "service", [("03", "ground", "f:2")])
    [out] = pipeline.ingest("acme", [change("r1", "return", "RMA-1", location="SITE-9")])
    assert (out.outcome, out.reason) == ("applied", "as received: location 'SITE-9'")
    record = store.get_record("return", "RMA-1")
    assert (record.fields["location"], record.prov["location"]["r"]) == ("DC1", "SITE-9")
    assert view(record, store)["provenance"]["location"]["received"] == "SITE-9"
    [out] = pipeline.ingest("ups", [change("s1", "shipment", "SH-1", service="03", carrier="ups")])
    record = store.get_record("shipment", "SH-1")
    assert record.prov["service"]["r"] == "03" and "r" not in record.prov["carrier"]
    stories = {s.field: s.as_dict() for s in explain(store, "shipment", "SH-1")}
    assert stories["service"]["received"] == "03" and "received" not in stories["carrier"]
