"""X12 from a trading partner through the real pipeline and store (both stores): envelope checks,
997s and TA1s in the outbox, sets rejected whole with an exception, duplicate interchanges not
applied twice; our groups tracked until their 997, rejected or overdue ones opening exceptions."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from logisync.config import parse_syncmap
from logisync.edi.ack import build_997
from logisync.edi.envelope import parse
from logisync.edi.sets import inventory_846, shipping_order_940
from logisync.edi.writer import Envelope, OutboundSet, Party, write_interchange
from logisync.partners.acks import check_overdue
from logisync.partners.inbound import receive
from logisync.partners.outbound import send_sets
from logisync.partners.outbox import MemoryOutbox
from logisync.pipeline import Pipeline
from logisync.store.control_numbers import ControlNumbers
from logisync.store.edi_exchange import EdiLedger

FIXTURES = Path(__file__).parents[1] / "fixtures" / "x12"
AT = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)
HOUR = 3600.0

SYNCMAP = """\
systems:
  wms: {kind: wms}
  acme:
    kind: edi_partner
    connector: edi
    edi:
      partner: {qualifier: ZZ, id: ACMESUPPLY}
      us: {qualifier: ZZ, id: LOGISYNCHUB}
      version: "4010"
      sends: ["846", "856", "944", "945"]
      receives: ["940", "856"]
      location: ACME-DC
owners:
  inventory.quantities: acme
  shipment: acme
  order.lines: wms
