"""The transaction-set maps: hand-written files (valid and broken) to canonical changes, errors at
their segment and element with the 997 codes, and outbound sets that read back the same."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logisync.domain.catalog import spec
from logisync.edi.ack import build_997
from logisync.edi.envelope import parse
from logisync.edi.interchange import TransactionSet
from logisync.edi.sets import (
    INBOUND,
    Context,
    Mapped,
    inventory_846,
    order_ack_855,
    ship_notice_856,
    shipping_order_940,
    warehouse_transfer_943,
)
from logisync.edi.writer import Envelope, OutboundSet, Party, write_interchange

FIXTURES = Path(__file__).parents[2] / "fixtures" / "x12"
AT = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)


class Counter:
    def __init__(self) -> None:
        self.last: dict[tuple[str, str], int] = {}

    def allocate(self, partner: str, kind: str, count: int = 1) -> list[int]:
        start = self.last.get((partner, kind), 0)
        self.last[(partner, kind)] = start + count
        return list(range(start + 1, start + count + 1))


def _sets(path: Path) -> list[TransactionSet]:
    parsed = parse(path.read_bytes())
    assert parsed.all_problems() == [], path
    return [s for ic in parsed.interchanges for g in ic.groups for s in g.sets]


def _map(path: Path, **ctx: object) -> tuple[TransactionSet, Mapped]:
    [tset] = _sets(path)
    return tset, INBOUND[tset.code](tset, Context("acme", "1", "1", **ctx))  # type: ignore[arg-type]


def _valid(mapped: Mapped) -> None:
    """Every change fits its domain: the pipeline's own validation passes."""
    assert mapped.problems == []
    for change in mapped.changes:
        s = spec(change.domain)
        assert s.check_key(change.key) is None, change.key
        _, why = s.validate_fields(dict(change.fields))
        assert why is None, why


def test_846_positions_per_item_at_the_partners_location():
    _, mapped = _map(FIXTURES / "846_4010.x12", location="ACME-DC")
    _valid(mapped)
    assert [(c.key, c.fields) for c in mapped.changes] == [
        ("SKU-1001@ACME-DC", {"on_hand": 120}),
        ("SKU-1002@ACME-DC", {"on_hand": 0}),
    ]
    assert mapped.changes[0].occurred_at == datetime(2026, 11, 28, tzinfo=UTC)
    assert mapped.changes[0].id == "acme:846:1.1.0001:1"


def test_846_without_a_location_names_where_it_is_missing():
    _, mapped = _map(FIXTURES / "846_4010.x12")
    assert mapped.rejected and mapped.changes == []
    p = mapped.problems[0]
    assert (p.code.name, p.segment_id, p.set_position) == ("segment_missing", "N1", 4)


def test_850_order_with_lines_address_and_currency():
    _, mapped = _map(FIXTURES / "850_4010.x12")
    _valid(mapped)
    [order] = mapped.changes
    assert order.key == "PO-90017"
    assert order.fields == {
        "channel": "acme",
        "placed_at": "2026-11-29T00:00:00+00:00",
        "currency": "USD",
        "ship_to": {"name": "Store 112"},
        "lines": [
            {"line_no": 1, "sku": "SKU-1001", "quantity": 12, "unit_price": "3.1"},
            {"line_no": 2, "sku": "SKU-1004", "quantity": 4, "unit_price": "7.5"},
        ],
    }


def test_850_5010_two_orders_and_a_case_unit():
    sets = _sets(FIXTURES / "850_5010.x12")
    orders = [INBOUND["850"](s, Context("acme")).changes[0] for s in sets]
    assert [o.key for o in orders] == ["PO-77812", "PO-77813"]
    assert orders[0].fields["ship_to"] == {
        "name": "DC East",
        "line1": "100 Harbor Way",
        "city": "Newark",
        "region": "NJ",
        "postal_code": "07105",
        "country": "US",
    }
    assert orders[0].fields["lines"][1] == {
        "line_no": 2,
        "sku": "SKU-1002",
        "quantity": 6,
        "uom": "CA",
        "unit_price": "51",
    }


