"""Carrier events set their shipment's status, and its order's, on both stores."""

from __future__ import annotations

import pytest

from fixtures.fulfilment import SYNCMAP, at, event, fields, order, package, shipment
from logisync.pipeline import Pipeline

TN, TN2 = "1Z999AA10123456784", "1Z999AA10123456785"


@pytest.fixture
def pipeline(store) -> Pipeline:
    return Pipeline(store, SYNCMAP)


def ship_order(pipeline: Pipeline, *numbers: str) -> None:
    pipeline.ingest("shop", [order("o1", "SO-1", ("SKU-1", len(numbers)))])
    packages = [package(f"P{i}", ("SKU-1", 1), tracking=n) for i, n in enumerate(numbers, 1)]
    pipeline.ingest("wms", [shipment("s1", "SH-1", "SO-1", *packages)])


def test_events_out_of_order_and_duplicated_end_delivered_and_the_order_follows(store, pipeline):
    ship_order(pipeline, TN)
    assert fields(store, "order", "SO-1")["status"] == "shipped"
    assert fields(store, "tracking", TN)["tracked_for"] == "SH-1"  # followed from before its first event
    pipeline.ingest("carrier", [event("e3", TN, "delivered", 300, event_id="c3")])
    [late] = pipeline.ingest("carrier", [event("e2", TN, "out_for_delivery", 200, event_id="c2")])
    pipeline.ingest("carrier", [event("e1", TN, "in_transit", 100, event_id="c1")])
    pipeline.ingest("carrier", [event("e3-again", TN, "delivered", 300, event_id="c3")])  # a resend, new id
    assert late.outcome == "applied"
    sh = fields(store, "shipment", "SH-1")
    assert (sh["status"], sh["delivered_at"]) == ("delivered", at(300))
    assert sh["tracking_status"] == {TN: {"status": "delivered", "at": at(300)}}
    assert [d["id"] for d in fields(store, "tracking", TN)["events"]] == ["c1", "c2", "c3"]
    so = fields(store, "order", "SO-1")
    assert (so["status"], so["delivered_at"]) == ("delivered", at(300))
    assert so["shipped_in"]["SH-1"]["status"] == "delivered"
    # the shipment's status is the hub's, worked out from the carrier's first delivered event
    prov = store.get_record("shipment", "SH-1").prov["status"]
    assert prov["s"] == "logisync"
    assert store.get_change("logisync", prov["c"]).source == "carrier/e3"


def test_a_late_scan_stamped_after_delivery_does_not_regress_the_shipment(store, pipeline):
    ship_order(pipeline, TN)
    pipeline.ingest("carrier", [event("e1", TN, "delivered", 100)])
    [out] = pipeline.ingest("carrier", [event("e2", TN, "in_transit", 150)])  # a skewed scanner clock
    assert out.outcome == "applied"
    assert fields(store, "tracking", TN)["status"] == "in_transit"  # the record: latest by event time
    assert fields(store, "shipment", "SH-1")["status"] == "delivered"  # the shipment: final_status
    assert fields(store, "order", "SO-1")["status"] == "delivered"


def test_a_shipment_of_two_parcels_is_delivered_when_both_are(store, pipeline):
    ship_order(pipeline, TN, TN2)
    pipeline.ingest("carrier", [event("a1", TN, "in_transit", 10), event("b1", TN2, "in_transit", 12)])
    [out] = pipeline.ingest("carrier", [event("a2", TN, "delivered", 60)])
    assert "shipment SH-1 is" not in (out.reason or "")  # the least advanced parcel is still in transit
    assert fields(store, "shipment", "SH-1")["status"] == "in_transit"
    assert fields(store, "order", "SO-1")["status"] == "shipped"
    pipeline.ingest("carrier", [event("b2", TN2, "delivered", 90)])
    sh = fields(store, "shipment", "SH-1")
    assert (sh["status"], sh["delivered_at"]) == ("delivered", at(90))
    assert fields(store, "order", "SO-1")["status"] == "delivered"


