"""Stock movements on an inventory record: deltas (adjustments) and counts (with their variance).

A position's `on_hand` may be set two ways, and both are idempotent by change id:

- an **absolute value** (a snapshot or a count) is ordered like any field (`record.merge`);
- an **adjustment** is a delta with a reason. Deltas commute, so they are applied on top of the
  current value whatever order they arrive in, unless the field's last *absolute* value is newer
  than the delta: that count or snapshot already includes it, and the delta is stale.

To tell the two apart, a field moved by a delta keeps in its provenance `b`, the stamp of the
absolute value the deltas are on top of, while `v` is the stamp of the newest change that touched
it. An absolute value is compared with `v` (a count older than a movement already applied does not
undo it); a delta with `b`. `b` is None while no absolute value (of the delta's stamp kind) is
under the deltas: every delta applies then, whatever its stamp, since deltas commute.
"""

from __future__ import annotations

from typing import Any

from .record import MergeResult, RecordState, is_newer


class NegativeStock(ValueError):
    """A delta that would take a quantity below zero: refused, with the numbers."""


def apply_deltas(
    record: RecordState,
    system: str,
    change_id: str,
    stamp: int,
    deltas: dict[str, int],
    at_us: int,
    seq: int,
    versioned: bool,
) -> MergeResult:
    """Add each delta to its field unless the field's base (last absolute value) is newer.

    Raises `NegativeStock` (changing nothing) when a result would be below zero.
    """
    taken: dict[str, int] = {}
    stale: list[str] = []
    for name, delta in deltas.items():
        old = record.prov.get(name)
        base = _base(old)
        if not is_newer(base, stamp, change_id, system, versioned):
            stale.append(name)
            continue
        current = int(record.fields.get(name) or 0)
        if current + delta < 0:
            raise NegativeStock(
                f"adjustment of {delta:+d} would take {name} below zero (the record has {current})"
            )
        taken[name] = current + delta
    for name, value in taken.items():
        old = record.prov.get(name)
        entry: dict[str, Any] = {"s": system, "c": change_id, "q": seq, "p": old["q"] if old else None}
        if old is None or ("k" in old) != versioned:
            entry["v"], entry["b"] = stamp, None  # no absolute value of this kind underneath
        else:
            entry["v"] = max(old["v"], stamp)
            entry["b"] = old.get("b", old["v"])
        if versioned:
            entry["k"] = 1
        record.prov[name] = entry
        record.fields[name] = value
    if taken:
        record.revision += 1
        record.updated_us = at_us
    return MergeResult(list(taken), stale)


def _base(old: dict[str, Any] | None) -> dict[str, Any] | None:
    """The provenance a delta is compared with: the field's last absolute value (None: there is none,
    or only deltas of another stamp kind, so any delta applies)."""
    if old is None:
        return None
    if "b" not in old:  # set by an absolute value: that value is the base
        return old
    return None if old["b"] is None else {**old, "v": old["b"]}


def count_variance(before: int | None, counted: int, counted_at: str | None) -> dict[str, Any] | None:
    """The variance a count records against the golden record (None when it agrees or is the first)."""
    if before is None or before == counted:
        return None
    return {"quantity": counted - before, "expected": before, "counted": counted, "counted_at": counted_at}
