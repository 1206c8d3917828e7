"""Data-quality rules on both stores: known SKUs and locations, units of measure, defaults that cost nothing."""

from __future__ import annotations

from typing import Any

import pytest

from logisync.config import parse_syncmap
from logisync.domain.change import Change
from logisync.domain.kinds import Domain
from logisync.pipeline import Pipeline

BASE = """\
systems:
  erp:  {kind: erp}
  wms:  {kind: wms}
  shop: {kind: marketplace}
owners:
  product: erp
  location: erp
  inventory: wms
  order.lines: shop
  order.fulfillment: wms
  shipment: wms
  return: wms
"""


def make(store, quality: str = "") -> Pipeline:
    return Pipeline(store, parse_syncmap(BASE + (f"quality: {quality}\n" if quality else ""), env={}))


def change(cid: str, domain: str, key: str, **fields: Any) -> Change:
    return Change(id=cid, domain=Domain(domain), key=key, fields=fields)


def line(no: int, sku: str, quantity: int = 1, **more: Any) -> dict[str, Any]:
    return {"line_no": no, "sku": sku, "quantity": quantity, **more}


def seed(pipeline: Pipeline, *skus: str, locations: tuple[str, ...] = ("DC1",), **product: Any) -> None:
    outs = pipeline.ingest(
        "erp",
        [change(f"p-{s}", "product", s, name=s, **product) for s in skus]
        + [change(f"l-{loc}", "location", loc, name=loc) for loc in locations],
    )
    assert all(o.outcome == "applied" for o in outs), outs


def test_at_the_defaults_no_domain_is_checked_and_unknown_skus_go_through(store):
    pipeline = make(store)
    assert pipeline.quality.domains == frozenset()
    outs = pipeline.ingest("wms", [change("i1", "inventory", "SKU-404@DC9", on_hand=5, uom="case")])
    assert outs[0].outcome == "applied"
    assert store.get_record("inventory", "SKU-404@DC9").fields == {"on_hand": 5, "uom": "case"}


# -- known SKUs and locations -----------------------------------------------------------------------


def test_an_unknown_sku_on_an_order_line_is_quarantined_naming_the_line(store):
    pipeline = make(store, "{unknown_sku: quarantine}")
    seed(pipeline, "SKU-1")
    [out] = pipeline.ingest(
        "shop", [change("o1", "order", "SO-1", lines=[line(1, "SKU-1"), line(2, "SKU-404")])]
    )
    assert (out.outcome, out.reason) == ("quarantined", "lines[1].sku: SKU-404 is not a known product")
    [exc] = store.list_exceptions(kind="unknown_sku")
    assert exc.detail["rule"] == "unknown_sku"
    assert (exc.detail["field"], exc.detail["value"]) == ("lines[1].sku", "SKU-404")
    assert store.get_record("order", "SO-1") is None
    assert store.get_change("shop", "o1").payload["lines"][1]["sku"] == "SKU-404"


def test_inventory_keys_shipment_and_return_lines_are_checked_too(store):
    pipeline = make(store, "{unknown_sku: quarantine, unknown_location: quarantine}")
    seed(pipeline, "SKU-1")
    outs = pipeline.ingest(
        "wms",
        [
            change("i1", "inventory", "SKU-404@DC1", on_hand=1),
            change("i2", "inventory", "SKU-1@DC9", on_hand=1),
            change(
                "s1",
                "shipment",
                "SH-1",
                packages=[{"package_id": "P1", "lines": [{"sku": "SKU-9", "quantity": 1}]}],
            ),
            change("r1", "return", "RMA-1", lines=[{"sku": "SKU-1", "quantity": 1}], location="DC7"),
            change("r2", "return", "RMA-2", lines=[{"sku": "SKU-8", "quantity": 1}]),
            change("i3", "inventory", "SKU-1@DC1", on_hand=1),
        ],
    )
    assert [(o.outcome, o.reason) for o in outs] == [
        ("quarantined", "key: SKU-404 is not a known product"),
        ("quarantined", "key: DC9 is not a known location"),
        ("quarantined", "packages[0].lines[0].sku: SKU-9 is not a known product"),
        ("quarantined", "location: DC7 is not a known location"),
        ("quarantined", "lines[0].sku: SKU-8 is not a known product"),
        ("applied", None),
    ]
    kinds = sorted(e.kind for e in store.list_exceptions())
    assert kinds == ["unknown_location", "unknown_location", "unknown_sku", "unknown_sku", "unknown_sku"]


