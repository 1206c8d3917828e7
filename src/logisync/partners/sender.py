"""Routes to a trading partner: a route with `format: x12-846` (855, 856, 940, 943) to a system with
an `edi` section sends its deliveries as X12, through `outbound.send_sets` (enveloped, numbered,
tracked until the partner's 997, handed to the partner's outbox).

A route's `batch` puts that many records in one interchange: an 846 per location (or, with the
`atp` transform, one 846 of each SKU's available-to-promise as QTY*33), one 855, 856, 940 or 943
per record. The dispatcher calls it like any sender, on the route's cadence, with its retries:
a record the set cannot carry (no lines, a delimiter in a value) is refused for good
(`mapping`), an outbox that cannot be written is tried again (`unavailable`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from ..config.edi import X12_FORMATS
from ..config.model import RouteConfig, SyncMap
from ..delivery.errors import DeliveryError, ErrorKind
from ..delivery.outgoing import Delivery
from ..domain.catalog import split_inventory_key
from ..edi.errors import X12Error
from ..edi.sets import (
    inventory_846,
    order_ack_855,
    ship_notice_856,
    shipping_order_940,
    warehouse_transfer_943,
)
from ..edi.writer import OutboundSet
from ..errors import ConfigError
from ..store.sql import SqlStore
from .outbound import partner_config, send_sets
from .outbox import FolderOutbox, Outbox

FORMATS = X12_FORMATS


def build_sets(
    code: str, deliveries: list[Delivery], at: datetime, warehouse: str | None
) -> list[OutboundSet]:
    """The sets that carry `deliveries` (the records along the route, after its transform)."""
    if code == "846":
        return _inventory(deliveries, at)
    out: list[OutboundSet] = []
    for d in deliveries:
        fields = dict(d.fields)
        if code == "855":
            out.append(order_ack_855.write(d.key, fields, at))
        elif code == "856":
            out.append(ship_notice_856.write(d.key, fields, at))
        elif code == "940":
            out.append(shipping_order_940.write(d.key, fields))
        else:
            if warehouse is None:
                raise X12Error(
                    "a 943 names the destination warehouse: give the partner `edi.location`",
                    code="bad_record",
                )
            out.append(warehouse_transfer_943.write(d.key, fields, warehouse, at))
    return out


def _inventory(deliveries: list[Delivery], at: datetime) -> list[OutboundSet]:
    reference = f"INV{at.strftime('%Y%m%d%H%M')}"
    atp = [
        (d.key, {"available": d.fields["available_to_promise"]})
        for d in deliveries
        if "available_to_promise" in d.fields
    ]
    by_location: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for d in deliveries:
        if "available_to_promise" not in d.fields:
            sku, location = split_inventory_key(d.key)
            by_location.setdefault(location, []).append((sku, dict(d.fields)))
    sets = [
        inventory_846.write(location, positions, reference, at) for location, positions in by_location.items()
    ]
    if atp:
        sets.append(inventory_846.write(None, atp, reference, at))
    return sets


class X12Sender:
    """A dispatcher `Sender` for a route to a trading partner (see the module docstring)."""

    def __init__(
        self,
        route_format: str,
        partner: str,
        syncmap: SyncMap,
        store: SqlStore,
        outbox: Outbox | None = None,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self.code = FORMATS[route_format][0]
        self.partner = partner
        self.syncmap = syncmap
        self.store = store
        cfg = partner_config(syncmap, partner)
        if outbox is None and cfg.outbox is None:
            raise ConfigError(f"{partner} has no `edi.outbox`: X12 routes to it have nowhere to write")
        self.outbox = outbox or FolderOutbox(cfg.outbox or "")
        self.warehouse = cfg.location
        self.clock = clock

    async def send(self, delivery: Delivery, body: Any) -> DeliveryError | None:
        return await self.send_batch([delivery], [body])

    async def send_batch(self, deliveries: list[Delivery], bodies: list[Any]) -> DeliveryError | None:
        return await asyncio.to_thread(self._write, deliveries)

    def _write(self, deliveries: list[Delivery]) -> DeliveryError | None:
        at = datetime.fromtimestamp(self.clock(), UTC) if self.clock else datetime.now(UTC)
        try:
            sets = build_sets(self.code, deliveries, at, self.warehouse)
            send_sets(self.partner, sets, syncmap=self.syncmap, store=self.store, outbox=self.outbox, at=at)
        except (X12Error, KeyError, TypeError, ValueError) as exc:
            return DeliveryError(ErrorKind.mapping, f"the {self.code} cannot carry this record: {exc}")
        except OSError as exc:
            return DeliveryError(ErrorKind.unavailable, f"the partner's outbox cannot be written: {exc}")
        return None


def x12_policies(route: RouteConfig, syncmap: SyncMap, store: SqlStore) -> dict[str, Any] | None:
    """The dispatcher's sender for a live route that sends X12 (None for any other route)."""
    if route.mode != "live" or (route.format or "") not in FORMATS:
        return None
    return {"sender": X12Sender(route.format or "", route.to, syncmap, store), "reader": None}
