"""A simulated EDI retailer: a trading partner's X12 translator behind a folder drop (AS2 or SFTP).

It orders from us with 850 purchase orders, written (atomically) into the hub's watched folder
for it (`inbox`), under its own interchange ids and control numbers, with correct envelopes. It
reads what the hub writes to its outbox folder (`outbox`): 997s and TA1s for its orders, 846
inventory advice, 855 PO acknowledgments and 856 ship notices, and is an honest peer about them:

- every interchange is read by the X12 engine (`edi.envelope.parse`): the envelope's control
  numbers and counts, and that it comes from the hub (`hub_id`) to us (`isa_id`); an ISA13 of the
  hub's seen before is a duplicate and is not taken again;
- every functional group that is not a 997 is answered with our 997 (`edi.ack.acknowledge`,
  AK5 `R` with its codes for a set the engine finds broken, and a TA1 when the envelope is
  wrong), so the hub's acknowledgment tracking closes; a set it rejected is not taken;
- the hub's 997s and TA1s are matched to the interchanges and groups we sent: an 850 rejected
  (AK5 `R`) is corrected and sent again in a new interchange, once.

It keeps its own small state: the purchase orders sent (`orders`), the interchanges and what
answered each (`interchanges`), the latest 855 per order, the 856s per order, the 846 levels
(`levels`): it orders only what the hub last said it may (less what it ordered since), as a
retailer replenishing from a vendor's inventory advice does. Fault knobs (`EdiFaults`): outage
windows, broken files, an interchange sent twice with the same ISA13, late 997s, no 997s.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import re
import shutil
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..edi.ack import Acknowledgment, acknowledge, build_ta1, read_997
from ..edi.envelope import parse
from ..edi.interchange import Interchange, duplicate_key
from ..edi.problems import Code, Problem
from ..edi.sets import Context, order_ack_855, ship_notice_856
from ..edi.writer import Envelope, OutboundSet, Party, write_interchange
from ..partners.outbox import FolderOutbox
from .clock import SimClock
from .faults import EdiFaults

READS = ("846", "855", "856", "997")  # the sets it takes from the hub
CODES_BAD_FILE = ["4"]  # AK5 for an SE01 that does not count the set's segments


class Counters:
    """Control numbers of our own, each kind counted on its own, never handed out twice."""

    def __init__(self) -> None:
        self.last: Counter[str] = Counter()

    def allocate(self, partner: str, kind: str, count: int = 1) -> Sequence[int]:
        start = self.last[kind] + 1
        self.last[kind] += count
        return range(start, start + count)


@dataclass
class Sent:
    """One interchange we sent the hub, and what answered it."""

    control: int  # ISA13
    group: int  # GS06
    order: str  # the PO it carries
    purpose: str  # order, cancel
    name: str  # the file name in the hub's folder
    data: bytes
    bad: bool = False  # broken on purpose (the `bad_files` fault)
    resends: int = 0  # copies sent again with the same ISA13 (the `duplicate_interchanges` fault)
    ack: str | None = None  # AK5 of its set in the hub's 997
    ack_codes: list[str] = field(default_factory=list)
    ta1: list[tuple[str, str]] = field(default_factory=list)  # (TA1 status, note) per TA1 received


@dataclass
class Order:
    """A purchase order as the retailer sees it."""

    number: str
    lines: list[dict[str, Any]]  # line_no, sku, quantity
    cancelled: bool = False
    cancel_pending: bool = False  # asked before the hub accepted the PO: sent once its 997 does
    corrected: bool = False  # sent again after the hub rejected it
    ack: str | None = None  # BAK02 of the latest 855: AD, AC, RD
    ack_lines: list[dict[str, Any]] = field(default_factory=list)
    asns: dict[str, dict[str, Any]] = field(default_factory=dict)  # BSN02 -> shipment fields


class SimEdiRetailer:
    """A trading partner exchanging X12 through two folders (see the module docstring)."""

    kind = "edi_partner"

    def __init__(
        self,
        name: str = "retailer",
        *,
        clock: SimClock | None = None,
        faults: EdiFaults | None = None,
        seed: int = 0,
        folder: str | Path | None = None,
        isa_id: str = "BIGMART",
        qualifier: str = "ZZ",
        hub_id: str = "LOGISYNCHUB",
        version: str = "4010",
        po_prefix: str = "BM",
        poll: float = 120.0,
        unit_price: float = 9.5,
    ) -> None:
        import random

        self.name = name
        self.clock = clock or SimClock()
        self.faults = faults or EdiFaults()
        self.random = random.Random(seed)
        self.us = Party(qualifier, isa_id)
        self.hub = Party("ZZ", hub_id)
        self.version = version
        self.po_prefix = po_prefix
        self.poll_every = poll  # sim seconds between looks at the outbox folder
        self.unit_price = unit_price
        self.numbers = Counters()
        self.stats: Counter[str] = Counter()
        self.orders: dict[str, Order] = {}
        self.interchanges: dict[int, Sent] = {}  # by our ISA13
        self.levels: dict[str, int] = {}  # SKU -> what the hub's last 846 said we may order
        self.ordered_since: Counter[str] = Counter()  # units ordered since that 846
        self.seen: dict[tuple[str, str, str], str] = {}  # the interchanges we took (sender, ISA13) -> file
        self.problems: list[str] = []  # what we found wrong in the hub's files
        self._ids = itertools.count(1)
        self._outgoing: list[tuple[float, str, bytes]] = []  # (due sim time, file name, bytes)
        self._owned: Path | None = None
        self._task: asyncio.Task[None] | None = None
        self.folder = Path(folder) if folder is not None else None
        self.bad_at = list(self.faults.bad_files_at)
        self.duplicate_at = list(self.faults.duplicates_at)

    # -- the folders -----------------------------------------------------------------------------
    @property
    def inbox(self) -> Path:
        """Where the hub picks up our files (its `files.inbox` for us)."""
        assert self.folder is not None, "start() first"
        return self.folder / "to-hub"

    @property
    def outbox(self) -> Path:
        """Where the hub leaves its files for us (its `edi.outbox` for us)."""
        assert self.folder is not None, "start() first"
        return self.folder / "from-hub"

    def use_folder(self, folder: str | Path) -> None:
        if self.folder is None:
            self.folder = Path(folder)

    def edi_settings(self) -> dict[str, Any]:
        """The partner's `edi` section as the hub's sync map names it."""
        return {
            "partner": {"qualifier": self.us.qualifier, "id": self.us.id},
            "us": {"qualifier": self.hub.qualifier, "id": self.hub.id},
            "version": self.version,
            "sends": ["850"],
            "receives": ["846", "855", "856"],
            "outbox": str(self.outbox),
        }

    # -- lifecycle -------------------------------------------------------------------------------
    async def start(self, hub: Any = None) -> None:
        if self.folder is None:
            self._owned = Path(tempfile.mkdtemp(prefix=f"logisync-{self.name}-"))
            self.folder = self._owned
        self.inbox.mkdir(parents=True, exist_ok=True)
        self.outbox.mkdir(parents=True, exist_ok=True)
        self.url = str(self.inbox)
        self._task = asyncio.ensure_future(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        if self._owned is not None:
            shutil.rmtree(self._owned, ignore_errors=True)

    def quiesce(self) -> None:
        """Faults off from now on; late 997s still owed go out at the next look."""
        self.faults = EdiFaults()
        self.bad_at, self.duplicate_at = [], []
        self._outgoing = [(0.0, name, data) for _, name, data in self._outgoing]

    def busy(self) -> bool:
        """Files still travelling either way, or an 850 not yet answered."""
        if self._outgoing or _files(self.outbox) or _files(self.inbox):
            return True
        if any(o.cancel_pending for o in self.orders.values()):
            return True
        return any(s.ack is None and not s.ta1 for s in self.interchanges.values())

    def down(self) -> bool:
        return self.faults.active_outage(self.clock.elapsed())

    async def _run(self) -> None:
        while True:
            await self.clock.sleep(self.poll_every)
            self.poll()

    # -- ordering --------------------------------------------------------------------------------
    def may_order(self, sku: str) -> int:
        return max(0, self.levels.get(sku, 0) - self.ordered_since[sku])

    async def place_order(self, lines: list[tuple[str, int]]) -> str | None:
        """Order `lines` (SKU, units) when the hub's last 846 allows them; the PO number, or None."""
        if any(q > self.may_order(sku) for sku, q in lines):
            self.stats["orders_refused"] += 1
            return None
        number = f"{self.po_prefix}{next(self._ids):06d}"
        order = Order(number, [{"line_no": i, "sku": s, "quantity": q} for i, (s, q) in enumerate(lines, 1)])
        self.orders[number] = order
        for sku, q in lines:
            self.ordered_since[sku] += q
        self._send_order(order, "order")
        return number

    async def cancel(self, number: str) -> None:
        """An 850 with BEG01 `01`: the retailer asks us to cancel the order.

        Only for a PO the hub accepted (a 997 with AK5 `A`): until then the cancellation waits,
        as a buyer's EDI desk does not cancel a PO whose 850 may yet be rejected and corrected."""
        order = self.orders[number]
        order.cancelled = True
        if self._accepted(number):
            self._send_order(order, "cancel")
        else:
            order.cancel_pending = True

    def _accepted(self, number: str) -> bool:
        return any(
            s.ack == "A" for s in self.interchanges.values() if s.order == number and s.purpose == "order"
        )

    def _send_order(self, order: Order, purpose: str, clean: bool = False) -> Sent:
        now = self.clock.now()
        body: list[list[str]] = [
            ["BEG", "01" if purpose == "cancel" else "00", "SA", order.number, "", now.strftime("%Y%m%d")]
        ]
        body.append(["CUR", "BY", "USD"])
        for line in order.lines:
            body.append(
                [
                    "PO1",
                    str(line["line_no"]),
                    str(line["quantity"]),
                    "EA",
                    f"{self.unit_price:.2f}",
                    "",
                    "SK",
                    line["sku"],
                ]
            )
        body.append(["CTT", str(len(order.lines))])
        written = write_interchange(self._envelope(), [OutboundSet("850", body)], self.numbers, at=now)
        data = written.data
        at = self.clock.elapsed()
        bad = (
            not clean
            and purpose == "order"
            and (self._scripted(self.bad_at, at) or self._roll(self.faults.bad_files))
        )
        if bad:
            data = _break_segment_count(data)
            self.stats["bad_files_sent"] += 1
        sent = Sent(written.control, written.groups[0].control, order.number, purpose, "", data, bad)
        sent.name = f"{self.name}-850-{written.control:09d}.x12"
        self.interchanges[written.control] = sent
        self._drop(sent.name, data)
        self.stats["orders_sent" if purpose == "order" else "cancels_sent"] += 1
        if not bad and (
            self._scripted(self.duplicate_at, at) or self._roll(self.faults.duplicate_interchanges)
        ):
            sent.resends += 1  # the translator sends the same interchange again, a while later
            self._outgoing.append((at + self.poll_every * 3, f"{sent.name[:-4]}-again.x12", data))
            self.stats["duplicates_sent"] += 1
        return sent

    def _scripted(self, times: list[float], at: float) -> bool:
        if times and times[0] <= at:
            times.pop(0)
            return True
        return False

    def _roll(self, share: float) -> bool:
        return share > 0 and self.random.random() < share

    def _envelope(self) -> Envelope:
        return Envelope(self.name, self.us, self.hub, release=self.version)

    def _drop(self, name: str, data: bytes, due: float | None = None) -> None:
        """Hand a file to the transfer: now, or when `due` comes and no outage holds."""
        if due is None and not self.down():
            FolderOutbox(self.inbox).send(name, data)
            self.stats["files_sent"] += 1
        else:
            self._outgoing.append((due or 0.0, name, data))

    # -- reading the hub's files ---------------------------------------------------------------
    def poll(self) -> None:
        """One look: send what is due, then read every file the hub left, oldest interchange first."""
        if self.down():
            return
        now = self.clock.elapsed()
        due, self._outgoing = (
            [f for f in self._outgoing if f[0] <= now],
            [f for f in self._outgoing if f[0] > now],
        )
        for _, name, data in due:
            FolderOutbox(self.inbox).send(name, data)
            self.stats["files_sent"] += 1
        read = []
        for path in _files(self.outbox):
            data = path.read_bytes()
            done = self.outbox / "read"
            done.mkdir(exist_ok=True)
            path.replace(done / path.name)
            read.append((path.name, data))
        parsed = []
        for name, data in read:
            result = parse(data, supported=READS)
            if result.problems:
                self.problems.append(f"{name}: not X12 we can read: {result.problems[0]}")
                self.stats["files_unreadable"] += 1
            parsed += [(name, ic) for ic in result.interchanges]
        for name, ic in sorted(parsed, key=lambda item: _number(item[1].control)):
            self._interchange(name, ic)
        for sent in list(self.interchanges.values()):
            order = self.orders.get(sent.order)
            if sent.ack == "R" and order is not None and not order.corrected and sent.purpose == "order":
                order.corrected = True  # our EDI desk fixes the file and sends the PO again
                self._send_order(order, "order", clean=True)
                self.stats["orders_resent"] += 1
        for order in self.orders.values():
            if order.cancel_pending and self._accepted(order.number):
                order.cancel_pending = False
                self._send_order(order, "cancel")

    def _interchange(self, name: str, ic: Interchange) -> None:
        self.stats["interchanges_received"] += 1
        if (ic.sender_qualifier, ic.sender) != (self.hub.qualifier, self.hub.id):
            ic.problems.append(
                Problem(Code.isa_sender_id, f"ISA06 {ic.sender!r} is not the hub's id", 1, "ISA", 6)
            )
        if (ic.receiver_qualifier, ic.receiver) != (self.us.qualifier, self.us.id):
            ic.problems.append(
                Problem(Code.isa_receiver_id, f"ISA08 {ic.receiver!r} is not our id", 1, "ISA", 8)
            )
        key = duplicate_key(ic)
        if key in self.seen:  # the same interchange again: answered, never taken twice
            self.problems.append(f"{name}: interchange {ic.control} was received before ({self.seen[key]})")
            self.stats["duplicates_received"] += 1
            self._answer(name, Acknowledgment(ic, [*build_ta1(ic)[:4], "R", "025"]))
            return
        self.seen[key] = name
        for ta1 in ic.ta1:
            sent = self.interchanges.get(_number(ta1[1]))
            if sent is None:
                self.problems.append(f"{name}: a TA1 for interchange {ta1[1]}, which we did not send")
                continue
            sent.ta1.append((ta1[4], ta1[5]))
            self.stats[f"ta1_{ta1[4]}_{ta1[5]}"] += 1
        if ic.rejected:
            self.problems.append(f"{name}: {'; '.join(str(p) for p in ic.problems if p.fatal)}")
            self.stats["interchanges_rejected"] += 1
        ack = acknowledge(ic)
        for group in ic.groups:
            for tset in group.sets:
                if tset.rejected or group.rejected or ic.rejected:
                    self.stats[f"rejected_{tset.code}"] += 1
                    self.problems.append(f"{name}: {tset.code} {tset.control} rejected: {tset.problems[:1]}")
                    continue
                self.stats[f"received_{tset.code}"] += 1
                self._take(tset, ic, group.control)
        if ack.acks or ack.ta1:
            self._answer(name, ack)

    def _take(self, tset: Any, ic: Interchange, group: str) -> None:
        if tset.code == "997":
            response = read_997(tset)
            sent = next((s for s in self.interchanges.values() if s.group == _number(response.control)), None)
            if response.problems or sent is None or len(response.sets) != 1:
                why = "; ".join(response.problems) or f"group {response.control!r} is not one of ours"
                self.problems.append(f"997 {tset.control}: {why}")
                return
            sent.ack = response.sets[0].status
            sent.ack_codes = response.sets[0].codes
            return
        if tset.code == "846":
            sku = ""
            for seg in tset.segments:
                if seg.tag == "LIN":
                    sku = seg[3]
                elif seg.tag == "QTY" and seg[1] == "33" and sku:
                    self.levels[sku] = int(float(seg[2]))
                    self.ordered_since[sku] = 0
            return
        ctx = Context(self.name, ic.control, group)
        if tset.code == "855":
            mapped = order_ack_855.read(tset, ctx)
            bak = tset.segments[0]
            order = self.orders.get(bak[3])
            if order is None or not mapped.changes:
                self.problems.append(f"855 {tset.control}: for PO {bak[3]!r}, which we did not send")
                return
            order.ack = bak[2]
            order.ack_lines = mapped.changes[0].fields["lines"]
            return
        mapped = ship_notice_856.read(tset, ctx)
        shipment = next((c for c in mapped.changes if c.domain == "shipment"), None)
        order = self.orders.get(shipment.fields.get("order_number", "")) if shipment is not None else None
        if shipment is None or order is None:
            self.problems.append(f"856 {tset.control}: for no PO of ours")
            return
        fields = {k: v for k, v in shipment.fields.items() if k != "shipped_at"}  # minutes only in X12
        order.asns[shipment.key] = fields

    def _answer(self, name: str, ack: Any) -> None:
        """Our 997s (and the TA1 when owed) for one interchange of the hub's, now, late or never."""
        if self._roll(self.faults.no_acks):
            self.stats["acks_withheld"] += 1
            return
        sets = [OutboundSet("997", [list(s) for s in body]) for _, body in ack.acks]
        written = write_interchange(self._envelope(), sets, self.numbers, at=self.clock.now(), ta1=ack.ta1)
        file = f"{self.name}-997-{written.control:09d}.x12"
        late = self._roll(self.faults.late_acks)
        self.stats["acks_late" if late else "acks_sent"] += 1
        self._drop(file, written.data, self.clock.elapsed() + self.faults.ack_delay if late else None)

    # -- what the retailer believes -----------------------------------------------------------
    def view(self, domain: str) -> dict[str, dict[str, Any]]:
        """By canonical key: its 846 levels, the latest 855 per PO, the 856s it received."""
        if domain == "inventory":
            return {sku: {"available": n} for sku, n in self.levels.items()}
        if domain == "order":
            return {n: {"lines": o.ack_lines} for n, o in self.orders.items() if o.ack is not None}
        if domain == "shipment":
            return {key: asn for o in self.orders.values() for key, asn in o.asns.items()}
        return {}


def _files(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))


def _number(text: str) -> int:
    text = text.strip()
    return int(text) if text.isdigit() else -1


def _break_segment_count(data: bytes) -> bytes:
    """The file with its SE01 one off: what a translator with a bad map writes."""
    return re.sub(rb"(?m)^SE\*(\d+)\*", lambda m: b"SE*%d*" % (int(m.group(1)) + 1), data, count=1)
