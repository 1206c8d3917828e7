"""Golden records and the field-by-field merge that keeps the newest value of every field.

Every field carries its provenance, stored compactly as a dict per field: `s` the system that
set it, `c` its change id, `v` the change's order stamp (version or event time; `k` is present
when it is a version), `q` the change's position in the change log, `p` the log position of the
change whose value it replaced (None for the first value), and `r`, only when the hub translated
or converted the value on the way in (a cross-reference, a unit), what the system sent. When it
was applied and what it replaced are read back from the change log when someone asks
(`explain`), so records stay small.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple

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
    last_seq: int | None = None  # the newest change log entry for this record


class MergeResult(NamedTuple):
    applied: list[str]  # the fields taken in
    stale: list[str]  # the fields the record already holds newer values of


def is_newer(old: Provenance | None, stamp: int, change_id: str, system: str, versioned: bool) -> bool:
    """Whether a change's value beats the stored one of a field (see `merge`)."""
    if old is None or ("k" in old) != versioned:
        return True
    return (old["v"], old["c"], old["s"]) < (stamp, change_id, system)


def merge(
    record: RecordState,
    system: str,
    change_id: str,
    stamp: int,
    fields: dict[str, Any],
    at_us: int,
    seq: int = 0,
    versioned: bool = False,
) -> MergeResult:
    """Take each field whose (stamp, change id) is newer than the stored one; skip the others.

    The change id, then the system, break ties between equal stamps, so the result is the same in
    any arrival order: the record converges on the newest value of every field.

    Stamps are of two kinds: source versions (`versioned`, marked `k` in the provenance) and
    times in µs (event times and arrivals). Only stamps of one kind are compared; a change whose
    stamp is of the other kind than the stored one is taken, as the later arrival, so one change
    sent without its version cannot freeze a field against all versioned updates after it.
    """
    applied: list[str] = []
    stale: list[str] = []
    prov = record.prov
    values = record.fields
    for name, value in fields.items():
        old = prov.get(name)
        if not is_newer(old, stamp, change_id, system, versioned):
            stale.append(name)
            continue
        entry = {"s": system, "c": change_id, "v": stamp, "q": seq, "p": old["q"] if old else None}
        if versioned:
            entry["k"] = 1
        prov[name] = entry
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
