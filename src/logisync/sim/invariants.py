"""The checks a scenario ends with: each reads the hub's store and the systems' views, and returns a
`Verdict` with its evidence (the keys and values that differ), never just a boolean.

- `convergence`: every live route's target holds what the golden records say it should, within
  the route's SLA once the faults stopped (`route_differences` is the comparison).
- `no_oversell`: every unit sold and not cancelled is shipped or still on the WMS's shelves.
- `no_double_shipment`: no order line shipped more units than it ordered, by the hub's records
  and by the WMS's own.
- `nothing_lost`: the change log's counts balance, every webhook the hub acknowledged is in it,
  every dead delivery is an open exception, nothing is left in flight.
- `kpis`: fill rate, the KPI engine's order and EDI figures (OTIF, order accuracy, lines filled,
  order to ship, 997s on time), route lag (p95) and open exceptions by kind within the
  scenario's bounds; a bound on a figure with no data fails.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from ..config.model import RouteConfig, SyncMap
from ..domain.atp import channel_atp
from ..domain.catalog import split_inventory_key
from ..domain.inventory import available
from ..domain.kinds import Domain
from ..pipeline.routing import _matches
from ..store.base import Store

EVIDENCE = 20  # items of evidence kept per verdict (the count of all of them is kept too)


@dataclass
class Verdict:
    """One invariant's result: pass or fail, a sentence, and the evidence behind it."""

    name: str
    passed: bool
    summary: str
    evidence: list[dict[str, Any]] = field(default_factory=list)
    failures: int = 0  # how many items failed (evidence keeps the first EVIDENCE)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "passed": self.passed,
            "summary": self.summary,
            "failures": self.failures,
            "evidence": self.evidence,
        }


def verdict(name: str, problems: list[dict[str, Any]], ok: str, bad: str) -> Verdict:
    return Verdict(name, not problems, ok if not problems else bad, problems[:EVIDENCE], len(problems))


class Viewed(Protocol):
    """What the checks need of a simulated system (`sim.system.SimSystem`)."""

    name: str

    def view(self, domain: str) -> dict[str, dict[str, Any]]: ...


# -- convergence ---------------------------------------------------------------------------------


def expected_view(route: RouteConfig, store: Store) -> dict[str, dict[str, Any]]:
    """What the route's target should hold, from the golden records.

    An inventory route with an `atp` transform carries each SKU's channel availability
    (`{sku: {"available": n}}`); every other route carries the records its filter lets through.
    """
    domain = Domain(route.domain)
    atp = route.transform.atp if route.transform is not None else None
    records = [
        r
        for r in store.iter_records(domain.value)
        if route.filter is None or _matches(route.filter, domain, r.key)
    ]
    if domain is Domain.inventory and atp is not None:
        by_sku: dict[str, dict[str, int]] = defaultdict(dict)
        for r in records:
            sku, location = split_inventory_key(r.key)
            by_sku[sku][location] = available(r.fields)
        return {sku: {"available": channel_atp(positions, atp)} for sku, positions in by_sku.items()}
    if domain is Domain.inventory:
        return {r.key: {**r.fields, "available": available(r.fields)} for r in records}
    return {r.key: dict(r.fields) for r in records}


