"""Two simulated marketplaces with different API shapes, signatures and rate limits.

"shop" (Shopify-like): the hub sets each SKU's availability with compare-and-set,
`{"inventory_level": {"sku", "available", "expected"}}`, answered 409 when `expected` is not what
the shop holds (null: the shop holds nothing yet); fulfilments come as `{"fulfillment": {...}}`,
products as `{"product": {...}}`. It signs its webhooks the Shopify way (topic `orders/create`).

"market" (a stricter API): inventory only in batches, a JSON list of `{"sku", "quantity"}`
(at most `max_batch` per call); shipments as `{"shipment": {...}}`, products as
`{"listing": {...}}`; a lower rate limit. It signs with Standard Webhooks.

Both sell only what they have: the level the hub last set, less the units sold since (`sold`).
A sale does not change the level itself (what `view("inventory")` shows and compare-and-set
compares): the hub hears of the order and sets a new level, which starts the count of units sold
afresh. So a level the hub computed before a sale reached it makes those units sellable again: the
race across channels that the hub's oversell guard is there for.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .system import BadCall, SimSystem

FLAVOURS = ("shop", "market")


class SimMarketplace(SimSystem):
    kind = "marketplace"

    def __init__(
        self,
        name: str,
        flavour: str = "shop",
        *,
        rate: float | None = None,
        burst: int | None = None,
        max_batch: int = 50,
        **kw: Any,
    ) -> None:
        if flavour not in FLAVOURS:
            raise ValueError(f"{name}: flavour is one of {', '.join(FLAVOURS)}, not {flavour!r}")
        strict = flavour == "market"
        super().__init__(
            name, rate=rate or (10.0 if strict else 40.0), burst=burst or (20 if strict else 80), **kw
        )
        self.flavour = flavour
        self.scheme = "shopify" if flavour == "shop" else "standard-webhooks"
        self.max_batch = max_batch
        self.stock: dict[str, int] = {}  # the level the hub last set, per SKU
        self.sold: dict[str, int] = {}  # units sold per SKU since the hub last set its level
        self.orders: dict[str, dict[str, Any]] = {}
        self.products: dict[str, dict[str, Any]] = {}
        self.shipments: dict[str, dict[str, Any]] = {}

    def view(self, domain: str) -> dict[str, dict[str, Any]]:
        if domain == "inventory":
            return {sku: {"available": n} for sku, n in self.stock.items()}
        if domain == "order":
            return {key: dict(order) for key, order in self.orders.items()}
        if domain == "product":
            return {key: _canonical(p, {"title": "name"}) for key, p in self.products.items()}
        if domain == "shipment":
            names = {"order_id": "order_number", "order_number": "order_number"}
            names.update(tracking_numbers="tracking_numbers", status="status")
            return {key: _canonical(s, names) for key, s in self.shipments.items()}
        return {}

    # -- the hub's calls ----------------------------------------------------------------------------

    async def handle(self, body: Any, request: web.Request) -> Any:
        if self.flavour == "market" and isinstance(body, list):
            return self._batch(body)
        if self.flavour == "market" and isinstance(body, dict) and "sku" in body:
            return self._batch([body])  # the hub sends a lone delivery unbatched
        if not isinstance(body, dict) or len(body) != 1:
            raise BadCall("$", f"{self.name} takes an object with exactly one of {', '.join(self._kinds())}")
        ((kind, record),) = body.items()
        if kind not in self._kinds() or not isinstance(record, dict):
            raise BadCall(kind, f"not one of {', '.join(self._kinds())} (an object)")
        if kind == "inventory_level":
            return self._set_level(record)
        if kind in ("product", "listing"):
            sku = _text(record, "sku", kind)
            self.products[sku] = {k: v for k, v in record.items() if k != "sku"}
            return {"ok": True}
        key = _text(record, "shipment_number" if kind == "shipment" else "id", kind)
        number = str(record.get("order_number") or record.get("order_id") or "")
        order = self.orders.get(number)
        if order is None:  # a fulfilment of another channel's order: a route without its filter
            raise BadCall(f"{kind}.order", f"no order {number!r} was placed here")
        self.shipments[key] = dict(record)
        if order["status"] != "cancelled":
            order["status"] = "delivered" if record.get("status") == "delivered" else "shipped"
        return {"ok": True}

    def _kinds(self) -> tuple[str, ...]:
        return (
            ("inventory_level", "fulfillment", "product")
            if self.flavour == "shop"
            else ("shipment", "listing")
        )

    def _set_level(self, record: dict[str, Any]) -> Any:
        sku = _text(record, "sku", "inventory_level")
        available = _count(record.get("available"), "inventory_level.available")
        if "expected" not in record:
            raise BadCall("inventory_level.expected", "required (null when setting a new SKU)")
        expected = record["expected"]
        if expected is not None:
            expected = _count(expected, "inventory_level.expected")
        if expected != self.stock.get(sku):
            self.stats["conflicts"] += 1
            return web.json_response(
                {"error": "conflict", "sku": sku, "expected": expected, "actual": self.stock.get(sku)},
                status=409,
            )
        self.stock[sku] = available
        self.sold.pop(sku, None)
        return {"sku": sku, "available": available}

    def _batch(self, items: list[Any]) -> Any:
        if not items or len(items) > self.max_batch:
            raise BadCall("$", f"a batch holds 1 to {self.max_batch} items, not {len(items)}")
        checked = []
        for i, item in enumerate(items):
            if not isinstance(item, dict):
                raise BadCall(f"[{i}]", "an item is an object {sku, quantity}")
            checked.append((_text(item, "sku", f"[{i}]"), _count(item.get("quantity"), f"[{i}].quantity")))
        for sku, quantity in checked:
            self.stock[sku] = quantity
            self.sold.pop(sku, None)
        return {"updated": len(checked)}

    # -- what the marketplace does ------------------------------------------------------------------

    def sellable(self, sku: str) -> int:
        """Units of `sku` this marketplace will still sell: its level less what it sold since."""
        return max(0, self.stock.get(sku, 0) - self.sold.get(sku, 0))

    async def place_order(self, lines: list[tuple[str, int]], order_id: str | None = None) -> str | None:
        """Sell `lines` when this marketplace's own view shows them available; the order key, or None."""
        wanted: dict[str, int] = {}
        for sku, qty in lines:
            wanted[sku] = wanted.get(sku, 0) + qty
        if any(qty <= 0 or self.sellable(sku) < qty for sku, qty in wanted.items()):
            self.stats["orders_refused"] += 1
            return None
        for sku, qty in wanted.items():
            self.sold[sku] = self.sold.get(sku, 0) + qty
        key = order_id or f"{self.name.upper()}-{next(self._ids)}"
        body = [{"line_no": i, "sku": sku, "quantity": qty} for i, (sku, qty) in enumerate(lines, 1)]
        self.orders[key] = {"lines": body, "status": "placed", "channel": self.name}
        self.stats["orders_placed"] += 1
        await self.send("order", key, self._order_payload(key, "placed"), topic="orders/create")
        return key

    async def cancel(self, order_key: str) -> None:
        order = self.orders[order_key]
        order["status"] = "cancelled"
        await self.send(
            "order", order_key, self._order_payload(order_key, "cancelled"), topic="orders/cancelled"
        )

    async def request_return(self, order_key: str, lines: list[tuple[str, int]]) -> None:
        order = self.orders[order_key]
        order.setdefault("returns", []).append([{"sku": s, "quantity": q} for s, q in lines])
        payload = self._order_payload(order_key, "return_requested")
        payload["return_lines"] = [{"sku": s, "quantity": q} for s, q in lines]
        await self.send("return", order_key, payload, topic="returns/request")

    def _order_payload(self, key: str, event: str) -> dict[str, Any]:
        order = self.orders[key]
        if self.flavour == "shop":
            return {
                "id": key,
                "event": event,
                "created_at": self.clock.now().isoformat(),
                "line_items": [
                    {"line_number": line["line_no"], "sku": line["sku"], "quantity": line["quantity"]}
                    for line in order["lines"]
                ],
            }
        return {
            "event": f"order.{event}",
            "order": {
                "order_id": key,
                "placed_at": self.clock.now().isoformat(),
                "items": [
                    {"pos": line["line_no"], "seller_sku": line["sku"], "qty": line["quantity"]}
                    for line in order["lines"]
                ],
            },
        }

    def spoil(self, payload: Any) -> Any:
        spoiled = dict(payload)
        if self.flavour == "shop":
            spoiled["line_items"] = [{"sku": None, "quantity": "many"}]
        else:
            spoiled["order"] = {**payload["order"], "items": [{"seller_sku": "", "qty": -3}]}
        return spoiled


def _text(record: dict[str, Any], name: str, where: str) -> str:
    value = record.get(name)
    if not isinstance(value, str) or not value.strip():
        raise BadCall(f"{where}.{name}", "required, a non-empty string")
    return value


def _count(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BadCall(where, f"a whole number of units, 0 or more, not {value!r}")
    return value


def _canonical(record: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    """The fields of `record` this system shares with the hub, under their canonical names."""
    return {canonical: record[own] for own, canonical in names.items() if record.get(own) is not None}
