"""The catalogue of carrier tracking formats: each one's name, code table and pure `decode`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Any

from logisync.domain.tracking import TrackingStatus
from logisync.tracking.decoding import DecodeResult

from . import easypost, generic, x12_214


@dataclass(frozen=True)
class TrackingFormat:
    """One carrier event format: its code table (canonical name = native codes) and its decoder."""

    name: str
    summary: str
    table: type[Enum]
    no_status: frozenset[str]
    decode: Callable[[Any], DecodeResult]

    @property
    def status_by_code(self) -> dict[str, TrackingStatus]:
        return {code: TrackingStatus(m.name) for m in self.table for code in m.value}


FORMATS: dict[str, TrackingFormat] = {
    f.name: f
    for f in (
        TrackingFormat(
            easypost.NAME,
            "EasyPost-style tracker webhook (tracker.created / tracker.updated)",
            easypost.EasyPostStatus,
            easypost.NO_STATUS,
            easypost.decode,
        ),
        TrackingFormat(
            x12_214.NAME,
            "X12 214 shipment status, AT7 segments as tokenized element values",
            x12_214.X12ShipmentStatus,
            x12_214.NO_STATUS,
            x12_214.decode,
        ),
        TrackingFormat(
            generic.NAME,
            'generic {"tracking_number", "carrier", "code", "occurred_at"} events in canonical codes',
            generic.GenericStatus,
            frozenset(),
            generic.decode,
        ),
    )
}


def tracking_format(name: str) -> TrackingFormat:
    """The format called `name`; KeyError names the known ones."""
    try:
        return FORMATS[name]
    except KeyError:
        raise KeyError(f"unknown tracking format {name!r}; known: {', '.join(sorted(FORMATS))}") from None
