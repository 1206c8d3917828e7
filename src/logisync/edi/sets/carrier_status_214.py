"""214 Transportation Carrier Shipment Status Message -> tracking events.

The set's B10 (B1001 the carrier's reference, used as the tracking number; B1002 the shipment
id; B1003 the SCAC) and each AT7 with the MS1 after it are handed to the tracking module's X12
214 table (`tracking/formats/x12_214.py`), which owns the status codes and time zones; its
problems come back here as X12 errors on the segment and element they name (an unknown AT7-01
code is AK4 code 7). An AT7 that states an estimate, not a status, is noted, not an error.
"""

from __future__ import annotations

import re
from typing import Any

from ...tracking.formats import x12_214
from ..interchange import TransactionSet
from ..problems import Code
from ..tokenizer import Segment
from .mapped import Context, Mapped, SetReader

CODE = "214"
_PATH = re.compile(r"^(?:statuses\[(?P<i>\d+)\]\.)?(?P<tag>B10|AT7)-(?P<n>\d\d)$")
_KINDS = {
    "unknown_code": Code.element_invalid_code,
    "missing": Code.element_missing,
    "invalid": Code.element_invalid_character,
}


def read(tset: TransactionSet, ctx: Context) -> Mapped:
    r = SetReader(tset, ctx)
    b10 = next((s for s in tset.segments if s.tag == "B10"), None)
    if b10 is None:
        r.missing("B10", "the carrier's reference")
        return r.finish()
    statuses: list[dict[str, Any]] = []
    at7s: list[Segment] = []
    for seg in tset.segments:
        if seg.tag == "AT7":
            statuses.append({"at7": seg.elements[1:8]})
            at7s.append(seg)
        elif seg.tag == "MS1" and statuses and "ms1" not in statuses[-1]:
            statuses[-1]["ms1"] = seg.elements[1:4]
    if not at7s:
        r.missing("AT7", "at least one shipment status")
        return r.finish()
    payload: dict[str, Any] = {"b10": b10.elements[1:4], "statuses": statuses}
    if ctx.timezone:
        payload["local_tz"] = ctx.timezone
    decoded = x12_214.decode(payload)
    for problem in decoded.problems:
        found = _PATH.match(problem.path)
        if found is None:  # local_tz: the partner's setting, not the file
            r.error(b10, Code.segment_unexpected, f"{problem.path}: {problem.message}")
            continue
        seg = b10 if found["tag"] == "B10" else at7s[int(found["i"])]
        element = int(found["n"])
        if problem.kind == "no_status":
            r.result.notes.append(f"{seg.tag}{element:02d} (segment {seg.index}): {problem.message}")
            continue
        code = _KINDS.get(problem.kind, Code.element_invalid_character)
        if found["tag"] == "AT7" and element in (5, 6) and problem.kind == "invalid":
            code = Code.element_invalid_date if element == 5 else Code.element_invalid_time
        r.error(seg, code, problem.message, element)
    if not r.result.rejected:
        r.result.changes.extend(decoded.changes)
    return r.finish()
