"""Our groups' acknowledgments: a partner's 997 settles the group it answers; a rejected set opens
an exception; a group whose 997 is overdue opens one too (`check_overdue`, on a schedule).

| the partner's AK9 | the group becomes | exception |
| --- | --- | --- |
| `A`, `E` | `accepted` | — |
| `P` (some sets rejected) | `partial` | `edi_ack_rejected`, naming the rejected sets and their AK5/AK3/AK4 codes |
| `R` (and `M`, `W`, `X`) | `rejected` | `edi_ack_rejected` |
| none within its time | `overdue` | `edi_ack_overdue` (a late 997 still settles it) |
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from ..edi.ack import GroupResponse, read_997
from ..edi.interchange import FunctionalGroup, is_number
from ..store.base import NewException
from ..store.edi_exchange import EdiLedger, GroupRow
from ..store.sql import SqlStore

_STATES = {"A": "accepted", "E": "accepted", "P": "partial"}


def settle_997s(ledger: EdiLedger, partner: str, group: FunctionalGroup, now_us: int) -> list[str]:
    """Read every 997 of an FA group from `partner` and settle the groups they answer; returns
    notes on what could not be matched (a 997 for a group we never sent, one that cannot be read)."""
    notes: list[str] = []
    for tset in group.sets:
        if tset.rejected:
            continue
        response = read_997(tset)
        if response.problems:
            notes.append(f"997 {tset.control}: cannot be read ({'; '.join(response.problems)})")
            continue
        if not is_number(response.control):
            notes.append(f"997 {tset.control}: AK102 {response.control!r} is not one of our group numbers")
            continue
        control = int(response.control)
        sent = ledger.group(partner, control)
        if sent is None:
            notes.append(f"997 {tset.control}: answers group {control}, which we did not send to {partner}")
            continue
        state = _STATES.get(response.status, "rejected")
        exceptions = [] if state == "accepted" else [_rejected(partner, sent, response)]
        if ledger.settle(partner, control, state, _detail(response), now_us, exceptions) is None:
            notes.append(f"997 {tset.control}: group {control} was already acknowledged ({sent.state})")
    return notes


def _detail(response: GroupResponse) -> dict[str, Any]:
    return {
        "status": response.status,
        "included": response.included,
        "received": response.received,
        "accepted": response.accepted,
        "codes": response.codes,
        "sets": [asdict(s) for s in response.sets],
    }


def _rejected(partner: str, sent: GroupRow, response: GroupResponse) -> NewException:
    parts = []
    for s in response.rejected_sets:
        errors = ", ".join(
            f"{e.segment_id} at {e.position} (AK304 {e.code}"
            + "".join(f"; element {p} AK403 {c}" for p, _, c in e.elements)
            + ")"
            for e in s.errors
        )
        parts.append(
            f"{s.code} {s.control}: AK5 {s.status} {' '.join(s.codes)}" + (f" — {errors}" if errors else "")
        )
    what = "; ".join(parts) or f"AK9 {response.status} {' '.join(response.codes)}".strip()
    return NewException(
        "edi_ack_rejected",
        f"{partner} rejected our group {sent.functional_id} {sent.control} (interchange {sent.interchange:09d}): {what}",
        system=partner,
        detail={
            "group": sent.control,
            "interchange": sent.interchange,
            "sets": sent.sets,
            **_detail(response),
        },
    )


def check_overdue(store: SqlStore, now_us: int) -> int:
    """Open an `edi_ack_overdue` exception for every group of ours still waiting for its 997 past
    its due time (one per group, however many checkers run). Returns how many were opened."""
    ledger = EdiLedger(store)
    opened = 0
    for group in ledger.overdue(now_us):
        late = (now_us - group.due_us) / 3_600_000_000
        waited = (now_us - group.sent_us) / 3_600_000_000
        sets = ", ".join(f"{code} {control}" for code, control in group.sets)
        exception = NewException(
            "edi_ack_overdue",
            f"{group.partner} has not acknowledged our group {group.functional_id} {group.control} "
            f"(interchange {group.interchange:09d}; sets {sets}) sent {waited:.1f} h ago, "
            f"{late:.1f} h past its due time: ask the partner, or send it again",
            system=group.partner,
            detail={
                "group": group.control,
                "interchange": group.interchange,
                "functional_id": group.functional_id,
                "sets": group.sets,
                "sent_us": group.sent_us,
                "due_us": group.due_us,
            },
        )
        if ledger.mark_overdue(group, exception, now_us):
            opened += 1
    return opened
