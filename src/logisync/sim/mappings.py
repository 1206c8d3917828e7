"""The mapping functions the sim systems' sync map names.

Inbound (`function(payload, context) -> list of change dicts`, as POST /v1/changes' items; the
change ids default to the webhook id): each turns one system's own webhook shape into canonical
changes. Outbound (`function(fields, context) -> body`): each turns a canonical record into the
call the system's API takes. A payload that is not the system's shape raises ValueError naming
where (the hub records it as a mapping error).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ..tracking.formats import easypost


def _need(record: Any, name: str, where: str) -> Any:
    if not isinstance(record, Mapping) or name not in record:
        raise ValueError(f"{where}.{name} is missing")
    return record[name]


def _lines(items: Any, where: str, sku: str, qty: str, pos: str) -> list[dict[str, Any]]:
    if not isinstance(items, list) or not items:
        raise ValueError(f"{where} is not a non-empty list")
    return [
        {
            "line_no": item.get(pos, i) if isinstance(item, Mapping) else i,
            "sku": _need(item, sku, f"{where}[{i - 1}]"),
            "quantity": _need(item, qty, f"{where}[{i - 1}]"),
        }
        for i, item in enumerate(items, 1)
    ]


def _return_request(order: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    """A marketplace's return request: an authorised RMA for the lines the customer sends back."""
    lines = [
        {"sku": line["sku"], "quantity": line["quantity"]}
        for line in _lines(payload.get("return_lines"), "$.return_lines", "sku", "quantity", "line_no")
    ]
    fields = {"order_number": order, "status": "authorised", "lines": lines}
    return {"domain": "return", "key": f"RMA-{order}", "fields": fields}


# -- inbound ------------------------------------------------------------------------------------------


def shop_inbound(payload: Any, context: Any) -> list[dict[str, Any]]:
    key = _need(payload, "id", "$")
    event = payload.get("event")
    if event == "cancelled":
        return [{"domain": "order", "key": key, "fields": {"cancel_requested": True}}]
    if event == "return_requested":
        return [_return_request(key, payload)]
    lines = _lines(payload.get("line_items"), "$.line_items", "sku", "quantity", "line_number")
    fields = {
        "lines": lines,
        "channel": context.system if context is not None else "shop",
        "placed_at": payload.get("created_at"),
    }
    return [{"domain": "order", "key": key, "fields": fields, "occurred_at": payload.get("created_at")}]


def market_inbound(payload: Any, context: Any) -> list[dict[str, Any]]:
    order = _need(payload, "order", "$")
    key = _need(order, "order_id", "$.order")
    event = payload.get("event")
    if event == "order.cancelled":
        return [{"domain": "order", "key": key, "fields": {"cancel_requested": True}}]
    if event == "order.return_requested":
        return [_return_request(key, payload)]
    lines = _lines(order.get("items"), "$.order.items", "seller_sku", "qty", "pos")
    fields = {
        "lines": lines,
        "channel": context.system if context is not None else "market",
        "placed_at": order.get("placed_at"),
    }
    return [{"domain": "order", "key": key, "fields": fields, "occurred_at": order.get("placed_at")}]


def wms_inbound(payload: Any, context: Any) -> list[dict[str, Any]]:
    kind = _need(payload, "type", "$")
    if kind == "stock.changed":
        key = f"{_need(payload, 'sku', '$')}@{_need(payload, 'site', '$')}"
        fields = {"on_hand": _need(payload, "on_hand", "$"), "allocated": _need(payload, "allocated", "$")}
        return [{"domain": "inventory", "key": key, "fields": fields, "occurred_at": payload.get("at")}]
    if kind == "order.status":
        fields = {"status": _need(payload, "status", "$"), "warehouse": payload.get("site")}
        if payload.get("shipped_at") is not None:  # when it (last) shipped: the KPIs' `shipped_at`
            fields["shipped_at"] = payload["shipped_at"]
        key = _need(payload, "order_no", "$")
        return [{"domain": "order", "key": key, "fields": fields, "occurred_at": payload.get("at")}]
    if kind == "return.received":
        fields = {
            "order_number": payload.get("order_number"),
            "status": _need(payload, "status", "$"),
            "location": _need(payload, "site", "$"),
            "lines": [
                {name: line[name] for name in ("sku", "quantity", "disposition", "condition") if name in line}
                for line in _need(payload, "lines", "$")
            ],
        }
        if fields["status"] == "received":
            fields["received_at"] = payload.get("at")
        return [{"domain": "return", "key": _need(payload, "rma", "$"), "fields": fields}]
    if kind == "shipment.confirmed":
        fields = {
            name: payload[name]
            for name in ("order_number", "ship_from", "carrier", "tracking_numbers", "packages", "shipped_at")
            if name in payload
        }
        return [{"domain": "shipment", "key": _need(payload, "shipment_no", "$"), "fields": fields}]
    raise ValueError(
        f"$.type {kind!r} is not a WMS event (stock.changed, order.status, shipment.confirmed, return.received)"
    )


