"""Reading records back: each field explained, the history of a record, its state at a past time."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .domain.catalog import CATALOG
from .domain.change import from_us
from .domain.kinds import Domain
from .domain.record import RecordState
from .domain.stock import apply_stock, is_stock_movement
from .store.base import Store


@dataclass(frozen=True)
class FieldStory:
    """One field of a record: its value, who set it, by which change, when, and what it replaced."""

    field: str
    value: Any
    system: str
    change_id: str
    stamp: int
    applied_us: int
    replaced_value: Any
    replaced_system: str | None
    replaced_change_id: str | None
    received: Any = None  # what the system sent, when the hub translated or converted it

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "field": self.field,
            "value": self.value,
            "system": self.system,
            "change_id": self.change_id,
            "stamp": self.stamp,
            "applied_at": from_us(self.applied_us).isoformat(),
            "replaced": None
            if self.replaced_change_id is None
            else {
                "value": self.replaced_value,
                "system": self.replaced_system,
                "change_id": self.replaced_change_id,
            },
        }
        if self.received is not None:
            out["received"] = self.received
        return out


def explain(store: Store, domain: Domain | str, key: str) -> list[FieldStory] | None:
    """Every field of a record with its provenance; None when there is no such record."""
    record = store.get_record(Domain(domain).value, key)
    if record is None:
        return None
    seqs = [p["q"] for p in record.prov.values()] + [p["p"] for p in record.prov.values() if p["p"]]
    log = store.get_changes(seqs)
    stories = []
    for name in sorted(record.fields):
        prov = record.prov[name]
        setter = log.get(prov["q"])
        replaced = log.get(prov["p"]) if prov["p"] else None
        stories.append(
            FieldStory(
                field=name,
                value=record.fields[name],
                system=prov["s"],
                change_id=prov["c"],
                stamp=prov["v"],
                applied_us=setter.received_us if setter else 0,
                replaced_value=replaced.payload.get(name) if replaced else None,
                replaced_system=replaced.system if replaced else None,
                replaced_change_id=replaced.change_id if replaced else None,
                received=prov.get("r"),
            )
        )
    return stories


def view(record: RecordState, store: Store | None = None) -> dict[str, Any]:
    """A record as the API shows it: fields (with derived ones) and provenance with readable names.

    With a store, each field's provenance also says when it was applied (read from the log).
    """
    spec = CATALOG[Domain(record.domain)]
    fields = dict(record.fields)
    if spec.derive is not None:
        fields.update(spec.derive(record.fields))
    log = store.get_changes([p["q"] for p in record.prov.values()]) if store is not None else {}
    provenance = {}
    for name, p in sorted(record.prov.items()):
        entry: dict[str, Any] = {"system": p["s"], "change_id": p["c"], "stamp": p["v"], "log_seq": p["q"]}
        setter = log.get(p["q"])
        if setter is not None:
            entry["applied_at"] = from_us(setter.received_us).isoformat()
        if "r" in p:
            entry["received"] = p["r"]
        provenance[name] = entry
    return {
        "domain": record.domain,
        "key": record.key,
        "revision": record.revision,
        "updated_at": from_us(record.updated_us).isoformat() if record.updated_us else None,
        "fields": fields,
        "provenance": provenance,
    }


def state_at(store: Store, domain: Domain | str, key: str, at_us: int) -> RecordState | None:
    """The record as it stood at a past moment, rebuilt from the change log; None if it did not exist."""
    domain = Domain(domain).value
    entries = store.record_log(domain, key, until_us=at_us, applied_only=True)
    if not entries:
        return None
    record = RecordState(domain, key, exists=True)
    for e in entries:
        if not e.applied:  # an event kept in the history that changed no field
            continue
        if domain == "inventory" and is_stock_movement(e.payload):
            # an adjustment or a count: its payload holds deltas and the count, not the values it
            # set; replayed by the function that applied it, on the record as it stood then
            apply_stock(record, e.system, e.change_id, e.stamp, e.payload, e.received_us, e.seq, e.versioned)
            continue
        for name in e.applied:
            old = record.prov.get(name)
            record.fields[name] = e.payload[name]
            entry = {
                "s": e.system,
                "c": e.change_id,
                "v": e.stamp,
                "q": e.seq,
                "p": old["q"] if old else None,
            }
            if e.versioned:
                entry["k"] = 1
            record.prov[name] = entry
        record.revision += 1
        record.updated_us = e.received_us
    return record


def history(
    store: Store, domain: Domain | str, key: str, *, limit: int | None = None, before: int | None = None
) -> list[dict[str, Any]]:
    """Changes received for a record, oldest first: all of them, or the newest `limit` older than `before`.

    Each entry's `seq` is its change log position; pass the smallest one as `before` for the
    page that precedes it.
    """
    name = Domain(domain).value
    if limit is None and before is None:
        entries = store.record_log(name, key)
    else:
        entries = store.record_history(name, key, limit=limit or 100, before=before)[::-1]
    return [
        {
            "seq": e.seq,
            "system": e.system,
            "change_id": e.change_id,
            "stamp": e.stamp,
            "received_at": from_us(e.received_us).isoformat(),
            "outcome": e.outcome,
            "reason": e.reason,
            "fields": e.payload,
            "applied_fields": e.applied,
            "source": e.source,
        }
        for e in entries
    ]
