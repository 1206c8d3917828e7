"""Golden records and the field-by-field merge that keeps the newest value of every field.

Every field carries its provenance, stored compactly as a dict per field:
`s` the system that set it, `c` the change id, `v` the change's order stamp (version or event
time), `t` when the hub applied it (µs since the epoch), and `ps`/`pc` the system and change
whose value it replaced (None for the first value). The replaced value itself is read back
from the change log when someone asks (`explain`), so records stay small.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Provenance = dict[str, Any]


@dataclass
class RecordState:
    """The hub's golden copy of one entity: fields, per-field provenance, a revision counter."""

    domain: str
    key: str
    fields: dict[str, Any] = field(default_factory=dict)
    prov: dict[str, Provenance] = field(default_factory=dict)
    revision: int = 0
    updated_us: int = 0
    exists: bool = False  # already stored (vs created in this transaction)


@dataclass(frozen=True)
class MergeResult:
    applied: list[str]
    stale: list[str]


def merge(
    record: RecordState,
    *,
    system: str,
    change_id: str,
    stamp: int,
    fields: dict[str, Any],
    at_us: int,
) -> MergeResult:
    """Take each field whose (stamp, change id) is newer than the stored one; skip the others.

    The change id breaks ties between equal stamps, so the result is the same in any arrival
    order: the record converges on the newest value of every field.
    """
    applied: list[str] = []
    stale: list[str] = []
    prov = record.prov
    values = record.fields
    for name, value in fields.items():
        old = prov.get(name)
        if old is not None and (old["v"], old["c"]) >= (stamp, change_id):
            stale.append(name)
            continue
        prov[name] = {
            "s": system,
            "c": change_id,
            "v": stamp,
            "t": at_us,
            "ps": old["s"] if old else None,
            "pc": old["c"] if old else None,
        }
        values[name] = value
        applied.append(name)
    if applied:
        record.revision += 1
        record.updated_us = at_us
    return MergeResult(applied, stale)


def describe_stale(record: RecordState, stale: list[str], stamp: int) -> str:
    """Why a change was stale: which fields, and the newer stamp each already has."""
    parts = [f"{name} (has {record.prov[name]['v']} from {record.prov[name]['s']})" for name in stale]
    return f"older than the golden record (stamp {stamp}): " + ", ".join(parts)
