"""The `edi` section of a trading partner: its X12 ids, version, sets exchanged, acknowledgments.

```yaml
systems:
  acme:
    kind: edi_partner
    connector: edi
    edi:
      partner: {qualifier: ZZ, id: ACMESUPPLY}            # its ISA05/ISA06 (and GS02 unless group_id)
      us: {qualifier: ZZ, id: LOGISYNCHUB}                 # ours, as the partner addresses us
      version: "5010"                                      # or "4010"
      sends: ["846", "856", "944"]                         # sets it sends us (997s always)
      receives: ["850", "940"]                             # sets we send it
      acknowledgments: {overdue: 24h, sets: {"856": 4h}}   # how long its 997 may take
      outbox: /srv/edi/acme/out                            # where the hub writes 997s and our files
      location: ACME-DC                                    # the location its 846/944 mean when they name none
```
"""

from __future__ import annotations

from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from .durations import parse_duration

InboundSet = Literal["214", "846", "850", "855", "856", "940", "943", "944", "945"]
OutboundSetCode = Literal["846", "855", "856", "940", "943"]
Seconds = Annotated[float, BeforeValidator(parse_duration)]
# ISA05/ISA07 interchange id qualifiers (X12 code list I05), as the envelope checks read them
ID_QUALIFIERS = frozenset({f"{n:02d}" for n in (1, 2, 3, 4, *range(7, 39))} | {"AM", "NR", "SA", "SN", "ZZ"})
_ID = r"^[A-Za-z0-9][A-Za-z0-9 .\-_/]*$"  # no delimiter can appear in it
# a route's `format` to a trading partner -> (the set it sends, the domain the route must carry)
X12_FORMATS = {
    "x12-846": ("846", "inventory"),
    "x12-855": ("855", "order"),
    "x12-856": ("856", "shipment"),
    "x12-940": ("940", "order"),
    "x12-943": ("943", "shipment"),
}
DEFAULT_OVERDUE = 24 * 3600.0
DEFAULT_SET_OVERDUE = {"856": 4 * 3600.0}


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EdiParty(_Section):
    """One side of an interchange: the ISA qualifier and id, and the GS id (the ISA id if none)."""

    qualifier: str
    id: Annotated[str, Field(min_length=1, max_length=15, pattern=_ID)]
    group_id: Annotated[str, Field(min_length=2, max_length=15, pattern=_ID)] | None = None

    @field_validator("qualifier", mode="before")
    @classmethod
    def _qualifier(cls, value: Any) -> Any:
        if isinstance(value, int):
            value = f"{value:02d}"  # YAML reads 01 as the number 1
        if value not in ID_QUALIFIERS:
            raise ValueError(f"{value!r} is not an interchange id qualifier (01-38, AM, NR, SA, SN, ZZ)")
        return value


class EdiAcknowledgments(_Section):
    """How long the partner's 997 for one of our groups may take before it is overdue.

    `overdue` for every set; `sets` for some. An 856 is usually wanted within 4 h: that is its
    default unless `sets` names it. `expected: false` for a partner that sends no 997s: nothing is tracked.
    """

    expected: bool = True
    overdue: Seconds = Field(default=DEFAULT_OVERDUE, gt=0)
    sets: dict[OutboundSetCode, Seconds] = {}

    def due_after(self, code: str) -> float:
        """Seconds a group of `code` sets may wait for its 997."""
        if code in self.sets:
            return self.sets[code]
        return DEFAULT_SET_OVERDUE.get(code, self.overdue)


class EdiDelimiters(_Section):
    """The delimiters of the files the hub writes for this partner (inbound files name their own)."""

    element: str = Field(default="*", min_length=1, max_length=1)
    component: str = Field(default=":", min_length=1, max_length=1)
    repetition: str = Field(default="^", min_length=1, max_length=1)  # 5010 only
    segment: str = Field(default="~", min_length=1, max_length=1)
    newline: bool = True  # a line break after each segment


