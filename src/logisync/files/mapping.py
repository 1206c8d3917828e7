"""A file import's declarative mapping, compiled: one row's values read, typed, converted and keyed.

`RowMapper.read(row)` reads every field of a row (a CSV row as a list, or a JSON object) into a
dict of values, or raises `RowError` naming the column and what is wrong. Cross-references are
left for the caller, who resolves a whole batch at once (`Mapped.xrefs`), then `RowMapper.change`
builds the key, the id and the canonical fields. Pure: no I/O here.
"""

from __future__ import annotations

import itertools
import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

from ..domain.catalog import CATALOG
from ..domain.change import Change
from ..domain.kinds import Domain
from ..domain.measures import conversion

if TYPE_CHECKING:
    from ..config.files import FieldSpec, FileImport

DEFAULT_KEYS = {Domain.inventory: "{sku}@{location}", Domain.product: "{sku}"}
_TRUE = frozenset({"true", "t", "yes", "y", "1"})
_FALSE = frozenset({"false", "f", "no", "n", "0"})
_SPECIAL = ("version", "occurred_at")


class RowError(ValueError):
    """One row's value that cannot be read: where (the column or path) and what is wrong."""

    def __init__(self, column: str | None, message: str, value: Any = None) -> None:
        super().__init__(f"column {column}: {message}" if column else message)
        self.column = column
        self.message = message
        self.value = value


class FileShapeError(ValueError):
    """The file as a whole does not fit its import (a column the mapping reads is not in the header)."""


@dataclass(slots=True)
class Mapped:
    """A row's values, and the cross-references still to translate: (name, kind, external id)."""

    values: dict[str, Any]
    xrefs: list[tuple[str, str, str]] = field(default_factory=list)


def template_names(template: str) -> list[str]:
    """The `{name}`s a key or id template uses; ValueError for a template that is not one."""
    try:
        parsed = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise ValueError(f"template {template!r}: {exc}") from None
    names = []
    for _, name, spec, conv in parsed:
        if name is None:
            continue
        if not name or spec or conv:
            raise ValueError(f"template {template!r}: write plain names in braces, like {{sku}}")
        names.append(name)
    return names


def key_template(spec: FileImport) -> str:
    if spec.key is not None:
        return spec.key
    if spec.domain in DEFAULT_KEYS:
        return DEFAULT_KEYS[spec.domain]
    raise ValueError(
        f"an import of {spec.domain.value} records needs `key`, a template over its fields (e.g. '{{number}}')"
    )


def check_import(spec: FileImport) -> None:
    """ValueError naming what is wrong with an import's mapping (called when the sync map loads)."""
    model_fields = CATALOG[spec.domain].fields
    used = set(template_names(key_template(spec)))
    if spec.id is not None:
        used |= set(template_names(spec.id))
    missing = sorted(used - set(spec.fields))
    if missing:
        raise ValueError(f"the key or id uses {', '.join(missing)}, which `fields` does not read")
    for name, fs in spec.fields.items():
        top = name.split(".", 1)[0]
        if top not in model_fields and name not in used:
            raise ValueError(
                f"fields.{name}: {top!r} is not a field of {spec.domain.value} "
                f"(its fields: {', '.join(sorted(model_fields))}), nor used in the key or id"
            )
        if fs.unit is not None:
            conversion(fs.unit.from_, fs.unit.to)


def _parse(fs: FieldSpec, name: str) -> Callable[[Any], Any]:
    """The function that turns one raw value into the field's typed value (raising ValueError)."""
    kind, fmt = fs.type, fs.format
    factor = conversion(fs.unit.from_, fs.unit.to) if fs.unit is not None else None

    def number(raw: Any) -> Any:
        if isinstance(raw, bool):
            raise ValueError(f"expected a number, got {raw!r}")
        if kind == "int" and factor is None:
            if isinstance(raw, int):
                return raw
            if isinstance(raw, float):
                if raw.is_integer():
                    return int(raw)
                raise ValueError(f"expected a whole number, got {raw!r}")
            text = str(raw)
            try:
                return int(text)
            except ValueError:
                raise ValueError(f"expected a whole number, got {text!r}") from None
        try:
            value = Decimal(str(raw))
        except InvalidOperation:
            raise ValueError(f"expected a number, got {str(raw)!r}") from None
        if not value.is_finite():
            raise ValueError(f"expected a number, got {str(raw)!r}")
        if kind == "int" and value != value.to_integral_value():
            raise ValueError(f"expected a whole number, got {str(raw)!r}")
        if factor is not None:
            value = value * factor
            return int(value.to_integral_value()) if kind == "int" else float(value)
        return (
            int(value)
            if kind == "int"
            else (int(value) if value == value.to_integral_value() else float(value))
        )

    def boolean(raw: Any) -> bool:
        if isinstance(raw, bool):
            return raw
        text = str(raw).lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ValueError(f"expected true or false (yes/no, 1/0), got {str(raw)!r}")

    def moment(raw: Any) -> str:
        text = str(raw)
        try:
            if kind == "date":
                day = datetime.strptime(text, fmt).date() if fmt is not None else date.fromisoformat(text)
                return day.isoformat()
            moment = datetime.strptime(text, fmt) if fmt is not None else datetime.fromisoformat(text)
            if moment.tzinfo is None:  # a file's times without an offset are taken as UTC
                moment = moment.replace(tzinfo=UTC)
            return moment.isoformat()
        except ValueError:
            want = f"a {kind} like {fmt!r}" if fmt else f"an ISO 8601 {kind}"
            raise ValueError(f"expected {want}, got {text!r}") from None

    def text(raw: Any) -> str:
        if isinstance(raw, dict | list):
            raise ValueError(
                f"expected a single value, got {'an object' if isinstance(raw, dict) else 'a list'}"
            )
        return raw if isinstance(raw, str) else str(raw)

    parse: Callable[[Any], Any] = {
        "str": text,
        "int": number,
        "decimal": number,
        "bool": boolean,
        "date": moment,
        "datetime": moment,
    }[kind]
    if fs.values is None:
        return parse
    table = {str(k): v for k, v in fs.values.items()}
    codes = ", ".join(table)

    def coded(raw: Any) -> Any:
        code = str(raw)
        if code not in table:
            raise ValueError(f"{code!r} is not one of the codes {codes}")
        return table[code]

    return coded


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    source: str | None
    get: Callable[[Any], Any]
    parse: Callable[[Any], Any]
    default: Any
    required: bool
    strip: bool
    xref: str | None


