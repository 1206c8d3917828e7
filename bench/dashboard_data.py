"""The dashboard benchmark's store: a million records and ten thousand exceptions, bulk-inserted.

    python bench/dashboard_data.py [--records 1000000] [--exceptions 10000] [--dir /tmp/...]

The rows have the shapes the hub writes (records with per-field provenance, the change log with
each record's history chained by `prev_seq`, outbox rows, exceptions with their detail and audit
trail, reconciliation runs with their reports), but are written straight into SQLite with
`executemany` instead of going through the pipeline: a million records through the pipeline
would take most of an hour on this machine. The store is migrated by `open_store` first, so
every migration (and every index) of the current code is there.

What is in it (for 1,000,000 records; other sizes scale): 100,000 products; 400,000 inventory
positions (SKU x DC1..DC4), each with a stock message and a tenth with a count (half of them off);
270,000 orders (shop and market) placed across the last 30 days, each created, held by the
oversell guard, allocated and (85 %) shipped by the WMS with `placed_at` / `shipped_at`;
150,000 shipments and 60,000 tracking numbers with two entries each; 20,000 returns. About 2.2
million change log entries in all, numbered in the order they were received. Outbox rows for
the deliveries of the last 7 days (older ones as if delivered and pruned), the last minutes still
pending. Exceptions of every kind the hub opens, spread over the 30 days, 60 % open. Sixty
reconciliation runs (two reconciliations, daily): the two newest are real runs of the hub's
Reconciler against a snapshot with 0.5 % variances; the older ones carry copies of their
summaries and reports with the counts varied.
"""

from __future__ import annotations

import argparse
import heapq
import random
import shutil
import sqlite3
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

SETUP_VERSION = "1"
DAY_US = 86_400_000_000
HOUR_US = 3_600_000_000
MIN_US = 60_000_000
LOCATIONS = ("DC1", "DC2", "DC3", "DC4")
# per million records
SHARES = {"product": 100, "inventory": 400, "order": 270, "shipment": 150, "tracking": 60, "return": 20}
ROUTES = {  # live routes of examples/logisync.yaml per domain (stock-to-web is shadow, one SKU)
    "inventory": ("stock-to-shop", "stock-to-acme"),
    "product": ("products-to-shop",),
    "order": ("orders-to-wms", "orders-to-erp"),
    "tracking": ("tracking-to-shop",),
}
OUTBOX_DAYS = 7


