"""Cross-references: a system's own ids (listing ids, item numbers, service codes) for canonical keys.

A table per (system, kind) maps an external id to a canonical SKU, location or carrier service.
This module checks pairs and reads them from CSV; `store/xrefs.py` keeps them.

The CSV has a header naming its columns. The external id is the column named as the system
calls its ids in the sync map (`listing_id`) or `external_id`; the canonical key is the column
named as the kind (`sku`, `location`, `service`) or `canonical`. Other columns are ignored, so a
marketplace's listing export loads as it is. Every bad row is reported with the line it starts
on; the good rows still load.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from .catalog import CATALOG
from .kinds import Domain

KINDS = ("sku", "location", "service")
KIND_DOMAINS = {"sku": Domain.product, "location": Domain.location}  # kinds whose ids are record keys
# The domains whose changes a system's cross-reference of each kind applies to: lines, fields and
# inventory keys that name a SKU, a location or a service are translated; product and location
# changes teach.
XREF_DOMAINS = {
    "sku": (Domain.order, Domain.shipment, Domain.return_, Domain.inventory, Domain.product),
    "location": (Domain.order, Domain.shipment, Domain.return_, Domain.inventory, Domain.location),
    "service": (Domain.shipment,),
}
# The domains whose deliveries name keys of each kind (a route to a system with an `xref` sends
# its own ids: see delivery/xref_out.py).
XREF_OUT_DOMAINS = {
    "sku": (Domain.product, Domain.inventory, Domain.order, Domain.shipment, Domain.return_),
    "location": (Domain.location, Domain.inventory, Domain.order, Domain.shipment, Domain.return_),
    "service": (Domain.shipment,),
}
MAX_ID = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


class XrefFileError(ValueError):
    """A file that cannot be read as a cross-reference table at all (no usable header)."""


@dataclass(frozen=True, slots=True)
class XrefPair:
    line: int  # where the row starts in the file (1 is the header)
    external_id: str
    canonical: str


@dataclass(frozen=True, slots=True)
class BadRow:
    line: int
    problem: str


def pair_problem(kind: str, external_id: str, canonical: str) -> str | None:
    """None when (external id, canonical key) is a pair the hub can keep, else what is wrong."""
    if kind not in KINDS:
        return f"unknown kind {kind!r} (known: {', '.join(KINDS)})"
    if not external_id:
        return "the external id is empty"
    if not canonical:
        return f"the {kind} is empty"
    for name, value in (("external id", external_id), (kind, canonical)):
        if len(value) > MAX_ID:
            return f"the {name} is longer than {MAX_ID} characters"
        if _CONTROL.search(value):
            return f"the {name} {_shown(value)} holds a control character"
    domain = KIND_DOMAINS.get(kind)
    if domain is not None and CATALOG[domain].check_key(canonical) is not None:
        return f"{_shown(canonical)} is not a valid {kind} (expected like {CATALOG[domain].key_example!r})"
    return None


def _shown(value: str) -> str:
    text = repr(value)
    return text if len(text) <= 62 else text[:60] + "…'"


class _Lines:
    """Byte lines decoded as UTF-8, counted (for line numbers and progress), bad ones noted."""

    def __init__(self, raw: Iterable[bytes]) -> None:
        self._raw = iter(raw)
        self.number = 0  # lines read so far
        self.offset = 0  # bytes read so far
        self.undecodable: set[int] = set()

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        raw = next(self._raw)
        self.number += 1
        self.offset += len(raw)
        if self.number == 1:
            raw = raw.removeprefix(b"\xef\xbb\xbf")  # a byte order mark, as spreadsheets write
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            self.undecodable.add(self.number)
            return raw.decode("utf-8", "replace")


class XrefReader:
    """Reads (external id, canonical) pairs from CSV lines; iterate it for pairs and bad rows.

    `names` are what the file may call the external id column (the system's own name for its
    ids, then `external_id`). `offset` is how many bytes were read so far (for a progress bar).
    """

    def __init__(self, raw: Iterable[bytes], kind: str, names: Sequence[str] = ()) -> None:
        if kind not in KINDS:
            raise XrefFileError(f"unknown kind {kind!r} (known: {', '.join(KINDS)})")
        self.kind = kind
        self.external_names = [*dict.fromkeys(n.lower() for n in (*names, "external_id"))]
        self.canonical_names = [kind, "canonical"]
        self._lines = _Lines(raw)

    @property
    def offset(self) -> int:
        return self._lines.offset

    def __iter__(self) -> Iterator[XrefPair | BadRow]:
        rows = csv.reader(self._lines, strict=True)  # a stray quote is an error, not guessed around
        header = self._header(rows)
        ext_col, can_col = header
        width = max(header) + 1
        seen: dict[str, tuple[str, int]] = {}
        while True:
            start = self._lines.number + 1
            try:
                row = next(rows)
            except StopIteration:
                return
            except csv.Error as exc:
                yield BadRow(start, f"not valid CSV: {exc}")
                continue
            if not row or (len(row) == 1 and not row[0].strip()):
                continue  # a blank line
            if any(n in self._lines.undecodable for n in range(start, self._lines.number + 1)):
                yield BadRow(start, "not UTF-8 text")
                continue
            if len(row) < width:
                yield BadRow(start, f"expected at least {width} columns, found {len(row)}")
                continue
            external, canonical = row[ext_col].strip(), row[can_col].strip()
            problem = pair_problem(self.kind, external, canonical)
            if problem is not None:
                yield BadRow(start, problem)
                continue
            first = seen.get(external)
            if first is not None:
                if first[0] != canonical:
                    yield BadRow(
                        start,
                        f"external id {_shown(external)} is mapped to {_shown(first[0])} on line {first[1]} "
                        f"already; here to {_shown(canonical)}",
                    )
                continue  # the same pair again: loaded once
            seen[external] = (canonical, start)
            yield XrefPair(start, external, canonical)

    def _header(self, rows: Iterator[list[str]]) -> tuple[int, int]:
        """The external id's and the canonical key's column numbers, from the first row."""
        try:
            header = next(rows)
        except StopIteration:
            raise XrefFileError("the file is empty: it needs a header row naming its columns") from None
        except csv.Error as exc:
            raise XrefFileError(f"line 1: the header is not valid CSV: {exc}") from None
        if 1 in self._lines.undecodable:
            raise XrefFileError("line 1: the header is not UTF-8 text")
        names = [cell.strip().lower() for cell in header]
        ext = next((names.index(n) for n in self.external_names if n in names), None)
        can = next((names.index(n) for n in self.canonical_names if n in names), None)
        if ext is None or can is None or ext == can:
            found = ", ".join(repr(n) for n in names[:10]) or "nothing"
            raise XrefFileError(
                f"line 1: the header must name the external id column ({' or '.join(self.external_names)}) "
                f"and the {self.kind} column ({' or '.join(self.canonical_names)}); found {found}"
            )
        return ext, can