"""


@pytest.fixture
def syncmap():
    return parse_syncmap(SYNCMAP, "hub.yaml", env={})


class Clock:
    def __init__(self, at: datetime = AT) -> None:
        self.t = at.timestamp()

    def __call__(self) -> float:
        return self.t


def _receive(store, syncmap, data: bytes, outbox=None, clock=None, name="in.x12"):
    outbox = outbox if outbox is not None else MemoryOutbox()
    report = receive(
        data,
        partner="acme",
        syncmap=syncmap,
        pipeline=Pipeline(store, syncmap),
        store=store,
        outbox=outbox,
        name=name,
        clock=clock or Clock(),
    )
    return report, outbox


def _segments(data: bytes) -> list[list[str]]:
    parsed = parse(data)
    assert parsed.all_problems() == []
    ic = parsed.interchanges[0]
    rows = [seg.elements for seg in ic.ta1]
    for g in ic.groups:
        for s in g.sets:
            rows += [seg.elements for seg in s.segments]
    return rows


def _acme_file(store, sets: list[OutboundSet]) -> bytes:
    """A file as the partner writes it (its ids as sender), numbered from its own counter."""
    env = Envelope("acme-side", Party("ZZ", "ACMESUPPLY"), Party("ZZ", "LOGISYNCHUB"), release="4010")
    return write_interchange(env, sets, ControlNumbers(store), at=AT).data


def test_an_846_is_applied_and_answered_with_a_997(store, syncmap):
    data = (FIXTURES / "846_4010.x12").read_bytes()
    report, outbox = _receive(store, syncmap, data)
    [ic] = report.interchanges
    assert ic.state == "applied" and [(s.code, s.status, s.changes) for s in ic.sets] == [("846", "A", 2)]
    assert report.outcomes == {"applied": 2}
    rec = store.get_record("inventory", "SKU-1001@ACME-DC")
    assert rec is not None and rec.fields["on_hand"] == 120
    [entry] = store.record_log("inventory", "SKU-1001@ACME-DC")
    assert (entry.system, entry.source) == ("acme", "x12:in.x12#000000101/101/0001")
    [(name, ack)] = outbox.files.items()
    assert name == "acme-997-000000001.x12" and ic.acks == [f"memory:{name}"]
    assert _segments(ack) == [
        ["AK1", "IB", "101"],
        ["AK2", "846", "0001"],
        ["AK5", "A"],
        ["AK9", "A", "1", "1", "1"],
    ]
    assert parse(ack).interchanges[0].header[6].strip() == "LOGISYNCHUB"  # we send it, to the partner
    row = EdiLedger(store).interchange("ZZ/ACMESUPPLY", "101")
    assert row is not None and row.state == "applied" and row.detail["sets"] == [["846", "101", "0001", "A"]]


def test_the_same_interchange_again_is_not_applied_twice(store, syncmap):
    data = (FIXTURES / "846_4010.x12").read_bytes()
    _receive(store, syncmap, data)
    before = store.count_changes()
    report, outbox = _receive(store, syncmap, data.replace(b"*120*", b"*999*"))  # same sender + ISA13
    [ic] = report.interchanges
    assert ic.state == "duplicate" and ic.sets == []
    assert store.count_changes() == before
    assert store.get_record("inventory", "SKU-1001@ACME-DC").fields["on_hand"] == 120  # type: ignore[union-attr]
    [ack] = outbox.files.values()
    assert _segments(ack)[0][4:] == ["R", "025"]  # TA1: duplicate interchange control number
    [exc] = store.list_exceptions(kind="edi_duplicate")
    assert (
        exc.system == "acme"
        and "interchange 000000101 from ZZ/ACMESUPPLY (acme) was received before" in exc.reason
    )
    assert "it was not applied again" in exc.reason


def test_a_set_with_errors_is_rejected_whole_and_its_neighbour_applied(store, syncmap):
    good = inventory_846.write("DC1", [("SKU-1", {"on_hand": 5}), ("SKU-2", {"on_hand": 6})], "R1", AT)
    bad = inventory_846.write("DC1", [("SKU-3", {"on_hand": 7}), ("SKU-4", {"on_hand": 8})], "R2", AT)
    bad.segments[-2][1] = "99"  # SKU-4's QTY01: a qualifier the map does not read
    report, outbox = _receive(store, syncmap, _acme_file(store, [good, bad]))
    [ic] = report.interchanges
    assert [(s.control, s.status, s.changes) for s in ic.sets] == [("0001", "A", 2), ("0002", "R", 0)]
    assert store.get_record("inventory", "SKU-2@DC1") is not None
    assert store.get_record("inventory", "SKU-3@DC1") is None  # never a partial apply
    [ack] = outbox.files.values()
    rows = _segments(ack)
    assert ["AK3", "QTY", "7", "", "8"] in rows and ["AK4", "1", "", "7", "99"] in rows
    assert ["AK5", "R", "5"] in rows and rows[-1] == ["AK9", "P", "2", "2", "1"]
    [exc] = store.list_exceptions(kind="edi_rejected")
    assert exc.system == "acme"
    assert exc.reason.startswith(
        "846 0002 (group 1, interchange 000000001) from acme was rejected and not applied"
    )
    assert "QTY01" in exc.reason
    assert exc.detail is not None and exc.detail["ack"] == [
        ["AK2", "846", "0002"],
        ["AK3", "QTY", "7", "", "8"],
        ["AK4", "1", "", "7", "99"],
        ["AK5", "R", "5"],
    ]


@pytest.mark.parametrize(
    ("fixture", "ta1", "why"),
    [
        ("broken/truncated.x12", "023", "the file ends inside a segment"),
        ("broken/se_count.x12", None, "SE01"),
        ("broken/isa_iea_control.x12", "001", "IEA02"),
    ],
)
def test_broken_files_apply_nothing_and_open_an_exception(store, syncmap, fixture, ta1, why):
    report, outbox = _receive(store, syncmap, (FIXTURES / fixture).read_bytes())
    assert store.count_records() == 0 and report.outcomes == {}
    [ack] = outbox.files.values()
    rows = _segments(ack)
    if ta1:
        assert rows[0][0] == "TA1" and rows[0][4:] == ["R", ta1]
    assert next(r for r in rows if r[0] == "AK5")[:2] == ["AK5", "R"]
    exceptions = store.list_exceptions(kind="edi_rejected")
    assert exceptions and any(why in e.reason for e in exceptions)


def test_a_file_from_another_sender_is_rejected(store, syncmap):
    data = (FIXTURES / "846_4010.x12").read_bytes().replace(b"ACMESUPPLY     ", b"SOMEONEELSE    ")
    report, outbox = _receive(store, syncmap, data)
    assert report.interchanges[0].state == "rejected" and store.count_records() == 0
    assert _segments(next(iter(outbox.files.values())))[0][4:] == ["R", "006"]
    [exc] = store.list_exceptions(kind="edi_rejected")
    assert "not from acme (ZZ/ACMESUPPLY)" in exc.reason


def test_not_x12_at_all_opens_an_exception(store, syncmap):
    report, outbox = _receive(store, syncmap, b"sku,qty\nSKU-1,4\n", name="stock.edi")
    assert report.interchanges == [] and report.problems and outbox.files == {}
    [exc] = store.list_exceptions(kind="edi_rejected")
    assert exc.reason.startswith("stock.edi from acme is not X12")


# -- our groups and the partner's 997s (issue 6, item 5) -----------------------------------------


def _order(n: int) -> OutboundSet:
    return shipping_order_940.write(f"SO-{n}", {"lines": [{"line_no": 1, "sku": "SKU-1", "quantity": 2}]})


def _partners_997(store, ours: bytes, reject: bool = False) -> bytes:
    """The partner's 997 for our file, as its own software would build it."""
    [group] = parse(ours).interchanges[0].groups
    if reject:
        from logisync.edi.problems import Code, Problem

        tset = group.sets[0]
        tset.problems.append(Problem(Code.element_invalid_code, "bad", 5, "W01", 4, set_position=4))
    return _acme_file(store, [OutboundSet("997", build_997(group))])


