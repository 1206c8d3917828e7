"""The `files` section of a system in the sync map: errors name the file, the line and the key."""

from __future__ import annotations

import pytest

from logisync.config import parse_syncmap
from logisync.errors import ConfigError

BASE = """\
systems:
  erp:
    kind: erp
    files:
{files}
"""


def load(files: str):
    return parse_syncmap(BASE.format(files=files), "hub.yaml", env={})


def problems(files: str) -> str:
    with pytest.raises(ConfigError) as caught:
        load(files)
    return str(caught.value)


def test_a_sound_files_section_loads():
    syncmap = load(
        "      inbox: {folder: /tmp/in, schedule: '*/5 * * * *', settle: 2s}\n"
        "      outbox: {folder: /tmp/out, sftp: {host: h, user: u, key_path_env: ERP_KEY}}\n"
        "      imports: [{name: s, domain: inventory, format: csv, fields: {sku: A, location: B, on_hand: {from: C, type: int}}}]\n"
        "      exports: [{name: e, domain: inventory, format: csv, schedule: '@daily', columns: {A: sku}}]\n"
    )
    files = syncmap.systems["erp"].files
    assert files.inbox.settle == 2.0 and files.outbox.sftp.port == 22
    assert files.imports[0].fields["sku"].from_ == "A"


def test_a_field_that_is_not_in_the_domain_names_the_line():
    message = problems(
        "      imports:\n"
        "        - {name: s, domain: inventory, format: csv, fields: {sku: A, location: B, colour: C}}\n"
    )
    assert message.startswith("hub.yaml:6: systems.erp.files.imports[0]:")
    assert "'colour' is not a field of inventory" in message


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        ("      inbox: {folder: /x, schedule: often}\n", "schedule 'often' is not a cron expression"),
        (
            "      exports: [{name: e, domain: inventory, format: csv, schedule: '@daily', columns: {A: sku}}]\n",
            "exports need an `outbox",
        ),
        ("      outbox: {folder: /x, sftp: {host: h, user: u}}\n", "name password_env or key_path_env"),
        ("      outbox: {folder: /x, sftp: {host: h, user: u, password: hunter2}}\n", "password"),
        (
            "      outbox: {folder: /x}\n      exports: [{name: e, domain: order, format: csv, schedule: '@daily', filename: ../e.csv}]\n",
            "must be a plain file name",
        ),
        (
            "      imports: [{name: a, domain: product, format: json, fields: {sku: x, name: y}}, {name: a, domain: product, format: json, fields: {sku: x, name: y}}]\n",
            "two imports are called 'a'",
        ),
    ],
)
def test_what_is_wrong_is_said(files, expected):
    assert expected in problems(files)


def test_a_field_may_not_translate_ids_the_hub_already_translates():
    text = (
        "systems:\n  erp:\n    kind: erp\n    xref: {sku: item_number}\n    files:\n      imports:\n"
        "        - {name: s, domain: inventory, format: csv, fields: {sku: {from: A, xref: sku}, location: B, on_hand: {from: C, type: int}}}\n"
    )
    with pytest.raises(
        ConfigError,
        match=r"hub.yaml:2: systems.erp: files.imports\[s\].fields.sku: the hub already translates this system's sku ids",
    ):
        parse_syncmap(text, "hub.yaml", env={})