def test_an_orders_warehouse_must_be_a_known_location(store):
    pipeline = make(store, "{unknown_location: quarantine}")
    seed(pipeline, "SKU-1")
    [bad, good] = pipeline.ingest(
        "wms",
        [change("o1", "order", "SO-1", warehouse="DC2"), change("o2", "order", "SO-2", warehouse="DC1")],
    )
    assert (bad.outcome, bad.reason) == ("quarantined", "warehouse: DC2 is not a known location")
    assert good.outcome == "applied"


def test_auto_create_makes_a_draft_product_and_a_location_with_provenance(store):
    pipeline = make(store, "{unknown_sku: auto_create, unknown_location: auto_create}")
    [out] = pipeline.ingest("wms", [change("i1", "inventory", "SKU-7@DC7", on_hand=4)])
    assert out.outcome == "applied"
    product = store.get_record("product", "SKU-7")
    assert product.fields == {"status": "draft"}
    assert product.prov["status"]["s"] == "logisync"
    [entry] = store.record_log("product", "SKU-7")
    assert (entry.system, entry.source) == ("logisync", "wms/i1")
    assert entry.reason == "auto-created: key of wms's inventory SKU-7@DC7 names an unknown product"
    assert store.get_record("location", "DC7").fields == {"active": True}
    assert store.get_record("inventory", "SKU-7@DC7").fields["on_hand"] == 4
    # the second reference finds it: nothing is created twice
    pipeline.ingest("shop", [change("o1", "order", "SO-1", lines=[line(1, "SKU-7"), line(2, "SKU-7")])])
    assert len(store.record_log("product", "SKU-7")) == 1


def test_auto_create_refuses_a_sku_no_record_could_be_keyed_by(store):
    pipeline = make(store, "{unknown_sku: auto_create}")
    [out] = pipeline.ingest("shop", [change("o1", "order", "SO-1", lines=[line(1, "SKU 1")])])
    assert (out.outcome, out.reason) == ("quarantined", "lines[0].sku: 'SKU 1' is not a valid product key")
    assert store.get_record("product", "SKU 1") is None


def test_nothing_is_auto_created_for_a_change_another_rule_quarantines(store):
    pipeline = make(store, "{unknown_sku: auto_create, units: convert}")
    [out] = pipeline.ingest("shop", [change("o1", "order", "SO-1", lines=[line(1, "SKU-5", 1, uom="case")])])
    assert out.outcome == "quarantined"
    assert store.get_record("product", "SKU-5") is None


def test_a_product_made_earlier_in_the_same_batch_is_known(store):
    pipeline = make(store, "{unknown_sku: quarantine, unknown_location: quarantine}")
    seed(pipeline, "SKU-1")
    outs = pipeline.ingest(
        "erp", [change("p2", "product", "SKU-2", name="New"), change("l2", "location", "DC2", name="Two")]
    )
    assert [o.outcome for o in outs] == ["applied", "applied"]
    [out] = pipeline.ingest("wms", [change("i1", "inventory", "SKU-2@DC2", on_hand=1)])
    assert out.outcome == "applied"


# -- units of measure -------------------------------------------------------------------------------


def test_an_order_line_in_cases_is_stored_in_base_units_with_what_was_received(store):
    pipeline = make(store, "{units: convert}")
    seed(pipeline, "SKU-1", units={"case": 12, "pallet": 480})
    pipeline.ingest("wms", [change("i1", "inventory", "SKU-1@DC1", on_hand=100)])
    [out] = pipeline.ingest(
        "shop",
        [
            change(
                "o1", "order", "SO-1", lines=[line(1, "SKU-1", 2, uom="CASE"), line(2, "SKU-1", 3, uom="ea")]
            )
        ],
    )
    assert out.outcome == "applied", out.reason
    first, second = store.get_record("order", "SO-1").fields["lines"]
    assert (first["quantity"], first["uom"], first["received"]) == (
        24,
        "each",
        {"quantity": 2, "uom": "CASE"},
    )
    assert (second["quantity"], second["uom"], second.get("received")) == (
        3,
        "ea",
        None,
    )  # already base units
    # the oversell guard holds base units
    assert store.get_record("inventory", "SKU-1@DC1").fields["reserved"] == 27


def test_an_inventory_count_in_cases_becomes_base_units(store):
    pipeline = make(store, "{units: convert}")
    seed(pipeline, "SKU-1", units={"case": 6})
    [out] = pipeline.ingest("wms", [change("i1", "inventory", "SKU-1@DC1", on_hand=5, inbound=2, uom="case")])
    assert out.outcome == "applied"
    assert store.get_record("inventory", "SKU-1@DC1").fields == {"on_hand": 30, "inbound": 12, "uom": "each"}
    [out] = pipeline.ingest(
        "wms",
        [change("a1", "inventory", "SKU-1@DC1", adjust={"on_hand": -1, "reason": "damage"}, uom="case")],
    )
    assert out.outcome == "applied"
    assert store.get_record("inventory", "SKU-1@DC1").fields["on_hand"] == 24


