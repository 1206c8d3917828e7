"""Data-quality rules that need the store: known SKUs and locations, units, learning cross-references.

Run in the ingest transaction, after the schema check, scopes and ownership, and after the
batch's cross-references were translated (`translate.py`, before the transaction), for the
domains in `domains`: `check` returns the normalised fields, or a verdict that stops the change
(quarantined, its detail `{rule, field, value}`). With the sync map's defaults (`quality` all
`accept`, no system with an `xref`) `domains` is empty and the pipeline never calls `check`.

For a change of another domain than product and location, in this order:
1. known SKUs and locations: one the hub has no record of is quarantined (`unknown_sku`,
   `unknown_location`), created as a minimal record (`auto_create`), or let through (`accept`);
2. units: a line or an inventory change in another unit than the SKU's base unit is converted to
   base units with the product's `units`; an unknown unit is quarantined (`units`). A line keeps
   what was sent in its `received`; an inventory change's converted fields are noted in the
   verdict's `received` (the record's provenance keeps them).
A product or location change from a system with an `xref` teaches the table the pair it carries.
"""

from __future__ import annotations

from typing import Any

from ..config.model import SyncMap
from ..domain.catalog import split_inventory_key
from ..domain.change import Change
from ..domain.kinds import Domain, OutcomeKind
from ..domain.problem import UNKNOWN_LOCATION, UNKNOWN_SKU, Problem
from ..domain.quality import (
    INVENTORY_QUANTITIES,
    convert_inventory,
    convert_line,
    lines_of,
    location_refs,
    sku_refs,
    writable,
)
from ..domain.xref import pair_problem
from .batch import Batch
from .translate import taught
from .verdicts import Verdict

_LINES = (Domain.order, Domain.shipment, Domain.return_)
_NAMES = {"sku": ("product", Domain.product), "location": ("location", Domain.location)}
# What an auto-created record holds: enough to exist, marked so a person finds it.
_MINIMAL: dict[str, dict[str, Any]] = {"sku": {"status": "draft"}, "location": {"active": True}}
_TEACHERS = {"sku": Domain.product, "location": Domain.location}
_SEEN_MAX = 200_000  # known SKUs (and locations) remembered between batches


class Quality:
    """The data-quality rules configured in the sync map."""

    def __init__(self, syncmap: SyncMap) -> None:
        self.syncmap = syncmap
        rules = syncmap.quality
        self.unknown = {"sku": rules.unknown_sku, "location": rules.unknown_location}
        self.convert = rules.units == "convert"
        self.xref: dict[str, dict[str, str]] = {
            name: {str(kind): ext for kind, ext in system.xref.items()}
            for name, system in syncmap.systems.items()
            if system.xref
        }
        domains: set[Domain] = set()
        if self.convert or any(policy != "accept" for policy in self.unknown.values()):
            domains.update((Domain.inventory, *_LINES))
        for kinds in self.xref.values():  # the changes that teach a system's ids
            domains.update(d for kind, d in _TEACHERS.items() if kind in kinds)
        self.domains: frozenset[Domain] = frozenset(domains)
        # SKUs and locations seen in the store: records are never deleted, so once known, always
        # known, and a stock count need not read its product again. Only committed records count
        # (one created in a batch that rolls back must not), and the set is bounded.
        self._seen: dict[str, set[str]] = {"sku": set(), "location": set()}

    def check(self, batch: Batch, change: Change, system: str, fields: dict[str, Any]) -> Verdict:
        domain = change.domain
        xref = self.xref.get(system)
        if domain in (Domain.product, Domain.location):
            if xref:
                self._learn(batch, change, system, fields, xref)
            return Verdict(fields)
        work = writable(domain, fields)
        creates: dict[tuple[str, str], str] = {}
        received: dict[str, Any] = {}
        problem = self._known(batch, change, work, creates)
        if problem is None and self.convert:
            problem = self._units(batch, change, work, received)
        if problem is not None:
            detail = {**problem.detail(), "fields": fields}
            return Verdict(None, OutcomeKind.quarantined, problem.reason, problem.rule, detail, fields)
        for (kind, key), path in creates.items():
            name, target = _NAMES[kind]
            batch.derive(
                target,
                key,
                dict(_MINIMAL[kind]),
                why=f"auto-created: {path} of {system}'s {domain.value} {change.key} names an unknown {name}",
                cause=(system, change.id),
            )
        return Verdict(work, received=received or None)

    # -- the rules ------------------------------------------------------------------------------
    def _learn(
        self, batch: Batch, change: Change, system: str, fields: dict[str, Any], xref: dict[str, str]
    ) -> None:
        """A product (location) change carrying the system's own id in `attributes` records the pair."""
        pair = taught(change, fields, xref)
        if pair is not None:
            kind, external = pair
            batch.tx.learn_xref(system, kind, external, change.key, f"{system}/{change.id}", batch.received)

    def _known(
        self, batch: Batch, change: Change, fields: dict[str, Any], creates: dict[tuple[str, str], str]
    ) -> Problem | None:
        """SKUs and locations the hub has no record of, per the sync map's policy."""
        for kind, policy in self.unknown.items():
            if policy == "accept":
                continue
            name, target = _NAMES[kind]
            refs = sku_refs if kind == "sku" else location_refs
            seen = self._seen[kind]
            for ref in refs(change.domain, change.key, fields):
                if ref.value in seen or (kind, ref.value) in creates:
                    continue
                record = batch.record(target.value, ref.value)
                if record is not None:
                    if record.exists:
                        if len(seen) >= _SEEN_MAX:
                            seen.clear()
                        seen.add(ref.value)
                    continue
                if policy == "quarantine":
                    rule = UNKNOWN_SKU if kind == "sku" else UNKNOWN_LOCATION
                    return Problem(
                        rule, ref.path, ref.value, f"{ref.path}: {ref.value} is not a known {name}"
                    )
                if pair_problem(kind, "-", ref.value) is not None:  # not a key a record could have
                    rule = UNKNOWN_SKU if kind == "sku" else UNKNOWN_LOCATION
                    return Problem(
                        rule, ref.path, ref.value, f"{ref.path}: {ref.value!r} is not a valid {name} key"
                    )
                creates[(kind, ref.value)] = ref.path
        return None

    def _units(
        self, batch: Batch, change: Change, fields: dict[str, Any], received: dict[str, Any]
    ) -> Problem | None:
        """Quantities in another unit than the SKU's base unit, converted with the product's units.

        What an inventory change sent for the fields converted goes into `received` (an adjustment's
        delta as `{"adjust": 2}` under the field it moves).
        """
        if change.domain is Domain.inventory:
            if fields.get("uom") is None:
                return None
            sku = split_inventory_key(change.key)[0]
            before = {name: fields.get(name) for name in ("uom", *INVENTORY_QUANTITIES)}
            adjust = dict(fields["adjust"]) if isinstance(fields.get("adjust"), dict) else {}
            problem = convert_inventory(fields, sku, _product(batch, sku))
            if problem is None:
                received.update({n: v for n, v in before.items() if v is not None and fields.get(n) != v})
                moved = fields.get("adjust") or {}
                received.update(
                    {n: {"adjust": d} for n, d in adjust.items() if n != "reason" and moved.get(n) != d}
                )
            return problem
        for path, line in lines_of(change.domain, fields):
            if line.get("uom") is None:
                continue
            problem = convert_line(change.domain, path, line, line["sku"], _product(batch, line["sku"]))
            if problem is not None:
                return problem
        return None


def _product(batch: Batch, sku: str) -> dict[str, Any] | None:
    record = batch.record(Domain.product.value, sku)
    return None if record is None else record.fields
