"""A simulated ERP: the product master and purchase orders (the inbound stock the WMS receives)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from .system import BadCall, SimSystem


class SimErp(SimSystem):
    kind = "erp"

    def __init__(self, name: str = "erp", **kw: Any) -> None:
        super().__init__(name, **kw)
        self.products: dict[str, dict[str, Any]] = {}
        self.purchase_orders: dict[str, dict[str, Any]] = {}
        self.received: list[dict[str, Any]] = []  # receipts the hub told it about

    def view(self, domain: str) -> dict[str, dict[str, Any]]:
        if domain == "product":
            return {sku: dict(p) for sku, p in self.products.items()}
        if domain == "purchase_order":
            return {k: dict(p) for k, p in self.purchase_orders.items()}
        return {}

    async def upsert_product(self, sku: str, name: str, **attrs: Any) -> None:
        product = {"name": name, **attrs}
        self.products[sku] = product
        await self.send(
            "product", sku, {"event": "item.saved", "item": {"item_no": sku, "description": name, **attrs}}
        )

    async def create_po(
        self, lines: list[tuple[str, int]], location: str = "DC1", po_number: str | None = None
    ) -> str:
        """A purchase order: stock expected at `location` (the WMS receives it)."""
        key = po_number or f"PO-{next(self._ids)}"
        body = [{"line_no": i, "sku": sku, "quantity": qty} for i, (sku, qty) in enumerate(lines, 1)]
        self.purchase_orders[key] = {"location": location, "lines": body, "status": "open"}
        await self.send(
            "purchase_order",
            key,
            {"event": "po.released", "po": {"number": key, "site": location, "lines": body}},
        )
        return key

    async def handle(self, body: Any, request: web.Request) -> Any:
        if not isinstance(body, dict) or not isinstance(body.get("receipt"), dict):
            raise BadCall("$", "the ERP takes {receipt: {po_number, lines}}")
        self.received.append(body["receipt"])
        return {"ok": True}

    def spoil(self, payload: Any) -> Any:
        return {**payload, "item": {"item_no": "", "description": None}}
