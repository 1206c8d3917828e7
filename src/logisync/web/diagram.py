"""The overview's diagram: the hub in the middle, each system around it, as server-rendered SVG.

A system's line to the hub carries what it owns (arrow into the hub: it is the source of truth)
and the routes that deliver to it (arrow out to the system), coloured by the worst route state:
red for an SLA breach or an open breaker, amber for dead deliveries, dashed violet for shadow.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from markupsafe import Markup, escape

from ..config.model import OwnerRule, SyncMap

BOX_W, BOX_H = 230, 64
ROW_H = 92
HUB_W, HUB_H = 140, 56
WIDTH = 980


class _Route(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def to(self) -> str: ...
    @property
    def mode(self) -> str: ...
    @property
    def health(self) -> str: ...


def owners_by_system(syncmap: SyncMap) -> dict[str, list[str]]:
    """What each system is the source of truth for (domains and field groups)."""
    owned: dict[str, list[str]] = {}
    for what, rule in syncmap.owners.items():
        system = rule.system if isinstance(rule, OwnerRule) else rule
        owned.setdefault(system, []).append(what)
    return owned


def _short(items: Sequence[str], limit: int = 34) -> str:
    text = ", ".join(items)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def diagram(syncmap: SyncMap, routes: Sequence[_Route]) -> Markup:
    owned = owners_by_system(syncmap)
    names = list(syncmap.systems)
    left = names[: (len(names) + 1) // 2]
    right = names[(len(names) + 1) // 2 :]
    rows = max(len(left), len(right), 1)
    height = rows * ROW_H + 20
    hub_x, hub_y = (WIDTH - HUB_W) / 2, (height - HUB_H) / 2
    inbound: dict[str, list[_Route]] = {}
    for r in routes:
        inbound.setdefault(r.to, []).append(r)

    parts: list[str] = []
    summary: list[str] = []
    for side, column in (("left", left), ("right", right)):
        for i, name in enumerate(column):
            y = 10 + i * ROW_H + (rows - len(column)) * ROW_H / 2
            x = 10 if side == "left" else WIDTH - BOX_W - 10
            kind = syncmap.systems[name].kind
            gets = inbound.get(name, [])
            health = _worst([r.health for r in gets])
            shadow = bool(gets) and all(r.mode == "shadow" for r in gets)
            cls = "edge" + (" bad" if health == "bad" else " shadow" if shadow else "")
            # the line between the system's box and the hub
            sx = x + BOX_W if side == "left" else x
            hx = hub_x if side == "left" else hub_x + HUB_W
            sy, hy = y + BOX_H / 2, hub_y + HUB_H / 2
            markers = []
            if owned.get(name):
                markers.append(
                    'marker-end="url(#arrow)"' if side == "left" else 'marker-start="url(#arrow-rev)"'
                )
            if gets:
                markers.append(
                    'marker-start="url(#arrow-rev)"' if side == "left" else 'marker-end="url(#arrow)"'
                )
            parts.append(
                f'<path class="{cls}" d="M{sx:.0f},{sy:.0f} L{hx:.0f},{hy:.0f}" {" ".join(markers)}/>'
            )
            owns = owned.get(name, [])
            routed = [f"{r.name}{' (shadow)' if r.mode == 'shadow' else ''}" for r in gets]
            parts.append(
                f'<g class="sys"><title>{escape(_describe(name, kind, owns, routed))}</title><rect x="{x}" y="{y:.0f}" width="{BOX_W}" height="{BOX_H}" rx="8"/>'
                f'<text x="{x + 10}" y="{y + 19:.0f}"><tspan font-weight="700">{escape(name)}</tspan>'
                f'<tspan class="small"> {escape(kind)}</tspan></text>'
                f'<text class="small" x="{x + 10}" y="{y + 37:.0f}">owns: {escape(_short(owns) or "—")}</text>'
                f'<text class="small" x="{x + 10}" y="{y + 54:.0f}">gets: {escape(_short(routed) or "—")}</text>'
                "</g>"
            )
            summary.append(_describe(name, kind, owns, routed))
    parts.append(
        f'<g class="hub"><rect x="{hub_x:.0f}" y="{hub_y:.0f}" width="{HUB_W}" height="{HUB_H}" rx="10"/>'
        f'<text x="{hub_x + HUB_W / 2:.0f}" y="{hub_y + 33:.0f}" text-anchor="middle" font-weight="700">'
        "logisync hub</text></g>"
    )
    label = "Systems and routes. " + ". ".join(summary)
    defs = (
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#5f6b76"/></marker>'
        '<marker id="arrow-rev" viewBox="0 0 10 10" refX="0" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto"><path d="M10,0 L0,5 L10,10 z" fill="#5f6b76"/></marker></defs>'
    )
    return Markup(
        f'<svg viewBox="0 0 {WIDTH} {height:.0f}" role="img" aria-labelledby="diagram-title">'
        f'<title id="diagram-title">{escape(label)}</title>{defs}{"".join(parts)}</svg>'
    )


def _describe(name: str, kind: str, owns: Sequence[str], routed: Sequence[str]) -> str:
    return f"{name} ({kind}) owns {', '.join(owns) or 'nothing'}; routes to it: {', '.join(routed) or 'none'}"


def _worst(healths: Sequence[str]) -> str:
    for h in ("bad", "warn"):
        if h in healths:
            return h
    return "ok"
