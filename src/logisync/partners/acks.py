"""Our groups' acknowledgments: a partner's 997 settles the group it answers; a rejected set opens
an exception; a group whose 997 is overdue opens one too (`check_overdue`, on a schedule).

| the partner's AK9 | the group becomes | exception |
| --- | --- | --- |
| `A`, `E` | `accepted` | — |
| `P` (some sets rejected) | `partial` | `edi_ack_rejected`, naming the rejected sets and their AK5/AK3/AK4 codes |
| `R` (and `M`, `W`, `X`) | `rejected` | `edi_ack_rejected` |
| none within its time | `overdue` | `edi_ack_overdue` (a late 997 still settles it) |

A partner's TA1 answers one of our interchanges (`settle_ta1s`): `R` rejects every group of it
still waiting for its 997, with one `edi_ack_rejected` exception naming the TA105 note (the
partner's translator refused the envelope: no 997 will come); `A` and `E` settle nothing, since
each group's 997 still answers for its sets (an `E` is noted).
"""

from __future__ import annotations

from collections.abc import Sequence
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


# TA105, the interchange note codes (X12 control segments, code list 0126)
TA1_NOTES = {
    "000": "no error",
    "001": "the interchange control numbers in the header and trailer do not match",
    "002": "the standard in the control standards identifier is not supported",
    "003": "this version of the controls is not supported",
    "004": "the segment terminator is invalid",
    "005": "invalid interchange ID qualifier for the sender",
    "006": "invalid interchange sender ID",
    "007": "invalid interchange ID qualifier for the receiver",
    "008": "invalid interchange receiver ID",
    "009": "unknown interchange receiver ID",
    "010": "invalid authorization information qualifier",
    "011": "invalid authorization information",
    "012": "invalid security information qualifier",
    "013": "invalid security information",
    "014": "invalid interchange date",
    "015": "invalid interchange time",
    "016": "invalid interchange standards identifier",
    "017": "invalid interchange version ID",
    "018": "invalid interchange control number",
    "019": "invalid acknowledgment requested value",
    "020": "invalid test indicator",
    "021": "invalid number of included groups",
    "022": "invalid control structure",
    "023": "improper (premature) end of file",
    "024": "invalid interchange content (e.g. an invalid GS segment)",
    "025": "duplicate interchange control number",
    "026": "invalid data element separator",
    "027": "invalid component element separator",
    "028": "invalid delivery date in a deferred delivery request",
    "029": "invalid delivery time in a deferred delivery request",
    "030": "invalid delivery time code in a deferred delivery request",
    "031": "invalid grade of service code",
}


def settle_ta1s(ledger: EdiLedger, partner: str, ta1s: Sequence[Sequence[str]], now_us: int) -> list[str]:
    """Read the TA1 segments (elements, the id first) a partner sent about our interchanges and
    settle what they answer (see the module docstring); returns notes on what could not be matched
    and on interchanges accepted with errors."""
    notes: list[str] = []
    for ta1 in ta1s:
        control, status, note = (ta1[i] if len(ta1) > i else "" for i in (1, 4, 5))
        meaning = TA1_NOTES.get(note, "a note code X12 does not list")
        if not is_number(control):
            notes.append(f"TA1: TA101 {control!r} is not one of our interchange numbers")
            continue
        number = int(control)
        groups = ledger.groups_in(partner, number)
        if not groups:
            notes.append(f"TA1: answers interchange {number:09d}, which we did not send to {partner}")
            continue
        if status == "E":
            notes.append(
                f"TA1: {partner} accepted our interchange {number:09d} with errors: {note} ({meaning})"
            )
        if status != "R":
            continue
        open_ = [g for g in groups if g.state in ("waiting", "overdue")]
        what = ", ".join(f"{g.functional_id} {g.control}" for g in open_)
        exception = NewException(
            "edi_ack_rejected",
            f"{partner} rejected our interchange {number:09d} (TA1 R {note}: {meaning}); its groups "
            f"{what} were not taken: correct it and send them again",
            system=partner,
            detail={
                "interchange": number,
                "ta1": list(ta1),
                "note": meaning,
                "groups": [g.control for g in open_],
            },
        )
        detail = {"status": "R", "ta1": list(ta1), "note": meaning}
        opened = False
        for group in open_:
            settled = ledger.settle(
                partner, group.control, "rejected", detail, now_us, [] if opened else [exception]
            )
            opened = opened or settled is not None
        if not opened:
            notes.append(f"TA1: interchange {number:09d} rejected, but its groups were already acknowledged")
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
