"""The edi connector: X12 with trading partners, in (846, 850, 855, 856, 940, 943, 944, 945, 214 and
their 997s) and out (846, 855, 856, 940, 943, and our 997s).

The shape every connector has: `Settings` (a partner's `edi` section), `SPEC`, pure `decode` (one
transaction set -> canonical changes, through its map in `edi/sets/`) and `encode` (records along
a route -> the X12 sets that carry them), and the pieces that do the I/O: `partners.inbound.receive`
(a file through the envelope checks, the duplicate ledger, the pipeline and the 997s),
`partners.sender.X12Sender` (a route's deliveries, enveloped and tracked until their 997) and
`partners.outbox.FolderOutbox` (where the files go).
"""

from __future__ import annotations

from datetime import datetime

from logisync.config.edi import EdiPartnerConfig
from logisync.delivery.outgoing import Delivery
from logisync.domain.kinds import Domain
from logisync.edi.interchange import TransactionSet
from logisync.edi.sets import INBOUND, Context, Mapped
from logisync.edi.writer import OutboundSet
from logisync.partners.sender import build_sets

from .spec import Capabilities, ConnectorSpec

NAME = "edi"
Settings = EdiPartnerConfig

SPEC = ConnectorSpec(
    name=NAME,
    summary="X12 with trading partners: transaction sets mapped both ways, 997 and TA1 acknowledgments, "
    "duplicate interchanges refused, our groups tracked until their 997",
    directions=frozenset({"in", "out"}),
    domains=frozenset({Domain.inventory, Domain.order, Domain.shipment, Domain.tracking}),
    capabilities=Capabilities(batching=True, max_batch=10_000),
)


def decode(tset: TransactionSet, ctx: Context) -> Mapped:
    """One transaction set as canonical changes (or the problems that reject it whole)."""
    reader = INBOUND.get(tset.code)
    if reader is None:
        raise KeyError(f"no map reads {tset.code} sets (read: {', '.join(sorted(INBOUND))})")
    return reader(tset, ctx)


def encode(
    code: str, deliveries: list[Delivery], at: datetime, warehouse: str | None = None
) -> list[OutboundSet]:
    """The sets of `code` (846, 855, 856, 940, 943) that carry a route's deliveries."""
    return build_sets(code, deliveries, at, warehouse)
