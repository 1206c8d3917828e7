"""The shadow comparison, pure: leaves by path, the field-level difference, the read's request."""

from __future__ import annotations

import pytest

from logisync.config import parse_syncmap
from logisync.delivery.readback import difference, leaves
from logisync.errors import ConfigError


def test_leaves_walk_objects_and_keep_lists_and_empty_objects_whole():
    assert leaves({"a": 1, "b": {"c": [1, 2], "d": {}}}) == {"a": 1, "b.c": [1, 2], "b.d": {}}


def test_the_difference_names_each_path_with_both_values():
    body = {"sku": "A", "qty": 5, "meta": {"active": True, "tags": ["x"]}}
    current = {"sku": "A", "qty": 6, "meta": {"active": 1, "tags": ["x"]}, "other": 9}
    assert difference(body, current, None) == {
        "qty": {"hub": 5, "target": 6},
        "meta.active": {"hub": True, "target": 1},  # JSON's true is not 1
    }
    assert difference(body, {}, None)["sku"] == {"hub": "A", "target": None}
    assert difference(body, current, ["sku", "meta.tags"]) == {}  # only what `compare` lists
    assert difference(body, current, ["other"]) == {"other": {"hub": None, "target": 9}}


def test_a_read_url_must_say_where_the_key_goes():
    base = "systems:\n  shop:\n    kind: marketplace\n    read: {url: %s}\n"
    with pytest.raises(ConfigError, match=r"hub.yaml:4: systems.shop.read.url:.*write \{key\}"):
        parse_syncmap(base % "'https://shop.example/stock'", "hub.yaml", env={})
    with pytest.raises(ConfigError, match="only \\{key\\} may be written in braces"):
        parse_syncmap(base % "'https://shop.example/{sku}/{key}'", "hub.yaml", env={})
    ok = parse_syncmap(base % "'https://shop.example/stock/{key}'", "hub.yaml", env={})
    assert ok.systems["shop"].read is not None