class RowMapper:
    """One import's mapping, compiled for a file whose header (CSV) or shape (JSON) is known."""

    def __init__(self, spec: FileImport, header: Sequence[str] | None = None) -> None:
        self.spec = spec
        self.domain = spec.domain
        self.key = key_template(spec)
        self.id = spec.id
        self.model_fields = CATALOG[spec.domain].fields
        self.header = list(header) if header is not None else None
        index = _header_index(header) if header is not None else None
        specs: list[tuple[str, FieldSpec]] = list(spec.fields.items())
        for special in _SPECIAL:
            fs = getattr(spec, special)
            if fs is not None:
                specs.append((f"${special}", fs))
        self.fields = [self._compile(name, fs, index) for name, fs in specs]
        self.columns = {f.name: f.source for f in self.fields}

    def _compile(self, name: str, fs: FieldSpec, index: Mapping[str, int] | None) -> _Field:
        source = fs.from_
        get: Callable[[Any], Any]
        if source is None:
            get = _nothing
        elif index is not None:
            position = index.get(source, index.get(source.strip().lower()))
            if position is None:
                if fs.default is None:
                    raise FileShapeError(
                        f"the header has no column {source!r} (fields.{name.lstrip('$')} reads it)"
                    )
                get = _nothing
            else:
                get = _column(position)
        else:
            get = _path(source.split("."))
        return _Field(name, source, get, _parse(fs, name), fs.default, fs.required, fs.strip, fs.xref)

    def read(self, row: Any) -> Mapped:
        """The row's values by field name; RowError for the first value that cannot be read."""
        values: dict[str, Any] = {}
        xrefs: list[tuple[str, str, str]] = []
        for f in self.fields:
            raw = f.get(row)
            if f.strip and isinstance(raw, str):
                raw = raw.strip()
            if raw is None or raw == "":
                if f.default is not None:
                    values[f.name] = f.default
                elif f.required:
                    raise RowError(f.source, "is empty, and the mapping requires a value")
                continue
            try:
                value = f.parse(raw)
            except ValueError as exc:
                raise RowError(f.source, str(exc), raw) from None
            if f.xref is not None:
                xrefs.append((f.name, f.xref, str(value)))
            values[f.name] = value
        return Mapped(values, xrefs)

    def change(self, mapped: Mapped, default_id: str) -> Change:
        """The change a row's values (cross-references already translated) make; RowError if none."""
        values = mapped.values
        try:
            key = self.key.format_map(values)
        except KeyError as exc:
            name = exc.args[0]
            raise RowError(
                self.columns.get(name), f"is empty, and the key {self.key!r} needs {name}"
            ) from None
        change_id = default_id
        if self.id is not None:
            try:
                change_id = self.id.format_map(values)
            except KeyError as exc:
                name = exc.args[0]
                raise RowError(
                    self.columns.get(name), f"is empty, and the id {self.id!r} needs {name}"
                ) from None
        fields: dict[str, Any] = {}
        for name, value in values.items():
            if name[0] == "$":
                continue
            top = name.split(".", 1)[0]
            if top in self.model_fields:
                _put(fields, name, value)
        if not fields:
            raise RowError(None, "the row sets no field of the record")
        try:
            return Change(
                id=change_id,
                domain=self.domain,
                key=key,
                fields=fields,
                version=values.get("$version"),
                occurred_at=values.get("$occurred_at"),
            )
        except ValueError as exc:  # pydantic's: a key or id too long, a control character
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                for e in exc.errors(include_url=False)  # type: ignore[attr-defined]
            )
            raise RowError(None, f"not a change: {problems}") from None


def _header_index(header: Sequence[str]) -> dict[str, int]:
    index: dict[str, int] = {}
    for i, name in enumerate(header):
        index.setdefault(name, i)
        index.setdefault(name.strip().lower(), i)
    return index


def _nothing(row: Any) -> None:
    return None


def _column(position: int) -> Callable[[Any], Any]:
    def get(row: Any) -> Any:
        return row[position] if position < len(row) else None

    return get


def _path(parts: list[str]) -> Callable[[Any], Any]:
    def get(row: Any) -> Any:
        value = row
        for part in parts:
            if isinstance(value, dict):
                value = value.get(part)
            elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
                value = value[int(part)]
            else:
                return None
        return value

    return get


def _put(target: dict[str, Any], path: str, value: Any) -> None:
    """Set `attributes.color` in a nested dict (a number segment is a list index)."""
    if "." not in path:
        target[path] = value
        return
    parts = path.split(".")
    node: Any = target
    for part, following in itertools.pairwise(parts):
        nxt: Any = [] if following.isdigit() else {}
        if isinstance(node, list):
            i = int(part)
            while len(node) <= i:
                node.append(None)
            if node[i] is None:
                node[i] = nxt
            node = node[i]
        else:
            node = node.setdefault(part, nxt)
    last = parts[-1]
    if isinstance(node, list):
        i = int(last)
        while len(node) <= i:
            node.append(None)
        node[i] = value
    else:
        node[last] = value
