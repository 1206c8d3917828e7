"""Trading partners in the sync map: ids, version, sets, acknowledgment expectations; errors with
file and line; `logisync check` shows them."""

from __future__ import annotations

import pytest
from rich.console import Console

from logisync.config import parse_syncmap
from logisync.console.syncmap_view import show_syncmap
from logisync.errors import ConfigError

GOOD = """\
systems:
  wms: {kind: wms}
  acme:
    kind: edi_partner
    connector: edi
    edi:
      partner: {qualifier: ZZ, id: ACMESUPPLY}
      us: {qualifier: "01", id: "123456789", group_id: LOGISYNC}
      version: 4010
      sends: [846, 856, 944]
      receives: ["855", "856", "940"]
      acknowledgments: {overdue: 12h}
      outbox: /srv/edi/acme/out
      location: ACME-DC
      timezone: America/Chicago
"""


def test_a_partner_loads_with_its_defaults():
    edi = parse_syncmap(GOOD, "hub.yaml", env={}).systems["acme"].edi
    assert edi is not None
    assert (edi.partner.qualifier, edi.partner.id, edi.us.group_id) == ("ZZ", "ACMESUPPLY", "LOGISYNC")
    assert (edi.version, edi.usage, edi.sends, edi.receives) == (
        "4010",
        "P",
        ["846", "856", "944"],
        ["855", "856", "940"],
    )
    acks = edi.acknowledgments
    assert acks.due_after("940") == 12 * 3600
    assert acks.due_after("856") == 4 * 3600  # the 856's own default, unless `sets` names it
    assert edi.item_qualifiers[0] == "SK" and edi.delimiters.segment == "~"


def test_per_set_acknowledgment_times():
    text = GOOD.replace("{overdue: 12h}", '{sets: {"856": 2h, "940": 30m}}')
    acks = parse_syncmap(text, "hub.yaml", env={}).systems["acme"].edi.acknowledgments  # type: ignore[union-attr]
    assert (acks.due_after("856"), acks.due_after("940"), acks.due_after("855")) == (7200, 1800, 86400)


@pytest.mark.parametrize(
    ("old", "new", "problem"),
    [
        ("qualifier: ZZ", "qualifier: QQ", "hub.yaml:7: systems.acme.edi.partner.qualifier: 'QQ' is not an interchange id qualifier"),
        ("id: ACMESUPPLY", "id: ACME*SUPPLY", "hub.yaml:7: systems.acme.edi.partner.id: String should match pattern"),
        ("version: 4010", "version: 3060", "hub.yaml:9: systems.acme.edi.version: Input should be '4010' or '5010'"),
        ("sends: [846, 856, 944]", "sends: [846, 810]", "hub.yaml:10: systems.acme.edi.sends[1]: Input should be"),
        ("{overdue: 12h}", '{sets: {"846": 1h}}', "hub.yaml:12: systems.acme.edi.acknowledgments.sets.846: 846 is not a set this partner receives from us (receives: 855, 856, 940)"),
        ("timezone: America/Chicago", "timezone: Mars/Olympus", "hub.yaml:15: systems.acme.edi.timezone: 'Mars/Olympus' is not an IANA time zone"),
        ("kind: edi_partner", "kind: erp", "hub.yaml:6: systems.acme.edi: an `edi` section is for kind edi_partner, not erp"),
    ],
)  # fmt: skip
def test_a_wrong_partner_names_file_line_and_key(old, new, problem):
    with pytest.raises(ConfigError) as caught:
        parse_syncmap(GOOD.replace(old, new), "hub.yaml", env={})
    assert problem in str(caught.value)


def test_two_partners_with_one_interchange_id_are_refused():
    twin = (
        GOOD
        + "  zenith:\n    kind: edi_partner\n    edi: {partner: {qualifier: ZZ, id: ACMESUPPLY}, us: {qualifier: ZZ, id: HUB}}\n"
    )
    with pytest.raises(
        ConfigError,
        match=r"hub.yaml:18: systems.zenith.edi.partner: zenith and acme have the same interchange id ZZ/ACMESUPPLY",
    ):
        parse_syncmap(twin, "hub.yaml", env={})


def test_check_shows_the_partners():
    console = Console(record=True, width=200)
    show_syncmap(console, parse_syncmap(GOOD, "hub.yaml", env={}), "hub.yaml")
    out = console.export_text()
    assert "EDI trading partners" in out
    row = next(line for line in out.splitlines() if "ZZ/ACMESUPPLY" in line)
    for part in (
        "acme",
        "01/123456789 (GS LOGISYNC)",
        "4010 (production)",
        "846, 856, 944, 997",
        "855, 856, 940, 997",
        "12h",
        "/srv/edi/acme/out",
    ):
        assert part in row, part
    assert "856: 4h" in out
