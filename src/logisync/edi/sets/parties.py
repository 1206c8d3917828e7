"""The N1 loop (N1 name and id, N3 street, N4 city/region/postal code/country), to and from the
canonical address and location code, shared by the sets that name a ship-to or ship-from."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..tokenizer import Segment
from .mapped import SetReader


@dataclass
class Party:
    """One N1 loop as read: its entity code (ST, SF, WH, ...), its id (N104) and its address."""

    entity: str
    code: str | None = None
    address: dict[str, Any] = field(default_factory=dict)


def read_parties(r: SetReader, segments: Sequence[Segment]) -> dict[str, Party]:
    """Every N1 loop among `segments`, by entity code (the first of each code wins)."""
    found: dict[str, Party] = {}
    current: Party | None = None
    for seg in segments:
        tag = seg.tag
        if tag == "N1":
            entity = r.text(seg, 1, "N101 entity code") or ""
            current = Party(entity, seg[4].strip() or None)
            name = seg[2].strip()
            if name:
                current.address["name"] = name
            found.setdefault(entity, current)
        elif current is None:
            continue
        elif tag == "N3":
            current.address["line1"] = seg[1].strip() or None
            if seg[2].strip():
                current.address["line2"] = seg[2].strip()
        elif tag == "N4":
            for n, name in ((1, "city"), (2, "region"), (3, "postal_code"), (4, "country")):
                if seg[n].strip():
                    current.address[name] = seg[n].strip()
        elif tag not in ("N2", "REF", "PER"):
            current = None
    for party in found.values():
        party.address = {k: v for k, v in party.address.items() if v is not None}
    return found


def write_party(entity: str, address: dict[str, Any] | None, code: str | None = None) -> list[list[str]]:
    """N1 (with N103 92, assigned by buyer, when there is a code), N3 and N4 for an address."""
    address = address or {}
    n1 = ["N1", entity, address.get("name") or ""]
    if code:
        n1 += ["92", code]
    rows = [n1]
    if address.get("line1") or address.get("line2"):
        rows.append(["N3", address.get("line1") or "", address.get("line2") or ""])
    place = [address.get(k) or "" for k in ("city", "region", "postal_code", "country")]
    if any(place):
        rows.append(["N4", *place])
    return rows
