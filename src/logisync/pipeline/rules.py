"""The logistics rules the pipeline runs around applying a change: one place that lists them.

`before` may refuse a change (a verdict with its outcome and exception); `after` runs once the
change is applied and may change other records through the batch (`Batch.derive`), returning a
note for the change's outcome. Each rule's logic lives in its own module.
"""

from __future__ import annotations

from typing import Any

from ..config.model import SyncMap
from ..domain.change import Change
from ..domain.kinds import Domain
from ..domain.record import RecordState
from .batch import Batch
from .reservations import OversellGuard
from .verdicts import Verdict


class Rules:
    """The rules for the domains in `domains`; the pipeline skips the others at no cost."""

    def __init__(self, syncmap: SyncMap) -> None:
        self.guard = OversellGuard(syncmap)
        self.domains = frozenset({Domain.order, Domain.inventory})

    def before(
        self, batch: Batch, change: Change, system: str, record: RecordState | None, fields: dict[str, Any]
    ) -> Verdict | None:
        if change.domain is Domain.order:
            return self.guard.check(batch, change, system, record, fields)
        return None

    def after(
        self, batch: Batch, change: Change, system: str, record: RecordState, applied: list[str]
    ) -> str | None:
        cause = (system, change.id)
        if change.domain is Domain.order:
            return self.guard.replan(batch, record, system, cause)
        if change.domain is Domain.inventory and record.fields.get("reserved_by"):
            return self.guard.shortfall(batch, record, cause)
        return None
