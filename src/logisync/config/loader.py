"""Reading `logisync.yaml`: YAML with line numbers, env overrides, and errors that say where."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from ..domain.catalog import CATALOG
from ..domain.kinds import Domain
from ..domain.xref import XREF_DOMAINS, XREF_OUT_DOMAINS
from ..errors import ConfigError
from .alerts import check_alerts
from .edi import check_partners
from .model import OwnerRule, SyncMap
from .ownership import Ownership, Scopes, parse_owner_key
from .reconcile import check_reconcile

HUB_SYSTEM = "logisync"  # the system name of the changes the hub derives itself (pipeline.batch.HUB)

ENV_PREFIX = "LOGISYNC__"
Path_ = tuple[str | int, ...]


def load_syncmap(path: str | Path, env: Mapping[str, str] | None = None) -> SyncMap:
    """Load and check a sync map file; raise ConfigError naming file, line and key path."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the sync map: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{path}: the sync map is not UTF-8 text (byte {exc.start}: {exc.reason})") from exc
    return parse_syncmap(text, str(path), env=os.environ if env is None else env)


def parse_syncmap(text: str, filename: str = "<sync map>", env: Mapping[str, str] | None = None) -> SyncMap:
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{filename}:{mark.line + 1}" if mark else filename
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError(f"{where}: not valid YAML: {problem}") from exc
    duplicates = _duplicate_keys(node, filename)
    if duplicates:
        raise ConfigError("\n".join(duplicates))
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(f"{filename}:1: the sync map must be a mapping (systems:, owners:, routes:)")
    lines = _line_index(node)
    _apply_env_overrides(data, env or {})
    try:
        syncmap = SyncMap.model_validate(data)
    except ValidationError as exc:
        problems = [_locate(filename, lines, loc, msg) for loc, msg in _problems(exc)]
        raise ConfigError("\n".join(dict.fromkeys(problems))) from None
    problems = [_locate(filename, lines, p, msg) for p, msg in _cross_check(syncmap)]
    if problems:
        raise ConfigError("\n".join(problems))
    return syncmap


# The route filters each domain's keys can satisfy (as `pipeline/routing.py` reads keys): an
# inventory key `SKU@LOCATION` has a SKU and a location, a product key is a SKU, a location key a
# location; every other key has neither.
ROUTE_FILTERS: dict[Domain, tuple[str, ...]] = {
    domain: (
        "key_prefix",
        *(("sku_prefix", "sku") if domain in (Domain.product, Domain.inventory) else ()),
        *(("location",) if domain in (Domain.inventory, Domain.location) else ()),
    )
    for domain in Domain
}

OWNER_SHAPE = "expected a system name, or a mapping {system: NAME, on_conflict: reject|propose}"


def _problems(exc: ValidationError) -> list[tuple[Path_, str]]:
    """One problem per mistake: an owner rule is `str | OwnerRule`, so pydantic reports both
    branches; keep the one that matches what was written (a mapping: the OwnerRule branch)."""
    out: list[tuple[Path_, str]] = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        if len(loc) >= 3 and loc[0] == "owners" and loc[2] in ("str", "OwnerRule"):
            if loc[2] == "str":
                if not isinstance(err["input"], dict):
                    out.append((loc[:2], OWNER_SHAPE))
                continue
            if len(loc) == 3:
                continue  # not a mapping: reported once by the str branch above
        out.append((loc, _message(err)))
    return out


def _message(err: Any) -> str:
    if err["type"] == "extra_forbidden":
        return "unknown key"
    msg = str(err["msg"])
    return msg.removeprefix("Value error, ")


