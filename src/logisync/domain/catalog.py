"""The catalogue of domains: each one's model, key format, field groups and patch validation."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError
from typing_extensions import TypedDict

from .inventory import Inventory, derive_inventory
from .kinds import Domain
from .location import Location
from .order import Order
from .problem import (
    GTIN,
    ISO_COUNTRY,
    ISO_CURRENCY,
    ISO_DATE,
    NON_NEGATIVE,
    SCHEMA,
    UNITS,
    UNKNOWN_FIELD,
    Problem,
    json_path,
)
from .product import Product
from .returns import Return
from .shipment import Shipment
from .tracking import TrackingEvent

_ID = r"[A-Za-z0-9][A-Za-z0-9._\-#:+]{0,99}"


@dataclass(frozen=True)
class DomainSpec:
    """What the hub knows about one domain."""

    domain: Domain
    model: type[BaseModel]
    key_pattern: re.Pattern[str]
    key_example: str
    derive: Callable[[dict[str, Any]], dict[str, Any]] | None = None
    groups: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def fields(self) -> frozenset[str]:
        return frozenset(self.model.model_fields)

    def check_key(self, key: str) -> str | None:
        """None when the key is well formed, else what is wrong with it."""
        if self.key_pattern.fullmatch(key):
            return None
        return f"key {key!r} is not a valid {self.domain.value} key (expected like {self.key_example!r})"

    @cached_property
    def patch(self) -> TypeAdapter[Any]:
        """A validator for partial updates: the model's fields, all optional, unknown ones refused."""
        return _patch_adapter(self.model)

    @cached_property
    def patches(self) -> TypeAdapter[Any]:
        """`patch` for a list of partial updates in one call (a file's worth: much less overhead)."""
        return TypeAdapter(list[_patch_type(self.model)])  # type: ignore[misc,arg-type]

    @cached_property
    def derived(self) -> frozenset[str]:
        return frozenset(getattr(self.model, "DERIVED", ()))

    @property
    def writable(self) -> frozenset[str]:
        """The fields systems may write (and own): all but the hub's own."""
        return self.fields - self.hub_fields

    @cached_property
    def hub_fields(self) -> frozenset[str]:
        """Fields only the hub writes (reservations, variances): refused from any system."""
        return frozenset(getattr(self.model, "HUB_FIELDS", ()))

    def validate_fields(self, fields: dict[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
        """Validate a partial update; return (normalised JSON-ready fields, None) or (None, reason)."""
        checked, problems = self.check_fields(fields)
        return checked, "; ".join(p.reason for p in problems) or None

    def check_fields(self, fields: dict[str, Any]) -> tuple[dict[str, Any] | None, list[Problem]]:
        """Validate a partial update: (normalised JSON-ready fields, []) or (None, what is wrong),
        each problem naming its rule, field and value."""
        if not fields:
            return None, [Problem(SCHEMA, "fields", {}, "the change has no fields")]
        try:
            parsed = self.patch.validate_python(fields)
        except ValidationError as exc:
            return None, validation_problems(exc)
        return self.patch.dump_python(parsed, mode="json"), []

    def owner_scopes(self) -> dict[str, tuple[str, ...]]:
        """Every name an owner rule may use in this domain: groups first, then single fields."""
        scopes = dict(self.groups)
        for name in self.model.model_fields:
            if name not in self.hub_fields:  # nobody but the hub writes those: nothing to own
                scopes.setdefault(name, (name,))
        return scopes


def _patch_adapter(model: type[BaseModel]) -> TypeAdapter[Any]:
    """The model's fields (with their constraints) as a TypedDict where every key is optional.

    Validating a dict against this is several times faster than building the model and dumping
    the set fields, which matters on the ingest path.
    """
    return TypeAdapter(_patch_type(model))


def _patch_type(model: type[BaseModel]) -> Any:
    annotations: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        annotation = info.annotation
        annotations[name] = Annotated[annotation, *info.metadata] if info.metadata else annotation
    patch = TypedDict(f"{model.__name__}Patch", annotations, total=False)  # type: ignore[misc]
    patch.__pydantic_config__ = ConfigDict(extra="forbid")  # type: ignore[attr-defined]
    return patch


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def printable(text: str) -> str:
    """`text` with control characters written as escapes (`\\x00`), safe for logs and any store."""
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def describe_validation_error(exc: ValidationError) -> str:
    """One part per problem: the field path, what is wrong, and the value that was given."""
    return "; ".join(p.reason for p in validation_problems(exc))


# pydantic's error types that mean a time (or date) could not be read
_TIME_ERRORS = frozenset(
    {
        "datetime_parsing",
        "datetime_from_date_parsing",
        "datetime_type",
        "date_parsing",
        "date_type",
        "date_from_datetime_parsing",
        "datetime_object_invalid",
        "timezone_aware",
        "timezone_naive",
    }
)
_RULES = frozenset({GTIN, UNITS, ISO_COUNTRY, ISO_CURRENCY, ISO_DATE})  # raised by our own validators


def _rule(err: Any) -> str:
    """The rule one of pydantic's errors broke (see domain/problem.py)."""
    kind = err["type"]
    if kind in _RULES:
        return str(kind)
    if kind in _TIME_ERRORS:
        return ISO_DATE
    if kind == "greater_than_equal" and (err.get("ctx") or {}).get("ge") == 0:
        return NON_NEGATIVE
    if kind == "extra_forbidden":
        return UNKNOWN_FIELD
    return SCHEMA


def validation_problems(exc: ValidationError) -> list[Problem]:
    """A problem per error: its rule, the field path (`lines[0].quantity`), the value given, and a
    reason `field lines[0].quantity: <what is wrong> (got -2)`."""
    problems = []
    for err in exc.errors(include_url=False):
        path = printable(json_path(err["loc"])) or "(fields)"
        msg = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown field"
        value = err.get("input")
        given = repr(value) if not isinstance(value, dict | list) else type(value).__name__
        problems.append(Problem(_rule(err), path, value, f"field {path}: {msg} (got {given[:60]})"))
    return problems


def _spec(domain: Domain, model: type[BaseModel], pattern: str, example: str, **kw: Any) -> DomainSpec:
    groups = getattr(model, "FIELD_GROUPS", {})
    return DomainSpec(domain, model, re.compile(pattern), example, groups=dict(groups), **kw)


CATALOG: dict[Domain, DomainSpec] = {
    Domain.product: _spec(Domain.product, Product, _ID, "SKU-1"),
    Domain.location: _spec(Domain.location, Location, _ID, "DC1"),
    Domain.inventory: _spec(
        Domain.inventory, Inventory, rf"{_ID}@{_ID}", "SKU-1@DC1", derive=derive_inventory
    ),
    Domain.order: _spec(Domain.order, Order, _ID, "SO-1001"),
    Domain.shipment: _spec(Domain.shipment, Shipment, _ID, "SH-1001-1"),
    Domain.tracking: _spec(Domain.tracking, TrackingEvent, r"[A-Za-z0-9]{4,60}", "1Z999AA10123456784"),
    Domain.return_: _spec(Domain.return_, Return, _ID, "RMA-77"),
}


def spec(domain: Domain | str) -> DomainSpec:
    return CATALOG[Domain(domain)]


def split_inventory_key(key: str) -> tuple[str, str]:
    """`SKU-1@DC1` -> (`SKU-1`, `DC1`)."""
    sku, _, location = key.rpartition("@")
    return sku, location
