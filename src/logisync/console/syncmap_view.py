"""`logisync check`: a sync map shown as tables: systems (with their own ids), data quality, the
ownership matrix, routes."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..config import SyncMap
from ..config.edi import EdiParty
from ..config.model import AuthConfig, RouteFilter
from ..config.ownership import OwnerEntry, Ownership, Scopes
from ..domain.catalog import CATALOG
from ..domain.kinds import Domain
from ..redact import redact_url
from .output import NONE, seconds, value

POLICY_STYLE = {"reject": "red", "propose": "yellow"}


def show_syncmap(console: Console, syncmap: SyncMap, filename: str) -> None:
    ownership = Ownership(syncmap)
    console.print(
        Text.assemble(
            ("✓ ", "green"),
            f"{filename}: {len(syncmap.systems)} systems, "
            f"{len(syncmap.owners)} owner rules, {len(syncmap.routes)} routes",
        )
    )
    api = syncmap.api
    admin = Text.assemble(" · admin key ", _env(api.admin)) if api.admin else Text(" · no admin key")
    console.print(
        Text.assemble(f"store {redact_url(syncmap.store)} · API on {api.host}:{api.port}", admin),
        highlight=False,
    )
    console.print(systems_table(syncmap, Scopes(syncmap, ownership)))
    console.print(quality_table(syncmap))
    console.print(ownership_table(syncmap, ownership))
    console.print(routes_table(syncmap))
    if any(system.edi is not None for system in syncmap.systems.values()):
        console.print(partners_table(syncmap))
    if any(system.files is not None for system in syncmap.systems.values()):
        from .files_view import files_table

        console.print(files_table(syncmap))
    if syncmap.alerts is not None:
        from .alerts_view import channels_table, rules_table

        console.print(channels_table(syncmap.alerts), rules_table(syncmap.alerts))


def systems_table(syncmap: SyncMap, scopes: Scopes) -> Table:
    table = Table(title="systems", title_justify="left", caption="* default scopes", caption_justify="left")
    for column in ("system", "kind", "connector", "auth (env var)", "writes", "reads", "own ids (xref)"):
        table.add_column(column)
    for name, system in syncmap.systems.items():
        auth = _env(system.auth) if system.auth else Text("none", style="dim")
        if system.signing is not None:
            auth.append(f"\nsigning ({system.signing.scheme}): ")
            auth.append_text(_env_name(system.signing.secret_env))
        if system.webhooks is not None:
            auth.append(f"\nwebhooks in ({system.webhooks.signing.scheme}): ")
            for i, env_name in enumerate(system.webhooks.signing.env_names):
                auth.append_text(Text(", ") if i else Text())
                auth.append_text(_env_name(env_name))
        table.add_row(
            name,
            system.kind.value,
            system.connector,
            auth,
            _scope(scopes.writes[name], default=system.writes is None),
            _scope(scopes.reads[name], default=system.reads is None),
            _xref(system.xref),
        )
    return table


def _xref(xref: Mapping[Any, str] | None) -> Text:
    """`sku: listing_id` per kind: the canonical keys the system names by ids of its own."""
    if not xref:
        return Text(NONE, style="dim")
    return Text("\n".join(f"{kind!s}: {name}" for kind, name in xref.items()))


# What each quality setting does, per value (docs/sync-map.md#quality).
_QUALITY = {
    "unknown_sku": {
        "accept": "a SKU with no product record goes through as it is",
        "quarantine": "a SKU with no product record is quarantined (unknown_sku)",
        "auto_create": "a SKU with no product record is created as a draft product",
    },
    "unknown_location": {
        "accept": "a location with no record goes through as it is",
        "quarantine": "a location with no record is quarantined (unknown_location)",
        "auto_create": "a location with no record is created (active)",
    },
    "units": {
        "accept": "quantities are kept in the unit sent",
        "convert": "quantities in cases, pallets, ... become the SKU's base unit (else quarantined: units)",
    },
}


def quality_table(syncmap: SyncMap) -> Table:
    """The sync map's `quality` rules, and the schema's checks that always run."""
    table = Table(
        title="data quality",
        title_justify="left",
        caption="always: GTIN-8/12/13/14 check digits, quantities >= 0, ISO 3166-1 countries, ISO 4217 "
        "currencies, ISO 8601 times with a UTC offset; cross-references per system (own ids, above)",
        caption_justify="left",
    )
    for column in ("rule", "setting", "what it does"):
        table.add_column(column)
    rules = syncmap.quality.model_dump()
    for rule, setting in rules.items():
        style = "" if setting == "accept" else "bold"
        table.add_row(rule, Text(str(setting), style=style), _QUALITY.get(rule, {}).get(str(setting), ""))
    return table


def ownership_table(syncmap: SyncMap, ownership: Ownership) -> Table:
    """Rows are domains, columns systems; a cell names the fields or groups the system owns."""
    systems = list(syncmap.systems)
    table = Table(title="ownership (most specific rule wins)", title_justify="left", show_lines=True)
    table.add_column("domain", style="bold")
    for name in systems:
        table.add_column(name)
    table.add_column("no owner", style="dim")
    for domain in Domain:
        cells: dict[str, list[Text]] = {name: [] for name in systems}
        unowned: list[str] = []
        for entry, won in _rules(domain, ownership):
            if entry is None:
                unowned = won
                continue
            cell = cells.setdefault(entry.rule.system, [])
            cell.append(Text.assemble(_describe(domain, entry, won), " ", _policy(entry)))
        table.add_row(
            domain.value,
            *(Text("\n").join(cells[name]) if cells[name] else Text(NONE, style="dim") for name in systems),
            _list(unowned, all_fields=domain),
        )
    return table


def routes_table(syncmap: SyncMap) -> Table:
    table = Table(title="routes", title_justify="left")
    columns = ["route", "domain", "to", "cadence", "filter", "transform", "mode", "SLA"]
    with_format = any(r.format for r in syncmap.routes)
    if with_format:
        columns.insert(6, "format")
    for column in columns:
        table.add_column(column)
    for r in syncmap.routes:
        row = [
            r.name,
            r.domain.value,
            r.to,
            r.cadence,
            _filter(r.filter),
            value(r.transform.model_dump(exclude_defaults=True), 40) if r.transform else NONE,
            Text(r.mode, style="yellow" if r.mode == "shadow" else ""),
            seconds(r.sla),
        ]
        if with_format:
            row.insert(6, r.format or NONE)
        table.add_row(*row)
    if not syncmap.routes:
        table.add_row(*(NONE for _ in columns))
    return table


def partners_table(syncmap: SyncMap) -> Table:
    """The EDI trading partners: ids, version, the sets each way and when a 997 is overdue."""
    table = Table(title="EDI trading partners", title_justify="left")
    for column in (
        "partner",
        "its id",
        "our id",
        "version",
        "sends us",
        "we send",
        "997 overdue after",
        "outbox",
    ):
        table.add_column(column)
    for name, system in syncmap.systems.items():
        edi = system.edi
        if edi is None:
            continue
        acks = edi.acknowledgments
        if not acks.expected:
            due = "not expected"
        else:
            parts = [f"{seconds(acks.overdue)}"]
            parts += [
                f"{code}: {seconds(acks.due_after(code))}"
                for code in edi.receives
                if acks.due_after(code) != acks.overdue
            ]
            due = "\n".join(parts)
        table.add_row(
            name,
            _party(edi.partner),
            _party(edi.us),
            f"{edi.version} ({'production' if edi.usage == 'P' else 'test'})",
            ", ".join([*edi.sends, "997"]),
            ", ".join([*edi.receives, "997"]),
            due,
            edi.outbox or NONE,
        )
    return table


def _party(party: EdiParty) -> str:
    gs = f" (GS {party.group_id})" if party.group_id else ""
    return f"{party.qualifier}/{party.id}{gs}"


def _rules(domain: Domain, ownership: Ownership) -> list[tuple[OwnerEntry | None, list[str]]]:
    """Each owner rule of the domain with the fields it wins; `None` collects the unowned fields."""
    won: dict[str | None, tuple[OwnerEntry | None, list[str]]] = {}
    for name in sorted(CATALOG[domain].writable):
        entry = ownership.owner_of(domain, name)
        key = entry.source if entry else None
        won.setdefault(key, (entry, []))[1].append(name)
    return sorted(won.values(), key=lambda item: (item[0] is None, item[0].level if item[0] else 0))


def _describe(domain: Domain, entry: OwnerEntry, won: list[str]) -> str:
    """What a rule owns, as the sync map says it, minus what more specific rules took away."""
    spec = CATALOG[domain]
    _, _, scope = entry.source.partition(".")
    if not scope:
        return "all fields" if len(won) == len(spec.writable) else "all other fields"
    if scope in spec.groups:
        lost = [f for f in spec.groups[scope] if f not in won]
        return scope + (f" (not {', '.join(lost)})" if lost else "")
    return scope


def _policy(entry: OwnerEntry) -> Text:
    policy = entry.rule.on_conflict
    return Text(f"[{policy}]", style=POLICY_STYLE[policy])


def _list(fields: list[str], *, all_fields: Domain) -> str:
    if not fields:
        return NONE
    if len(fields) == len(CATALOG[all_fields].writable):
        return "all fields"
    return ", ".join(fields)


def _env(auth: AuthConfig | None) -> Text:
    return _env_name(auth.api_key_env) if auth else Text("none", style="dim")


def _env_name(name: str) -> Text:
    """An environment variable's name and whether it is set; never its value."""
    is_set = bool(os.environ.get(name))
    return Text.assemble(name, " ", ("(set)", "green") if is_set else ("(not set)", "yellow"))


def _scope(domains: Iterable[Domain], *, default: bool) -> Text:
    names = sorted(d.value for d in domains)
    text = Text("all" if len(names) == len(Domain) else ", ".join(names) or "none")
    if default:
        text.append(" *", style="dim")
    return text


def _filter(f: RouteFilter | None) -> str:
    if f is None:
        return "all"
    parts = [f"{name}: {', '.join(values)}" for name, values in f.model_dump(exclude_none=True).items()]
    return "; ".join(parts) or "all"
