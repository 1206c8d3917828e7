"""Cross-references going out: a target that names things by its own ids gets its own ids.

A system with an `xref` in the sync map (`shop: {xref: {sku: listing_id}}`) is sent, in place of
each canonical key of a kind it has, the id its table maps to that key: the places a change from
it would be translated in (lines' `sku`, `warehouse`, `ship_from`, `location`, `service`), a
product's or location's key, an inventory key's SKU and location, and a channel ATP body's `sku`.
A key several of its ids map to gets the newest pair's id. A key with no id is a permanent
failure of that delivery (`unknown_xref`): the record is not sent under a name the target does
not know, and the dead delivery says which key and which table.

`plan` is pure (what to look up); `apply` rewrites a copy of the fields and the key from what the
store found. The dispatcher looks the ids up once per round and kind.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..domain.catalog import split_inventory_key
from ..domain.kinds import Domain
from ..domain.quality import Ref, location_refs, service_refs, sku_refs, writable

_KEY_KINDS = {Domain.product: "sku", Domain.location: "location"}


@dataclass(frozen=True, slots=True)
class Outbound:
    """What one delivery names, per kind, and where: (kind, path, canonical value) triples."""

    domain: Domain
    key: str
    fields: dict[str, Any]  # a copy the rewrite may change
    refs: tuple[tuple[str, Ref], ...]
    key_refs: tuple[tuple[str, str, str], ...]  # (kind, part: "key" | "sku" | "location", value)
    atp: bool

    def wanted(self) -> dict[str, set[str]]:
        out: dict[str, set[str]] = {}
        for kind, ref in self.refs:
            out.setdefault(kind, set()).add(ref.value)
        for kind, _, value in self.key_refs:
            out.setdefault(kind, set()).add(value)
        return out


def plan(
    domain: str, key: str, fields: Mapping[str, Any], kinds: Mapping[str, str], *, atp: bool
) -> Outbound:
    """The places of a delivery (domain, key, fields) that name a key of a kind in `kinds`."""
    d = Domain(domain)
    work = writable(d, dict(fields))
    refs: list[tuple[str, Ref]] = []
    key_refs: list[tuple[str, str, str]] = []
    if atp:  # a channel's ATP body: {"sku": ..., "available_to_promise": ...}, keyed by the SKU
        if "sku" in kinds:
            key_refs.append(("sku", "key", key))
            if isinstance(work.get("sku"), str):
                refs.append(("sku", Ref("sku", work["sku"], _setter(work, "sku"))))
        return Outbound(d, key, work, tuple(refs), tuple(key_refs), atp)
    if d is Domain.inventory:
        sku, location = split_inventory_key(key)
        key_refs += [(k, k, v) for k, v in (("sku", sku), ("location", location)) if k in kinds]
    elif d in _KEY_KINDS and _KEY_KINDS[d] in kinds:
        key_refs.append((_KEY_KINDS[d], "key", key))
    for kind in kinds:
        if kind == "sku":
            found = sku_refs(d, key, work)
        elif kind == "location":
            found = location_refs(d, key, work)
        else:
            found = service_refs(d, work)
        refs += [(kind, ref) for ref in found if ref.set is not None]
    return Outbound(d, key, work, tuple(refs), tuple(key_refs), atp)


def apply(
    out: Outbound, found: Mapping[str, Mapping[str, str]], target: str, kinds: Mapping[str, str]
) -> tuple[str, dict[str, Any]] | str:
    """(the key, the fields) in the target's ids; or, when one has no id, what to tell a person."""
    parts: dict[str, str] = {}
    for kind, part, value in out.key_refs:
        external = found.get(kind, {}).get(value)
        if external is None:
            return _missing(target, kinds[kind], kind, "key" if part == "key" else f"key's {part}", value)
        parts[part] = external
    for kind, ref in out.refs:
        external = found.get(kind, {}).get(ref.value)
        if external is None:
            return _missing(target, kinds[kind], kind, ref.path, ref.value)
        assert ref.set is not None
        ref.set(external)
    key = out.key
    if "key" in parts:
        key = parts["key"]
    elif parts:
        sku, location = split_inventory_key(out.key)
        key = f"{parts.get('sku', sku)}@{parts.get('location', location)}"
    return key, out.fields


def _missing(target: str, name: str, kind: str, where: str, value: str) -> str:
    return (
        f"{where}: {value} has no {target} {name} (its cross-reference table for {kind} maps no id "
        f"to it); load one with `logisync xref load {target} {kind} FILE.csv`, then retry"
    )


def _setter(target: dict[str, Any], name: str) -> Any:
    def put(value: str) -> None:
        target[name] = value

    return put