def test_a_997_settles_our_group(store, syncmap):
    outbox = MemoryOutbox()
    written, where = send_sets(
        "acme", [_order(1), _order(2)], syncmap=syncmap, store=store, outbox=outbox, at=AT
    )
    assert where == "memory:acme-out-000000001.x12"
    ledger = EdiLedger(store)
    [group] = ledger.groups(partner="acme")
    assert (group.state, group.functional_id, group.sets) == (
        "waiting",
        "OW",
        [["940", "0001"], ["940", "0002"]],
    )
    assert group.due_us - group.sent_us == 24 * 3600 * 1_000_000
    report, _ = _receive(store, syncmap, _partners_997(store, written.data))
    assert report.interchanges[0].notes == []
    settled = ledger.group("acme", group.control)
    assert settled is not None and settled.state == "accepted" and settled.detail["status"] == "A"
    assert store.list_exceptions(kind="edi_ack_rejected") == []


def test_a_rejected_997_opens_an_exception(store, syncmap):
    written, _ = send_sets("acme", [_order(1)], syncmap=syncmap, store=store, outbox=MemoryOutbox(), at=AT)
    _receive(store, syncmap, _partners_997(store, written.data, reject=True))
    assert EdiLedger(store).group("acme", 1).state == "rejected"  # type: ignore[union-attr]
    [exc] = store.list_exceptions(kind="edi_ack_rejected")
    assert exc.system == "acme"
    assert "acme rejected our group OW 1 (interchange 000000001): 940 0001: AK5 R 5" in exc.reason
    assert "W01 at 4 (AK304 8; element 4 AK403 7)" in exc.reason


