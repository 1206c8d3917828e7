"""Inbound webhook mappings (declarative and functions) and the change ids a webhook's changes get."""

from __future__ import annotations

import hashlib

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from logisync.connectors.webhook_mapping import MappingProblem, WebhookContext, compile_inbound
from logisync.connectors.webhooks import Receiver, Unmappable, changes_of

CONTEXT = WebhookContext("wms", "msg_1", "standard-webhooks")
KEYS = ["id", "sku", "site", "qty", "seq", "items", "line_items", "changes", "domain", "key", "fields"]
STOCK = {
    "domain": "inventory",
    "key": "{sku}@{site.code}",
    "fields": {"on_hand": "$.qty | int", "allocated": "$.held?", "uom": "'each'", "note": None},
    "occurred_at": "$.at?",
    "version": "seq",
}


SPECS = [
    "fixtures.mappings:shop_order",
    "fixtures.mappings:as_sent",
    {"domain": "inventory", "key": "{sku}@{site}", "fields": {"on_hand": "qty | int"}, "version": "seq?"},
    {"domain": "product", "each": "items?", "key": "sku", "fields": {"name": "id? | str"}},
]


def test_a_declarative_mapping_reads_paths_templates_conversions_and_constants():
    mapper = compile_inbound(STOCK)
    payload = {"sku": "SKU-1", "site": {"code": "DC1"}, "qty": "12", "seq": 4, "at": "2026-01-01T00:00:00Z"}
    assert mapper(payload, CONTEXT) == [
        {
            "domain": "inventory",
            "key": "SKU-1@DC1",
            "fields": {"on_hand": 12, "uom": "each", "note": None},
            "occurred_at": "2026-01-01T00:00:00Z",
            "version": 4,
        }
    ]


def test_optional_paths_are_left_out_and_required_ones_are_named():
    mapper = compile_inbound(STOCK)
    base = {"sku": "SKU-1", "site": {"code": "DC1"}, "qty": 1, "seq": 1, "held": None}
    [change] = mapper(base, CONTEXT)
    assert "allocated" not in change["fields"] and "occurred_at" not in change
    with pytest.raises(MappingProblem, match=r"\$\.site\.code is missing"):
        mapper({**base, "site": {}}, CONTEXT)
    with pytest.raises(MappingProblem, match=r"\$\.qty: int\('many'\) failed"):
        mapper({**base, "qty": "many"}, CONTEXT)
    with pytest.raises(MappingProblem, match=r"\$\.seq is missing"):
        mapper({k: v for k, v in base.items() if k != "seq"}, CONTEXT)


def test_each_maps_every_item_of_a_list_and_names_the_bad_one():
    mapper = compile_inbound(
        {"domain": "product", "each": "$.data.items", "key": "sku", "fields": {"name": "n"}}
    )
    items = [{"sku": "A", "n": "a"}, {"sku": "B", "n": "b"}]
    assert [c["key"] for c in mapper({"data": {"items": items}}, CONTEXT)] == ["A", "B"]
    with pytest.raises(MappingProblem, match=r"\$\.data\.items\[1\]: \$\.sku is missing"):
        mapper({"data": {"items": [items[0], {"n": "x"}]}}, CONTEXT)
    with pytest.raises(MappingProblem, match="is not a list"):
        mapper({"data": {"items": {"sku": "A"}}}, CONTEXT)
    assert (
        compile_inbound({"domain": "product", "each": "$.xs?", "key": "k", "fields": {"a": "a"}})({}, CONTEXT)
        == []
    )


def test_list_positions_index_into_lists():
    mapper = compile_inbound(
        {"domain": "order", "key": "$.orders.0.id", "fields": {"first": "$.orders.-1.id"}}
    )
    [change] = mapper({"orders": [{"id": "O-1"}, {"id": "O-2"}]}, CONTEXT)
    assert change["key"] == "O-1" and change["fields"] == {"first": "O-2"}