def carrier_inbound(payload: Any, context: Any) -> list[dict[str, Any]]:
    result = easypost.decode(payload)
    if result.problems:
        problem = result.problems[0]
        raise ValueError(f"{problem.path}: {problem.message}")
    shipment = payload.get("result", {}).get("shipment_id") if isinstance(payload, Mapping) else None
    changes = []
    for change in result.changes:
        fields = dict(change.fields)
        if shipment:
            fields["shipment_number"] = shipment
        changes.append(
            {
                "id": change.id,
                "domain": "tracking",
                "key": change.key,
                "fields": fields,
                "occurred_at": change.fields["occurred_at"],
            }
        )
    return changes


def erp_inbound(payload: Any, context: Any) -> list[dict[str, Any]]:
    if payload.get("event") == "po.released" if isinstance(payload, Mapping) else False:
        return []  # purchase orders are the ERP's own business; the WMS reports the receipt as stock
    item = _need(payload, "item", "$")
    attrs = {k: v for k, v in item.items() if k not in ("item_no", "description")}
    fields = {"name": _need(item, "description", "$.item"), **({"attributes": attrs} if attrs else {})}
    return [{"domain": "product", "key": _need(item, "item_no", "$.item"), "fields": fields}]


# -- outbound -----------------------------------------------------------------------------------------


def _available(fields: Mapping[str, Any]) -> int:
    for name in ("available_to_promise", "available"):
        if name in fields:
            return int(fields[name])
    raise ValueError("the record has no available_to_promise (route it with the atp transform)")


def _sku(fields: Mapping[str, Any], key: str) -> str:
    return str(fields.get("sku") or key.split("@")[0])


def shop_outbound(fields: Mapping[str, Any], context: Any) -> dict[str, Any]:
    if context.domain == "inventory":
        previous = context.previous
        expected = None if previous is None else _available(previous)
        return {
            "inventory_level": {
                "sku": _sku(fields, context.key),
                "available": _available(fields),
                "expected": expected,
            }
        }
    if context.domain == "shipment":
        return {
            "fulfillment": {
                "id": context.key,
                "order_id": fields.get("order_number"),
                "tracking_numbers": fields.get("tracking_numbers") or [],
                "status": fields.get("status"),
            }
        }
    if context.domain == "product":
        return {"product": {"sku": context.key, "title": fields.get("name")}}
    raise ValueError(f"the shop takes no {context.domain} records")


def market_outbound(fields: Mapping[str, Any], context: Any) -> dict[str, Any]:
    if context.domain == "inventory":
        return {"sku": _sku(fields, context.key), "quantity": _available(fields)}  # one item of a batch
    if context.domain == "shipment":
        return {
            "shipment": {
                "shipment_number": context.key,
                "order_number": fields.get("order_number"),
                "tracking_numbers": fields.get("tracking_numbers") or [],
                "status": fields.get("status"),
            }
        }
    if context.domain == "product":
        return {"listing": {"sku": context.key, "title": fields.get("name")}}
    raise ValueError(f"the market takes no {context.domain} records")


def wms_order(fields: Mapping[str, Any], context: Any) -> dict[str, Any]:
    lines = [
        {"line_no": line.get("line_no"), "sku": line["sku"], "quantity": line["quantity"]}
        for line in fields.get("lines") or []
    ]
    return {
        "order": {
            "number": context.key,
            "lines": lines,
            "status": "cancelled" if fields.get("cancel_requested") else fields.get("status"),
            "channel": fields.get("channel"),
        }
    }


def wms_return(fields: Mapping[str, Any], context: Any) -> dict[str, Any]:
    lines = [{"sku": line["sku"], "quantity": line["quantity"]} for line in fields.get("lines") or []]
    return {
        "return": {
            "rma": context.key,
            "order_number": fields.get("order_number"),
            "lines": lines,
            "status": fields.get("status"),
        }
    }