def test_a_product_whose_base_unit_is_not_each_converts_from_its_own_units(store):
    pipeline = make(store, "{units: convert}")
    seed(pipeline, "SKU-1", base_uom="kg", units={"bag": 25})
    [out] = pipeline.ingest("wms", [change("i1", "inventory", "SKU-1@DC1", on_hand=4, uom="bag")])
    assert out.outcome == "applied"
    assert store.get_record("inventory", "SKU-1@DC1").fields == {"on_hand": 100, "uom": "kg"}
    [out] = pipeline.ingest("wms", [change("i2", "inventory", "SKU-1@DC1", on_hand=7, uom="KG")])
    assert store.get_record("inventory", "SKU-1@DC1").fields == {"on_hand": 7, "uom": "KG"}


def test_an_unknown_unit_is_quarantined_with_the_units_the_product_knows(store):
    pipeline = make(store, "{units: convert}")
    seed(pipeline, "SKU-1", units={"case": 12, "pallet": 480})
    [out] = pipeline.ingest("shop", [change("o1", "order", "SO-1", lines=[line(1, "SKU-1", 1, uom="crate")])])
    assert out.outcome == "quarantined"
    assert out.reason == (
        "lines[0].uom: SKU-1: unit 'crate' is not known for this product (its units: case=12, pallet=480)"
    )
    [exc] = store.list_exceptions(kind="units")
    assert {k: exc.detail[k] for k in ("rule", "field", "value", "sku", "units")} == {
        "rule": "units",
        "field": "lines[0].uom",
        "value": "crate",
        "sku": "SKU-1",
        "units": {"case": 12, "pallet": 480},
    }


def test_a_unit_of_an_unknown_product_cannot_be_converted(store):
    pipeline = make(store, "{units: convert}")
    [out] = pipeline.ingest("wms", [change("i1", "inventory", "SKU-9@DC1", on_hand=1, uom="case")])
    assert out.outcome == "quarantined"
    assert (
        out.reason
        == "uom: 'case' cannot be converted: SKU-9 is not a known product, so its units are unknown"
    )


def test_a_conversion_past_the_largest_quantity_is_quarantined(store):
    pipeline = make(store, "{units: convert}")
    seed(pipeline, "SKU-1", units={"pallet": 1000})
    [out] = pipeline.ingest("wms", [change("i1", "inventory", "SKU-1@DC1", on_hand=10**10, uom="pallet")])
    assert out.outcome == "quarantined"
    assert "is 10000000000000 base units, more than" in out.reason


def test_a_batch_that_runs_twice_translates_from_the_original_fields(store, monkeypatch):
    """A deadlock between writers runs the batch again with the same verdicts: nothing doubles."""
    from logisync.errors import StoreBusy

    pipeline = make(store, "{units: convert}")
    seed(pipeline, "SKU-1", units={"case": 12})
    real = pipeline._transaction
    calls = []

    def flaky(*args: Any) -> Any:
        calls.append(1)
        if len(calls) == 1:
            real(*args)  # runs (and commits) once: a retry must not see converted fields
            raise StoreBusy("deadlock")
        return real(*args)

    monkeypatch.setattr(pipeline, "_transaction", flaky)
    pipeline.ingest("shop", [change("o1", "order", "SO-1", lines=[line(1, "SKU-1", 2, uom="case")])])
    assert store.get_record("order", "SO-1").fields["lines"][0]["quantity"] == 24
    assert store.get_change("shop", "o1").payload["lines"][0]["received"] == {"quantity": 2, "uom": "case"}


@pytest.mark.parametrize("policy", ["quarantine", "auto_create"])
def test_a_change_refused_by_ownership_is_not_checked_for_quality(store, policy):
    pipeline = make(store, f"{{unknown_sku: {policy}}}")
    [out] = pipeline.ingest("erp", [change("i1", "inventory", "SKU-9@DC1", on_hand=1)])
    assert out.outcome == "rejected"
    assert store.get_record("product", "SKU-9") is None