def test_a_function_gets_the_payload_and_context_and_what_it_raises_is_a_mapping_problem():
    mapper = compile_inbound("fixtures.mappings:shop_order")
    [change] = mapper({"id": "S-1", "line_items": []}, WebhookContext("shop", "w", "shopify"))
    assert change["fields"]["channel"] == "shop"
    with pytest.raises(
        MappingProblem, match=r"fixtures.mappings:shop_order raised ValueError: \$\.id is missing"
    ):
        mapper({}, CONTEXT)
    one = compile_inbound("fixtures.mappings:as_sent")
    assert one({"changes": {"domain": "order"}}, CONTEXT) == [
        {"domain": "order"}
    ]  # one dict is a list of one
    with pytest.raises(MappingProblem, match="returned str, not a list of changes"):
        one({"changes": "x"}, CONTEXT)


def test_changes_without_ids_take_the_webhook_id_then_id_n_and_given_ids_are_kept():
    raw = [
        {"domain": "tracking", "key": "T1", "fields": {"status": "in_transit"}},
        {"id": "evt-carrier-9", "domain": "tracking", "key": "T1", "fields": {"status": "delivered"}},
        {"domain": "tracking", "key": "T2", "fields": {"status": "in_transit"}},
        {"domain": "tracking", "key": "T3", "fields": {"status": "in_transit"}},
    ]
    assert [c.id for c in changes_of(raw, "wh_7")] == ["wh_7", "evt-carrier-9", "wh_7:2", "wh_7:3"]


def test_changes_the_envelope_refuses_name_every_place():
    raw = [
        {"domain": "stock", "key": "", "fields": {}},
        "x",
        {"domain": "order", "key": "O", "fields": {}, "x": 1},
    ]
    with pytest.raises(Unmappable) as info:
        changes_of(raw, "wh")
    paths = [e["path"] for e in info.value.problem.errors]
    assert paths == ["changes[0].domain", "changes[0].key", "changes[1]", "changes[2].x"]
    assert info.value.code == "unmappable_webhook"


@pytest.mark.parametrize(
    ("scheme", "headers", "body", "webhook_id", "seen"),
    [
        (
            "shopify",
            {"X-Shopify-Topic": "orders/create"},
            b'{"type": "ignored"}',
            "w1",
            ("w1", "orders/create"),
        ),
        ("stripe", {}, b'{"id": "evt_1", "type": "product.updated"}', None, ("evt_1", "product.updated")),
        ("standard-webhooks", {}, b'{"type": "stock.changed"}', "msg_1", ("msg_1", "stock.changed")),
        ("standard-webhooks", {}, b"[1]", None, ("sha256-" + hashlib.sha256(b"[1]").hexdigest()[:32], None)),
    ],
)
def test_the_mapping_sees_the_webhook_id_and_topic_of_its_scheme(scheme, headers, body, webhook_id, seen):
    got: list[tuple[str, str | None]] = []

    def mapper(payload, context):
        got.append((context.webhook_id, context.topic))
        return []

    receiver = Receiver("wms", scheme, (b"k",), mapper)
    assert receiver.decode(body, webhook_id, headers) == (seen[0], [])
    assert got == [seen]


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**64 - 1)
    | st.floats(allow_nan=False)
    | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=5), inner, max_size=5)
    ),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.one_of(json_values.map(orjson.dumps), st.binary(max_size=200)), st.sampled_from(SPECS))
def test_any_body_ends_in_changes_or_unmappable_never_another_error(body, spec):
    receiver = Receiver("shop", "stripe", (b"k",), compile_inbound(spec))
    try:
        webhook_id, changes = receiver.decode(body, None, {})
    except Unmappable as exc:
        assert exc.code in ("invalid_json", "unmappable_webhook") and exc.problem.message
        return
    assert all(c.id.startswith(webhook_id) for c in changes)