def test_overdue_acknowledgments_open_one_exception_each(store, syncmap):
    send_sets("acme", [_order(1)], syncmap=syncmap, store=store, outbox=MemoryOutbox(), at=AT)
    ship = {"packages": [{"package_id": "P1", "lines": [{"sku": "SKU-1", "quantity": 1}]}]}
    from logisync.edi.sets import ship_notice_856

    written, _ = send_sets(
        "acme",
        [ship_notice_856.write("SH-1", ship, AT)],
        syncmap=syncmap,
        store=store,
        outbox=MemoryOutbox(),
        at=AT,
    )
    us = int(AT.timestamp() * 1_000_000)
    assert check_overdue(store, us + int(3.9 * HOUR * 1e6)) == 0
    assert check_overdue(store, us + int(4.1 * HOUR * 1e6)) == 1  # the 856 is due within 4 h
    assert check_overdue(store, us + int(5 * HOUR * 1e6)) == 0  # once per group
    assert check_overdue(store, us + int(25 * HOUR * 1e6)) == 1  # the 940 within 24 h
    reasons = sorted(e.reason for e in store.list_exceptions(kind="edi_ack_overdue"))
    assert len(reasons) == 2 and "has not acknowledged our group SH 2" in reasons[1]
    assert "sets 856 0002) sent 4.1 h ago, 0.1 h past its due time" in reasons[1]
    # a late 997 still settles the group
    _receive(store, syncmap, _partners_997(store, written.data))
    assert EdiLedger(store).group("acme", 2).state == "accepted"  # type: ignore[union-attr]


def test_a_997_for_a_group_we_never_sent_is_noted(store, syncmap):
    [group] = parse((FIXTURES / "997_4010.x12").read_bytes()).interchanges[0].groups
    report, _ = _receive(
        store, syncmap, _acme_file(store, [OutboundSet("997", [s.elements for s in group.sets[0].segments])])
    )
    assert report.interchanges[0].notes == ["997 0001: answers group 7001, which we did not send to acme"]


def _partners_ta1(store, interchange: str, status: str, note: str) -> bytes:
    """An interchange holding only a TA1 about one of ours, as the partner's translator sends it."""
    env = Envelope("acme-side", Party("ZZ", "ACMESUPPLY"), Party("ZZ", "LOGISYNCHUB"), release="4010")
    ta1 = ["TA1", interchange, "261128", "0930", status, note]
    return write_interchange(env, [], ControlNumbers(store), at=AT, ta1=ta1).data


def test_a_ta1_rejecting_our_interchange_rejects_its_groups_with_one_exception(store, syncmap):
    written, _ = send_sets("acme", [_order(1)], syncmap=syncmap, store=store, outbox=MemoryOutbox(), at=AT)
    send_sets("acme", [_order(2)], syncmap=syncmap, store=store, outbox=MemoryOutbox(), at=AT)
    [ic] = parse(written.data).interchanges
    report, outbox = _receive(store, syncmap, _partners_ta1(store, ic.control, "R", "008"))
    assert report.interchanges[0].notes == [] and outbox.files == {}  # nothing owed back for a TA1
    ledger = EdiLedger(store)
    rejected = ledger.group("acme", 1)
    assert rejected is not None and rejected.state == "rejected"
    assert rejected.detail == {
        "status": "R",
        "ta1": ["TA1", ic.control, "261128", "0930", "R", "008"],
        "note": "invalid interchange receiver ID",
    }
    assert ledger.group("acme", 2).state == "waiting"  # type: ignore[union-attr]  # another interchange
    [exc] = store.list_exceptions(kind="edi_ack_rejected")
    assert exc.system == "acme"
    assert exc.reason.startswith(
        "acme rejected our interchange 000000001 (TA1 R 008: invalid interchange receiver ID); "
        "its groups OW 1 were not taken"
    )
    again, _ = _receive(store, syncmap, _partners_ta1(store, ic.control, "R", "008"), name="again.x12")
    assert again.interchanges[0].notes == [
        "TA1: interchange 000000001 rejected, but its groups were already acknowledged"
    ]
    assert len(store.list_exceptions(kind="edi_ack_rejected")) == 1


@pytest.mark.parametrize(
    ("status", "note", "notes"),
    [
        ("A", "000", []),
        (
            "E",
            "020",
            ["TA1: acme accepted our interchange 000000001 with errors: 020 (invalid test indicator)"],
        ),
    ],
)
def test_a_ta1_accepting_our_interchange_leaves_its_groups_to_their_997(store, syncmap, status, note, notes):
    written, _ = send_sets("acme", [_order(1)], syncmap=syncmap, store=store, outbox=MemoryOutbox(), at=AT)
    [ic] = parse(written.data).interchanges
    report, _ = _receive(store, syncmap, _partners_ta1(store, ic.control, status, note))
    assert report.interchanges[0].notes == notes
    assert EdiLedger(store).group("acme", 1).state == "waiting"  # type: ignore[union-attr]
    assert store.list_exceptions(kind="edi_ack_rejected") == []


