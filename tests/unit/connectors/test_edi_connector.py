"""The edi connector's pure functions: a set decoded to changes, deliveries encoded to sets."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from logisync.connectors import connector
from logisync.delivery.outgoing import Delivery
from logisync.edi.envelope import parse
from logisync.edi.sets import Context

FIXTURES = Path(__file__).parents[2] / "fixtures" / "x12"
AT = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)


def test_decode_maps_a_set():
    edi = connector("edi")
    [tset] = parse((FIXTURES / "846_4010.x12").read_bytes()).interchanges[0].groups[0].sets
    mapped = edi.decode(tset, Context("acme", location="ACME-DC"))
    assert [c.key for c in mapped.changes] == ["SKU-1001@ACME-DC", "SKU-1002@ACME-DC"]


def test_decode_refuses_a_set_no_map_reads():
    edi = connector("edi")
    [tset] = parse((FIXTURES / "997_4010.x12").read_bytes()).interchanges[0].groups[0].sets
    with pytest.raises(KeyError, match="no map reads 997 sets"):
        edi.decode(tset, Context("acme"))


def _delivery(key: str, fields: dict) -> Delivery:
    return Delivery(f"r-{key}", "r", "acme", "inventory", key, fields, 1)


def test_encode_writes_an_846_per_location_and_one_of_availability():
    edi = connector("edi")
    sets = edi.encode(
        "846",
        [
            _delivery("SKU-1@DC1", {"on_hand": 4}),
            _delivery("SKU-2@DC2", {"on_hand": 5}),
            _delivery("SKU-3@DC1", {"on_hand": 6}),
            _delivery("SKU-4", {"sku": "SKU-4", "available_to_promise": 7}),
        ],
        AT,
    )
    assert [s.segments[1] for s in sets[:2]] == [["N1", "WH", "", "92", "DC1"], ["N1", "WH", "", "92", "DC2"]]
    assert ["LIN", "2", "SK", "SKU-3"] in sets[0].segments
    assert sets[2].segments[1:3] == [["LIN", "1", "SK", "SKU-4"], ["QTY", "33", "7", "EA"]]
