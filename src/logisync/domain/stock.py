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

from .record import MergeResult, RecordState, is_newer, merge


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


def is_stock_movement(fields: dict[str, Any]) -> bool:
    """Whether an inventory change moves stock by a delta or a count (`apply_stock` takes it)."""
    return "adjust" in fields or "counted_at" in fields


def apply_stock(
    record: RecordState,
    system: str,
    change_id: str,
    stamp: int,
    fields: dict[str, Any],
    at_us: int,
    seq: int,
    versioned: bool,
) -> MergeResult:
    """Take an inventory change that carries an `adjust` and/or a count (`counted_at`).

    The adjustment's deltas go through `apply_deltas`; the other fields are merged, except that a
    count older than the stock it counts takes nothing; a count that differs from the record also
    sets `variance`. The applied fields list `adjust` when a delta was taken. The same function
    replays the change log (`history.state_at`). Raises `NegativeStock`, changing nothing.
    """
    fields = dict(fields)
    adjust = fields.pop("adjust", None)
    before = record.fields.get("on_hand")
    moved = MergeResult([], [])
    if adjust is not None:
        deltas = {k: v for k, v in adjust.items() if k != "reason" and v is not None}
        moved = apply_deltas(record, system, change_id, stamp, deltas, at_us, seq, versioned)
    rest = MergeResult([], [])
    counting = "on_hand" in fields and "counted_at" in fields
    if counting and not is_newer(record.prov.get("on_hand"), stamp, change_id, system, versioned):
        rest = MergeResult([], ["on_hand"])  # a count older than the stock it counts: none of it is taken
    elif fields:
        rest = merge(record, system, change_id, stamp, fields, at_us, seq, versioned)
        if counting and "on_hand" in rest.applied:
            variance = count_variance(before, record.fields["on_hand"], record.fields.get("counted_at"))
            if variance is not None:
                merge(record, system, change_id, stamp, {"variance": variance}, at_us, seq, versioned)
                rest.applied.append("variance")
    applied = [*moved.applied, *rest.applied]
    if adjust is not None and moved.applied:
        applied.append("adjust")
    return MergeResult(applied, [*moved.stale, *rest.stale])


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