def test_a_ta1_for_an_interchange_we_never_sent_is_noted(store, syncmap):
    report, _ = _receive(store, syncmap, _partners_ta1(store, "000000042", "R", "006"))
    assert report.interchanges[0].notes == [
        "TA1: answers interchange 000000042, which we did not send to acme"
    ]
    assert store.list_exceptions(kind="edi_ack_rejected") == []


def test_the_hub_checks_overdue_acknowledgments_on_its_schedule(store, syncmap):
    import asyncio

    from logisync.delivery.dispatcher import Dispatcher

    send_sets("acme", [_order(1)], syncmap=syncmap, store=store, outbox=MemoryOutbox(), at=AT)
    clock = Clock(AT)
    clock.t += 25 * HOUR  # the injected clock: a day and an hour after we sent it

    async def run() -> None:
        stop = asyncio.Event()
        dispatcher = Dispatcher(store, [], syncmap=syncmap, clock=clock, sla_every=0.01)
        task = asyncio.create_task(dispatcher.run(stop))
        for _ in range(500):
            if store.list_exceptions(kind="edi_ack_overdue"):
                break
            await asyncio.sleep(0.01)
        stop.set()
        await task

    asyncio.run(run())
    [exc] = store.list_exceptions(kind="edi_ack_overdue")
    assert "acme has not acknowledged our group OW 1" in exc.reason


BROKEN_SETS = sorted((FIXTURES / "sets" / "broken").glob("*.x12"))


@pytest.mark.parametrize("path", BROKEN_SETS, ids=lambda p: p.stem)
def test_every_broken_set_fixture_applies_nothing_and_opens_an_exception(store, path, tmp_path):
    text = SYNCMAP.replace(
        'sends: ["846", "856", "944", "945"]', 'sends: ["214", "846", "850", "856", "944", "945"]'
    )
    text = text.replace("      location: ACME-DC\n", "")
    data = path.read_bytes()
    ic = parse(data).interchanges[0]
    sender = f"{ic.sender_qualifier}/{ic.sender}"
    # each fixture comes from its own partner id: let this partner be it
    text = text.replace(
        "{qualifier: ZZ, id: ACMESUPPLY}", f"{{qualifier: '{ic.sender_qualifier}', id: '{ic.sender}'}}"
    )
    partners = parse_syncmap(text, "hub.yaml", env={})
    from logisync.partners.inbound import receive_path

    file = tmp_path / path.name
    file.write_bytes(data)
    outbox = MemoryOutbox()
    report = receive_path(
        file, partner="acme", pipeline=Pipeline(store, partners), store=store, outbox=outbox
    )
    [result] = report.interchanges
    assert result.sender == sender and [s.status for s in result.sets] == ["R"]
    assert store.count_records() == 0 and report.outcomes == {}
    [exc] = store.list_exceptions(kind="edi_rejected")
    assert (
        exc.reason.startswith(f"{ic.groups[0].sets[0].code} ")
        and "was rejected and not applied" in exc.reason
    )
    assert exc.detail is not None and exc.detail["file"] == path.name
    assert exc.detail["ack"][-1][:2] == ["AK5", "R"] and exc.detail["ack"][0][0] == "AK2"
    [ack] = outbox.files.values()
    assert _segments(ack)[-1][:2] == ["AK9", "R"]


# -- routes that send X12 ----------------------------------------------------------------------

