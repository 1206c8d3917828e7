"""A route's `fields` filter and `echo`, through the real pipeline and store (both stores): a
partner's PO is acknowledged back to it at once, a status step makes no new acknowledgment, and
what is accepted changing does; a shipment's ASN goes once, not at each tracking scan."""

from __future__ import annotations

import pytest

from logisync.config import parse_syncmap
from logisync.domain.change import Change
from logisync.domain.kinds import Domain
from logisync.pipeline import Pipeline

SYNCMAP = """\
systems:
  wms: {kind: wms}
  acme: {kind: edi_partner}
owners:
  order.lines: acme
  order.fulfillment: wms
  shipment: wms
routes:
  - {name: orders-to-wms, domain: order, to: wms}
  - name: acks-to-acme
    domain: order
    to: acme
    echo: true
    filter: {key_prefix: [PO-], fields: [lines, backordered_by_line]}
  - name: asns-to-acme
    domain: shipment
    to: acme
    filter: {fields: [packages, tracking_numbers]}
"""


@pytest.fixture
def pipeline(store) -> Pipeline:
    return Pipeline(store, parse_syncmap(SYNCMAP, "hub.yaml", env={}))


def rows(store, route: str) -> list[tuple[str, int]]:
    return [(r.key, r.change_seq) for r in store.list_outbox(route=route, limit=100)]


def test_an_acknowledgment_goes_back_to_the_sender_once_per_accepted_change(store, pipeline):
    po = {"lines": [{"line_no": 1, "sku": "SKU-1", "quantity": 4}]}
    [out] = pipeline.ingest("acme", [Change(id="c1", domain=Domain.order, key="PO-1", fields=po)])
    assert out.outcome.value == "applied"
    assert [key for key, _ in rows(store, "acks-to-acme")] == ["PO-1"]  # echoed back to acme, once:
    assert {key for key, _ in rows(store, "orders-to-wms")} == {"PO-1"}  # (the hub's own change of
    # the order, its seller and holds, goes to the WMS too, but applied no field of the filter)
    first = rows(store, "acks-to-acme")
    pipeline.ingest("wms", [Change(id="c2", domain=Domain.order, key="PO-1", fields={"status": "allocated"})])
    assert rows(store, "acks-to-acme") == first  # a status step: no new 855
    more = {"lines": [{"line_no": 1, "sku": "SKU-1", "quantity": 6}]}
    pipeline.ingest("acme", [Change(id="c3", domain=Domain.order, key="PO-1", fields=more)])
    [_, (key, seq)] = rows(store, "acks-to-acme")  # what is accepted changed: a new 855
    assert key == "PO-1" and seq > first[0][1]
    pipeline.ingest("acme", [Change(id="c4", domain=Domain.order, key="SO-9", fields=po)])
    assert [key for key, _ in rows(store, "acks-to-acme")] == ["PO-1", "PO-1"]  # the key filter holds


def test_an_asn_goes_once_per_shipment_not_per_tracking_scan(store, pipeline):
    shipped = {
        "order_number": "PO-1",
        "packages": [{"package_id": "P1", "lines": [{"sku": "SKU-1", "quantity": 4}]}],
        "tracking_numbers": ["1Z1"],
    }
    pipeline.ingest("wms", [Change(id="s1", domain=Domain.shipment, key="SH-1", fields=shipped)])
    first = rows(store, "asns-to-acme")
    assert [key for key, _ in first] == ["SH-1"]
    pipeline.ingest(
        "wms", [Change(id="s2", domain=Domain.shipment, key="SH-1", fields={"status": "in_transit"})]
    )
    assert rows(store, "asns-to-acme") == first