def test_856_shipment_and_inbound_stock_at_the_ship_to_location():
    _, mapped = _map(FIXTURES / "856_4010.x12")
    _valid(mapped)
    shipment, inbound = mapped.changes
    assert shipment.key == "SHP-5501"
    assert shipment.fields == {
        "carrier": "UPSN",
        "order_number": "PO-77812",
        "ship_to": {"name": "DC East"},
        "shipped_at": "2026-11-27T00:00:00+00:00",  # DTM*011 (a date) overrides BSN03/04
        "packages": [{"package_id": "SHP-5501", "lines": [{"sku": "SKU-1001", "quantity": 24}]}],
    }
    assert (inbound.key, inbound.fields) == (
        "SKU-1001@DC1",
        {"adjust": {"inbound": 24, "reason": "transfer"}},
    )
    assert inbound.id == "acme:856:SHP-5501:SKU-1001@DC1"  # the same when the ASN is resent


def test_856_5010_pack_level_names_the_package():
    _, mapped = _map(FIXTURES / "856_5010.x12")
    _valid(mapped)
    [shipment] = mapped.changes  # no ship-to location: no inbound
    assert shipment.fields["packages"] == [
        {"package_id": "00012345670000000017", "lines": [{"sku": "SKU-1003", "quantity": 1}]}
    ]


def test_945_shipment_with_packages_tracking_and_carrier():
    _, mapped = _map(FIXTURES / "sets" / "945_4010.x12")
    _valid(mapped)
    [shipment] = mapped.changes
    assert shipment.key == "SH-1001-1"
    assert shipment.fields == {
        "order_number": "SO-1001",
        "ship_from": "DC3",
        "ship_to": {"name": "Jane Doe", "line1": "1 Main St", "city": "Springfield", "region": "IL",
                    "postal_code": "62701", "country": "US"},
        "shipped_at": "2026-11-28T14:30:00+00:00",
        "carrier": "UPSN",
        "service": "GROUND",
        "tracking_numbers": ["1Z999AA10123456784"],
        "packages": [
            {
                "package_id": "00012345670000000024",
                "tracking_number": "1Z999AA10123456784",
                "lines": [{"sku": "SKU-1", "quantity": 2}, {"sku": "SKU-2", "quantity": 1}],
            }
        ],
    }  # fmt: skip


def test_944_receipts_add_to_on_hand_with_ids_from_the_receipt():
    _, mapped = _map(FIXTURES / "sets" / "944_4010.x12")
    _valid(mapped)
    assert [(c.id, c.key, c.fields) for c in mapped.changes] == [
        ("acme:944:RCV-5501:1", "SKU-1@DC3", {"adjust": {"on_hand": 24, "reason": "receipt"}}),
        ("acme:944:RCV-5501:2", "SKU-2@DC3", {"adjust": {"on_hand": 6, "reason": "receipt"}}),
    ]


def test_214_statuses_through_the_tracking_table_and_an_estimate_noted():
    _, mapped = _map(FIXTURES / "sets" / "214_4010.x12")
    _valid(mapped)
    assert [(c.key, c.fields["status"], c.fields["occurred_at"]) for c in mapped.changes] == [
        ("PRO12345678", "in_transit", "2026-11-27T14:00:00+00:00"),
        ("PRO12345678", "delivered", "2026-11-28T20:30:00+00:00"),
    ]
    assert mapped.changes[0].fields["city"] == "Memphis"
    assert mapped.notes and "AT701 (segment 9)" in mapped.notes[0] and "estimate" in mapped.notes[0]


# -- broken files: the error names segment and element, the 997 says the same ------------------

BROKEN = [
    # file, partner location, problem code, segment id, position in set, element, AK3 + AK4 rows
    ("846_unknown_quantity", None, "element_invalid_code", "QTY", 7, 1, [["AK3", "QTY", "7", "", "8"], ["AK4", "1", "", "7", "99"]]),
    ("850_bad_quantity", None, "element_invalid_character", "PO1", 4, 2, [["AK3", "PO1", "4", "", "8"], ["AK4", "2", "", "6", "twelve"]]),
    ("856_no_items", None, "segment_missing", "SN1", 8, None, [["AK3", "SN1", "8", "", "3"]]),
    ("944_no_warehouse", None, "segment_missing", "N1", 6, None, [["AK3", "N1", "6", "", "3"]]),
    ("945_bad_date", None, "element_invalid_date", "G62", 3, 2, [["AK3", "G62", "3", "", "8"], ["AK4", "2", "", "8", "20261332"]]),
    ("214_unknown_status", None, "element_invalid_code", "AT7", 6, 1, [["AK3", "AT7", "6", "", "8"], ["AK4", "1", "", "7", "QQ"]]),
]  # fmt: skip


