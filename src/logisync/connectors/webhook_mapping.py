"""Inbound webhook mappings: a system's own webhook payload -> change dicts, as POST /v1/changes takes them.

Written in `systems.NAME.webhooks.mapping`, in one of two forms.

A function, `"package.module:function"`, called as `function(payload, context)` with the parsed
JSON body and a `WebhookContext`; it returns a list of change dicts (`id` optional, `domain`,
`key`, `fields`, `version` or `occurred_at` optional), or one dict. A payload that is not the
system's shape should raise ValueError naming where (`$.line_items[0].sku is missing`);
whatever it raises becomes the webhook's mapping error.

Declarative, for the common case of one record per webhook (or one per item of a list):

    domain: inventory                 # the canonical domain (a constant)
    key: "{sku}@{site}"               # a payload path ($.sku), or a template of {path} parts
    fields:                           # canonical field: payload path, with the routes' syntax
      on_hand: $.on_hand | int        #   `| int`, `| float`, `| str` convert
      allocated: $.allocated?         #   a trailing `?`: left out when missing
      uom: "'each'"                   #   a quoted text, a number, true/false/null: itself
    occurred_at: $.at?                # optional: the event time (ISO 8601)
    version: $.seq?                   # optional: the source's version number
    each: $.items                     # optional: one change per item; the paths above read the item

Paths are dotted (`$.order.items.0.sku`; the `$.` is optional); a number indexes a list. A
missing path that is not optional is a mapping error naming it.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from logisync.domain.kinds import Domain

CONVERTERS: dict[str, Callable[[Any], Any]] = {"str": str, "int": int, "float": float}
DECLARATIVE_KEYS = ("domain", "key", "fields", "occurred_at", "version", "each")
_FUNCTION = re.compile(r"[A-Za-z_][\w.]*:[A-Za-z_]\w*")
_TEMPLATE_PART = re.compile(r"\{([^{}]*)\}")
_MISSING = object()


class MappingProblem(ValueError):
    """A payload the mapping cannot turn into changes: what is wrong, and where."""


@dataclass(frozen=True, slots=True)
class WebhookContext:
    """What a mapping function knows besides the payload."""

    system: str  # the sending system's name in the sync map
    webhook_id: str  # the webhook's id (the default change id)
    scheme: str  # standard-webhooks, shopify or stripe
    topic: str | None = (
        None  # the event's name: X-Shopify-Topic, else the payload's `type` (Stripe, Standard Webhooks)
    )


InboundMapper = Callable[[Any, WebhookContext], list[dict[str, Any]]]


def compile_inbound(spec: Mapping[str, Any] | str) -> InboundMapper:
    """A mapper for `spec`; ValueError says what is wrong with it (the loader names the place)."""
    if isinstance(spec, str):
        return _function(spec)
    if isinstance(spec, Mapping):
        return _Declarative(spec)
    raise ValueError(
        f"a webhook mapping is 'package.module:function' or an object, not {type(spec).__name__}"
    )


def _function(spec: str) -> InboundMapper:
    if not _FUNCTION.fullmatch(spec):
        raise ValueError(f"mapping function {spec!r} is not written 'package.module:function'")
    module_name, _, name = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # not found, or its import failed
        raise ValueError(
            f"mapping function {spec!r}: cannot import {module_name!r} ({type(exc).__name__}: {exc})"
        ) from None
    function = getattr(module, name, None)
    if not callable(function):
        raise ValueError(f"mapping function {spec!r}: {module_name!r} has no function {name!r}")

    def call(payload: Any, context: WebhookContext) -> list[dict[str, Any]]:
        try:
            got = function(payload, context)
        except MappingProblem:
            raise
        except (
            Exception
        ) as exc:  # a bad payload, or a fault in the function: the webhook's problem either way
            raise MappingProblem(f"{spec} raised {type(exc).__name__}: {exc}") from exc
        if isinstance(got, Mapping):
            got = [got]
        if not isinstance(got, list):
            raise MappingProblem(f"{spec} returned {type(got).__name__}, not a list of changes")
        return got

    return call


@dataclass(frozen=True, slots=True)
class _Path:
    text: str  # as written, for messages
    steps: tuple[str | int, ...] = ()
    constant: Any = _MISSING
    optional: bool = False
    converters: tuple[str, ...] = ()

    def read(self, root: Any) -> Any:
        """The value at this path in `root`, `_MISSING` when optional and absent."""
        if self.constant is not _MISSING:
            return self.constant
        value = root
        walked = "$"
        for step in self.steps:
            if isinstance(value, Mapping):
                value = value.get(str(step), _MISSING)
            elif isinstance(value, list) and isinstance(step, int) and -len(value) <= step < len(value):
                value = value[step]
            else:
                value = _MISSING
            if value is _MISSING or (value is None and self.optional):
                if self.optional:
                    return _MISSING
                raise MappingProblem(f"{walked}.{step} is missing (mapping {self.text!r})")
            walked = f"{walked}.{step}"
        for name in self.converters:
            try:
                value = CONVERTERS[name](value)
            except (TypeError, ValueError, ArithmeticError) as exc:
                raise MappingProblem(f"{walked}: {name}({value!r}) failed: {exc}") from None
        return value


def _path(where: str, value: Any) -> _Path:
    if not isinstance(value, str):
        if value is not None and not isinstance(value, bool | int | float):
            raise ValueError(f"{where}: {value!r} is neither a path nor a constant")
        return _Path(repr(value), constant=value)
    text = value.strip()
    if len(text) >= 2 and text[0] == text[-1] == "'":
        return _Path(text, constant=text[1:-1])
    expression, *pipes = (part.strip() for part in text.split("|"))
    for name in pipes:
        if name not in CONVERTERS:
            raise ValueError(f"{where}: unknown conversion {name!r} (known: {', '.join(CONVERTERS)})")
    optional = expression.endswith("?")
    expression = expression.removesuffix("?").removeprefix("$.")
    segments = expression.split(".")
    if not expression or expression == "$" or not all(segments):
        raise ValueError(f"{where}: {value!r} is not a path like $.sku (quote text as 'text')")
    steps = tuple(int(s) if s.lstrip("-").isdigit() else s for s in segments)
    return _Path(text, steps, optional=optional, converters=tuple(pipes))


class _Key:
    """A record key: one path, or a template whose `{path}` parts are filled from the payload."""

    def __init__(self, spec: Any) -> None:
        if not isinstance(spec, str) or not spec.strip():
            raise ValueError("key: write a payload path ($.sku) or a template ('{sku}@{site}')")
        parts = _TEMPLATE_PART.findall(spec)
        self.template = spec if parts else None
        self.paths = [_path(f"key {{{p}}}", p) for p in parts] if parts else [_path("key", spec)]

    def read(self, root: Any) -> str:
        values = [p.read(root) for p in self.paths]
        if any(v is _MISSING for v in values):
            raise MappingProblem("the key's path is missing")
        if self.template is None:
            return str(values[0])
        parts = iter(values)
        return _TEMPLATE_PART.sub(lambda _: str(next(parts)), self.template)


class _Declarative:
    def __init__(self, spec: Mapping[str, Any]) -> None:
        unknown = [k for k in spec if k not in DECLARATIVE_KEYS]
        if unknown:
            raise ValueError(
                f"unknown key {unknown[0]!r} in a declarative webhook mapping "
                f"(it has: {', '.join(DECLARATIVE_KEYS)})"
            )
        for needed in ("domain", "key", "fields"):
            if needed not in spec:
                raise ValueError(f"a declarative webhook mapping needs {needed!r}")
        try:
            self.domain = Domain(spec["domain"]).value
        except ValueError:
            known = ", ".join(d.value for d in Domain)
            raise ValueError(f"domain {spec['domain']!r} is not a domain ({known})") from None
        self.key = _Key(spec["key"])
        fields = spec["fields"]
        if not isinstance(fields, Mapping) or not fields:
            raise ValueError("fields: give an object of canonical field: payload path")
        self.fields = {str(name): _path(f"fields.{name}", value) for name, value in fields.items()}
        self.extra = {
            name: _path(name, spec[name]) for name in ("occurred_at", "version") if spec.get(name) is not None
        }
        self.each = _path("each", spec["each"]) if spec.get("each") is not None else None

    def __call__(self, payload: Any, context: WebhookContext) -> list[dict[str, Any]]:
        if self.each is None:
            return [self._one(payload, "$")]
        items = self.each.read(payload)
        if items is _MISSING:
            return []
        if not isinstance(items, list):
            raise MappingProblem(f"{self.each.text} is not a list")
        return [self._one(item, f"{self.each.text}[{i}]") for i, item in enumerate(items)]

    def _one(self, root: Any, where: str) -> dict[str, Any]:
        try:
            change: dict[str, Any] = {"domain": self.domain, "key": self.key.read(root), "fields": {}}
            for name, path in self.fields.items():
                value = path.read(root)
                if value is not _MISSING:
                    change["fields"][name] = value
            for name, path in self.extra.items():
                value = path.read(root)
                if value is not _MISSING:
                    change[name] = value
        except MappingProblem as exc:
            if where == "$":
                raise
            raise MappingProblem(f"{where}: {exc}") from None
        return change