def test_shipment_and_return_lines_convert_too(store):
    pipeline = make(store, "{units: convert}")
    seed(pipeline, "SKU-1", units={"case": 12})
    packages = [{"package_id": "P1", "lines": [{"sku": "SKU-1", "quantity": 2, "uom": "case"}]}]
    outs = pipeline.ingest(
        "wms",
        [
            change("s1", "shipment", "SH-1", packages=packages),
            change("r1", "return", "RMA-1", lines=[{"sku": "SKU-1", "quantity": 1, "uom": "case"}]),
        ],
    )
    assert [o.outcome for o in outs] == ["applied", "applied"], outs
    [shipped] = store.get_record("shipment", "SH-1").fields["packages"][0]["lines"]
    assert (shipped["quantity"], shipped["uom"], shipped["received"]) == (
        24,
        "each",
        {"quantity": 2, "uom": "case"},
    )
    [returned] = store.get_record("return", "RMA-1").fields["lines"]
    assert (returned["quantity"], returned["received"]) == (12, {"quantity": 1, "uom": "case"})


def test_a_line_the_hub_translated_validates_again_as_it_is_stored(store):
    """What the hub stores (with `received`) is a valid line: a system may send it back as it is."""
    from logisync.domain.catalog import CATALOG

    pipeline = make(store, "{units: convert}")
    seed(pipeline, "SKU-1", units={"case": 12})
    pipeline.ingest("shop", [change("o1", "order", "SO-1", lines=[line(1, "SKU-1", 2, uom="case")])])
    stored = store.get_record("order", "SO-1").fields["lines"]
    assert CATALOG[Domain.order].validate_fields({"lines": stored})[1] is None


def test_a_sku_made_in_a_batch_that_rolled_back_is_not_remembered_as_known(store, monkeypatch):
    from logisync.pipeline.batch import Batch

    syncmap = parse_syncmap(
        "systems:\n  erp: {kind: erp, writes: ['*']}\nquality: {unknown_sku: quarantine, unknown_location: accept}\n",
        env={},
    )
    pipeline = Pipeline(store, syncmap)
    real_flush = Batch.flush

    def failing(self: Batch) -> None:
        raise RuntimeError("disk full")

    monkeypatch.setattr(Batch, "flush", failing)
    with pytest.raises(RuntimeError):
        pipeline.ingest(
            "erp",
            [change("p1", "product", "SKU-1", name="Mug"), change("i1", "inventory", "SKU-1@DC1", on_hand=1)],
        )
    monkeypatch.setattr(Batch, "flush", real_flush)
    [out] = pipeline.ingest("erp", [change("i2", "inventory", "SKU-1@DC1", on_hand=1)])
    assert (out.outcome, out.reason) == ("quarantined", "key: SKU-1 is not a known product")
    pipeline.ingest("erp", [change("p1", "product", "SKU-1", name="Mug")])
    assert [
        o.outcome for o in pipeline.ingest("erp", [change("i3", "inventory", "SKU-1@DC1", on_hand=1)])
    ] == ["applied"]


# -- which rule failed, on which field, with which value ---------------------------------------------

STRICT = "{unknown_sku: quarantine, unknown_location: quarantine, units: convert}"
EVERY_RULE = [
    # (system, change, rule, field, value, exception kind)
    (
        "erp",
        change("p9", "product", "SKU-9", gtin="4006381333932"),
        "gtin",
        "gtin",
        "4006381333932",
        "validation",
    ),
    ("erp", change("p9", "product", "SKU-9", gtin="12345670"), None, None, None, None),  # a good GTIN-8
    ("erp", change("p9", "product", "SKU-9", units={"case": 0}), "units", "units", {"case": 0}, "validation"),
    ("wms", change("i1", "inventory", "SKU-1@DC1", on_hand=-3), "non_negative", "on_hand", -3, "validation"),
    (
        "shop",
        change("o1", "order", "SO-1", lines=[line(1, "SKU-1", -1)]),
        "non_negative",
        "lines[0].quantity",
        -1,
        "validation",
    ),
    (
        "shop",
        change("o1", "order", "SO-1", lines=[line(1, "SKU-1", 1, uom="crate")]),
        "units",
        "lines[0].uom",
        "crate",
        "units",
    ),
    ("wms", change("i1", "inventory", "SKU-1@DC1", on_hand=2, uom="crate"), "units", "uom", "crate", "units"),
    (
        "shop",
        change("o1", "order", "SO-1", lines=[line(1, "SKU-1"), line(2, "SKU-404")]),
        "unknown_sku",
        "lines[1].sku",
        "SKU-404",
        "unknown_sku",
    ),
    (
        "wms",
        change("i1", "inventory", "SKU-404@DC1", on_hand=1),
        "unknown_sku",
        "key",
        "SKU-404",
        "unknown_sku",
    ),
    (
        "wms",
        change("i1", "inventory", "SKU-1@DC9", on_hand=1),
        "unknown_location",
        "key",
        "DC9",
        "unknown_location",
    ),
    (
        "shop",
        change("o1", "order", "SO-1", ship_to={"country": "XX"}),
        "iso_country",
        "ship_to.country",
        "XX",
        "validation",
    ),
    ("shop", change("o1", "order", "SO-1", currency="EUX"), "iso_currency", "currency", "EUX", "validation"),
    (
        "shop",
        change("o1", "order", "SO-1", placed_at="2026-03-01T12:00:00"),
        "iso_date",
        "placed_at",
        "2026-03-01T12:00:00",
        "validation",
    ),
    (
        "shop",
        change("o1", "order", "SO-1", placed_at="2026-02-30T12:00:00Z"),
        "iso_date",
        "placed_at",
        "2026-02-30T12:00:00Z",
        "validation",
    ),
    (
        "shop",
        change("o1", "order", "SO-1", placed_at="01/03/2026"),
        "iso_date",
        "placed_at",
        "01/03/2026",
        "validation",
    ),
]