def _cross_check(syncmap: SyncMap) -> list[tuple[Path_, str]]:
    """What a schema cannot see: references between sections."""
    problems: list[tuple[Path_, str]] = []
    known = ", ".join(sorted(syncmap.systems)) or "none defined"
    for key, raw in syncmap.owners.items():
        parsed = parse_owner_key(key)
        if isinstance(parsed, str):
            problems.append((("owners", key), f"owner of {key!r}: {parsed}"))
        system = raw.system if isinstance(raw, OwnerRule) else raw
        if system not in syncmap.systems:
            problems.append((("owners", key), f"unknown system {system!r} (known: {known})"))
    if HUB_SYSTEM in syncmap.systems:
        problems.append(
            (
                ("systems", HUB_SYSTEM),
                f"{HUB_SYSTEM!r} is the hub's own name (for what it derives); name the system otherwise",
            )
        )
    for name, config in syncmap.systems.items():
        if config.webhooks is not None:
            problem = _inbound_mapping_problem(config.webhooks.mapping)
            if problem is not None:
                problems.append((("systems", name, "webhooks", "mapping"), problem))
    seen: dict[str, int] = {}
    for i, route in enumerate(syncmap.routes):
        if route.name in seen:
            problems.append(
                (
                    ("routes", i, "name"),
                    f"duplicate route name {route.name!r} (first at routes[{seen[route.name]}])",
                )
            )
        seen.setdefault(route.name, i)
        if route.to not in syncmap.systems:
            problems.append((("routes", i, "to"), f"unknown system {route.to!r} (known: {known})"))
        if route.mapping is not None:
            problem = _mapping_problem(route.mapping)
            if problem is not None:
                problems.append((("routes", i, "mapping"), problem))
        if (
            route.transform is not None
            and route.transform.atp is not None
            and route.domain != Domain.inventory
        ):
            problems.append(
                (
                    ("routes", i, "transform", "atp"),
                    f"the atp transform computes channel availability from inventory; "
                    f"this route carries {route.domain.value}",
                )
            )
        if route.echo and (route.filter is None or route.filter.fields is None):
            problems.append(
                (
                    ("routes", i, "echo"),
                    f"echo sends {route.to}'s own changes back to it: give the route a filter.fields "
                    "(what it should hear back, like an order's lines for an 855), or a system that "
                    "reports what it is sent would loop",
                )
            )
        if route.filter is not None and route.filter.fields is not None:
            fields_of = CATALOG[route.domain].fields
            for j, name in enumerate(route.filter.fields):
                if name not in fields_of:
                    problems.append(
                        (
                            ("routes", i, "filter", "fields", j),
                            f"{route.domain.value} has no field {name!r} (its fields: {', '.join(sorted(fields_of))})",
                        )
                    )
        if route.filter is not None:
            supported = ROUTE_FILTERS[route.domain]
            for name in ("sku_prefix", "sku", "location"):
                if getattr(route.filter, name) is not None and name not in supported:
                    problems.append(
                        (
                            ("routes", i, "filter", name),
                            f"filter {name!r} can never match: {route.domain.value} keys carry no "
                            f"{'location' if name == 'location' else 'SKU'} ({route.domain.value} "
                            f"routes can filter on: {', '.join(supported)})",
                        )
                    )
    problems.extend(_check_xrefs(syncmap))
    problems.extend(check_partners(syncmap))
    problems.extend(check_reconcile(syncmap))
    problems.extend(check_alerts(syncmap))
    return problems


def _mapping_problem(spec: dict[str, Any] | str) -> str | None:
    """What is wrong with a route's mapping, found when the sync map loads: a declarative mapping
    that cannot work, a function that cannot be imported or is not callable."""
    from ..delivery.mapping import compile_mapping  # the dispatchers' own compiler, at load time

    try:
        compile_mapping(spec)
    except ValueError as exc:
        return str(exc)
    return None


def _inbound_mapping_problem(spec: dict[str, Any] | str) -> str | None:
    """What is wrong with a system's webhook mapping: as `_mapping_problem`, for the inbound side."""
    from ..connectors.webhook_mapping import compile_inbound

    try:
        compile_inbound(spec)
    except ValueError as exc:
        return str(exc)
    return None


def _check_xrefs(syncmap: SyncMap) -> list[tuple[Path_, str]]:
    """A system's `xref` must be of use: the system writes a domain the kind is translated in, or a
    route sends it a domain that names keys of that kind."""
    problems: list[tuple[Path_, str]] = []
    scopes: Scopes | None = None
    for name, system in syncmap.systems.items():
        routed = {route.domain for route in syncmap.routes if route.to == name}
        for kind in system.xref or {}:
            scopes = scopes or Scopes(syncmap, Ownership(syncmap))
            domains = XREF_DOMAINS[kind]
            if any(scopes.can_write(name, domain) for domain in domains):
                continue
            if any(domain in XREF_OUT_DOMAINS[kind] for domain in routed):
                continue
            problems.append(
                (
                    ("systems", name, "xref", kind),
                    f"{name} may write none of {', '.join(d.value for d in domains)}, so it never "
                    f"sends a {kind} to translate, and no route sends it one "
                    f"(give it `writes:`, an owner rule or a route)",
                )
            )
    return problems


