"""The sync map loader: located errors, env overrides, and nothing but ConfigError for bad input."""

from __future__ import annotations

import string
import textwrap

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logisync.config import load_syncmap, parse_syncmap
from logisync.config.loader import OWNER_SHAPE
from logisync.errors import ConfigError

BASE = """\
systems:
  wms: {kind: wms}
  erp: {kind: erp}
owners:
  product: erp
  inventory.quantities: wms
routes:
  - {name: stock-to-erp, domain: inventory, to: erp}
"""


def problems(text: str, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_syncmap(textwrap.dedent(text), "hub.yaml", env=env or {})
    return str(info.value).splitlines()


def test_a_good_map_loads_with_defaults():
    syncmap = parse_syncmap(BASE, "hub.yaml", env={})
    assert syncmap.store == "sqlite:///logisync.db"
    assert syncmap.api.port == 8400
    assert syncmap.idempotency_window == 7 * 86400
    assert syncmap.routes[0].cadence == "realtime"
    assert syncmap.routes[0].mode == "live"


def test_an_empty_file_is_an_empty_map():
    assert parse_syncmap("", "hub.yaml", env={}).systems == {}


def test_unknown_key_names_its_line_and_path():
    text = """\
    systems:
      wms:
        kind: wms
        colour: blue
    """
    assert problems(text) == ["hub.yaml:4: systems.wms.colour: unknown key"]


def test_every_problem_is_reported_at_once():
    text = """\
    systems:
      wms: {kind: wms}
    owners:
      product: erp
      inventory.colour: wms
    routes:
      - {name: a, domain: inventory, to: wms}
      - {name: a, domain: inventory, to: shop}
    """
    assert problems(text) == [
        "hub.yaml:4: owners.product: unknown system 'erp' (known: wms)",
        "hub.yaml:5: owners.inventory.colour: owner of 'inventory.colour': inventory has no field or "
        "field group 'colour' (known: adjust, allocated, counted_at, inbound, on_hand, quantities, uom)",
        "hub.yaml:8: routes[1].name: duplicate route name 'a' (first at routes[0])",
        "hub.yaml:8: routes[1].to: unknown system 'shop' (known: wms)",
    ]


def test_schema_errors_point_into_lists():
    text = """\
    systems:
      wms: {kind: wms}
    routes:
      - name: a
        domain: inventory
        to: wms
        sla: soon
        cadence: "61 * * * *"
    """
    assert problems(text) == [
        "hub.yaml:8: routes[0].cadence: cadence '61 * * * *' is neither 'realtime' nor a cron expression",
        "hub.yaml:7: routes[0].sla: 'soon' is not a duration (write e.g. 30s, 5m, 2h, 3d)",
    ]


def test_unknown_domain_and_kind():
    text = """\
    systems:
      wms: {kind: warehouse}
    owners:
      stock: wms
    """
    found = problems(text)
    assert found[0].startswith("hub.yaml:2: systems.wms.kind: Input should be 'wms', 'erp'")
    assert len(found) == 1  # the cross-checks run once the schema is right


def test_owner_rule_of_the_wrong_shape_is_one_message():
    assert problems("owners:\n  product: [erp]\n") == [f"hub.yaml:2: owners.product: {OWNER_SHAPE}"]
    text = """\
    systems: {erp: {kind: erp}}
    owners:
      product: {system: erp, on_conflict: maybe}
    """
    assert problems(text) == ["hub.yaml:3: owners.product.on_conflict: Input should be 'reject' or 'propose'"]


def test_bad_yaml_names_the_line():
    assert problems("systems:\n  wms: {kind: wms\nowners: {}\n") == [
        "hub.yaml:3: not valid YAML: expected ',' or '}', but got ':'"
    ]


def test_a_route_filter_its_domain_cannot_match_is_refused():
    text = BASE + (
        "  - {name: skus-of-orders, domain: order, to: erp, filter: {key_prefix: [SO-], sku_prefix: [A]}}\n"
        "  - {name: dcs-of-products, domain: product, to: erp, filter: {location: [DC1]}}\n"
        "  - {name: skus-of-dcs, domain: location, to: erp, filter: {sku: [A], location: [DC1]}}\n"
        "  - {name: a-wave, domain: inventory, to: erp, filter: {sku: [A], sku_prefix: [B], location: [DC1]}}\n"
        "  - {name: some-orders, domain: order, to: erp, filter: {key_prefix: [SO-]}}\n"
    )
    assert problems(text) == [
        "hub.yaml:9: routes[1].filter.sku_prefix: filter 'sku_prefix' can never match: order keys carry "
        "no SKU (order routes can filter on: key_prefix)",
        "hub.yaml:10: routes[2].filter.location: filter 'location' can never match: product keys carry "
        "no location (product routes can filter on: key_prefix, sku_prefix, sku)",
        "hub.yaml:11: routes[3].filter.sku: filter 'sku' can never match: location keys carry no SKU "
        "(location routes can filter on: key_prefix, location)",
    ]


def test_a_route_filter_on_a_field_its_domain_lacks_is_refused():
    text = BASE + (
        "  - {name: lines-of-orders, domain: order, to: erp, filter: {fields: [lines, backordered_by_line]}}\n"
        "  - {name: typo, domain: order, to: erp, filter: {fields: [lines, line]}}\n"
        "  - {name: none, domain: order, to: erp, filter: {fields: []}}\n"
    )
    found = problems(text)
    assert found[0].startswith("hub.yaml:11: routes[3].filter.fields: List should have at least 1 item")
    assert len(found) == 1  # a schema error stops before the cross-checks
    found = problems(text.replace("filter: {fields: []}", "echo: true"))
    assert len(found) == 2
    assert found[1] == (
        "hub.yaml:11: routes[3].echo: echo sends erp's own changes back to it: give the route a "
        "filter.fields (what it should hear back, like an order's lines for an 855), or a system that "
        "reports what it is sent would loop"
    )
    assert found[0].startswith(
        "hub.yaml:10: routes[2].filter.fields[1]: order has no field 'line' (its fields: "
    )
    assert "backordered_by_line" in found[0] and "lines" in found[0]


def test_a_repeated_key_is_refused_not_overwritten():
    assert problems("systems: {wms: {kind: wms}, wms: {kind: erp}}\n") == [
        "hub.yaml:1: systems: duplicate key 'wms' (first at line 1)"
    ]


def test_repeated_keys_are_found_anywhere_and_all_reported():
    text = """\
    store: sqlite:///a.db
    systems:
      wms: {kind: wms}
      erp: {kind: erp}
      "wms": {kind: erp}
    store: sqlite:///b.db
    routes:
      - name: stock-to-erp
        domain: inventory
        to: erp
        filter: {sku: [A], sku: [B]}
        name: again
    """
    assert problems(text) == [
        "hub.yaml:5: systems: duplicate key 'wms' (first at line 3)",
        "hub.yaml:6: (top): duplicate key 'store' (first at line 1)",
        "hub.yaml:11: routes[0].filter: duplicate key 'sku' (first at line 11)",
        "hub.yaml:12: routes[0]: duplicate key 'name' (first at line 8)",
    ]


def test_a_key_overriding_a_merged_one_is_not_a_duplicate():
    text = "x-wms: &wms {kind: wms}\nsystems:\n  wms: {<<: *wms, kind: erp}\n"
    assert problems(text) == ["hub.yaml:1: x-wms: unknown key"]  # the merge itself is fine


def test_a_list_at_the_top_is_not_a_map():
    assert problems("- wms\n") == ["hub.yaml:1: the sync map must be a mapping (systems:, owners:, routes:)"]


def test_load_reads_the_file_and_names_it(tmp_path):
    path = tmp_path / "hub.yaml"
    path.write_text(BASE.replace("  product: erp\n", "  product: erp\n  return: nobody\n"))
    with pytest.raises(ConfigError, match=r"hub\.yaml:6: owners.return: unknown system 'nobody'"):
        load_syncmap(path, env={})


def test_load_of_a_missing_file(tmp_path):
    with pytest.raises(ConfigError, match=r"missing\.yaml: cannot read the sync map: No such file"):
        load_syncmap(tmp_path / "missing.yaml", env={})


def test_load_of_a_directory(tmp_path):
    with pytest.raises(ConfigError, match="cannot read the sync map"):
        load_syncmap(tmp_path, env={})


def test_load_of_a_binary_file(tmp_path):
    path = tmp_path / "hub.yaml"
    path.write_bytes(b"\xff\xfe\x00systems")
    with pytest.raises(ConfigError, match="not UTF-8 text"):
        load_syncmap(path, env={})


# -- environment overrides -----------------------------------------------------------------------


def test_env_overrides_a_top_level_key():
    syncmap = parse_syncmap(BASE, env={"LOGISYNC__STORE": "postgresql://pg@db/hub"})
    assert syncmap.store == "postgresql://pg@db/hub"


def test_env_values_are_read_as_yaml_and_sections_are_created():
    env = {"LOGISYNC__API__PORT": "9000", "LOGISYNC__LIMITS__MAX_BATCH": "50"}
    syncmap = parse_syncmap(BASE, env=env)
    assert (syncmap.api.port, syncmap.limits.max_batch) == (9000, 50)


def test_env_reaches_into_a_system():
    syncmap = parse_syncmap(BASE, env={"LOGISYNC__SYSTEMS__WMS__URL": "https://wms.example"})
    assert syncmap.systems["wms"].url == "https://wms.example"


def test_env_fills_a_section_written_as_null():
    assert parse_syncmap("api:\n", env={"LOGISYNC__API__PORT": "1"}).api.port == 1


def test_other_variables_are_ignored():
    syncmap = parse_syncmap(BASE, env={"LOGISYNC_STORE": "x", "STORE": "y", "LOGISYNC__": "z"})
    assert syncmap.store == "sqlite:///logisync.db"


def test_a_bad_env_value_is_checked_like_the_file():
    found = problems(BASE, env={"LOGISYNC__API__PORT": "many"})
    assert found == [
        "hub.yaml:1: api.port: Input should be a valid integer, unable to parse string as an integer"
    ]


def test_env_value_that_is_not_yaml():
    assert problems(BASE, env={"LOGISYNC__STORE": "{"}) == [
        "LOGISYNC__STORE: the value is not valid YAML: expected the node content, but found '<stream end>'"
    ]


def test_env_key_under_a_scalar():
    text = "store: sqlite:///hub.db\n" + BASE
    assert problems(text, env={"LOGISYNC__STORE__PATH": "x"}) == [
        "LOGISYNC__STORE__PATH: store is not a section, so it has no key 'path'"
    ]
    # when the file leaves it out, the override makes a section, which the schema then refuses
    assert problems(BASE, env={"LOGISYNC__STORE__PATH": "x"}) == [
        "hub.yaml:1: store: Input should be a valid string"
    ]


# -- properties: whatever the input, a ConfigError or a sync map, never another exception -----------

names = st.text(alphabet=string.ascii_letters + string.digits + "._-@ ", max_size=30)
owner_keys = st.one_of(
    names,
    st.builds(
        lambda d, f: f"{d}.{f}",
        st.sampled_from(["product", "inventory", "order", "shipment", "tracking", "return", "x"]),
        st.sampled_from(["quantities", "on_hand", "lines", "fulfillment", "status", "pricing", "nope", ""]),
    ),
)
owner_values = st.one_of(
    st.sampled_from(["wms", "erp", "ghost"]),
    st.fixed_dictionaries(
        {"system": st.sampled_from(["wms", "erp", "ghost"])},
        optional={"on_conflict": st.sampled_from(["reject", "propose", "maybe"]), "extra": st.just(1)},
    ),
    st.integers(),
    st.none(),
    st.lists(st.text(max_size=3), max_size=2),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(owner_keys, owner_values, max_size=6))
def test_any_owner_rules_load_or_fail_with_config_error(owners):
    text = yaml.safe_dump({"systems": {"wms": {"kind": "wms"}, "erp": {"kind": "erp"}}, "owners": owners})
    try:
        syncmap = parse_syncmap(text, "hub.yaml", env={})
    except ConfigError as exc:
        assert all(line.startswith("hub.yaml:") for line in str(exc).splitlines())
    else:
        assert set(syncmap.owners) == set(owners)


env_names = st.lists(
    st.sampled_from(["STORE", "API", "PORT", "HOST", "SYSTEMS", "WMS", "URL", "ROUTES", "LIMITS", "X", ""]),
    min_size=1,
    max_size=4,
).map(lambda parts: "LOGISYNC__" + "__".join(parts))
env_values = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["9000", "{", "[1, 2]", "{a: 1}", "null", "''", "- x", ": :", "&a *a"]),
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(env_names, env_values, max_size=4))
def test_any_env_overrides_load_or_fail_with_config_error(env):
    try:
        parse_syncmap(BASE, "hub.yaml", env=env)
    except ConfigError as exc:
        assert str(exc)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=string.printable, max_size=120))
