"""A snapshot from an X12 846 (Inventory Advice) file: a trading partner's stock per item and
location, read by the EDI engine's own 846 map, as rows the diff engine compares."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import pyarrow as pa

from ..edi.envelope import parse
from ..edi.interchange import duplicate_key
from ..edi.sets import inventory_846
from ..edi.sets.mapped import Context
from .errors import SnapshotError

if TYPE_CHECKING:
    from ..config.edi import EdiPartnerConfig

SUFFIXES = (".x12", ".edi")


def read_846(path: Path, partner: str, edi: EdiPartnerConfig | None) -> pa.Table:
    """Every position of every 846 in the file: `key` (SKU@LOCATION), `on_hand`, `inbound`.

    A file or set the engine rejects fails the snapshot (a snapshot read in part would report
    every position it lost as missing); a position reported twice keeps both rows, so the diff
    reports it as listed twice."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SnapshotError(f"{path}: {exc.strerror or exc}") from None
    parsed = parse(data, supported={inventory_846.CODE})
    problems = [p for p in parsed.all_problems() if p.fatal]
    if problems:
        first = problems[0]
        raise SnapshotError(f"{path}: segment {first.segment} (line {first.line}): {first.message}")
    keys: list[str] = []
    on_hand: list[str | None] = []
    inbound: list[str | None] = []
    sets = 0
    for ic in parsed.interchanges:
        for group in ic.groups:
            for tset in group.sets:
                if tset.code != inventory_846.CODE:
                    continue
                sets += 1
                ctx = Context(
                    partner,
                    duplicate_key(ic)[2],
                    group.control,
                    location=edi.location if edi else None,
                    item_qualifiers=tuple(edi.item_qualifiers) if edi else Context.item_qualifiers,
                    timezone=edi.timezone if edi else None,
                )
                mapped = inventory_846.read(tset, ctx)
                fatal = [p for p in mapped.problems if p.fatal]
                if fatal:
                    raise SnapshotError(
                        f"{path}: 846 {tset.control}: segment {fatal[0].segment}: {fatal[0].message}"
                    )
                for change in mapped.changes:
                    keys.append(change.key)
                    on_hand.append(_text(change.fields.get("on_hand")))
                    inbound.append(_text(change.fields.get("inbound")))
    if not sets:
        raise SnapshotError(f"{path}: no 846 (inventory advice) in the file")
    return pa.table(
        {"key": keys, "on_hand": on_hand, "inbound": inbound},
        schema=pa.schema([("key", pa.string()), ("on_hand", pa.string()), ("inbound", pa.string())]),
    )


def _text(value: object) -> str | None:
    return None if value is None else str(value)