def test_events_before_the_shipment_are_taken_when_it_arrives(store, pipeline):
    pipeline.ingest("carrier", [event("e1", TN, "in_transit", 10)])
    assert set(fields(store, "tracking", TN)) == {"status", "occurred_at"}  # not followed: nothing added
    ship_order(pipeline, TN)
    assert fields(store, "shipment", "SH-1")["status"] == "in_transit"
    pipeline.ingest("carrier", [event("e2", TN, "delivered", 50)])
    assert fields(store, "order", "SO-1")["status"] == "delivered"


def test_an_event_that_names_its_shipment_links_the_number(store, pipeline):
    pipeline.ingest("carrier", [event("e1", TN, "in_transit", 10, shipment_number="SH-7")])
    assert fields(store, "tracking", TN)["tracked_for"] == "SH-7"  # kept until the shipment comes
    pipeline.ingest("carrier", [event("e2", TN, "out_for_delivery", 20)])
    pipeline.ingest("shop", [order("o1", "SO-7", ("SKU-1", 1))])
    pipeline.ingest(
        "wms", [shipment("s7", "SH-7", "SO-7", package("P1", ("SKU-1", 1)), tracking_numbers=[TN])]
    )
    assert fields(store, "shipment", "SH-7")["status"] == "out_for_delivery"
    # a shipment that lists no number is followed through the numbers whose events name it
    pipeline.ingest("wms", [shipment("s8", "SH-8", None, package("P1", ("SKU-1", 1)))])
    pipeline.ingest("carrier", [event("f1", TN2, "pre_transit", 5, shipment_number="SH-8")])
    assert fields(store, "shipment", "SH-8")["status"] == "pre_transit"


def test_the_hubs_digests_are_not_routed_and_may_not_be_written_by_a_carrier(store, pipeline):
    ship_order(pipeline, TN)
    pipeline.ingest("carrier", [event("e1", TN, "in_transit", 10), event("e2", TN, "delivered", 20)])
    rows = [r for r in store.list_outbox(limit=1000) if r.route == "tracking-to-shop"]
    sent = store.get_changes([r.change_seq for r in rows])
    assert [sent[r.change_seq].change_id for r in rows] == ["e1", "e2"]  # carrier events only
    statuses = [r for r in store.list_outbox(limit=1000) if r.route == "shipments-to-shop"]
    assert statuses  # the shipment's derived status is routed like any change of it
    [out] = pipeline.ingest("carrier", [event("x", TN, "delivered", 30, events=[])])
    assert out.outcome == "quarantined"
    assert "kept by the hub itself" in out.reason


def test_a_number_the_hub_does_not_follow_keeps_its_record_as_it_was(store, pipeline):
    pipeline.ingest("carrier", [event("e1", TN, "delivered", 10), event("e2", TN, "in_transit", 5)])
    record = store.get_record("tracking", TN)
    assert set(record.fields) == {"status", "occurred_at"}
    assert (record.fields["status"], record.prov["status"]["c"]) == ("delivered", "e1")
    assert store.count_records() == 1


def test_a_final_status_a_system_set_is_not_overruled_by_later_events(store, pipeline):
    ship_order(pipeline, TN)
    pipeline.ingest("carrier", [event("e1", TN, "in_transit", 10)])
    pipeline.ingest(
        "wms", [shipment("s2", "SH-1", "SO-1", package("P1", ("SKU-1", 1), tracking=TN), status="delivered")]
    )
    pipeline.ingest("carrier", [event("e2", TN, "out_for_delivery", 20)])  # the carrier is behind the dock
    sh = store.get_record("shipment", "SH-1")
    assert (sh.fields["status"], sh.prov["status"]["s"]) == ("delivered", "wms")
    assert sh.fields["tracking_status"][TN]["status"] == "out_for_delivery"


def test_a_system_status_behind_the_derived_one_meets_the_lifecycle(store, pipeline):
    ship_order(pipeline, TN)
    pipeline.ingest("carrier", [event("e1", TN, "in_transit", 10)])
    resent = shipment("s2", "SH-1", "SO-1", package("P1", ("SKU-1", 1), tracking=TN), status="label_created")
    [out] = pipeline.ingest("wms", [resent])
    assert out.outcome == "rejected"
    assert "shipment cannot move from 'in_transit' to 'label_created'" in out.reason
    assert fields(store, "shipment", "SH-1")["status"] == "in_transit"
