"""The `edi_exchange` invariant: a trading partner's X12 exchange with the hub closed, document by document.

It reads the simulated retailer's own state (`sim/edi_retailer.py`: what it sent, what answered,
the 855s and 856s it received), the hub's store (the change log, its ledger of outbound groups)
and the WMS's shipments, and holds when:

- every interchange the retailer sent was answered: a good 850 with a 997 accepting its set
  (AK5 `A`), a broken file with a 997 rejecting it with the code of what is broken (AK5 `R`,
  `4` for a wrong SE01), a copy sent again with the same ISA13 with a TA1 `R` `025`;
- the hub applied each accepted interchange once and nothing of a rejected or repeated one (its
  change log's entries name the interchange: `x12:FILE#ISA13/GS06/ST02`);
- every PO the hub holds got an 855 whose lines are the PO's (line, SKU, units);
- every shipment the WMS made for one of its POs reached it as an 856 with the same units per
  SKU, and it received no 856 the WMS did not ship;
- every group the hub sent it was acknowledged (the hub's ledger: `accepted`), and it found
  nothing wrong in the hub's files (envelopes, control numbers, a duplicate ISA13).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from ..store.edi_exchange import EdiLedger
from .edi_retailer import CODES_BAD_FILE, SimEdiRetailer
from .invariants import Verdict, Viewed, verdict


def edi_exchange(store: Any, retailer: SimEdiRetailer, wms: Viewed) -> Verdict:
    problems: list[dict[str, Any]] = []
    name = retailer.name
    applied: Counter[int] = Counter()
    for number in retailer.orders:
        for entry in store.record_log("order", number):
            if entry.system == name and "#" in (entry.source or ""):
                applied[_control(entry.source)] += 1
    for control, sent in sorted(retailer.interchanges.items()):
        where = {"interchange": control, "order": sent.order, "purpose": sent.purpose}
        if sent.bad:
            if sent.ack != "R" or sent.ack_codes[:1] != CODES_BAD_FILE:
                problems.append(
                    {**where, "check": "bad_file_rejected", "ack": sent.ack, "codes": sent.ack_codes}
                )
        elif sent.ack != "A":
            problems.append(
                {**where, "check": "accepted", "ack": sent.ack, "codes": sent.ack_codes, "ta1": sent.ta1}
            )
        if sent.resends and sent.ta1.count(("R", "025")) != sent.resends:
            problems.append({**where, "check": "duplicate_refused", "resends": sent.resends, "ta1": sent.ta1})
        want = 0 if sent.bad else 1
        if applied[control] != want:
            problems.append({**where, "check": "applied_once", "applied": applied[control], "expected": want})
    shipped: dict[str, dict[str, Counter[str]]] = {}
    for key, shipment in wms.view("shipment").items():
        if shipment.get("order_number") in retailer.orders:
            shipped.setdefault(shipment["order_number"], {})[key] = _units(shipment)
    for number, order in sorted(retailer.orders.items()):
        record = store.get_record("order", number)
        if record is None:
            problems.append({"check": "order_at_hub", "order": number})
            continue
        lines = [(int(li["line_no"]), li["sku"], int(li["quantity"])) for li in order.lines]
        acked = [(int(li["line_no"]), li["sku"], int(li["quantity"])) for li in order.ack_lines]
        if order.ack is None or acked != lines:
            problems.append(
                {"check": "855", "order": number, "ordered": lines, "855": order.ack, "lines": acked}
            )
        ships = shipped.get(number, {})
        for key, units in sorted(ships.items()):
            asn = order.asns.get(key)
            if asn is None or _units(asn) != units:
                problems.append(
                    {
                        "check": "856",
                        "order": number,
                        "shipment": key,
                        "shipped": dict(units),
                        "856": None if asn is None else dict(_units(asn)),
                    }
                )
        for key in sorted(set(order.asns) - set(ships)):
            problems.append({"check": "856_unshipped", "order": number, "shipment": key})
    for group in EdiLedger(store).groups(partner=name):
        if group.state != "accepted":
            problems.append(
                {
                    "check": "hub_group_acknowledged",
                    "group": group.control,
                    "sets": group.sets,
                    "state": group.state,
                }
            )
    for problem in retailer.problems:
        problems.append({"check": "hub_files", "problem": problem})
    interchanges = len(retailer.interchanges)
    asns = sum(len(o.asns) for o in retailer.orders.values())
    return verdict(
        "edi_exchange",
        problems,
        f"{name}: {interchanges} interchanges answered as they should be, {len(retailer.orders)} POs each "
        f"acknowledged by an 855, {asns} 856s matching what the WMS shipped",
        f"{name}: {len(problems)} documents not exchanged as they should be",
    )


def _control(source: str) -> int:
    """The ISA13 in a change's source (`x12:FILE#000000007/7/0001`)."""
    tail = source.rsplit("#", 1)[1].split("/", 1)[0]
    return int(tail) if tail.isdigit() else -1


def _units(shipment: dict[str, Any]) -> Counter[str]:
    units: Counter[str] = Counter()
    for package in shipment.get("packages") or []:
        for line in package.get("lines") or []:
            units[line["sku"]] += int(line["quantity"])
    return units