@pytest.mark.parametrize(
    ("system", "bad", "rule", "field", "value", "kind"),
    EVERY_RULE,
    ids=[f"{c[2] or 'passes'}-{c[1].domain.value}-{c[3]}" for c in EVERY_RULE],
)
def test_a_quarantined_change_names_the_rule_the_field_and_the_value(
    store, system, bad, rule, field, value, kind
):
    pipeline = make(store, STRICT)
    seed(pipeline, "SKU-1", units={"case": 12})
    [out] = pipeline.ingest(system, [bad])
    if rule is None:
        assert out.outcome == "applied", out.reason
        assert out.problem is None and "problem" not in out.as_dict()
        return
    assert out.outcome == "quarantined"
    assert out.problem == {"rule": rule, "field": field, "value": value}
    assert out.as_dict()["problem"] == out.problem  # the API's outcome says the same
    assert out.reason.startswith((field, f"field {field}:")), out.reason
    [exc] = store.list_exceptions(kind=kind)
    assert (exc.detail["rule"], exc.detail["field"], exc.detail["value"]) == (rule, field, value)
    assert exc.reason == out.reason and exc.change_id == bad.id
    # the change is kept in the change log with its outcome and reason, never dropped
    logged = store.get_change(system, bad.id)
    assert (logged.outcome, logged.reason) == ("quarantined", out.reason)


def test_several_problems_are_all_listed_in_the_detail(store):
    pipeline = make(store)
    [out] = pipeline.ingest(
        "shop", [change("o1", "order", "SO-1", currency="EUX", ship_to={"country": "usa"})]
    )
    assert out.problem == {"rule": "iso_currency", "field": "currency", "value": "EUX"}
    [exc] = store.list_exceptions(kind="validation")
    assert exc.detail["problems"] == [
        {"rule": "iso_currency", "field": "currency", "value": "EUX"},
        {"rule": "iso_country", "field": "ship_to.country", "value": "usa"},
    ]


def test_an_inventory_change_in_cases_keeps_what_was_sent_in_the_provenance(store):
    from logisync.history import explain, view

    pipeline = make(store, "{units: convert}")
    seed(pipeline, "SKU-1", units={"case": 6})
    [out] = pipeline.ingest("wms", [change("i1", "inventory", "SKU-1@DC1", on_hand=5, uom="case")])
    assert out.outcome == "applied"
    assert out.reason == "as received: on_hand 5, uom 'case'"
    record = store.get_record("inventory", "SKU-1@DC1")
    assert (record.fields["on_hand"], record.prov["on_hand"]["r"]) == (30, 5)
    assert (record.fields["uom"], record.prov["uom"]["r"]) == ("each", "case")
    assert view(record, store)["provenance"]["on_hand"]["received"] == 5
    stories = {s.field: s for s in explain(store, "inventory", "SKU-1@DC1")}
    assert stories["uom"].as_dict()["received"] == "case"
    # an adjustment in cases: the delta that was sent is kept on the field it moved
    [out] = pipeline.ingest(
        "wms",
        [change("a1", "inventory", "SKU-1@DC1", adjust={"on_hand": -1, "reason": "damage"}, uom="case")],
    )
    record = store.get_record("inventory", "SKU-1@DC1")
    assert (record.fields["on_hand"], record.prov["on_hand"]["r"]) == (24, {"adjust": -1})
    # a later value sent in base units carries no `received`
    pipeline.ingest("wms", [change("i2", "inventory", "SKU-1@DC1", on_hand=7)])
    assert "r" not in store.get_record("inventory", "SKU-1@DC1").prov["on_hand"]
