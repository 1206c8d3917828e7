"""What the pipeline logs about a committed batch: one line for the batch, one per change (debug).

At `info`: `batch committed` with the system, source, number of changes, their outcomes and the
deliveries queued. At `debug` also, per change, `change <outcome>` (its id, key, log position and
reason) and, per outbox row, `queued for delivery` (its change id and route). The request and
batch ids come from the log context (`monitor/logs.py`). A reason that quotes the value of a
field the sync map's `logging.redact` lists has that value left out. Called only after the
commit, and only when the `logisync.pipeline` logger would print something.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from ..domain.change import Change, Outcome
from ..redact import REDACTED
from .batch import Batch

log = logging.getLogger("logisync.pipeline")


def committed(
    system: str,
    source: str | None,
    changes: Sequence[Change],
    outcomes: Sequence[Outcome],
    batch: Batch,
    redact: Sequence[str],
) -> None:
    counts: dict[str, int] = {}  # from the batch's own counts: nothing more per change at info
    for (who, _, outcome), n in batch.counts.items():
        if who == system:
            counts[outcome] = counts.get(outcome, 0) + n
    log.info(
        "batch committed",
        extra={
            "system": system,
            "source": source,
            "changes": len(changes),
            "outcomes": counts,
            "queued": len(batch.deliveries),
        },
    )
    if not log.isEnabledFor(logging.DEBUG):
        return
    seqs = {e.change_id: e.seq for e in batch.log if e.system == system}
    for change, o in zip(changes, outcomes, strict=True):
        reason = o.reason
        if reason and redact:
            for name in redact:
                value = change.fields.get(name)
                if value is not None and str(value):
                    reason = reason.replace(str(value), REDACTED)
        log.debug(
            "change %s",
            o.outcome.value,
            extra={
                "change_id": change.id,
                "system": system,
                "domain": change.domain.value,
                "key": change.key,
                "outcome": o.outcome.value,
                "seq": seqs.get(change.id),
                "reason": reason,
            },
        )
    ids = {e.seq: e.change_id for e in batch.log}
    for d in batch.deliveries:
        log.debug(
            "queued for delivery",
            extra={"change_id": ids.get(d.change_seq), "route": d.route, "key": d.key, "seq": d.change_seq},
        )