def _apply_env_overrides(data: dict[str, Any], env: Mapping[str, str]) -> None:
    """`LOGISYNC__STORE=...` or `LOGISYNC__API__PORT=9000` override the file (values read as YAML)."""
    for name, raw in sorted(env.items()):
        if not name.startswith(ENV_PREFIX):
            continue
        parts = [p.lower() for p in name[len(ENV_PREFIX) :].split("__") if p]
        if not parts:
            continue
        target = data
        for depth, part in enumerate(parts[:-1], start=1):
            if target.get(part) is None:
                target[part] = {}
            target = target[part]
            if not isinstance(target, dict):
                where = ".".join(parts[:depth])
                raise ConfigError(f"{name}: {where} is not a section, so it has no key {parts[depth]!r}")
        try:
            target[parts[-1]] = yaml.safe_load(raw) if raw else raw
        except yaml.YAMLError as exc:
            problem = getattr(exc, "problem", None) or str(exc)
            raise ConfigError(f"{name}: the value is not valid YAML: {problem}") from None


def _line_index(node: yaml.Node | None) -> dict[Path_, int]:
    """Map every key path in the document to its 1-based line."""
    index: dict[Path_, int] = {}

    def walk(n: yaml.Node, path: Path_) -> None:
        index[path] = n.start_mark.line + 1
        if isinstance(n, yaml.MappingNode):
            for key_node, value_node in n.value:
                child = (*path, key_node.value)
                index[child] = key_node.start_mark.line + 1
                walk(value_node, child)
                index[child] = key_node.start_mark.line + 1
        elif isinstance(n, yaml.SequenceNode):
            for i, item in enumerate(n.value):
                walk(item, (*path, i))

    if node is not None:
        walk(node, ())
    return index


def _duplicate_keys(node: yaml.Node | None, filename: str) -> list[str]:
    """`file:line: path: duplicate key 'k' (first at line N)` for every key written twice in one
    mapping, anywhere in the document (YAML would silently keep the last)."""
    problems: list[str] = []
    keys = yaml.SafeLoader("")  # only to read a key as YAML does: `wms` and "wms" are one key
    seen_nodes: set[int] = set()

    def walk(n: yaml.Node, path: Path_) -> None:
        if id(n) in seen_nodes:  # an alias: the anchored node was checked where it was written
            return
        seen_nodes.add(id(n))
        if isinstance(n, yaml.MappingNode):
            first: dict[Any, int] = {}
            for key_node, value_node in n.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    walk(value_node, path)
                    continue
                if not isinstance(key_node, yaml.ScalarNode):
                    walk(value_node, (*path, "?"))  # a mapping or list as a key: wrong anyway
                    continue
                key = keys.construct_object(key_node)
                line = key_node.start_mark.line + 1
                if key in first:
                    problems.append(
                        f"{filename}:{line}: {_dotted(path) or '(top)'}: "
                        f"duplicate key {key!r} (first at line {first[key]})"
                    )
                first.setdefault(key, line)
                walk(value_node, (*path, str(key_node.value)))
        elif isinstance(n, yaml.SequenceNode):
            for i, item in enumerate(n.value):
                walk(item, (*path, i))

    if node is not None:
        walk(node, ())
    return problems


def _dotted(path: Path_) -> str:
    return ".".join(f"[{p}]" if isinstance(p, int) else str(p) for p in path).replace(".[", "[")


def _locate(filename: str, lines: dict[Path_, int], loc: Path_, message: str) -> str:
    """`file:line: a.b.c: message`, using the deepest part of the path that the file has."""
    path = tuple(p for p in loc if not (isinstance(p, str) and p in {"str", "OwnerRule"}))
    probe = path
    while probe and probe not in lines:
        probe = probe[:-1]
    line = lines.get(probe, 1)
    return f"{filename}:{line}: {_dotted(path) or '(top)'}: {message}"