ROUTED = """\
systems:
  wms: {{kind: wms}}
  acme:
    kind: edi_partner
    connector: edi
    edi:
      partner: {{qualifier: ZZ, id: ACMESUPPLY}}
      us: {{qualifier: ZZ, id: LOGISYNCHUB}}
      receives: ["846", "940"]
      outbox: {outbox}
owners:
  inventory.quantities: wms
  order.fulfillment: wms
routes:
  - {{name: stock-to-acme, domain: inventory, to: acme, format: x12-846, batch: 50}}
"""


def test_a_route_sends_an_846_to_the_partners_outbox_and_tracks_it(store, tmp_path):
    import asyncio

    from logisync.delivery.dispatcher import Dispatcher
    from logisync.domain.change import Change

    hub = parse_syncmap(ROUTED.format(outbox=tmp_path / "out"), "hub.yaml", env={})
    changes = [
        Change(id=f"c{i}", domain="inventory", key=f"SKU-{i}@DC{i % 2 + 1}", fields={"on_hand": 10 * i})
        for i in range(1, 5)
    ]
    Pipeline(store, hub).ingest("wms", changes)
    dispatcher = Dispatcher.for_syncmap(hub, store, {})
    [worker] = dispatcher.workers
    assert asyncio.run(worker.drain()) == 4
    [written] = list((tmp_path / "out").iterdir())
    ic = parse(written.read_bytes()).interchanges[0]
    assert parse(written.read_bytes()).all_problems() == []
    [group] = ic.groups
    positions = {}
    for tset in group.sets:
        location = next(s[4] for s in tset.segments if s.tag == "N1")
        sku = None
        for seg in tset.segments:
            if seg.tag == "LIN":
                sku = seg[3]
            elif seg.tag == "QTY":
                positions[f"{sku}@{location}"] = int(seg[2])
    assert positions == {"SKU-1@DC2": 10, "SKU-2@DC1": 20, "SKU-3@DC2": 30, "SKU-4@DC1": 40}
    [tracked] = EdiLedger(store).groups(partner="acme")
    assert tracked.state == "waiting" and tracked.functional_id == "IB" and len(tracked.sets) == 2
    assert store.count_outbox().get(("stock-to-acme", "delivered")) == 4


@pytest.mark.parametrize(
    ("route", "problem"),
    [
        ("{name: r, domain: inventory, to: acme, format: x12-810}", "routes[0].format: 'x12-810' is not an X12 format the hub writes"),
        ("{name: r, domain: order, to: acme, format: x12-846}", "routes[0].format: an 846 carries inventory records; this route carries order"),
        ("{name: r, domain: shipment, to: acme, format: x12-856}", "routes[0].format: acme does not receive 856 sets (its `receives`: 846, 940)"),
        ("{name: r, domain: inventory, to: wms, format: x12-846}", "routes[0].format: wms has no `edi` section"),
    ],
)  # fmt: skip
def test_x12_routes_are_checked_when_the_map_loads(route, problem, tmp_path):
    from logisync.errors import ConfigError

    text = ROUTED.format(outbox=tmp_path).replace(
        "{name: stock-to-acme, domain: inventory, to: acme, format: x12-846, batch: 50}", route
    )
    with pytest.raises(ConfigError, match=re.escape(problem)):
        parse_syncmap(text, "hub.yaml", env={})


def test_status_shows_our_groups_by_their_997(store, syncmap):
    from rich.console import Console

    from logisync.console.status import gather, tables

    for n in (1, 2):
        send_sets("acme", [_order(n)], syncmap=syncmap, store=store, outbox=MemoryOutbox(), at=AT)
    check_overdue(store, int(AT.timestamp() * 1e6) + int(25 * HOUR * 1e6))
    figures = gather(store, syncmap)
    assert figures["edi_groups"] == {"acme": {"overdue": 2}}
    console = Console(record=True, width=150)
    for table in tables(figures):
        console.print(table)
    row = next(line for line in console.export_text().splitlines() if line.startswith("│ acme"))
    cells = [c.strip() for c in row.split("│")[1:-1]]
    assert cells == ["acme", "0", "0", "0", "0", "2"]  # waiting, accepted, partial, rejected, overdue
