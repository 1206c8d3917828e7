"""Field-level ownership and write/read scopes, resolved once from the sync map."""

from __future__ import annotations

from dataclasses import dataclass

from ..domain.catalog import CATALOG
from ..domain.kinds import Domain
from .model import OwnerRule, SyncMap

# How specific an owner rule is: a single field beats a field group beats a whole domain.
_DOMAIN, _GROUP, _FIELD = 0, 1, 2


@dataclass(frozen=True)
class OwnerEntry:
    rule: OwnerRule
    source: str  # the owner key as written in the sync map, e.g. "order.fulfillment"
    level: int


def parse_owner_key(key: str) -> tuple[Domain, str | None] | str:
    """`inventory.on_hand` -> (Domain.inventory, "on_hand"); an error message when it is wrong."""
    domain_name, _, scope = key.partition(".")
    try:
        domain = Domain(domain_name)
    except ValueError:
        known = ", ".join(d.value for d in Domain)
        return f"unknown domain {domain_name!r} (known: {known})"
    if not scope:
        return domain, None
    scopes = CATALOG[domain].owner_scopes()
    if scope not in scopes:
        known = ", ".join(sorted(scopes))
        return f"{domain.value} has no field or field group {scope!r} (known: {known})"
    return domain, scope


class Ownership:
    """Who owns each (domain, field); the most specific rule wins."""

    def __init__(self, syncmap: SyncMap) -> None:
        self._table: dict[tuple[Domain, str], OwnerEntry] = {}
        self._others: dict[tuple[Domain, str], dict[str, OwnerEntry]] = {}  # fields others own, cached
        self.owned_domains: dict[str, set[Domain]] = {}
        for key, raw in syncmap.owners.items():
            parsed = parse_owner_key(key)
            if isinstance(parsed, str):
                continue  # the loader has reported it
            domain, scope = parsed
            rule = raw if isinstance(raw, OwnerRule) else OwnerRule(system=raw)
            self.owned_domains.setdefault(rule.system, set()).add(domain)
            spec = CATALOG[domain]
            if scope is None:
                names, level = tuple(spec.writable), _DOMAIN
            elif scope in spec.groups:
                names, level = spec.groups[scope], _GROUP
            else:
                names, level = (scope,), _FIELD
            for name in names:
                current = self._table.get((domain, name))
                if current is None or level > current.level:
                    self._table[(domain, name)] = OwnerEntry(rule, key, level)

    def owner_of(self, domain: Domain, field: str) -> OwnerEntry | None:
        return self._table.get((domain, field))

    def conflicts(self, domain: Domain, system: str, fields: list[str]) -> list[tuple[str, OwnerEntry]]:
        """The fields of a change that another system owns."""
        others = self._others.get((domain, system))
        if others is None:
            others = self._others[(domain, system)] = {
                name: entry
                for (d, name), entry in self._table.items()
                if d == domain and entry.rule.system != system
            }
        if not others:
            return []
        return [(name, others[name]) for name in fields if name in others]

    def matrix(self) -> dict[Domain, dict[str, list[str]]]:
        """domain -> system -> owned fields (for `logisync check`)."""
        out: dict[Domain, dict[str, list[str]]] = {}
        for (domain, name), entry in sorted(self._table.items()):
            out.setdefault(domain, {}).setdefault(entry.rule.system, []).append(name)
        return out


class Scopes:
    """Least privilege: which domains each system may write and read through the API."""

    def __init__(self, syncmap: SyncMap, ownership: Ownership) -> None:
        routed: dict[str, set[Domain]] = {}
        for route in syncmap.routes:
            routed.setdefault(route.to, set()).add(route.domain)
        self.writes: dict[str, frozenset[Domain]] = {}
        self.reads: dict[str, frozenset[Domain]] = {}
        for name, system in syncmap.systems.items():
            if system.writes is None:
                writes = set(ownership.owned_domains.get(name, set()))
            else:
                writes = _expand(system.writes)
            reads = (writes | routed.get(name, set())) if system.reads is None else _expand(system.reads)
            self.writes[name] = frozenset(writes)
            self.reads[name] = frozenset(reads)

    def can_write(self, system: str, domain: Domain) -> bool:
        return domain in self.writes.get(system, frozenset())

    def can_read(self, system: str, domain: Domain) -> bool:
        return domain in self.reads.get(system, frozenset())


def _expand(names: list) -> set[Domain]:
    if "*" in names:
        return set(Domain)
    return {Domain(n) for n in names}