@pytest.mark.parametrize(("name", "location", "code", "tag", "position", "element", "ak"), BROKEN)
def test_broken_sets_are_rejected_whole_with_their_997_codes(
    name, location, code, tag, position, element, ak
):
    parsed = parse((FIXTURES / "sets" / "broken" / f"{name}.x12").read_bytes())
    assert parsed.all_problems() == []  # the envelopes are fine: the set's content is not
    [group] = parsed.interchanges[0].groups
    [tset] = group.sets
    mapped = INBOUND[tset.code](tset, Context("acme", location=location))
    assert mapped.rejected and mapped.changes == []  # never a partial apply
    first = mapped.problems[0]
    assert (first.code.name, first.segment_id, first.set_position, first.element) == (
        code,
        tag,
        position,
        element,
    )
    assert f"position {position} in the set" in first.message or first.element is None
    tset.problems.extend(mapped.problems)
    body = build_997(group)
    rows = [row for row in body if row[0] in ("AK3", "AK4")]
    assert rows == ak
    assert ["AK5", "R", "5"] in body and body[-1][:2] == ["AK9", "R"]


# -- round trips: outbound, enveloped, parsed and read, gives the same canonical data ---------


def _round_trip(out: OutboundSet, **ctx: object) -> Mapped:
    written = write_interchange(
        Envelope("acme", Party("ZZ", "LOGISYNCHUB"), Party("ZZ", "ACME")), [out], Counter(), at=AT
    )
    [tset] = _sets_bytes(written.data)
    mapped = INBOUND[tset.code](tset, Context("acme", **ctx))  # type: ignore[arg-type]
    _valid(mapped)
    return mapped


def _sets_bytes(data: bytes) -> list[TransactionSet]:
    parsed = parse(data)
    assert parsed.all_problems() == []
    return [s for ic in parsed.interchanges for g in ic.groups for s in g.sets]


def test_846_round_trip():
    positions = [
        ("SKU-1", {"on_hand": 40, "inbound": 12}),
        ("SKU-2", {"on_hand": 0}),
        ("SKU-3", {"on_hand": 5, "uom": "CA"}),
    ]
    mapped = _round_trip(inventory_846.write("DC1", positions, "INV-1", AT))
    assert [(c.key, c.fields) for c in mapped.changes] == [(f"{sku}@DC1", f) for sku, f in positions]
    assert {c.occurred_at for c in mapped.changes} == {AT}


ORDER = {
    "lines": [
        {"line_no": 1, "sku": "SKU-1", "quantity": 12, "unit_price": "3.1"},
        {"line_no": 2, "sku": "SKU-2", "quantity": 4, "uom": "CA", "cancelled": 1},
    ],
    "warehouse": "DC3",
    "ship_to": {"name": "Jane Doe", "line1": "1 Main St", "city": "Springfield", "postal_code": "62701", "country": "US"},
}  # fmt: skip


def test_855_round_trip_and_its_acknowledgment_codes():
    out = order_ack_855.write("PO-1", {**ORDER, "backordered_by_line": {"1": 2}}, AT)
    assert out.segments[0] == ["BAK", "00", "AC", "PO-1", "20261128"]
    assert ["ACK", "IA", "10", "EA"] in out.segments and ["ACK", "IB", "2", "EA"] in out.segments
    assert ["ACK", "IR", "1", "CA"] in out.segments
    [order] = _round_trip(out).changes
    assert (order.key, order.fields) == ("PO-1", {"lines": ORDER["lines"]})


def test_855_before_goods_left_says_which_units_the_hub_backordered():
    two_lines_of_one_sku = {
        "lines": [
            {"line_no": 1, "sku": "SKU-1", "quantity": 3},
            {"line_no": 2, "sku": "SKU-2", "quantity": 2},
            {"line_no": 3, "sku": "SKU-1", "quantity": 2},
        ],
        "backorders": {"SKU-1": 3, "SKU-2": 0},
    }
    out = order_ack_855.write("PO-2", two_lines_of_one_sku, AT)
    assert out.segments[0][2] == "AC"
    acks = [seg[1:3] for seg in out.segments if seg[0] == "ACK"]
    assert acks == [["IA", "2"], ["IB", "1"], ["IA", "2"], ["IB", "2"]]  # the last line first, no IA 0
    shipped = {**two_lines_of_one_sku, "backordered_by_line": {"1": 1}}  # once goods left, the hub's count
    acks = [seg[1:3] for seg in order_ack_855.write("PO-2", shipped, AT).segments if seg[0] == "ACK"]
    assert acks == [["IA", "2"], ["IB", "1"], ["IA", "2"], ["IA", "2"]]


