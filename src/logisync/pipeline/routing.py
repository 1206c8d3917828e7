"""Which routes an applied change goes out on: domain, filter (rollout waves, fields applied),
echo suppression (unless the route asks for the echo)."""

from __future__ import annotations

from collections.abc import Collection

from ..config.model import RouteConfig, RouteFilter
from ..domain.catalog import split_inventory_key
from ..domain.kinds import Domain


def _matches(f: RouteFilter, domain: Domain, key: str, applied: Collection[str] | None = None) -> bool:
    """Whether the filter takes `key`; and, with `applied` (the fields a change applied), the
    change. Without `applied` only the record is judged (what the convergence checks ask)."""
    if f.key_prefix is not None and not key.startswith(tuple(f.key_prefix)):
        return False
    if f.fields is not None and applied is not None and not any(name in applied for name in f.fields):
        return False
    sku, location = _sku_location(domain, key)
    if f.sku_prefix is not None and (sku is None or not sku.startswith(tuple(f.sku_prefix))):
        return False
    if f.sku is not None and sku not in f.sku:
        return False
    return not (f.location is not None and location not in f.location)


def _sku_location(domain: Domain, key: str) -> tuple[str | None, str | None]:
    """The SKU and location a key names, where the domain's key carries them."""
    if domain is Domain.inventory:
        return split_inventory_key(key)
    if domain is Domain.product:
        return key, None
    if domain is Domain.location:
        return None, key
    return None, None


class Router:
    """Routes by domain; `targets(domain, key, origin)` lists where an applied change goes."""

    def __init__(self, routes: list[RouteConfig]) -> None:
        self.by_domain: dict[Domain, list[RouteConfig]] = {}
        self._candidates: dict[tuple[Domain, str], tuple[list[RouteConfig], bool]] = {}
        for route in routes:
            self.by_domain.setdefault(route.domain, []).append(route)

    def targets(
        self, domain: Domain, key: str, origin: str, applied: Collection[str] = ()
    ) -> list[RouteConfig]:
        """Matching routes for a change that applied the fields `applied`, except those back to
        the system the change came from (echo suppression), unless the route asks for the echo.

        The returned list may be shared between calls: callers must not change it.
        """
        cached = self._candidates.get((domain, origin))
        if cached is None:
            routes = [r for r in self.by_domain.get(domain, ()) if r.to != origin or r.echo]
            cached = self._candidates[(domain, origin)] = (routes, all(r.filter is None for r in routes))
        routes, unfiltered = cached
        if unfiltered:
            return routes
        return [r for r in routes if r.filter is None or _matches(r.filter, domain, key, applied)]