def test_any_text_loads_or_fails_with_config_error(text):
    try:
        parse_syncmap(text, "hub.yaml", env={})
    except ConfigError as exc:
        assert str(exc).startswith("hub.yaml")


def test_the_hubs_own_name_is_not_a_system_name():
    text = """\
    systems:
      logisync: {kind: erp}
    """
    assert problems(text) == [
        "hub.yaml:2: systems.logisync: 'logisync' is the hub's own name (for what it derives); "
        "name the system otherwise"
    ]


def test_the_atp_transform_belongs_on_inventory_routes():
    text = """\
    systems:
      shop: {kind: storefront}
    routes:
      - {name: a, domain: inventory, to: shop, transform: {atp: {safety_stock: 2, share: 0.5}}}
      - {name: b, domain: order, to: shop, transform: {atp: {}}}
    """
    assert problems(text) == [
        "hub.yaml:5: routes[1].transform.atp: the atp transform computes channel availability from "
        "inventory; this route carries order"
    ]


def test_an_atp_share_above_one_is_refused():
    text = """\
    systems:
      shop: {kind: storefront}
    routes:
      - {name: c, domain: inventory, to: shop, transform: {atp: {share: 1.5}}}
    """
    assert problems(text) == [
        "hub.yaml:4: routes[0].transform.atp.share: Input should be less than or equal to 1"
    ]