def test_940_round_trip():
    [order] = _round_trip(shipping_order_940.write("SO-9", ORDER)).changes
    lines = [
        {k: v for k, v in line.items() if k in ("line_no", "sku", "quantity", "uom")}
        for line in ORDER["lines"]
    ]
    assert order.fields == {"warehouse": "DC3", "ship_to": ORDER["ship_to"], "lines": lines}


SHIPMENT = {
    "order_number": "SO-9",
    "carrier": "UPSN",
    "service": "GROUND",
    "ship_from": "DC3",
    "tracking_numbers": ["1Z999AA10123456784"],
    "shipped_at": "2026-11-28T14:30:00+00:00",
    "packages": [
        {"package_id": "P1", "tracking_number": "1Z999AA10123456784", "lines": [{"sku": "SKU-1", "quantity": 2, "order_line_no": 1}]},
        {"package_id": "P2", "lines": [{"sku": "SKU-2", "quantity": 3}, {"sku": "SKU-1", "quantity": 1, "uom": "CA"}]},
    ],
}  # fmt: skip


def test_856_round_trip():
    [shipment] = _round_trip(ship_notice_856.write("SH-9", SHIPMENT, AT)).changes
    assert shipment.key == "SH-9" and shipment.fields == SHIPMENT


def test_943_round_trip_with_inbound_at_the_warehouse():
    mapped = _round_trip(warehouse_transfer_943.write("SH-9", SHIPMENT, "ACME-DC", AT))
    shipment, *inbound = mapped.changes
    assert shipment.fields == {
        "order_number": "SO-9",
        "carrier": "UPSN",
        "service": "GROUND",
        "ship_from": "DC3",
        "shipped_at": "2026-11-28T00:00:00+00:00",  # W0603 is a date
        "packages": [
            {"package_id": "SH-9", "lines": [
                {"sku": "SKU-1", "quantity": 2}, {"sku": "SKU-2", "quantity": 3}, {"sku": "SKU-1", "quantity": 1, "uom": "CA"},
            ]}
        ],
    }  # fmt: skip
    assert [(c.key, c.fields["adjust"]["inbound"]) for c in inbound] == [
        ("SKU-1@ACME-DC", 2),
        ("SKU-2@ACME-DC", 3),
    ]


# -- properties ---------------------------------------------------------------------------------

_TEXT = (
    st.text(
        alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 .-", min_size=1, max_size=20
    )
    .map(str.strip)
    .filter(bool)
)
_SKU = st.from_regex(r"[A-Z0-9][A-Z0-9\-]{0,15}", fullmatch=True)
_QTY = st.integers(min_value=0, max_value=10**9)
_UNIT = st.sampled_from([None, "CA", "PL"])


def _drop_none(d: dict) -> dict:
    return {k: v for k, v in d.items() if v is not None}


_ADDRESS = st.fixed_dictionaries(
    {"name": _TEXT},
    optional={"line1": _TEXT, "city": _TEXT, "region": st.sampled_from(["NJ", "IL"]), "postal_code": st.from_regex(r"[0-9]{5}", fullmatch=True), "country": st.sampled_from(["US", "DE"])},
)  # fmt: skip


@st.composite
def _lines(draw):
    skus = draw(st.lists(_SKU, min_size=1, max_size=6))
    return [
        _drop_none({"line_no": n, "sku": sku, "quantity": draw(st.integers(1, 10**6)), "uom": draw(_UNIT)})
        for n, sku in enumerate(skus, start=1)
    ]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(_SKU, _QTY, st.none() | _QTY, _UNIT), min_size=1, max_size=8, unique_by=lambda t: t[0]
    ),
    _SKU,
)
def test_846_round_trips_any_positions(rows, location):
    positions = [
        (sku, _drop_none({"on_hand": on_hand, "inbound": inbound, "uom": unit}))
        for sku, on_hand, inbound, unit in rows
    ]
    mapped = _round_trip(inventory_846.write(location, positions, "INV-1", AT))
    assert [(c.key, c.fields) for c in mapped.changes] == [(f"{sku}@{location}", f) for sku, f in positions]


