"""`systems.NAME.webhooks` in the sync map: signing with one secret or a rotation, the mapping checked at load."""

from __future__ import annotations

import textwrap

import pytest

from logisync.config import parse_syncmap
from logisync.errors import ConfigError

BASE = """\
systems:
  wms:
    kind: wms
    signing: {secret_env: HUB_TO_WMS}
    webhooks:
{webhooks}
owners:
  inventory.quantities: wms
"""


def load(webhooks: str):
    text = BASE.replace("{webhooks}", textwrap.indent(textwrap.dedent(webhooks), " " * 6))
    return parse_syncmap(text, "hub.yaml", env={})


def problems(webhooks: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load(webhooks)
    return str(info.value).splitlines()


def test_webhooks_and_the_outbound_signing_are_separate_sections():
    syncmap = load("""\
        signing: {scheme: shopify, secret_env: WMS_WEBHOOK_SECRET}
        mapping: "fixtures.mappings:shop_order"
    """)
    system = syncmap.systems["wms"]
    assert system.signing is not None and system.signing.secret_env == "HUB_TO_WMS"
    assert system.webhooks is not None and system.webhooks.signing.scheme == "shopify"
    assert system.webhooks.signing.env_names == ["WMS_WEBHOOK_SECRET"]


def test_a_rotation_lists_several_variables_the_current_one_first():
    syncmap = load("""\
        signing: {secret_envs: [NEW_SECRET, OLD_SECRET]}
        mapping: {domain: inventory, key: $.key, fields: {on_hand: $.qty}}
    """)
    signing = syncmap.systems["wms"].webhooks.signing
    assert signing.scheme == "standard-webhooks" and signing.env_names == ["NEW_SECRET", "OLD_SECRET"]


@pytest.mark.parametrize(
    "signing",
    [
        "{scheme: stripe}",
        "{secret_env: A, secret_envs: [B]}",
        "{secret_envs: []}",
        "{scheme: md5, secret_env: A}",
    ],
)
def test_signing_needs_exactly_one_way_to_name_its_secrets(signing):
    found = problems(f"signing: {signing}\nmapping: 'fixtures.mappings:shop_order'\n")
    assert all(line.startswith("hub.yaml:") and "systems.wms.webhooks.signing" in line for line in found), (
        found
    )


@pytest.mark.parametrize(
    ("mapping", "says"),
    [
        ("'fixtures.no_such_module:f'", "cannot import 'fixtures.no_such_module'"),
        ("'fixtures.mappings:NOT_A_FUNCTION'", "has no function 'NOT_A_FUNCTION'"),
        ("'fixtures.mappings.shop_order'", "is not written 'package.module:function'"),
        ("{domain: stock, key: $.k, fields: {a: $.a}}", "domain 'stock' is not a domain"),
        ("{domain: inventory, fields: {a: $.a}}", "needs 'key'"),
        ("{domain: inventory, key: $.k, fields: {a: $.a | bool}}", "unknown conversion 'bool'"),
        ("{domain: inventory, key: $.k, fields: {a: $.a}, when: x}", "unknown key 'when'"),
        ("{domain: inventory, key: '{}', fields: {a: $.a}}", "not a path"),
    ],
)
def test_a_mapping_that_cannot_work_is_refused_at_load_naming_its_line(mapping, says):
    [line] = problems(f"signing: {{secret_env: S}}\nmapping: {mapping}\n")
    assert line.startswith("hub.yaml:7: systems.wms.webhooks.mapping: ") and says in line, line


def test_the_outbound_signing_refuses_a_scheme_the_hub_does_not_sign_with_and_says_where_it_belongs():
    text = "systems:\n  shop:\n    kind: marketplace\n    signing: {scheme: shopify, secret_env: S}\n"
    with pytest.raises(ConfigError) as info:
        parse_syncmap(text, "hub.yaml", env={})
    [line] = str(info.value).splitlines()
    assert line.startswith("hub.yaml:4: systems.shop.signing.scheme: ") and "goes in webhooks.signing" in line
