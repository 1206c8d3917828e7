"""Cross-reference translation on the way in: a system's own ids become canonical keys.

Runs on a batch before the ingest transaction takes its locks and reads its records, so the key a
change is locked, looked up, logged and applied under is the canonical one (an inventory change
a partner keys `ITEM-77@SITE-9` is the record `SKU-1@DC1`). For a system with an `xref` in the
sync map, for each change that passed validation and authorization:

- an inventory key's SKU and location (per the kinds the system has), order and return lines'
  `sku`, shipment package lines' `sku`, an order's `warehouse`, a shipment's `ship_from`, a
  return's `location` and a shipment's `service` are looked up in the system's tables and
  replaced by the canonical key;
- a line keeps what was sent in its `received` (`{"sku": "L-1001"}`); a top-level field and the
  key are noted in the verdict's `received` (the record's provenance keeps them, see ingest.py);
- an id with no mapping quarantines the change (`unknown_xref`, naming the field and the id).

Product and location keys are never translated: a product (location) change is how a system
teaches its ids (key canonical, its own id in `attributes.<name>`). Pairs taught by changes earlier
in the same batch are used for the later ones, as the transaction will record them.
The tables are read once per batch and kind, on the store's reading connection.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..config.model import SyncMap
from ..domain.catalog import split_inventory_key
from ..domain.change import Change
from ..domain.kinds import Domain, OutcomeKind
from ..domain.problem import UNKNOWN_XREF, Problem
from ..domain.quality import Ref, keep, location_refs, service_refs, sku_refs, writable
from ..domain.xref import pair_problem
from ..store.base import Store
from .verdicts import Verdict

_TEACHES = {Domain.product: "sku", Domain.location: "location"}
_TRANSLATED = frozenset({Domain.inventory, Domain.order, Domain.shipment, Domain.return_})


def taught(change: Change, fields: dict[str, Any], xref: dict[str, str]) -> tuple[str, str] | None:
    """(kind, external id) a product or location change teaches, when it carries the system's own
    id in `attributes` (`{"attributes": {"listing_id": "L-1"}}` on product `SKU-1`)."""
    kind = _TEACHES.get(change.domain)
    name = xref.get(kind) if kind is not None else None
    attributes = fields.get("attributes")
    if name is None or not isinstance(attributes, dict):
        return None
    external = attributes.get(name)
    if isinstance(external, str) and pair_problem(kind or "", external, change.key) is None:
        return kind or "", external
    return None


class Translator:
    """The systems' `xref` settings, and the translation of a batch (see the module docstring)."""

    def __init__(self, syncmap: SyncMap) -> None:
        self.xref: dict[str, dict[str, str]] = {
            name: {str(kind): ext for kind, ext in system.xref.items()}
            for name, system in syncmap.systems.items()
            if system.xref
        }

    def translate(
        self, store: Store, system: str, changes: Sequence[Change], verdicts: Sequence[Verdict]
    ) -> tuple[list[Change], list[Verdict]]:
        """The batch with the system's own ids replaced by canonical keys (changes, verdicts)."""
        xref = self.xref.get(system)
        if not xref:
            return list(changes), list(verdicts)
        plans: list[tuple[dict[str, Any], list[tuple[str, Ref]]] | None] = []
        wanted: dict[str, set[str]] = {}
        for change, verdict in zip(changes, verdicts, strict=True):
            if verdict.fields is None or change.domain not in _TRANSLATED:
                plans.append(None)
                continue
            fields = writable(change.domain, verdict.fields)
            refs = _refs(change, fields, xref)
            plans.append((fields, refs))
            for kind, ref in refs:
                wanted.setdefault(kind, set()).add(ref.value)
        found = {kind: store.resolve_xrefs(system, kind, sorted(ids)) for kind, ids in wanted.items()}
        learned: dict[str, dict[str, str]] = {kind: {} for kind in xref}
        out_changes: list[Change] = []
        out_verdicts: list[Verdict] = []
        for change, verdict, plan in zip(changes, verdicts, plans, strict=True):
            if plan is None:
                if verdict.fields is not None and (pair := taught(change, verdict.fields, xref)) is not None:
                    learned[pair[0]][pair[1]] = change.key
                out_changes.append(change)
                out_verdicts.append(verdict)
                continue
            fields, refs = plan
            if not refs:
                out_changes.append(change)
                out_verdicts.append(verdict)
                continue
            translated = self._apply(system, change, verdict, fields, refs, xref, found, learned)
            out_changes.append(translated[0])
            out_verdicts.append(translated[1])
        return out_changes, out_verdicts

    def _apply(
        self,
        system: str,
        change: Change,
        verdict: Verdict,
        fields: dict[str, Any],
        refs: list[tuple[str, Ref]],
        xref: dict[str, str],
        found: dict[str, dict[str, str]],
        learned: dict[str, dict[str, str]],
    ) -> tuple[Change, Verdict]:
        received: dict[str, Any] = {}
        key_parts: dict[str, str] = {}
        for kind, ref in refs:
            canonical = learned[kind].get(ref.value) or found.get(kind, {}).get(ref.value)
            if canonical is None:
                name = xref[kind]
                problem = Problem(
                    UNKNOWN_XREF,
                    ref.path,
                    ref.value,
                    f"{ref.path}: {ref.value} is not a known {system} {name} "
                    f"(its cross-reference table for {kind} has no such id)",
                    {"system": system, "kind": kind, "name": name},
                )
                detail = {**problem.detail(), "fields": verdict.fields}
                return change, Verdict(
                    None, OutcomeKind.quarantined, problem.reason, UNKNOWN_XREF, detail, verdict.fields
                )
            if ref.path == "key":
                key_parts[kind] = canonical
            elif ref.set is not None:
                ref.set(canonical)
                if ref.line is not None:
                    keep(ref.line, {kind: ref.value})
                else:
                    received[ref.path] = ref.value
        if key_parts:
            sku, location = split_inventory_key(change.key)
            key = f"{key_parts.get('sku', sku)}@{key_parts.get('location', location)}"
            if key != change.key:
                received["key"] = change.key
                change = change.model_copy(update={"key": key})
        return change, Verdict(fields, received=received or None)


def _refs(change: Change, fields: dict[str, Any], xref: dict[str, str]) -> list[tuple[str, Ref]]:
    """(kind, place) for every place of the change that names an id of a kind the system has."""
    out: list[tuple[str, Ref]] = []
    for kind in xref:
        if kind == "sku":
            refs = sku_refs(change.domain, change.key, fields)
        elif kind == "location":
            refs = location_refs(change.domain, change.key, fields)
        else:
            refs = service_refs(change.domain, fields)
        out.extend((kind, ref) for ref in refs)
    return out