class EdiPartnerConfig(_Section):
    """A trading partner's X12 settings (see the module docstring)."""

    partner: EdiParty
    us: EdiParty
    version: Literal["4010", "5010"] = "5010"
    usage: Literal["P", "T"] = "P"  # ISA15 of the files we write: production or test
    sends: list[InboundSet] = []
    receives: list[OutboundSetCode] = []
    acknowledgments: EdiAcknowledgments = EdiAcknowledgments()
    outbox: str | None = None
    location: Annotated[str, Field(min_length=1, max_length=100)] | None = None
    item_qualifiers: list[Annotated[str, Field(pattern=r"^[A-Z0-9]{2}$")]] = Field(
        default=["SK", "VN", "BP", "IN", "UP", "EN"], min_length=1
    )
    timezone: str | None = None
    delimiters: EdiDelimiters = EdiDelimiters()

    @field_validator("version", mode="before")
    @classmethod
    def _version(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) else value  # `version: 5010` unquoted

    @field_validator("sends", "receives", mode="before")
    @classmethod
    def _codes(cls, value: Any) -> Any:
        return [str(v) for v in value] if isinstance(value, list) else value  # `[846, 856]` unquoted

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                ZoneInfo(value)
            except (ZoneInfoNotFoundError, ValueError):
                raise ValueError(f"{value!r} is not an IANA time zone (e.g. America/Chicago)") from None
        return value

    @model_validator(mode="after")
    def _consistent(self) -> EdiPartnerConfig:
        chars = [self.delimiters.element, self.delimiters.component, self.delimiters.segment]
        if self.version == "5010":
            chars.append(self.delimiters.repetition)
        if len(set(chars)) != len(chars) or any(c.isalnum() or c == " " for c in chars):
            raise ValueError(f"delimiters {chars!r} must be different and neither letters, digits nor spaces")
        return self


def check_partners(syncmap: Any) -> list[tuple[tuple[str | int, ...], str]]:
    """What a single partner's section cannot see: the kind of system it is on, two partners with
    the same interchange id (an inbound file could not be told apart), and routes that send X12."""
    problems: list[tuple[tuple[str | int, ...], str]] = []
    seen: dict[tuple[str, str], str] = {}
    for name, system in syncmap.systems.items():
        edi: EdiPartnerConfig | None = system.edi
        if edi is None:
            continue
        if system.kind.value != "edi_partner":
            problems.append(
                (
                    ("systems", name, "edi"),
                    f"an `edi` section is for kind edi_partner, not {system.kind.value}",
                )
            )
        for code in edi.acknowledgments.sets:
            if code not in edi.receives:
                problems.append(
                    (
                        ("systems", name, "edi", "acknowledgments", "sets", code),
                        f"{code} is not a set this partner receives from us "
                        f"(receives: {', '.join(edi.receives) or 'none'})",
                    )
                )
        ident = (edi.partner.qualifier, edi.partner.id)
        if ident in seen:
            problems.append(
                (
                    ("systems", name, "edi", "partner"),
                    f"{name} and {seen[ident]} have the same interchange id {ident[0]}/{ident[1]}: "
                    "inbound files could not be told apart",
                )
            )
        seen.setdefault(ident, name)
    for i, route in enumerate(syncmap.routes):
        fmt = route.format or ""
        if not fmt.startswith("x12-"):
            continue
        where = ("routes", i, "format")
        if fmt not in X12_FORMATS:
            problems.append(
                (where, f"{fmt!r} is not an X12 format the hub writes ({', '.join(X12_FORMATS)})")
            )
            continue
        set_code, domain = X12_FORMATS[fmt]
        target = syncmap.systems.get(route.to)
        edi = target.edi if target is not None else None
        if route.domain.value != domain:
            problems.append(
                (where, f"an {set_code} carries {domain} records; this route carries {route.domain.value}")
            )
        if target is None:
            continue  # the route's unknown system is reported on its own
        if edi is None:
            problems.append((where, f"{route.to} has no `edi` section: its X12 ids are not known"))
        elif set_code not in edi.receives:
            problems.append(
                (
                    where,
                    f"{route.to} does not receive {set_code} sets (its `receives`: {', '.join(edi.receives) or 'none'})",
                )
            )
        elif edi.outbox is None and route.mode == "live":
            problems.append(
                (where, f"{route.to} has no `edi.outbox`: the {set_code} files would have nowhere to go")
            )
    return problems
