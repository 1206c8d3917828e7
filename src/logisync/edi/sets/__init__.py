"""Transaction-set maps: one module per X12 set, each mapping to and from the canonical domains.

| set | module | in (partner -> hub) | out (hub -> partner) |
| --- | --- | --- | --- |
| 214 | `carrier_status_214` | tracking events | — |
| 846 | `inventory_846` | inventory positions | inventory positions, one set per location |
| 850 | `order_850` | an order | — |
| 855 | `order_ack_855` | an order's lines (a supplier's answer) | an order's acknowledgment |
| 856 | `ship_notice_856` | a shipment (+ `inbound` at its ship-to) | a shipment |
| 940 | `shipping_order_940` | an order (read back) | an order to a 3PL's warehouse |
| 943 | `warehouse_transfer_943` | a shipment (+ `inbound` at the warehouse) | a transfer to a 3PL's warehouse |
| 944 | `transfer_receipt_944` | `on_hand` receipts | — |
| 945 | `shipping_advice_945` | a shipment | — |
| 997 | `..ack` | `read_997`: acknowledgment tracking | `acknowledge` |

Every inbound map is `read(tset, ctx) -> Mapped` (see `mapped.py`).
"""

from __future__ import annotations

from collections.abc import Callable

from ..interchange import TransactionSet
from . import (
    carrier_status_214,
    inventory_846,
    order_850,
    order_ack_855,
    ship_notice_856,
    shipping_advice_945,
    shipping_order_940,
    transfer_receipt_944,
    warehouse_transfer_943,
)
from .mapped import Context, Mapped

Reader = Callable[[TransactionSet, Context], Mapped]

INBOUND: dict[str, Reader] = {
    "214": carrier_status_214.read,
    "846": inventory_846.read,
    "850": order_850.read,
    "855": order_ack_855.read,
    "856": ship_notice_856.read,
    "940": shipping_order_940.read,
    "943": warehouse_transfer_943.read,
    "944": transfer_receipt_944.read,
    "945": shipping_advice_945.read,
}
OUTBOUND = ("846", "855", "856", "940", "943", "997")

__all__ = ["INBOUND", "OUTBOUND", "Context", "Mapped", "Reader"]
