"""A reconciliation's summary: counts by kind, units and value at stake, the worst SKUs and locations."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# The kinds of variance, in the order a report lists them.
KINDS = ("missing_in_system", "missing_in_hub", "differs", "unreadable", "duplicate_in_system")


@dataclass(slots=True)
class Worst:
    """One SKU or location with the units (and value) at stake in its variances."""

    name: str
    variances: int
    units: float
    value: float | None


@dataclass(slots=True)
class Summary:
    """What a diff found. `explained` counts the keys whose difference a delivery still in flight
    (or delivered after the snapshot was taken) accounts for: those are not variances."""

    hub_keys: int
    system_keys: int
    matched_keys: int
    variance_keys: int
    explained_keys: int
    by_kind: dict[str, int]
    units: float
    value: float | None
    worst_skus: list[Worst] = field(default_factory=list)
    worst_locations: list[Worst] = field(default_factory=list)
    hub_units: float = 0.0  # the units the hub holds in all (the base of auto-correction's % limit)

    @property
    def variances(self) -> int:
        return sum(self.by_kind.values())

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["variances"] = self.variances
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Summary:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known["worst_skus"] = [Worst(**w) for w in data.get("worst_skus", [])]
        known["worst_locations"] = [Worst(**w) for w in data.get("worst_locations", [])]
        return cls(**known)