def test_a_route_mapping_may_name_a_python_function_checked_when_the_map_loads():
    text = BASE + "  - {name: by-function, domain: inventory, to: erp, mapping: 'fixtures.mappings:to_erp'}\n"
    [_, route] = parse_syncmap(text, "hub.yaml", env={}).routes
    assert route.mapping == "fixtures.mappings:to_erp"
    bad = BASE + (
        "  - {name: no-module, domain: inventory, to: erp, mapping: 'fixtures.no_such_module:to_erp'}\n"
        "  - {name: no-function, domain: inventory, to: erp, mapping: 'fixtures.mappings:NOT_A_FUNCTION'}\n"
        "  - {name: no-colon, domain: inventory, to: erp, mapping: 'fixtures.mappings.to_erp'}\n"
        "  - {name: bad-path, domain: inventory, to: erp, mapping: {sku: nowhere.sku}}\n"
    )
    found = problems(bad)
    assert [line.split(": ", 2)[:2] for line in found] == [
        ["hub.yaml:9", "routes[1].mapping"],
        ["hub.yaml:10", "routes[2].mapping"],
        ["hub.yaml:11", "routes[3].mapping"],
        ["hub.yaml:12", "routes[4].mapping"],
    ]
    assert "cannot import 'fixtures.no_such_module'" in found[0]
    assert "has no function 'NOT_A_FUNCTION'" in found[1]
    assert "is not written 'package.module:function'" in found[2]
    assert "nowhere" in found[3]