def route_differences(expected: Mapping[str, Any], actual: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Keys missing from `actual`, and values that differ in the fields both sides hold.

    A view may keep fewer fields than the golden record (a marketplace keeps no provenance or
    hub bookkeeping): what it does hold must agree, recursively; a list must agree item by item.
    """
    problems: list[dict[str, Any]] = []
    for key, want in sorted(expected.items()):
        if key not in actual:
            problems.append({"key": key, "problem": "missing", "expected": want})
            continue
        diffs = _differences(want, actual[key], "")
        if diffs:
            problems.append({"key": key, "problem": "differs", "fields": diffs})
    return problems


def _differences(want: Any, got: Any, path: str) -> dict[str, Any]:
    if isinstance(want, Mapping) and isinstance(got, Mapping):
        out: dict[str, Any] = {}
        for name in want.keys() & got.keys():
            out.update(_differences(want[name], got[name], f"{path}.{name}" if path else str(name)))
        return out
    if isinstance(want, list) and isinstance(got, list):
        if len(want) != len(got):
            return {path or "(value)": {"expected": f"{len(want)} items", "actual": f"{len(got)} items"}}
        out = {}
        for i, (w, g) in enumerate(zip(want, got, strict=True)):
            out.update(_differences(w, g, f"{path}[{i}]"))
        return out
    if _scalar(want) == _scalar(got):
        return {}
    return {path or "(value)": {"expected": want, "actual": got}}


def _scalar(value: Any) -> Any:
    """Numbers by value (2 == 2.0 == "2.0" for a decimal sent as text), times by instant."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            pass
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return value
    return value


def checked_routes(syncmap: SyncMap, systems: Mapping[str, Viewed]) -> list[RouteConfig]:
    """The routes convergence is checked on: live, to a simulated system, of a state domain."""
    return [
        r for r in syncmap.routes if r.mode == "live" and r.to in systems and not Domain(r.domain).is_event
    ]


def route_converged(route: RouteConfig, store: Store, systems: Mapping[str, Viewed]) -> list[dict[str, Any]]:
    """The differences between what `route` should have delivered and what its target holds."""
    return route_differences(expected_view(route, store), systems[route.to].view(route.domain))


def convergence(
    syncmap: SyncMap,
    store: Store,
    systems: Mapping[str, Viewed],
    converged_after: Mapping[str, float | None],
    settle: float,
) -> Verdict:
    """Every checked route converged, within its SLA (or `settle`) after the faults stopped.

    `converged_after[route]`: sim seconds from the end of the faults until the route's target
    last stopped differing (None: it still differs).
    """
    problems: list[dict[str, Any]] = []
    routes = checked_routes(syncmap, systems)
    for route in routes:
        diffs = route_converged(route, store, systems)
        took = converged_after.get(route.name)
        limit = route.sla if route.sla is not None else settle
        if diffs or took is None:
            problems.append(
                {"route": route.name, "to": route.to, "differences": len(diffs), "first": diffs[:5]}
            )
        elif took > limit:
            problems.append(
                {"route": route.name, "to": route.to, "converged_after_s": round(took, 1), "sla_s": limit}
            )
    names = ", ".join(r.name for r in routes)
    return verdict(
        "convergence",
        problems,
        f"{len(routes)} routes converged within their SLA ({names})",
        f"{len(problems)} of {len(routes)} routes did not converge within their SLA",
    )


# -- stock and shipments -------------------------------------------------------------------------


def _live_orders(store: Store) -> Iterable[tuple[str, dict[str, Any]]]:
    for r in store.iter_records("order"):
        if r.fields.get("status") != "cancelled" and r.fields.get("lines"):
            yield r.key, r.fields


def no_oversell(store: Store, wms: Viewed) -> Verdict:
    """Every unit sold and not cancelled is shipped or on the WMS's shelves, SKU by SKU.

    Sold: the hub's orders (not cancelled), quantity less cancelled units per line; shipped: what
    the hub recorded as shipped per line; on the shelves: the WMS's own `on_hand`, its physical
    truth, over all locations. Open units beyond the shelf are units a channel sold that do not exist,
    unless a count took them after the sale: units the hub released from an order's holds into a
    backorder when a position's stock fell below what it held (its `stock_shortfall` exceptions)
    were sold while they existed and lost to shrinkage, not oversold. How many orders are still
    open when a count lands depends on how fast the warehouse ships, so without this the check
    failed or passed by timing alone. Units the warehouse had allocated to orders when a count
    took them were sold while they existed too. Together they count only as far as the warehouse
    itself lost units (its `shrinkage` view: units counts and adjustments took off the shelf,
    and how many of those were allocated): a hold is released too when the warehouse allocates
    its units to another order, one the hub had backordered, and those units were shipped, not lost.
    """
    sold: Counter[str] = Counter()
    shipped: Counter[str] = Counter()
    orders_by_sku: dict[str, list[str]] = defaultdict(list)
    for key, fields in _live_orders(store):
        by_line = fields.get("shipped_by_line") or {}
        for line in fields["lines"]:
            sku = line["sku"]
            sold[sku] += int(line["quantity"]) - int(line.get("cancelled") or 0)
            shipped[sku] += int(by_line.get(str(line["line_no"]), 0))
            orders_by_sku[sku].append(key)
    shelf: Counter[str] = Counter()
    for key, fields in wms.view("inventory").items():
        sku = split_inventory_key(key)[0] if "@" in key else key
        shelf[sku] += int(fields.get("on_hand") or 0)
    released = _lost_to_counts(store)
    shrunk: Counter[str] = Counter()
    for sku, lost in wms.view("shrinkage").items():
        after_sale = released[sku] + int(lost.get("allocated") or 0)
        shrunk[sku] = min(after_sale, int(lost.get("units") or 0))
    problems = []
    for sku in sorted(sold):
        owed = sold[sku] - shipped[sku]
        if owed > shelf[sku] + shrunk[sku]:
            problem = {
                "sku": sku,
                "sold": sold[sku],
                "shipped": shipped[sku],
                "owed": owed,
                "on_hand_at_wms": shelf[sku],
                "oversold": owed - shelf[sku] - shrunk[sku],
                "orders": orders_by_sku[sku][:10],
            }
            if shrunk[sku]:
                problem["lost_to_counts"] = shrunk[sku]
            problems.append(problem)
    return verdict(
        "no_oversell",
        problems,
        f"{sum(sold.values())} units sold over {len(sold)} SKUs, every one shipped or on the shelf",
        f"{len(problems)} SKUs sold more units than the warehouse had",
    )


def _lost_to_counts(store: Store) -> Counter[str]:
    """Units per SKU a falling stock level took from orders that held them (`stock_shortfall`)."""
    lost: Counter[str] = Counter()
    after = 0
    while rows := store.list_exceptions(state=None, kind="stock_shortfall", limit=500, after_id=after):
        for row in rows:
            released = (row.detail or {}).get("released") or {}
            sku = split_inventory_key(row.key)[0] if row.key and "@" in row.key else row.key
            if sku:
                lost[sku] += sum(int(n) for n in released.values())
        after = rows[-1].id
    return lost


def no_double_shipment(store: Store, wms: Viewed) -> Verdict:
    """No order line shipped more than it ordered: by the hub's shipment records, and by the WMS's.

    The hub's count is the order's `shipped_by_line`; the WMS's is the units of its shipments of
    that order, per SKU (its view of `shipment`), so a shipment sent twice under two numbers shows.
    """
    problems: list[dict[str, Any]] = []
    ordered_by_sku: dict[str, Counter[str]] = {}
    for key, fields in _live_orders(store):
        by_line = fields.get("shipped_by_line") or {}
        ordered_by_sku[key] = Counter()
        for line in fields["lines"]:
            ordered_by_sku[key][line["sku"]] += int(line["quantity"])
            n = int(by_line.get(str(line["line_no"]), 0))
            if n > int(line["quantity"]):
                problems.append(
                    {
                        "order": key,
                        "line": line["line_no"],
                        "ordered": line["quantity"],
                        "shipped": n,
                        "by": "hub",
                    }
                )
    at_wms: dict[str, Counter[str]] = defaultdict(Counter)
    shipments_of: dict[str, list[str]] = defaultdict(list)
    for key, shipment in wms.view("shipment").items():
        order = shipment.get("order_number")
        if order is None:
            continue
        shipments_of[order].append(key)
        for package in shipment.get("packages") or []:
            for line in package.get("lines") or []:
                at_wms[order][line["sku"]] += int(line["quantity"])
    for order, units in sorted(at_wms.items()):
        ordered = ordered_by_sku.get(order)
        if ordered is None:
            continue
        for sku, n in sorted(units.items()):
            if n > ordered[sku]:
                problems.append(
                    {
                        "order": order,
                        "sku": sku,
                        "ordered": ordered[sku],
                        "shipped": n,
                        "by": "wms",
                        "shipments": shipments_of[order],
                    }
                )
    shipments = sum(len(v) for v in shipments_of.values())
    return verdict(
        "no_double_shipment",
        problems,
        f"{shipments} shipments over {len(shipments_of)} orders, no line shipped twice",
        f"{len(problems)} order lines shipped more than ordered",
    )


# -- bookkeeping ---------------------------------------------------------------------------------


class Sender(Viewed, Protocol):
    sent: list[Any]  # SentWebhook: id, domain, key, dropped, status


def nothing_lost(
    store: Store, systems: Mapping[str, Viewed], acknowledged: Mapping[str, list[str]]
) -> Verdict:
    """The change log's counts balance; each acknowledged webhook is in it; dead means an open exception.

    `acknowledged[system]`: the ids of the changes the hub answered 200 for (from the webhooks the
    systems sent); each must be in the change log. Duplicates are counted in the outcome counters
    only, so the log's entries equal the counters less the duplicates.
    """
    problems: list[dict[str, Any]] = []
    counters = Counter[str]()
    for (_, _, outcome), n in store.outcome_counts().items():
        counters[outcome] += n
    logged = Counter(store.count_changes())
    for outcome in sorted(set(counters) | set(logged)):
        if outcome == "duplicate":
            continue
        if counters[outcome] != logged[outcome]:
            problems.append(
                {
                    "check": "counts",
                    "outcome": outcome,
                    "counted": counters[outcome],
                    "logged": logged[outcome],
                }
            )
    for system, ids in sorted(acknowledged.items()):
        for change_id in ids:
            if store.get_change(system, change_id) is None:
                problems.append({"check": "acknowledged", "system": system, "change_id": change_id})
    dead = store.list_outbox(state="dead", limit=100_000)
    open_dead = {
        (e.route, e.key) for e in store.list_exceptions(state="open", kind="dead_delivery", limit=100_000)
    }
    for row in dead:
        if (row.route, row.key) not in open_dead:
            problems.append({"check": "dead", "route": row.route, "key": row.key, "error": row.last_error})
    stuck = store.list_outbox(state="in_flight", limit=1000)
    for row in stuck:
        problems.append({"check": "in_flight", "route": row.route, "key": row.key})
    received = sum(counters.values())
    acked = sum(len(v) for v in acknowledged.values())
    return verdict(
        "nothing_lost",
        problems,
        f"{received} changes received, every outcome logged; {acked} acknowledged webhooks all in the "
        f"log; {len(dead)} dead deliveries, each an open exception",
        f"{len(problems)} things unaccounted for",
    )


# -- KPIs ----------------------------------------------------------------------------------------


def fill_rate(store: Store) -> float | None:
    """Shipped units / ordered units (less cancelled) over the orders that are not cancelled."""
    ordered = shipped = 0
    for _, fields in _live_orders(store):
        by_line = fields.get("shipped_by_line") or {}
        for line in fields["lines"]:
            ordered += int(line["quantity"]) - int(line.get("cancelled") or 0)
            shipped += min(int(by_line.get(str(line["line_no"]), 0)), int(line["quantity"]))
    return shipped / ordered if ordered else None


def percentile(values: list[float], p: float) -> float:
    """The nearest-rank percentile (p in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, min(len(ordered), -(-len(ordered) * p // 100)))
    return ordered[int(rank) - 1]


def route_lag_percentiles(store: Store, syncmap: SyncMap, compression: float) -> dict[str, dict[str, Any]]:
    """Each route's delivery lag in sim seconds (accepted to delivered), p50, p95, p99 and max."""
    out: dict[str, dict[str, Any]] = {}
    for route in syncmap.routes:
        rows = store.list_outbox(state="delivered", route=route.name, limit=1_000_000)
        lags = [max(0, r.updated_us - r.first_us) / 1e6 * compression for r in rows]
        if not lags:
            out[route.name] = {"delivered": 0}
            continue
        out[route.name] = {
            "delivered": len(lags),
            "p50": round(percentile(lags, 50), 2),
            "p95": round(percentile(lags, 95), 2),
            "p99": round(percentile(lags, 99), 2),
            "max": round(max(lags), 2),
            "sla": route.sla,
        }
    return out


def run_kpis(store: Store) -> dict[str, Any]:
    """The KPI engine's figures over the whole run, for the hub as a whole: name -> `KpiValue`.

    The window is every moment up to a year ahead: a scenario's store holds that run alone, and
    sim time (the business times the systems stamp: `placed_at`, `shipped_at`) runs ahead of the
    wall clock. The engine is the one `GET /v1/kpis` and the KPI page use, so a bound on it checks
    the product's figures, not a second computation of them."""
    from ..domain.change import now_us
    from ..kpi.report import Window, compute

    window = Window(0, now_us() + 366 * 86_400_000_000)
    return {v.kpi: v for v in compute(store, window) if v.group == "all"}


# the bounds on the KPI engine's figures, each named as its KPI: (KPI, "min" or "max", the
# bound's units per KPI unit)
ENGINE_BOUNDS = (
    ("otif", "min", 1.0),
    ("order_accuracy", "min", 1.0),
    ("fill_rate_lines", "min", 1.0),
    ("order_to_ship_p90", "max", 3600.0),  # the KPI in hours, the bound in (sim) seconds
    ("edi_acks_on_time", "min", 1.0),
)


def kpis(
    bounds: Any,
    store: Store,
    lags: Mapping[str, Mapping[str, Any]],
    exceptions: Mapping[str, int],
    figures: Mapping[str, Any] | None = None,
) -> Verdict:
    """The KPIs within the scenario's `bounds` (`scenario.KpiBounds`).

    A bound on a KPI with nothing to measure fails ("no data"): a scenario that bounds the fill
    rate and ships nothing has not shown a fill rate. `figures`: the KPI engine's (`run_kpis`),
    computed here when a bound needs them and none are given."""
    problems: list[dict[str, Any]] = []
    shown: list[str] = []
    rate = fill_rate(store)
    if bounds.fill_rate is not None:
        if rate is None:
            problems.append(
                {"kpi": "fill_rate", "value": None, "min": bounds.fill_rate, "problem": "no data"}
            )
        elif rate < bounds.fill_rate:
            problems.append({"kpi": "fill_rate", "value": round(rate, 4), "min": bounds.fill_rate})
    shown.append(f"fill rate {rate:.1%}" if rate is not None else "fill rate: no orders")
    wanted = [b for b in ENGINE_BOUNDS if getattr(bounds, b[0], None) is not None]
    if wanted and figures is None:
        figures = run_kpis(store)
    for kpi, side, scale in wanted:
        bound = getattr(bounds, kpi)
        found = (figures or {}).get(kpi)
        if found is None or found.value is None:
            problems.append({"kpi": kpi, "value": None, side: bound, "problem": "no data"})
            shown.append(f"{kpi}: no data")
            continue
        value = found.value * scale
        if (value < bound) if side == "min" else (value > bound):
            problems.append({"kpi": kpi, "value": round(value, 4), side: bound})
        shown.append(f"{kpi} {_figure(value, scale)} over {found.count}")
    if bounds.lag_p95 is not None:
        measured = {route: f for route, f in lags.items() if f.get("p95") is not None}
        if not measured:
            problems.append({"kpi": "lag_p95", "value": None, "max": bounds.lag_p95, "problem": "no data"})
        for route, lag in measured.items():
            if lag["p95"] > bounds.lag_p95:
                problems.append(
                    {"kpi": "lag_p95", "route": route, "value": lag["p95"], "max": bounds.lag_p95}
                )
        idle = sorted(set(lags) - set(measured))
        shown.append(
            f"lag p95 on {len(measured)} routes" + (f" (no deliveries: {', '.join(idle)})" if idle else "")
        )
    for kind, most in sorted(bounds.exceptions.items()):
        if exceptions.get(kind, 0) > most:
            problems.append(
                {"kpi": "open_exceptions", "kind": kind, "value": exceptions.get(kind, 0), "max": most}
            )
    summary = "; ".join(shown)
    return verdict(
        "kpis",
        problems,
        f"{summary}; every bound holds",
        f"{summary}; {len(problems)} KPIs out of bounds or without data",
    )


def _figure(value: float, scale: float) -> str:
    return f"{value / 3600:.2f} h" if scale == 3600.0 else f"{value:.1%}"
