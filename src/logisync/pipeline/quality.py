"""Data-quality rules that need the store: known SKUs and locations, units, cross-references.

Run in the validate step, after the schema check, for the domains in `domains`: `check` returns the
normalised fields, or a verdict that stops the change (quarantined, with the rule and the field).
"""

from __future__ import annotations

from typing import Any

from ..config.model import SyncMap
from ..domain.change import Change
from ..domain.kinds import Domain
from .batch import Batch
from .verdicts import Verdict


class Quality:
    """The data-quality rules configured in the sync map."""

    def __init__(self, syncmap: SyncMap) -> None:
        self.syncmap = syncmap
        self.domains: frozenset[Domain] = frozenset()

    def check(self, batch: Batch, change: Change, system: str, fields: dict[str, Any]) -> Verdict:
        return Verdict(fields)
