"""The simulated EDI retailer against a real hub (folders in tmp_path, the hub's file service and X12
routes): its 850s are answered with 997s, its broken file rejected and its resent interchange
refused; the hub's 846, 855 and 856 reach it and its 997s close the hub's tracking. Without a hub:
it rejects a malformed document of the hub's with its own 997."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fixtures.sim_hub import sim_hub, until
from logisync.edi.envelope import parse
from logisync.edi.sets import order_ack_855
from logisync.edi.writer import Envelope, OutboundSet, Party, write_interchange
from logisync.sim.clock import SimClock
from logisync.sim.edi_invariant import edi_exchange
from logisync.sim.edi_retailer import Counters, SimEdiRetailer
from logisync.sim.faults import EdiFaults
from logisync.sim.wms import SimWms
from logisync.store.edi_exchange import EdiLedger

COMPRESSION = 1200.0


def exchange(tmp_path: Path, faults: EdiFaults | None, work: Callable[..., Any]) -> None:
    """A hub with a WMS and the retailer; `work(retailer, wms, store)` runs while they are up."""

    async def go() -> None:
        clock = SimClock(COMPRESSION)
        wms = SimWms("wms", clock=clock, pick_delay=60, ship_delay=120)
        retailer = SimEdiRetailer(
            "retailer", clock=clock, faults=faults, folder=tmp_path / "retailer", poll=60
        )
        async with sim_hub(tmp_path, {"wms": wms, "retailer": retailer}) as hub:  # type: ignore[dict-item]
            await wms.receive("SKU-1", "DC1", 20)
            await wms.receive("SKU-2", "DC1", 5)
            await until(lambda: retailer.levels == {"SKU-1": 20, "SKU-2": 5})  # the hub's 846
            await work(retailer, wms, hub.store)

    asyncio.run(go())


def settled(retailer: SimEdiRetailer, wms: SimWms, store: Any, shipments: int) -> Callable[[], bool]:
    def check() -> bool:
        groups = EdiLedger(store).groups(partner="retailer")
        asns = sum(len(o.asns) for o in retailer.orders.values())
        return (
            len(wms.view("shipment")) == shipments
            and asns == shipments
            and all(o.ack is not None for o in retailer.orders.values())
            and not retailer.busy()
            and all(g.state == "accepted" for g in groups)
        )

    return check


def test_a_po_is_acknowledged_shipped_and_announced(tmp_path: Path) -> None:
    async def work(retailer: SimEdiRetailer, wms: SimWms, store: Any) -> None:
        assert await retailer.place_order([("SKU-2", 6)]) is None  # the 846 said 5
        number = await retailer.place_order([("SKU-1", 3), ("SKU-2", 2)])
        assert number == "BM000001" and retailer.may_order("SKU-2") == 3
        await until(settled(retailer, wms, store, 1))
        [sent] = retailer.interchanges.values()
        assert (sent.ack, sent.ta1, sent.order) == ("A", [], number)
        order = retailer.orders[number]
        assert order.ack == "AD"
        assert [(li["line_no"], li["sku"], li["quantity"]) for li in order.ack_lines] == [
            (1, "SKU-1", 3),
            (2, "SKU-2", 2),
        ]
        [(key, asn)] = order.asns.items()
        assert key == f"SH-{number}-1" and asn["order_number"] == number
        assert [(li["sku"], li["quantity"]) for li in asn["packages"][0]["lines"]] == [
            ("SKU-1", 3),
            ("SKU-2", 2),
        ]
        record = store.get_record("order", number)
        assert record.fields["channel"] == "retailer" and record.fields["status"] == "shipped"
        [entry] = [e for e in store.record_log("order", number) if e.system == "retailer"]
        assert f"#{sent.control:09d}/" in entry.source
        groups = EdiLedger(store).groups(partner="retailer")
        assert {code for g in groups for code, _ in g.sets} == {"846", "855", "856"}
        assert (
            retailer.problems == []
            and retailer.stats["acks_sent"] == retailer.stats["interchanges_received"] - 1
        )
        verdict = edi_exchange(store, retailer, wms)
        assert verdict.passed, verdict.evidence

    exchange(tmp_path, None, work)


def test_a_broken_file_is_rejected_and_a_resent_interchange_applied_once(tmp_path: Path) -> None:
    faults = EdiFaults(bad_files_at=[0.0], duplicates_at=[0.0], late_acks=0.5, ack_delay=600)

    async def work(retailer: SimEdiRetailer, wms: SimWms, store: Any) -> None:
        first = await retailer.place_order([("SKU-1", 1)])  # sent broken
        second = await retailer.place_order([("SKU-1", 2)])  # sent, then sent again
        await until(settled(retailer, wms, store, 2))
        bad, again, corrected = sorted(retailer.interchanges.values(), key=lambda s: s.control)
        assert (bad.order, bad.bad, bad.ack, bad.ack_codes) == (first, True, "R", ["4"])
        assert (corrected.order, corrected.bad, corrected.ack) == (first, False, "A")
        assert (again.order, again.resends, again.ack, again.ta1) == (second, 1, "A", [("R", "025")])
        assert retailer.stats["acks_late"] > 0
        [rejected] = store.list_exceptions(kind="edi_rejected")
        assert "SE01" in rejected.reason or "segment" in rejected.reason
        [duplicate] = store.list_exceptions(kind="edi_duplicate")
        assert f"interchange {again.control:09d}" in duplicate.reason
        for number, control in ((first, corrected.control), (second, again.control)):
            entries = [e for e in store.record_log("order", number) if e.system == "retailer"]
            assert [f"#{control:09d}/" in e.source for e in entries] == [True]
        verdict = edi_exchange(store, retailer, wms)
        assert verdict.passed, verdict.evidence

    exchange(tmp_path, faults, work)


def test_a_retailer_that_sends_no_997s_fails_the_check(tmp_path: Path) -> None:
    async def work(retailer: SimEdiRetailer, wms: SimWms, store: Any) -> None:
        await retailer.place_order([("SKU-1", 1)])
        await until(lambda: any(o.asns for o in retailer.orders.values()) and not retailer.busy())
        waiting = [g for g in EdiLedger(store).groups(partner="retailer") if g.state != "accepted"]
        assert waiting and retailer.stats["acks_withheld"] > 0
        verdict = edi_exchange(store, retailer, wms)
        assert not verdict.passed
        assert {e["check"] for e in verdict.evidence} == {"hub_group_acknowledged"}

    exchange(tmp_path, EdiFaults(no_acks=1.0), work)


def _hubs_file(sets: list[OutboundSet], numbers: Counters, sender: str = "LOGISYNCHUB") -> bytes:
    envelope = Envelope("hub", Party("ZZ", sender), Party("ZZ", "BIGMART"), release="4010")
    return write_interchange(envelope, sets, numbers).data


def test_the_retailer_rejects_a_malformed_document_with_its_own_997(tmp_path: Path) -> None:
    async def go() -> None:
        retailer = SimEdiRetailer("retailer", clock=SimClock(60), folder=tmp_path)
        await retailer.start()
        numbers = Counters()
        try:
            order = {"lines": [{"line_no": 1, "sku": "SKU-1", "quantity": 2}]}
            from datetime import UTC, datetime

            ack = order_ack_855.write("BM000001", order, datetime(2026, 11, 29, tzinfo=UTC))
            broken = re.sub(
                rb"SE\*(\d+)\*", lambda m: b"SE*%d*" % (int(m[1]) + 2), _hubs_file([ack], numbers)
            )
            (retailer.outbox / "hub-855.x12").write_bytes(broken)
            retailer.poll()
            [answer] = list(retailer.inbox.iterdir())
            ic = parse(answer.read_bytes()).interchanges[0]
            rows = [s.elements for g in ic.groups for t in g.sets for s in t.segments]
            assert ["AK5", "R", "4"] in rows and rows[-1][:2] == ["AK9", "R"]
            assert (ic.sender, ic.receiver) == ("BIGMART", "LOGISYNCHUB")
            assert retailer.stats["rejected_855"] == 1 and retailer.view("order") == {}
            answer.unlink()
            # the same interchange again (same sender, same ISA13): answered TA1 025, not taken twice
            (retailer.outbox / "hub-855-again.x12").write_bytes(broken)
            retailer.poll()
            [answer] = list(retailer.inbox.iterdir())
            assert [t.elements[4:] for t in parse(answer.read_bytes()).interchanges[0].ta1] == [["R", "025"]]
            assert retailer.stats["duplicates_received"] == 1 and retailer.stats["rejected_855"] == 1
            answer.unlink()
            # a file that is not from the hub: the envelope is refused with a TA1
            (retailer.outbox / "other.x12").write_bytes(_hubs_file([ack], numbers, sender="SOMEONEELSE"))
            retailer.poll()
            [answer] = list(retailer.inbox.iterdir())
            ic = parse(answer.read_bytes()).interchanges[0]
            assert [t.elements[4:] for t in ic.ta1] == [["R", "006"]]
            assert any("SOMEONEELSE" in p for p in retailer.problems)
            answer.unlink()
            # a 997 for a group it never sent is noted, not taken
            body = [["AK1", "PO", "99"], ["AK2", "850", "0001"], ["AK5", "A"], ["AK9", "A", "1", "1", "1"]]
            (retailer.outbox / "ack.x12").write_bytes(_hubs_file([OutboundSet("997", body)], numbers))
            retailer.poll()
            assert retailer.problems[-1] == "997 0003: group '99' is not one of ours"
            assert list(retailer.inbox.iterdir()) == []  # a 997 is not acknowledged
        finally:
            await retailer.stop()

    asyncio.run(go())
