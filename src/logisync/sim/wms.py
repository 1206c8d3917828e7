"""A simulated WMS: stock by SKU@location, orders from the hub picked, packed and shipped.

The hub sends orders as `{"order": {"number", "lines": [{"line_no", "sku", "quantity"}], ...}}`
(see mappings.wms_order). With `autopilot` on, each order is allocated at once, shipped
`ship_delay` sim seconds later (partially when short, or `short_ship_rate` of the time one unit
short of a line, as a mis-pick found at packing), and each tracking number handed to the attached
carrier. Every stock move, order status and shipment is sent to the hub as a webhook; a shipment
and the status of an order shipped carry `shipped_at` (sim time: when its latest parcel left), as a
WMS's ship confirmation does, which is what the hub's order KPIs measure by.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from aiohttp import web

from .carrier import SimCarrier
from .system import BadCall, SimSystem

STEPS = ("allocated", "picking", "packed", "shipped")


class SimWms(SimSystem):
    kind = "wms"

    def __init__(
        self,
        name: str = "wms",
        *,
        autopilot: bool = True,
        pick_delay: float = 300.0,
        ship_delay: float = 900.0,
        short_ship_rate: float = 0.0,
        return_delay: float = 3600.0,
        idempotent: bool = True,
        location: str = "DC1",
        **kw: Any,
    ) -> None:
        super().__init__(name, **kw)
        self.autopilot = autopilot
        self.pick_delay, self.ship_delay, self.short_ship_rate = pick_delay, ship_delay, short_ship_rate
        self.return_delay = return_delay
        self.idempotent = idempotent  # False: an order number sent again is a new order (a WMS bug)
        self.returns: dict[str, dict[str, Any]] = {}  # RMA -> order_number, lines, status
        self.location = location
        self.stock: dict[str, dict[str, int]] = {}  # "SKU@LOC" -> on_hand, allocated
        self.shrinkage: Counter[str] = Counter()  # SKU -> units counts and adjustments took
        self.lost_allocated: Counter[str] = Counter()  # SKU -> of those, units allocated to orders
        self.orders: dict[str, dict[str, Any]] = {}
        self.shipments: dict[str, dict[str, Any]] = {}
        self.carrier: SimCarrier | None = None

    def attach_carrier(self, carrier: SimCarrier) -> None:
        self.carrier = carrier

    def view(self, domain: str) -> dict[str, dict[str, Any]]:
        if domain == "inventory":
            return {key: dict(p) for key, p in self.stock.items()}
        if domain == "order":
            return {key: self._order_view(o) for key, o in self.orders.items()}
        if domain == "shipment":
            return {key: dict(s) for key, s in self.shipments.items()}
        if domain == "return":
            return {key: dict(r) for key, r in self.returns.items()}
        if domain == "shrinkage":  # the warehouse's own loss ledger (sim.invariants.no_oversell)
            return {
                sku: {"units": n, "allocated": self.lost_allocated[sku]}
                for sku, n in self.shrinkage.items()
                if n
            }
        return {}

    @staticmethod
    def _order_view(order: dict[str, Any]) -> dict[str, Any]:
        """What the WMS took from the hub: the lines, and whether it was told to cancel.

        Its own progress (status, units shipped per line) is what it reports, not what it holds
        of the hub's record: the hub's status moves on (delivered, returned) without the WMS."""
        lines = [{k: line[k] for k in ("line_no", "sku", "quantity")} for line in order["lines"]]
        return {"lines": lines, "cancel_requested": order.get("cancel_requested", False)}

    # -- stock ------------------------------------------------------------------------------------

    def _position(self, sku: str, location: str) -> dict[str, int]:
        return self.stock.setdefault(f"{sku}@{location}", {"on_hand": 0, "allocated": 0})

    async def _report(self, sku: str, location: str, reason: str) -> None:
        p = self._position(sku, location)
        payload = {
            "type": "stock.changed",
            "sku": sku,
            "site": location,
            "on_hand": p["on_hand"],
            "allocated": p["allocated"],
            "reason": reason,
            "at": self.clock.now().isoformat(),
        }
        await self.send("inventory", f"{sku}@{location}", payload)

    async def receive(self, sku: str, location: str, qty: int) -> None:
        if qty <= 0:
            raise ValueError(f"a receipt is of 1 or more units, not {qty}")
        self._position(sku, location)["on_hand"] += qty
        await self._report(sku, location, "receipt")

    async def adjust(self, sku: str, location: str, delta: int, reason: str) -> None:
        p = self._position(sku, location)
        self._set_on_hand(sku, p, max(p["allocated"], p["on_hand"] + delta))
        await self._report(sku, location, reason or "adjustment")

    async def count(self, sku: str, location: str, on_hand: int) -> None:
        """The shelf holds `on_hand`: units it lacks are shrinkage, and when it holds fewer than are
        allocated the newest orders lose their allocation first (they ship short, or wait)."""
        p = self._position(sku, location)
        self._set_on_hand(sku, p, max(0, on_hand))
        short = p["allocated"] - p["on_hand"]
        if short > 0:
            self.lost_allocated[sku] += short
            p["allocated"] = p["on_hand"]
        for order in reversed(self.orders.values()):
            if short <= 0 or location != self.location:
                break
            take = min(short, order["allocations"].get(sku, 0))
            if take and order["status"] not in ("shipped", "cancelled"):
                order["allocations"][sku] -= take
                if not order["allocations"][sku]:
                    del order["allocations"][sku]  # allocated again at its next step, if stock came
                short -= take
        await self._report(sku, location, "cycle_count")

    def _set_on_hand(self, sku: str, p: dict[str, int], on_hand: int) -> None:
        """A count or an adjustment: units it took off the shelf are shrinkage (see `view`)."""
        self.shrinkage[sku] += max(0, p["on_hand"] - on_hand)
        p["on_hand"] = on_hand

    # -- orders -------------------------------------------------------------------------------------

    async def handle(self, body: Any, request: web.Request) -> Any:
        if isinstance(body, dict) and isinstance(body.get("return"), dict):
            return self._take_return(body["return"])
        if not isinstance(body, dict) or not isinstance(body.get("order"), dict):
            raise BadCall("$", "the WMS takes {order: {number, lines}} or {return: {rma, lines}}")
        order = body["order"]
        number = order.get("number")
        if not isinstance(number, str) or not number:
            raise BadCall("order.number", "required, a non-empty string")
        lines = order.get("lines")
        if not isinstance(lines, list) or not lines:
            raise BadCall("order.lines", "a non-empty list of {line_no, sku, quantity}")
        checked = []
        for i, line in enumerate(lines):
            where = f"order.lines[{i}]"
            if not isinstance(line, dict) or not isinstance(line.get("sku"), str):
                raise BadCall(where, "a line is {line_no, sku, quantity}")
            qty = line.get("quantity")
            if isinstance(qty, bool) or not isinstance(qty, int) or qty < 0:
                raise BadCall(f"{where}.quantity", f"a whole number of units, not {qty!r}")
            checked.append({"line_no": line.get("line_no", i + 1), "sku": line["sku"], "quantity": qty})
        again = not self.idempotent and self.orders.get(number, {}).get("status") not in (None, "cancelled")
        if number in self.orders and not (again and order.get("status") != "cancelled"):
            if order.get("status") == "cancelled":
                self.orders[number]["cancel_requested"] = True
            if order.get("status") == "cancelled" and self.orders[number]["status"] not in (
                "shipped",
                "cancelled",
            ):
                await self._cancel(number)
            return {"number": number, "status": self.orders[number]["status"]}
        self.orders[number] = {"lines": checked, "status": "received", "allocations": {}}
        if order.get("status") == "cancelled":  # cancelled before it reached us: say so
            self.orders[number].update(status="cancelled", cancel_requested=True)
            self.spawn(self.send("order", number, self._order_payload(number)))
        if self.autopilot and order.get("status") != "cancelled":
            self.spawn(self._fulfil(number))
        return {"number": number, "status": "received"}

    async def _cancel(self, number: str) -> None:
        order = self.orders[number]
        for sku, n in order["allocations"].items():
            self._position(sku, self.location)["allocated"] -= n
        order["allocations"] = {}
        order["status"] = "cancelled"
        await self.send("order", number, self._order_payload(number))

    async def _fulfil(self, number: str) -> None:
        await self.advance(number, "allocated")
        await self.clock.sleep(self.pick_delay)
        await self.advance(number, "picked")
        await self.clock.sleep(max(0.0, self.ship_delay - self.pick_delay))
        await self.advance(number, "shipped")

    async def advance(
        self, order_key: str, status: str, lines: list[tuple[str, int]] | None = None
    ) -> str | None:
        """Move an order to `status` (allocated, picked, packed, shipped); shipping returns its shipment key.

        `lines` ships only those (sku, qty); otherwise what is allocated (short when stock was)."""
        status = "picking" if status == "picked" else status
        if status not in STEPS:
            raise ValueError(f"status is one of {', '.join(STEPS)}, not {status!r}")
        order = self.orders[order_key]
        if order["status"] in ("shipped", "cancelled"):
            return None
        if status == "allocated" or not order["allocations"]:
            await self._allocate(order_key)
        if status != "shipped":
            if order["status"] != status:
                order["status"] = status
                await self.send("order", order_key, self._order_payload(order_key))
            return None
        return await self._ship(order_key, lines)

    async def _allocate(self, number: str) -> None:
        order = self.orders[number]
        touched = []
        for line in order["lines"]:
            sku = line["sku"]
            p = self._position(sku, self.location)
            want = line["quantity"] - order["allocations"].get(sku, 0)
            n = max(0, min(want, p["on_hand"] - p["allocated"]))
            if n:
                p["allocated"] += n
                order["allocations"][sku] = order["allocations"].get(sku, 0) + n
                touched.append(sku)
        if (
            order["status"] == "received"
        ):  # allocating again (stock came, or a count took it) moves no status back
            order["status"] = "allocated"
            await self.send("order", number, self._order_payload(number))
        for sku in touched:
            await self._report(sku, self.location, "allocation")

    async def _ship(self, number: str, lines: list[tuple[str, int]] | None) -> str | None:
        order = self.orders[number]
        take = (
            dict(order["allocations"])
            if lines is None
            else {s: min(q, order["allocations"].get(s, 0)) for s, q in lines}
        )
        if lines is None and take and self.random.random() < self.short_ship_rate:
            sku = self.random.choice(sorted(take))
            take[sku] -= 1  # a mis-pick found at packing: one unit short
        take = {s: n for s, n in take.items() if n > 0}
        if not take:
            return None
        shipped_at = self.clock.now().isoformat()
        shipped_before = sum(
            len(s["packages"]) for s in self.shipments.values() if s["order_number"] == number
        )
        key = f"SH-{number}-{shipped_before + 1}"
        tracking = f"SIM{self.random.randrange(10**10):010d}"  # seeded: the same run, the same numbers
        package_lines = []
        for line in order["lines"]:
            n = take.pop(line["sku"], 0)
            if n:
                package_lines.append({"sku": line["sku"], "quantity": n, "order_line_no": line["line_no"]})
                order["allocations"][line["sku"]] -= n
                p = self._position(line["sku"], self.location)
                p["on_hand"] -= n
                p["allocated"] -= n
                line["shipped"] = line.get("shipped", 0) + n
        self.shipments[key] = {
            "order_number": number,
            "ship_from": self.location,
            "carrier": "SIMPOST",
            "tracking_numbers": [tracking],
            "packages": [{"package_id": f"{key}-P1", "tracking_number": tracking, "lines": package_lines}],
            "shipped_at": shipped_at,
        }
        order["shipped_at"] = shipped_at  # the order's latest shipment: when it last left the dock
        complete = all(line.get("shipped", 0) >= line["quantity"] for line in order["lines"])
        order["status"] = "shipped" if complete else "partially_shipped"
        await self.send(
            "shipment", key, {"type": "shipment.confirmed", "shipment_no": key, **self.shipments[key]}
        )
        await self.send("order", number, self._order_payload(number))
        for line in package_lines:
            await self._report(line["sku"], self.location, "shipment")
        if self.carrier is not None:
            self.carrier.follow(tracking, key)
        return key

    # -- returns ------------------------------------------------------------------------------------

    def _take_return(self, rma: dict[str, Any]) -> Any:
        """An authorised return (RMA) the hub announces; the parcel arrives `return_delay` later."""
        number = rma.get("rma")
        if not isinstance(number, str) or not number:
            raise BadCall("return.rma", "required, a non-empty string")
        if number in self.returns:
            return {"rma": number, "status": self.returns[number]["status"]}
        lines = rma.get("lines")
        if not isinstance(lines, list) or not lines:
            raise BadCall("return.lines", "a non-empty list of {sku, quantity}")
        checked = []
        for i, line in enumerate(lines):
            qty = line.get("quantity") if isinstance(line, dict) else None
            if not isinstance(line, dict) or not isinstance(line.get("sku"), str):
                raise BadCall(f"return.lines[{i}]", "a line is {sku, quantity}")
            if isinstance(qty, bool) or not isinstance(qty, int) or qty <= 0:
                raise BadCall(f"return.lines[{i}].quantity", f"a whole number of units above 0, not {qty!r}")
            checked.append({"sku": line["sku"], "quantity": qty})
        self.returns[number] = {
            "order_number": rma.get("order_number"),
            "lines": checked,
            "status": "authorised",
        }
        if self.autopilot:
            self.spawn(self._receive_return(number))
        return {"rma": number, "status": "authorised"}

    async def _receive_return(self, number: str) -> None:
        """The parcel arrives: received, every line restocked, the stock reported."""
        await self.clock.sleep(self.return_delay)
        rma = self.returns[number]
        for line in rma["lines"]:
            line["disposition"], line["condition"] = "restock", "new"
            self._position(line["sku"], self.location)["on_hand"] += line["quantity"]
        for status in ("received", "restocked"):
            rma["status"] = status
            await self.send("return", number, self._return_payload(number))
        for sku in dict.fromkeys(line["sku"] for line in rma["lines"]):
            await self._report(sku, self.location, "return")

    def _return_payload(self, number: str) -> dict[str, Any]:
        rma = self.returns[number]
        return {
            "type": "return.received",
            "rma": number,
            "order_number": rma["order_number"],
            "status": rma["status"],
            "site": self.location,
            "lines": [dict(line) for line in rma["lines"]],
            "at": self.clock.now().isoformat(),
        }

    def _order_payload(self, number: str) -> dict[str, Any]:
        order = self.orders[number]
        payload = {
            "type": "order.status",
            "order_no": number,
            "status": order["status"],
            "site": self.location,
            "at": self.clock.now().isoformat(),  # when it happened here: webhooks may arrive out of order
        }
        if "shipped_at" in order:
            payload["shipped_at"] = order["shipped_at"]
        return payload

    def spoil(self, payload: Any) -> Any:
        if payload.get("type") == "stock.changed":
            return {**payload, "on_hand": "lots"}
        return {**payload, "status": "teleported"}
