"""Mappings: how a canonical record becomes the JSON body a target expects.

A mapping is written in the sync map in one of two forms.

Declarative, an object of `target path: source` pairs:

    {"sku": "fields.sku",
     "quantity": "fields.available | int",
     "location.code": "fields.location",
     "expected": "previous.available?",
     "meta.source": "'logisync'",
     "meta.version": 2}

- The target path (the key) is dotted: `location.code` builds {"location": {"code": ...}}. A
  nested object as the value is a nested mapping, the same as dotted keys.
- A source string is a path into the delivery (below), optionally written `$.fields.sku`;
  a number segment indexes a list (`fields.lines.0.sku`).
- A trailing `?` makes a path optional: when it is missing (or runs through null) the target
  field is left out. Without it, a missing path is a mapping error naming it.
- ` | str`, ` | int`, ` | float` convert the value (several may follow each other).
- A quoted string `'logisync'` is that text; a number, true, false or null is itself.

What a path can read (the "delivery root"):

    id        the delivery id (the webhook-id and idempotency key)
    route     the route's name            target   the target system
    domain    e.g. "inventory"            key      e.g. "SKU-1@DC1"
    event     e.g. "inventory.updated"    revision the record's revision
    fields    the record's canonical fields (as the route's transform left them)
    previous  the fields the hub last delivered to this target, or null (compare-and-set)

A function, `"package.module:function"`: called as `function(fields, context)` with the record's
fields and a `MappingContext`; it returns the body (anything JSON can encode). What it raises
becomes a mapping error naming it.

Mapping errors (`MappingError`) are permanent: retrying the same record cannot succeed.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from dataclasses import fields as dataclass_fields
from typing import Any

from .errors import MappingError

ROOT_NAMES = ("id", "route", "target", "domain", "key", "event", "revision", "fields", "previous")
CONVERTERS: dict[str, Callable[[Any], Any]] = {"str": str, "int": int, "float": float}
_FUNCTION = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*")
_MISSING = object()


@dataclass(frozen=True, slots=True)
class MappingContext:
    """Everything about a delivery except the record's fields (a mapping function's 2nd argument)."""

    id: str
    route: str
    target: str
    domain: str
    key: str
    event: str
    revision: int
    previous: Mapping[str, Any] | None = None


_CONTEXT_NAMES = tuple(f.name for f in dataclass_fields(MappingContext))
Mapper = Callable[[Mapping[str, Any], MappingContext], Any]


def compile_mapping(spec: Mapping[str, Any] | str | None) -> Mapper:
    """A mapper for `spec`; ValueError says what is wrong with it (the config names the place).

    None is the default body: {"type": event, "key": key, "revision": revision, "data": fields}.
    """
    if spec is None:
        return default_body
    if isinstance(spec, str):
        return _function(spec)
    if isinstance(spec, Mapping):
        return _Declarative(_compile_object(spec, ""))
    raise ValueError(
        f"a mapping is an object of target paths or 'module:function', not {type(spec).__name__}"
    )


def default_body(fields: Mapping[str, Any], context: MappingContext) -> dict[str, Any]:
    """The body of a route without a mapping: the whole record, Standard Webhooks style."""
    return {"type": context.event, "key": context.key, "revision": context.revision, "data": dict(fields)}


def _function(spec: str) -> Mapper:
    if not _FUNCTION.fullmatch(spec):
        raise ValueError(f"mapping function {spec!r} is not written 'package.module:function'")
    module_name, _, name = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # not found, or its import failed (a syntax error, a fault at import)
        raise ValueError(
            f"mapping function {spec!r}: cannot import {module_name!r} ({type(exc).__name__}: {exc})"
        ) from None
    function = getattr(module, name, None)
    if not callable(function):
        raise ValueError(f"mapping function {spec!r}: {module_name!r} has no function {name!r}")

    def call(fields: Mapping[str, Any], context: MappingContext) -> Any:
        try:
            return function(fields, context)
        except MappingError:
            raise
        except Exception as exc:
            raise MappingError(spec, f"raised {type(exc).__name__}: {exc}") from exc

    return call


# A compiled object: (target name, compiled value) pairs, the value being a nested object or a
# `_Source` (how to read the value from the delivery root).
_Compiled = list[tuple[str, "list[Any] | _Source"]]


@dataclass(frozen=True, slots=True)
class _Source:
    target: str  # the target path, for messages
    text: str  # the source as written, for messages
    constant: Any = _MISSING
    path: tuple[str | int, ...] = ()
    optional: bool = False
    converters: tuple[str, ...] = ()

    def read(self, root: Mapping[str, Any]) -> Any:
        if self.constant is not _MISSING:
            return self.constant
        value: Any = root
        walked: list[str | int] = []
        for segment in self.path:
            value = _step(value, segment)
            if value is _MISSING or (value is None and self.optional):
                if self.optional:
                    return _MISSING
                where = ".".join(map(str, walked)) or "the delivery"
                raise MappingError(
                    self.target,
                    f"{self.text!r}: {where} has no {segment!r} "
                    f"(end the path with '?' to leave the field out when it is missing)",
                )
            walked.append(segment)
        for name in self.converters:
            try:
                value = CONVERTERS[name](value)
            except (TypeError, ValueError) as exc:
                raise MappingError(self.target, f"{self.text!r}: {name}({value!r}) failed: {exc}") from None
        return value


def _step(value: Any, segment: str | int) -> Any:
    if isinstance(value, Mapping):
        return value.get(str(segment), _MISSING)
    if isinstance(value, list) and isinstance(segment, int):
        return value[segment] if -len(value) <= segment < len(value) else _MISSING
    return _MISSING


def _compile_object(spec: Mapping[str, Any], prefix: str) -> _Compiled:
    tree: dict[str, Any] = {}
    for target, value in _flatten(spec, prefix):
        parts = target.split(".")
        if not all(parts):
            raise ValueError(f"mapping target {target!r} has an empty segment")
        node = tree
        for i, part in enumerate(parts[:-1]):
            child = node.setdefault(part, {})
            if not isinstance(child, dict):
                raise ValueError(f"mapping target {'.'.join(parts[: i + 1])!r} is both a value and an object")
            node = child
        if parts[-1] in node:
            raise ValueError(f"mapping target {target!r} is given twice (or is also an object)")
        node[parts[-1]] = _source(target, value)
    return _freeze(tree)


def _flatten(spec: Mapping[str, Any], prefix: str) -> list[tuple[str, Any]]:
    """(dotted target path, source) pairs: a nested object is the same as dotted keys."""
    pairs: list[tuple[str, Any]] = []
    for key, value in spec.items():
        target = f"{prefix}{key}"
        if isinstance(value, Mapping):
            pairs.extend(_flatten(value, target + "."))
        else:
            pairs.append((target, value))
    return pairs


def _freeze(tree: dict[str, Any]) -> _Compiled:
    return [(name, _freeze(value) if isinstance(value, dict) else value) for name, value in tree.items()]


def _source(target: str, value: Any) -> _Source:
    if not isinstance(value, str):
        if value is not None and not isinstance(value, bool | int | float | list):
            raise ValueError(f"mapping target {target!r}: {value!r} is neither a path nor a constant")
        return _Source(target, repr(value), constant=value)
    text = value.strip()
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return _Source(target, text, constant=text[1:-1])
    expression, *pipes = (part.strip() for part in text.split("|"))
    for name in pipes:
        if name not in CONVERTERS:
            raise ValueError(
                f"mapping target {target!r}: unknown conversion {name!r} (known: {', '.join(CONVERTERS)})"
            )
    optional = expression.endswith("?")
    expression = expression.removesuffix("?").removeprefix("$.")
    segments = expression.split(".")
    if not expression or not all(segments):
        raise ValueError(f"mapping target {target!r}: {value!r} is not a path (quote text as 'text')")
    if segments[0] not in ROOT_NAMES:
        raise ValueError(
            f"mapping target {target!r}: {value!r} starts with {segments[0]!r}; a path starts with one of "
            f"{', '.join(ROOT_NAMES)} (quote text as 'text')"
        )
    path = tuple(int(s) if s.lstrip("-").isdigit() else s for s in segments)
    return _Source(target, text, path=path, optional=optional, converters=tuple(pipes))


class _Declarative:
    """A compiled declarative mapping: builds the body object from the delivery root."""

    def __init__(self, compiled: _Compiled) -> None:
        self.compiled = compiled

    def __call__(self, fields: Mapping[str, Any], context: MappingContext) -> dict[str, Any]:
        root = {name: getattr(context, name) for name in _CONTEXT_NAMES}
        root["fields"] = fields
        return _build(self.compiled, root)


def _build(compiled: _Compiled, root: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in compiled:
        if isinstance(value, list):
            out[name] = _build(value, root)
            continue
        got = value.read(root)
        if got is not _MISSING:
            out[name] = got
    return out
