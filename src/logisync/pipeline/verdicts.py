"""The checks made before a change touches the store: validation, then scopes and ownership.

Each returns a `Verdict`: either the normalised fields to apply, or the outcome that stops the
change with its reason and the exception a person should see.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import orjson

from ..config.ownership import Ownership, Scopes
from ..domain.catalog import CATALOG
from ..domain.change import Change
from ..domain.kinds import OutcomeKind
from ..domain.problem import KEY, READ_ONLY, SCHEMA, Problem, detail_of
from ..store.base import NewException


@dataclass(slots=True)
class Verdict:
    fields: dict[str, Any] | None  # normalised fields, when the change may proceed
    outcome: OutcomeKind | None = None  # the stopping outcome otherwise
    reason: str | None = None
    exception_kind: str | None = None
    detail: dict[str, Any] | None = None
    payload: dict[str, Any] | None = (
        None  # what the change log keeps when the fields cannot be stored as they are
    )
    # top-level fields (and `key`) the hub translated or converted: field -> what the system sent
    received: dict[str, Any] | None = None

    def problem(self) -> dict[str, Any] | None:
        """The rule that failed, on which field, with the value (`{rule, field, value}`), if a rule did."""
        detail = self.detail
        if not detail or "rule" not in detail:
            return None
        return {"rule": detail["rule"], "field": detail.get("field"), "value": detail.get("value")}

    def exception(self, change: Change, system: str) -> NewException | None:
        if self.exception_kind is None:
            return None
        return NewException(
            kind=self.exception_kind,
            reason=self.reason or "",
            domain=change.domain.value,
            key=change.key,
            system=system,
            change_id=change.id,
            detail=self.detail,
        )


MAX_DEPTH = 32  # no canonical model nests half as deep; the store's JSON encoder stops at 255


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether dicts and lists inside `value` nest more than `limit` levels (scalars cost nothing)."""
    if limit < 0:
        return True
    items = value.values() if isinstance(value, dict) else value
    for item in items:  # noqa: SIM110 (a plain loop: this runs for every change)
        if isinstance(item, dict | list) and _deeper_than(item, limit - 1):
            return True
    return False


def _as_text(value: Any, limit: int = 100_000) -> str:
    """Fields too deep for the store's JSON, kept as text (cut at `limit` characters)."""
    try:
        text = json.dumps(value)
    except (RecursionError, ValueError, TypeError):
        text = "<nested too deep to render>"
    return text[:limit]


def validate(change: Change) -> Verdict:
    """Schema: a well-formed key and fields that fit the domain's model (else quarantined).

    A quarantined change's exception (kind `validation`) says which rule failed on which field,
    with the value: its detail is `{rule, field, value, ..., fields}` (see domain/problem.py).
    """
    spec = CATALOG[change.domain]
    problems: list[Problem] = []
    wrong_key = spec.check_key(change.key)
    if wrong_key is not None:
        problems.append(Problem(KEY, "key", change.key, wrong_key))
    elif spec.derived and not spec.derived.isdisjoint(change.fields):
        derived = sorted(spec.derived.intersection(change.fields))
        reason = f"field {', '.join(derived)}: derived by the hub, cannot be written"
        problems.append(Problem(READ_ONLY, derived[0], change.fields[derived[0]], reason))
    elif spec.hub_fields and not spec.hub_fields.isdisjoint(change.fields):
        held = sorted(spec.hub_fields.intersection(change.fields))
        reason = f"field {', '.join(held)}: kept by the hub itself, cannot be written"
        problems.append(Problem(READ_ONLY, held[0], change.fields[held[0]], reason))
    too_deep = _deeper_than(change.fields, MAX_DEPTH)
    if not problems and too_deep:
        reason = f"fields are nested deeper than {MAX_DEPTH} levels"
        problems.append(Problem(SCHEMA, "fields", None, reason))
    if not problems:
        fields, problems = spec.check_fields(change.fields)
        if fields is not None:
            return Verdict(fields)
    kept = _storable(change.fields, too_deep)
    reason = "; ".join(p.reason for p in problems)
    return Verdict(
        None, OutcomeKind.quarantined, reason, "validation", {**detail_of(problems), "fields": kept}, kept
    )


def _storable(fields: dict[str, Any], too_deep: bool) -> dict[str, Any]:
    """Bad fields as the change log can keep them: as received, or as text when JSON cannot hold them."""
    if not too_deep:
        try:
            orjson.dumps(fields)
            return fields
        except orjson.JSONEncodeError as exc:  # e.g. an integer past 64 bits
            return {"unstorable": str(exc), "text": _as_text(fields)}
    return {"unstorable": f"nested deeper than {MAX_DEPTH} levels", "text": _as_text(fields)}


def authorize(
    change: Change, system: str, fields: dict[str, Any], scopes: Scopes, ownership: Ownership
) -> Verdict:
    """Scopes first (may this system write this domain at all?), then field ownership."""
    if not scopes.can_write(system, change.domain):
        allowed = ", ".join(sorted(d.value for d in scopes.writes.get(system, ()))) or "none"
        reason = f"system {system!r} may not write {change.domain.value} (its write scopes: {allowed})"
        return Verdict(None, OutcomeKind.rejected, reason, "scope", {"fields": fields})
    conflicts = ownership.conflicts(change.domain, system, list(fields))
    if not conflicts:
        return Verdict(fields)
    owners = sorted({(e.rule.system, e.source, e.rule.on_conflict) for _, e in conflicts})
    names = ", ".join(name for name, _ in conflicts)
    by = "; ".join(f"{src} is owned by {owner}" for owner, src, _ in owners)
    detail = {
        "fields": fields,
        "conflicting_fields": [n for n, _ in conflicts],
        "owners": [o[0] for o in owners],
    }
    if all(policy == "propose" for _, _, policy in owners):
        reason = (
            f"ownership: {system!r} does not own {names} ({by}); held as a proposal for the owner to approve"
        )
        return Verdict(
            None,
            OutcomeKind.quarantined,
            reason,
            "ownership_conflict",
            {**detail, "policy": "propose"},
        )
    reason = f"ownership: {system!r} does not own {names} ({by})"
    return Verdict(None, OutcomeKind.rejected, reason, "ownership_conflict", {**detail, "policy": "reject"})
