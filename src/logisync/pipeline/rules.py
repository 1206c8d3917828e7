"""The logistics rules the pipeline runs around applying a change: one place that lists them.

`before` may refuse a change (a verdict with its outcome and exception); `after` runs once the
change is applied and may change other records through the batch (`Batch.derive`), returning a
note for the change's outcome. Each rule's logic lives in its own module:

- `reservations.py`: the oversell guard (orders hold stock; stock falling below holds);
- `fulfilment.py`: orders follow their shipments and returns (shipped, owed, returned, status);
- `tracking_rules.py`: carrier events set their shipment's status (and so its order's);
- `returns.py`: restocked returns go back into stock, once.

Inventory changes pay only for the guard, and only at positions that hold stock for orders.
"""

from __future__ import annotations

from typing import Any

from ..config.model import SyncMap
from ..domain.catalog import split_inventory_key
from ..domain.change import Change
from ..domain.inventory import available
from ..domain.kinds import Domain
from ..domain.record import RecordState
from .batch import Batch
from .fulfilment import Fulfilment
from .reservations import OversellGuard
from .returns import ReturnsRule
from .tracking_rules import TrackingRules
from .verdicts import Verdict


class Rules:
    """The rules for the domains in `domains`; the pipeline skips the others at no cost."""

    def __init__(self, syncmap: SyncMap) -> None:
        self.guard = OversellGuard(syncmap)
        self.fulfilment = Fulfilment(self.guard)
        self.tracking = TrackingRules(self.fulfilment)
        self.returns = ReturnsRule(self.fulfilment)
        self.domains = frozenset(
            {Domain.order, Domain.inventory, Domain.shipment, Domain.tracking, Domain.return_}
        )

    def before(
        self,
        batch: Batch,
        change: Change,
        system: str,
        record: RecordState | None,
        fields: dict[str, Any],
        stamp: int,
    ) -> Verdict | None:
        """May refuse the change; `stamp` is its order stamp (only the fields it would win count)."""
        if change.domain is Domain.order:
            return self.guard.check(batch, change, system, record, fields, stamp)
        return None

    def after(
        self,
        batch: Batch,
        change: Change,
        system: str,
        record: RecordState,
        applied: list[str],
        was: int = 0,
    ) -> str | None:
        """Run the rules that follow an applied change; `was` is an inventory position's `available`
        before it (its stock freed when it rose)."""
        cause = (system, change.id)
        if change.domain is Domain.order:
            followed = self.fulfilment.order(batch, record, applied, cause)
            return _join(followed, self.guard.replan(batch, record, system, cause, sent=True))
        if change.domain is Domain.inventory:
            if available(record.fields) > was:
                batch.free(split_inventory_key(record.key)[0], cause)
            if record.fields.get("reserved_by"):
                return self.guard.shortfall(batch, record, cause)
            return None
        if change.domain is Domain.tracking:
            return self.tracking.event(batch, change, record, system, cause)
        if change.domain is Domain.shipment:
            tracked = self.tracking.shipment(batch, record, system, cause)
            return _join(tracked, self.fulfilment.shipment(batch, record, system, cause))
        if change.domain is Domain.return_:
            return self.returns.applied(batch, record, applied, system, cause)
        return None

    def finish(self, batch: Batch) -> None:
        """What runs once every change of the batch is applied, before it commits: backorders of
        the stock the batch freed are tried again."""
        if batch.freed:
            self.guard.refill(batch)


def _join(*notes: str | None) -> str | None:
    return "; ".join(n for n in notes if n) or None