def iso(us: int) -> str:
    return datetime.fromtimestamp(us / 1e6, UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def dumps(value: Any) -> str:
    return orjson.dumps(value).decode()


@dataclass(slots=True)
class Event:
    """One inbound change of a record, before it has a place in the change log."""

    at_us: int
    system: str
    change_id: str
    fields: dict[str, Any]
    source: str = "webhook"
    reason: str | None = None
    applied: list[str] | None = None  # written out when not exactly the fields


@dataclass(slots=True)
class Pending:
    """A record being built: its fields and provenance so far, and how many events are to come."""

    domain: str
    key: str
    left: int
    created_us: int
    fields: dict[str, Any] = field(default_factory=dict)
    prov: dict[str, Any] = field(default_factory=dict)
    revision: int = 0
    last_seq: int | None = None
    updated_us: int = 0


@dataclass(slots=True)
class Keys:
    """How many records of each domain, and their keys by index (exceptions point at them)."""

    n: dict[str, int]

    @classmethod
    def for_total(cls, total: int) -> Keys:
        n = {d: total * share // 1000 for d, share in SHARES.items()}
        n["inventory"] = n["inventory"] // len(LOCATIONS) * len(LOCATIONS)
        n["product"] += total - sum(n.values())
        return cls(n)

    @property
    def skus(self) -> int:
        return self.n["inventory"] // len(LOCATIONS)

    def key(self, domain: str, i: int) -> str:
        if domain == "product":
            return f"SKU-{i:06d}"
        if domain == "inventory":
            return f"SKU-{i // len(LOCATIONS):06d}@{LOCATIONS[i % len(LOCATIONS)]}"
        if domain == "order":
            return f"{'SHOP' if i % 5 < 3 else 'MARKET'}-{i + 1:07d}"
        if domain == "shipment":
            return f"SH-{self.key('order', i)}-1"
        if domain == "tracking":
            return f"SIM{i * 7919 % 10**10:010d}"
        return f"RMA-{self.key('order', i)}"


class Builder:
    """Writes the store; `events_of` says what happened to each record."""

    def __init__(self, conn: sqlite3.Connection, keys: Keys, start_us: int, end_us: int, seed: int) -> None:
        self.conn = conn
        self.keys = keys
        self.start_us, self.end_us = start_us, end_us
        self.rng = random.Random(seed)
        self.seq = 0
        self.heap: list[tuple[int, int, Pending, Event]] = []
        self.tie = 0
        self.changes: list[tuple[Any, ...]] = []
        self.records: list[tuple[Any, ...]] = []
        self.outbox: list[tuple[Any, ...]] = []
        self.counts: dict[tuple[str, str], int] = {}
        self.outbox_from = end_us - OUTBOX_DAYS * DAY_US

    # -- what happens to a record -----------------------------------------------------------
    def events_of(self, domain: str, i: int, key: str, t: int) -> list[Event]:
        r = self.rng
        if domain == "product":
            fields: dict[str, Any] = {
                "name": f"Product {key}",
                "status": "active",
                "weight_kg": round(r.uniform(0.1, 20), 2),
            }
            if r.random() < 0.6:
                fields["price"] = round(r.uniform(2, 400), 2)
            return [Event(t, "erp", f"erp-items-{i}", fields, source=f"erp-items.csv:{i + 2}")]
        if domain == "inventory":
            on_hand = r.randrange(500)
            out = [Event(t, "wms", f"wms-st-{i}", {"on_hand": on_hand, "allocated": r.randrange(7)})]
            if r.random() < 0.1:
                at = min(t + r.randrange(HOUR_US, 10 * DAY_US), self.end_us - MIN_US)
                counted = on_hand + (r.randrange(-5, 6) if r.random() < 0.5 else 0)
                count = {"on_hand": counted, "counted_at": iso(at)}
                applied = ["on_hand", "counted_at"]
                if counted != on_hand:
                    count["variance"] = {
                        "quantity": counted - on_hand,
                        "expected": on_hand,
                        "counted": counted,
                        "counted_at": iso(at),
                    }
                    applied.append("variance")
                out.append(Event(at, "wms", f"wms-cnt-{i}", count, applied=applied, reason=None))
            return out
        if domain == "order":
            channel = "shop" if i % 5 < 3 else "market"
            lines = [
                {
                    "line_no": n + 1,
                    "sku": self.keys.key("product", r.randrange(self.keys.skus)),
                    "quantity": r.randint(1, 3),
                    "unit_price": None,
                    "uom": None,
                    "allocated": 0,
                    "shipped": 0,
                    "cancelled": 0,
                    "returned": 0,
                    "received": None,
                }
                for n in range(r.randint(1, 3))
            ]
            wh = LOCATIONS[i % 2]
            created = Event(
                t, channel, f"{channel}-wh-{i}", {"channel": channel, "placed_at": iso(t), "lines": lines}
            )
            held = {
                "seller": channel,
                "reservations": {ln["sku"]: {wh: ln["quantity"]} for ln in lines},
                "backorders": None,
            }
            guard = Event(
                t + 1,
                "logisync",
                f"{channel}/{channel}-wh-{i}>order/{key}",
                held,
                source=f"{channel}/{channel}-wh-{i}",
                reason=f"oversell guard: holds for order {key}",
            )
            alloc_at = t + r.randrange(10 * MIN_US, 6 * HOUR_US)
            out = [
                created,
                guard,
                Event(alloc_at, "wms", f"wms-al-{i}", {"status": "allocated", "warehouse": wh}),
            ]
            if r.random() < 0.85:
                ship_at = alloc_at + r.randrange(HOUR_US, 60 * HOUR_US)
                if ship_at < self.end_us:
                    short = r.random() < 0.03
                    by_line = {
                        str(ln["line_no"]): ln["quantity"] - (1 if short and n == 0 else 0)
                        for n, ln in enumerate(lines)
                    }
                    out.append(
                        Event(
                            ship_at,
                            "wms",
                            f"wms-sh-{i}",
                            {"status": "shipped", "shipped_at": iso(ship_at), "shipped_by_line": by_line},
                        )
                    )
            return out
        if domain == "shipment":
            order = self.keys.key("order", i)
            tn = self.keys.key("tracking", i % self.keys.n["tracking"])
            fields = {
                "order_number": order,
                "carrier": "SIMPOST",
                "ship_from": LOCATIONS[i % 2],
                "packages": [
                    {"package_id": f"{key}-P1", "tracking_number": tn, "weight_kg": None, "lines": []}
                ],
                "tracking_numbers": [tn],
                "status": "pre_transit",
            }
            later = min(t + r.randrange(HOUR_US, 48 * HOUR_US), self.end_us - MIN_US)
            status = {
                "tracking_status": {tn: {"status": "in_transit", "at": iso(later)}},
                "status": "in_transit",
            }
            return [
                Event(t, "wms", f"wms-shp-{i}", fields),
                Event(later, "logisync", f"carrier/ep-{i}>shipment/{key}", status, source=f"carrier/ep-{i}"),
            ]
        if domain == "tracking":
            shipment = self.keys.key("shipment", i)
            later = min(t + r.randrange(HOUR_US, 48 * HOUR_US), self.end_us - MIN_US)
            event = {"id": f"~{i:024x}", "status": "in_transit", "at": iso(later)}
            return [
                Event(
                    t, "logisync", f"wms/wms-shp-{i}>tracking/{key}", {"tracked_for": shipment, "events": []}
                ),
                Event(
                    later,
                    "carrier",
                    f"easypost:{i:032x}",
                    {
                        "events": [event],
                        "carrier": "SIMPOST",
                        "status": "in_transit",
                        "native_code": "in_transit",
                        "description": "in transit",
                        "shipment_number": shipment,
                        "occurred_at": iso(later),
                    },
                ),
            ]
        order = self.keys.key("order", i)
        return [
            Event(
                t,
                "shop" if order.startswith("SHOP") else "market",
                f"rma-{i}",
                {
                    "order_number": order,
                    "status": "authorised",
                    "lines": [
                        {"sku": "SKU-000001", "quantity": 1, "condition": "unknown", "disposition": "pending"}
                    ],
                },
            )
        ]

    # -- the change log in the order of arrival -----------------------------------------------
    def add(self, domain: str, i: int, t: int) -> None:
        key = self.keys.key(domain, i)
        events = self.events_of(domain, i, key, t)
        pending = Pending(domain, key, len(events), t)
        for event in events:
            self.tie += 1
            heapq.heappush(self.heap, (event.at_us, self.tie, pending, event))

    def drain(self, until_us: int) -> None:
        heap = self.heap
        while heap and heap[0][0] <= until_us:
            _, _, rec, event = heapq.heappop(heap)
            self.apply(rec, event)
        if len(self.changes) > 200_000:
            self.flush()

    def apply(self, rec: Pending, e: Event) -> None:
        self.seq += 1
        seq = self.seq
        prev = rec.last_seq
        applied = e.applied
        self.changes.append(
            (
                seq,
                e.system,
                e.change_id,
                rec.domain,
                rec.key,
                e.at_us,
                e.at_us,
                "applied",
                e.reason,
                dumps({k: v for k, v in e.fields.items() if k != "variance"}),
                None if applied is None else dumps(applied),
                e.source,
                prev,
                0,
            )
        )
        for name, value in e.fields.items():
            old = rec.prov.get(name)
            rec.prov[name] = {
                "s": e.system,
                "c": e.change_id,
                "v": e.at_us,
                "q": seq,
                "p": old["q"] if old else None,
            }
            rec.fields[name] = value
        rec.revision += 1
        rec.last_seq = seq
        rec.updated_us = e.at_us
        self.counts[(e.system, rec.domain)] = self.counts.get((e.system, rec.domain), 0) + 1
        if e.at_us >= self.outbox_from:
            self.deliveries(rec, seq, e.at_us)
        rec.left -= 1
        if rec.left == 0:
            self.records.append(
                (
                    rec.domain,
                    rec.key,
                    dumps(rec.fields),
                    dumps(rec.prov),
                    rec.revision,
                    rec.last_seq,
                    rec.created_us,
                    rec.updated_us,
                )
            )

    def deliveries(self, rec: Pending, seq: int, at: int) -> None:
        coalescing = int(rec.domain != "tracking")
        for route in ROUTES.get(rec.domain, ()):
            if at > self.end_us - 5 * MIN_US:
                state, updated = "pending", at
            else:
                state = "coalesced" if coalescing and self.rng.random() < 0.2 else "delivered"
                updated = at + int(self.rng.lognormvariate(13, 1.2))  # µs: a median of ~0.4 s
            self.outbox.append((route, rec.domain, rec.key, seq, coalescing, state, 1, at, at, updated))

    def flush(self) -> None:
        cur = self.conn.cursor()
        cur.executemany(
            "INSERT INTO changes (seq, system, change_id, domain, key, stamp, received_us, outcome, reason, "
            "payload, applied, source, prev_seq, versioned) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            self.changes,
        )
        cur.executemany(
            "INSERT INTO records (domain, key, fields, prov, revision, last_seq, created_us, updated_us) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            self.records,
        )
        cur.executemany(
            "INSERT INTO outbox (route, domain, key, change_seq, coalescing, state, attempts, next_attempt_us, "
            "first_us, updated_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            self.outbox,
        )
        self.changes, self.records, self.outbox = [], [], []

    def run(self) -> None:
        """Every record, created at evenly spread moments of the span, domains interleaved."""
        order = [d for d, n in self.keys.n.items() for _ in range(1)]
        total = sum(self.keys.n.values())
        step = (self.end_us - self.start_us - 3 * DAY_US) / total
        done = dict.fromkeys(order, 0)
        t = float(self.start_us)
        for _ in range(total):
            # the domain furthest behind its share goes next: an even interleaving
            domain = min(order, key=lambda d: done[d] / self.keys.n[d] if self.keys.n[d] else 2)
            self.add(domain, done[domain], int(t))
            done[domain] += 1
            t += step
            self.drain(int(t))
        self.drain(self.end_us)
        self.flush()
        self.conn.executemany(
            "INSERT INTO outcome_counts (system, domain, outcome, n) VALUES (?, ?, 'applied', ?)",
            [(s, d, n) for (s, d), n in sorted(self.counts.items())],
        )


EXCEPTION_KINDS = (  # kind, share (of 100), a function of (builder, i) -> (domain, key, system, route, reason, detail)
    "validation",
    "ownership_conflict",
    "illegal_transition",
    "dead_delivery",
    "insufficient_stock",
    "unknown_xref",
    "sla_breach",
    "shipment_mismatch",
    "transport_failed",
)
EXCEPTION_WEIGHTS = (25, 15, 15, 20, 10, 5, 4, 4, 2)


def exception_row(b: Builder, kind: str, i: int, at: int) -> tuple[Any, ...]:
    r = b.rng
    keys = b.keys
    if kind == "validation":
        key = keys.key("inventory", r.randrange(keys.n["inventory"]))
        value = r.choice(["lots", "-3", "n/a", ""])
        return (
            "inventory",
            key,
            "wms",
            f"wms-bad-{i}",
            None,
            f"field on_hand: Input should be a valid integer, unable to parse string as an integer (got {value!r})",
            {"rule": "schema", "field": "on_hand", "value": value, "fields": {"on_hand": value}},
        )
    if kind == "ownership_conflict":
        key = keys.key("inventory", r.randrange(keys.n["inventory"]))
        system = r.choice(["shop", "erp"])
        return (
            "inventory",
            key,
            system,
            f"{system}-own-{i}",
            None,
            f"ownership: {system!r} does not own on_hand (inventory.quantities is owned by wms)",
            {
                "fields": {"on_hand": r.randrange(100)},
                "conflicting_fields": ["on_hand"],
                "owners": ["wms"],
                "policy": "reject",
            },
        )
    if kind == "illegal_transition":
        key = keys.key("order", r.randrange(keys.n["order"]))
        to = r.choice(["allocated", "picking", "packed"])
        return (
            "order",
            key,
            "wms",
            f"wms-it-{i}",
            None,
            f"order cannot move from 'cancelled' to {to!r}: 'cancelled' is final",
            {"fields": {"status": to, "warehouse": "DC1"}, "from": "cancelled"},
        )
    if kind == "dead_delivery":
        route = r.choice(["stock-to-shop", "orders-to-wms", "tracking-to-shop", "products-to-shop"])
        domain = {
            "stock-to-shop": "inventory",
            "orders-to-wms": "order",
            "tracking-to-shop": "tracking",
            "products-to-shop": "product",
        }[route]
        key = keys.key(domain, r.randrange(keys.n[domain]))
        to = route.rsplit("-", 1)[-1]
        status = r.choice([400, 404, 422, 500])
        return (
            domain,
            key,
            to,
            None,
            route,
            f"route {route!r} to {to!r}: permanent failure (HTTP {status})",
            {
                "outbox_id": None,
                "attempts": 8,
                "error": f"HTTP {status}",
                "error_kind": "permanent",
                "status": status,
                "body": {"key": key},
                "delivery_key": key,
            },
        )
    if kind == "insufficient_stock":
        key = keys.key("order", r.randrange(keys.n["order"]))
        sku = keys.key("product", r.randrange(keys.skus))
        return (
            "order",
            key,
            "shop",
            f"shop-is-{i}",
            None,
            f"not enough {sku} to hold for order {key}: backordered",
            {"sku": sku, "policy": "backorder", "channel": "shop"},
        )
    if kind == "unknown_xref":
        listing = f"L{r.randrange(10**6)}"
        return (
            "order",
            keys.key("order", r.randrange(keys.n["order"])),
            "market",
            f"market-x-{i}",
            None,
            f"market's sku {listing!r} has no cross-reference",
            {"kind": "sku", "value": listing},
        )
    if kind == "sla_breach":
        route = r.choice(["stock-to-shop", "orders-to-wms"])
        return (
            None,
            None,
            None,
            None,
            route,
            f"route {route!r}: oldest undelivered change is 95 s old, over its SLA of 60 s",
            {
                "route": route,
                "pending": r.randrange(50, 900),
                "lag_s": 95.0,
                "sla_s": 60.0,
                "mode": "live",
                "breached": True,
            },
        )
    if kind == "shipment_mismatch":
        key = keys.key("order", r.randrange(keys.n["order"]))
        return (
            "order",
            key,
            "wms",
            f"wms-mm-{i}",
            None,
            f"shipment units match no line of order {key}",
            {"sku": keys.key("product", r.randrange(keys.skus))},
        )
    return (
        None,
        None,
        "erp",
        None,
        None,
        "pull from erp failed: connection refused",
        {"error": "connection refused"},
    )


def add_exceptions(b: Builder, n: int) -> None:
    rows, actions, dead = [], [], []
    span = b.end_us - b.start_us
    for i in range(n):
        kind = b.rng.choices(EXCEPTION_KINDS, EXCEPTION_WEIGHTS)[0]
        at = b.start_us + span * i // n + b.rng.randrange(MIN_US)
        domain, key, system, cid, route, reason, detail = exception_row(b, kind, i, at)
        roll = b.rng.random()
        state = "open" if roll < 0.6 else "resolved" if roll < 0.9 else "discarded"
        updated = at if state == "open" else at + b.rng.randrange(MIN_US, DAY_US)
        assignee = b.rng.choice(["ana", "ben", None, None]) if state == "open" else None
        if kind == "dead_delivery":
            dead.append(
                (
                    route,
                    domain,
                    key,
                    0,
                    1,
                    "dead",
                    8,
                    at,
                    at,
                    at,
                    f"HTTP {detail['status']}",
                    dumps(detail["body"]),
                )
            )
        rows.append(
            (
                i + 1,
                kind,
                state,
                domain,
                key,
                system,
                cid,
                route,
                reason,
                dumps(detail),
                assignee,
                at,
                min(updated, b.end_us),
            )
        )
        if state != "open":
            action = "retry" if state == "resolved" else "discard"
            actions.append((i + 1, min(updated, b.end_us), "user:ana", action, None))
    b.conn.executemany(
        "INSERT INTO exceptions (id, kind, state, domain, key, system, change_id, route, reason, detail, assignee, "
        "created_us, updated_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    b.conn.executemany(
        "INSERT INTO exception_actions (exception_id, at_us, actor, action, detail) VALUES (?, ?, ?, ?, ?)",
        actions,
    )
    b.conn.executemany(
        "INSERT INTO outbox (route, domain, key, change_seq, coalescing, state, attempts, next_attempt_us, first_us, "
        "updated_us, last_error, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        dead,
    )


def snapshot_csv(store_path: Path, out: Path, share: float, seed: int) -> None:
    """The WMS's stock export: every position's on_hand, `share` of them off by a few units."""
    rng = random.Random(seed)
    conn = sqlite3.connect(store_path)
    with out.open("w") as f:
        f.write("item,site,qty\n")
        for key, on_hand in conn.execute(
            "SELECT key, json_extract(fields, '$.on_hand') FROM records WHERE domain = 'inventory'"
        ):
            sku, site = key.split("@")
            qty = (on_hand or 0) + (rng.randint(1, 5) if rng.random() < share else 0)
            f.write(f"{sku},{site},{qty}\n")
    conn.close()


def add_runs(folder: Path, url: str, end_us: int, days: int) -> None:
    """Two real reconciliations (the newest runs), then their history back to `days` ago."""
    from logisync.config.loader import load_syncmap
    from logisync.config.reconcile import ReconcileConfig
    from logisync.reconcile.run import Reconciler
    from logisync.store import open_store

    syncmap = load_syncmap(Path(__file__).parent.parent / "examples" / "logisync.yaml", env=bench_env())
    store = open_store(url)
    reports = folder / "reports"
    reports.mkdir(exist_ok=True)
    newest: list[tuple[int, str]] = []
    for n, (system, share) in enumerate((("wms", 0.005), ("shop", 0.002))):
        snapshot = folder / f"{system}-stock.csv"
        snapshot_csv(Path(url.removeprefix("sqlite:///").split("?")[0]), snapshot, share, n)
        config = ReconcileConfig.model_validate(
            {
                "system": system,
                "domain": "inventory",
                "source": {"file": str(snapshot)},
                "columns": {"sku": "item", "location": "site", "on_hand": "qty"},
                "reports": str(reports),
            }
        )
        result = Reconciler(store, syncmap).run(config)
        newest.append((result.run_id, config.label))
    store.close()
    conn = sqlite3.connect(url.removeprefix("sqlite:///").split("?")[0])
    rng = random.Random(3)
    columns = [d[1] for d in conn.execute("PRAGMA table_info(reconcile_runs)")][1:]
    history = []
    for run_id, label in newest:
        row = dict(
            zip(
                ["id", *columns],
                conn.execute("SELECT * FROM reconcile_runs WHERE id = ?", (run_id,)).fetchone(),
                strict=True,
            )
        )
        for day in range(days - 1, 0, -1):
            started = end_us - day * DAY_US - 2 * HOUR_US
            scale = 0.5 + rng.random() * 1.5 if day > 3 else 1.0
            summary = orjson.loads(row["summary"])
            summary["by_kind"] = {k: int(v * scale) for k, v in summary["by_kind"].items()}
            summary["variance_keys"] = int(summary["variance_keys"] * scale)
            summary["units"] = round(summary["units"] * scale, 1)
            summary["variances"] = sum(summary["by_kind"].values())
            report = reports / f"{label}-{run_id}-day{day}.parquet"
            shutil.copyfile(row["report"], report)
            failed = rng.random() < 0.05
            history.append(
                {
                    **row,
                    "started_us": started,
                    "finished_us": started + 2_000_000,
                    "snapshot_us": started - MIN_US,
                    "state": "failed" if failed else "done",
                    "error": "snapshot: exports/wms-stock.csv: no such file" if failed else None,
                    "variance_keys": 0 if failed else summary["variance_keys"],
                    "variances": 0 if failed else summary["variances"],
                    "units": 0 if failed else summary["units"],
                    "summary": None if failed else dumps(summary),
                    "report": None if failed else str(report),
                }
            )
    history.sort(key=lambda r: r["started_us"])
    # the history goes first (ids in time order), the real runs after it
    real = conn.execute(f"SELECT {', '.join(columns)} FROM reconcile_runs ORDER BY id").fetchall()
    conn.execute("DELETE FROM reconcile_runs")
    conn.executemany(
        f"INSERT INTO reconcile_runs ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
        [tuple(r[c] for c in columns) for r in history] + real,
    )
    conn.commit()
    conn.close()


EXAMPLE = Path(__file__).parent.parent / "examples" / "logisync.yaml"
# the example's alert rules and what each alert is about (`route_lag` a route, `exceptions_open`
# every kind, `breaker_open` a target, `ack_overdue` a partner)
ALERT_SUBJECTS = (
    ("stock-late", "stock-to-shop", "critical", "oldest undelivered change {n} s old (SLA 60 s)"),
    ("inbox-piling-up", "*", "warning", "{n} exceptions open (over 50)"),
    ("target-down", "shop", "critical", "circuit breaker open for {n} s"),
    ("edi-997-late", "acme", "warning", "{n} groups past their 997's due time"),
)


def example_syncmap(env: dict[str, str]) -> Any:
    """examples/logisync.yaml with its alerts section, which the file keeps commented out (so
    that `make serve` needs no mail server); nothing is sent from the bench or the screenshots."""
    from logisync.config import parse_syncmap

    text = EXAMPLE.read_text()
    lines = text.splitlines()
    block = "\n".join(
        line.removeprefix("# ") for line in lines[lines.index("# alerts:") :] if line.startswith("# ")
    )
    return parse_syncmap(text + "\n" + block + "\n", str(EXAMPLE), env=env)


def add_alerts(db: Path, resolved: int) -> None:
    """Alerts of the example's rules in the store, as the evaluator leaves them (once; the table
    already holding some is left as it is): `resolved` of them, an hour apart and each resolved
    half an hour after it fired, then three firing now; each notified on the rule's two channels
    (firing, and resolved when it did), all sent."""
    conn = sqlite3.connect(db)
    if conn.execute("SELECT count(*) FROM alerts").fetchone()[0]:
        conn.close()
        return
    now = int(time.time() * 1_000_000)
    hour = 3600 * 1_000_000
    alerts, notes = [], []
    total = resolved + 3
    for i in range(total):
        rule, subject, severity, summary = ALERT_SUBJECTS[i % len(ALERT_SUBJECTS)]
        firing = i >= resolved
        since = now - (total - i) * hour
        done = None if firing else since + hour // 2
        alerts.append(
            (
                i + 1,
                rule,
                subject,
                severity,
                "firing" if firing else "resolved",
                summary.format(n=60 + i % 300),
                None,
                since,
                since,
                now if firing else done,
                since,
                done,
            )
        )
        for channel in ("ops-hook", "ops-mail"):
            for event, at in (("firing", since), ("resolved", done)):
                if at is not None:
                    notes.append((i + 1, channel, event, "sent", "{}", 1, at, at, at, at))
    conn.executemany(
        "INSERT INTO alerts (id, rule, subject, severity, state, summary, detail, since_us, fired_us, "
        "seen_us, notified_us, resolved_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        alerts,
    )
    conn.executemany(
        "INSERT INTO alert_notifications (alert_id, channel, event, state, message, attempts, next_us, "
        "created_us, updated_us, sent_us) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        notes,
    )
    conn.commit()
    conn.close()


def bench_env() -> dict[str, str]:
    """The environment examples/logisync.yaml names (any values: nothing is sent)."""
    import os

    names = (
        "LOGISYNC_ADMIN_KEY",
        "WMS_API_KEY",
        "ERP_API_KEY",
        "SHOP_API_KEY",
        "WEB_API_KEY",
        "CARRIER_API_KEY",
    )
    env = {**os.environ, **{n: f"bench-{n.lower()}" for n in names}}
    env["WMS_WEBHOOK_SECRET"] = "whsec_ZGV2LXdtcy13ZWJob29rLXNlY3JldC0wMTIz"
    env["SHOP_WEBHOOK_SECRET"] = "whsec_ZGV2LXdlYmhvb2stc2VjcmV0LWZvci1zaG9w"
    return env


def build(
    folder: Path, *, records: int = 1_000_000, exceptions: int = 10_000, days: int = 30, seed: int = 1
) -> Path:
    """The store at `folder/hub.db`, built unless this version and size are already there."""
    from logisync.store import open_store

    folder.mkdir(parents=True, exist_ok=True)
    marker = folder / f"ready-{SETUP_VERSION}-{records}-{exceptions}-{days}-{seed}"
    db = folder / "hub.db"
    if marker.exists():
        return db
    for old in folder.glob("*"):
        shutil.rmtree(old) if old.is_dir() else old.unlink()
    started = time.perf_counter()
    open_store(f"sqlite:///{db}").close()  # every migration of the current code
    conn = sqlite3.connect(db, isolation_level=None)
    conn.execute("PRAGMA journal_mode = delete")
    conn.execute("PRAGMA journal_mode = off")
    conn.execute("PRAGMA synchronous = off")
    conn.execute("PRAGMA cache_size = -262144")
    conn.execute("BEGIN")
    end_us = int(time.time() * 1e6)
    builder = Builder(conn, Keys.for_total(records), end_us - days * DAY_US, end_us, seed)
    builder.run()
    add_exceptions(builder, exceptions)
    conn.execute("COMMIT")
    conn.execute("PRAGMA journal_mode = wal")
    conn.close()
    print(
        f"  {records:,} records, {builder.seq:,} changes in {time.perf_counter() - started:.0f} s",
        file=sys.stderr,
    )
    add_runs(folder, f"sqlite:///{db}", end_us, days)
    marker.write_text(dumps({"records": records, "exceptions": exceptions, "built_us": end_us}))
    print(f"  built in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return db


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=1_000_000)
    parser.add_argument("--exceptions", type=int, default=10_000)
    parser.add_argument("--dir", type=Path, default=Path("/tmp/logisync-bench-dashboard"))
    args = parser.parse_args(argv)
    print(build(args.dir, records=args.records, exceptions=args.exceptions))


if __name__ == "__main__":
    main()