@settings(max_examples=60, deadline=None)
@given(_lines(), st.none() | _ADDRESS, st.none() | _SKU)
def test_940_round_trips_any_order(lines, ship_to, warehouse):
    fields = _drop_none({"lines": lines, "ship_to": ship_to, "warehouse": warehouse})
    [order] = _round_trip(shipping_order_940.write("SO-1", fields)).changes
    assert order.fields == fields


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(_SKU, st.none() | _TEXT.map(lambda t: t.replace(" ", "")), _lines()),
        min_size=1,
        max_size=4,
        unique_by=lambda t: t[0],
    ),
    st.none() | _SKU,
    st.none() | _TEXT,
)
def test_856_round_trips_any_shipment(packages, order_number, carrier):
    fields = _drop_none({
        "order_number": order_number,
        "carrier": carrier,
        "shipped_at": "2026-11-28T14:30:00+00:00",
        "packages": [
            _drop_none({"package_id": pid, "tracking_number": tracking or None, "lines": [
                _drop_none({"sku": line["sku"], "quantity": line["quantity"], "uom": line.get("uom"), "order_line_no": line["line_no"]})
                for line in lines
            ]})
            for pid, tracking, lines in packages
        ],
    })  # fmt: skip
    [shipment] = [
        c for c in _round_trip(ship_notice_856.write("SH-1", fields, AT)).changes if c.domain == "shipment"
    ]
    assert shipment.fields == fields


SET_FILES = sorted((FIXTURES / "sets").glob("*.x12")) + sorted(FIXTURES.glob("8[45]*.x12"))
_VALID = [p.read_bytes() for p in SET_FILES]


@st.composite
def _mutated(draw) -> bytes:
    data = bytearray(draw(st.sampled_from(_VALID)))
    for _ in range(draw(st.integers(min_value=1, max_value=4))):
        at = draw(st.integers(min_value=0, max_value=len(data) - 1))
        kind = draw(st.sampled_from(["flip", "digit", "delete", "delimiter"]))
        if kind == "flip":
            data[at] = draw(st.integers(min_value=0, max_value=255))
        elif kind == "digit":
            data[at] = draw(st.sampled_from(b"0123456789X"))
        elif kind == "delimiter":
            data[at] = draw(st.sampled_from(b"*~>"))
        else:
            del data[at]
    return bytes(data)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_mutated(), st.sampled_from([None, "DC9"]))
def test_mutated_sets_map_to_valid_changes_or_problems_never_an_exception(data, location):
    for ic in parse(data).interchanges:
        for group in ic.groups:
            for tset in group.sets:
                reader = INBOUND.get(tset.code)
                if reader is None:
                    continue
                mapped = reader(tset, Context("acme", location=location, timezone="America/Chicago"))
                assert not (mapped.rejected and mapped.changes)
                if not mapped.rejected:
                    _valid(mapped)
                tset.problems.extend(mapped.problems)
                build_997(group)


@settings(max_examples=40, deadline=None)
@given(_lines(), st.data())
def test_855_round_trips_any_order_lines(lines, data):
    for line in lines:
        line["cancelled"] = data.draw(st.integers(0, line["quantity"]))
        if not line["cancelled"]:
            del line["cancelled"]
        if data.draw(st.booleans()):
            line["unit_price"] = str(
                data.draw(st.decimals(min_value=0, max_value=10**6, places=2)).normalize()
            )
    [order] = _round_trip(order_ack_855.write("PO-1", {"lines": lines}, AT)).changes
    expected = [
        {**line, "unit_price": format(Decimal(line["unit_price"]), "f")} if "unit_price" in line else line
        for line in lines
    ]
    assert order.fields == {"lines": expected}


@settings(max_examples=40, deadline=None)
@given(_lines(), _SKU, st.none() | _SKU)
def test_943_round_trips_any_transfer(lines, warehouse, carrier):
    fields = _drop_none({"carrier": carrier, "packages": [{"package_id": "P1", "lines": [
        _drop_none({"sku": line["sku"], "quantity": line["quantity"], "uom": line.get("uom")}) for line in lines
    ]}]})  # fmt: skip
    mapped = _round_trip(warehouse_transfer_943.write("SH-1", fields, warehouse, AT))
    shipment = mapped.changes[0]
    units: dict[tuple[str, str | None], int] = {}
    for line in fields["packages"][0]["lines"]:
        units[(line["sku"], line.get("uom"))] = (
            units.get((line["sku"], line.get("uom")), 0) + line["quantity"]
        )
    got = {
        (line["sku"], line.get("uom")): line["quantity"] for line in shipment.fields["packages"][0]["lines"]
    }
    assert got == units
    assert shipment.fields.get("carrier") == carrier
