"""Dispatchers: drain each route's outbox to its target, within its budget, breaker and retries.

One `RouteWorker` per route runs rounds: lease what is due (state domains coalesced to the newest
record, event domains the oldest event per key), build each delivery (the record as it is now,
or the event; the route's transform; the mapping), send them concurrently within the target's
rate budget, and settle every result in one transaction. A `shadow` route computes and records
what it would send, and sends nothing. A round that finds nothing waits for a nudge from the
ingest path (`notify`) or the poll interval; a scheduled route (cron cadence) drains at each tick.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import orjson
from croniter import croniter

from ..config.model import RouteConfig, SyncMap
from ..domain.atp import channel_atp
from ..domain.catalog import split_inventory_key
from ..domain.inventory import available
from ..store.base import NewException, Store
from ..store.outbox import Lease, OutboxQueue, Settled
from . import trace, xref_out
from .breaker import BreakerState, CircuitBreaker
from .budget import RateBudget, RateLimit
from .errors import DeliveryError, ErrorKind, MappingError
from .latency import LatencyHistogram
from .mapping import Mapper, compile_mapping
from .outgoing import Delivery, delivery_id
from .readback import Reader
from .retry import Dead, RetryPolicy

Clock = Callable[[], float]  # seconds since the epoch


class Sender(Protocol):
    """Sends built deliveries to a target: None when acknowledged, else what went wrong."""

    async def send(self, delivery: Delivery, body: Any) -> DeliveryError | None: ...

    async def send_batch(self, deliveries: list[Delivery], bodies: list[Any]) -> DeliveryError | None:
        """Several deliveries in one call (a route's `batch` > 1); one outcome for them all."""
        ...


@dataclass
class RouteStats:
    """Counters of one route for `status`, metrics and the dashboard."""

    rounds: int = 0
    delivered: int = 0
    calls: int = 0
    coalesced: int = 0
    retried: int = 0
    dead: int = 0
    shadowed: int = 0
    shadow_compared: int = 0  # shadow deliveries compared with what the target has
    shadow_differed: int = 0  # ... of which the target had something else
    shadow_read_failed: int = 0  # the target could not be read
    last_error: str | None = None
    failed_rounds: int = 0
    latencies: list[float] = field(default_factory=list)  # change accepted -> target acknowledged, s
    latency: LatencyHistogram = field(default_factory=LatencyHistogram)  # the same, bucketed, always


@dataclass(frozen=True)
class Built:
    """A delivery ready to go, and the leases it settles (several positions of one SKU for ATP)."""

    delivery: Delivery
    body: Any
    leases: tuple[Lease, ...]
    state_key: str


class RouteWorker:
    """Delivers one route's outbox (see the module docstring)."""

    def __init__(
        self,
        route: RouteConfig,
        store: Store,
        queue: OutboxQueue,
        sender: Sender,
        *,
        retry: RetryPolicy | None = None,
        breaker: CircuitBreaker | None = None,
        budget: RateBudget | None = None,
        clock: Clock = time.time,
        round_size: int = 500,
        keep_latencies: bool = False,
        compare_and_set: bool = False,
        reader: Reader | None = None,
        xref: Mapping[str, str] | None = None,
    ) -> None:
        self.route = route
        self.store = store
        self.queue = queue
        self.sender = sender
        self.retry = retry or RetryPolicy()
        self.breaker = breaker or CircuitBreaker()
        self.clock = clock
        self.budget = budget or RateBudget(RateLimit(rate=1000.0, burst=100, concurrency=16), clock())
        self.round_size = round_size
        self.mapper: Mapper = compile_mapping(route.mapping)
        # without a mapping, a compare-and-set target finds what it last received under `expected`
        self.expected = compare_and_set and route.mapping is None
        self.atp = route.transform.atp if route.transform is not None else None
        self.reader = reader  # shadow mode: what the target has now, to compare with
        # the kinds of keys the target names by ids of its own (its `xref`): sent as its ids
        self.xref: dict[str, str] = dict(xref or {})
        self.stats = RouteStats()
        self.keep_latencies = keep_latencies

    # -- one round ------------------------------------------------------------------------------
    async def run_round(self) -> int:
        """Lease, build, send and settle what is due now; the number of leases handled.

        Every leased row ends the round settled (delivered, shadowed, pending for a retry, dead)
        or, when the round is cancelled, given back untried. A round that fails (its store, a
        fault in building or sending) records one `round_failed` attempt for each lease, retried
        on the schedule; if even that cannot be recorded, the rows' leases run out and another
        round takes them again.
        """
        now = self.clock()
        if self.breaker.state is BreakerState.open:
            retry_at = self.breaker.retry_at
            if retry_at is not None and now < retry_at:
                return 0
        limit = 1 if self.breaker.state is not BreakerState.closed else self.round_size
        # the store's calls block: they run in a thread, so the event loop (the API) never waits.
        # The thread leases whether or not the round is cancelled meanwhile (the hub stopping):
        # what it leased is then given back, not left in flight until its lease runs out.
        leasing = asyncio.ensure_future(asyncio.to_thread(self.queue.lease, self.route.name, _us(now), limit))
        try:
            leases = await asyncio.shield(leasing)
        except asyncio.CancelledError:
            with contextlib.suppress(Exception):
                await self._give_back(await leasing)
            raise
        if not leases:
            return 0
        self.stats.rounds += 1
        self.stats.coalesced += sum(lease.coalesced for lease in leases)
        renewing = asyncio.create_task(self._renew(leases))
        names: dict[int, str] = {}  # log position -> change id, for the log lines (when printed)
        try:
            try:
                if trace.wanted():
                    names = await asyncio.to_thread(self._change_ids, leases)
                results = await self._deliver(leases, names)
            except asyncio.CancelledError:
                await self._give_back(leases)
                raise
            except Exception as exc:
                results = self._round_failed(leases, exc)
            try:
                await asyncio.to_thread(self.queue.settle, results, _us(self.clock()))
            except BaseException:
                await self._give_back(leases)
                raise
        finally:
            renewing.cancel()
        if trace.wanted():
            trace.settled(self.route.name, self.route.to, results, names)
        return len(leases)

    def _change_ids(self, leases: list[Lease]) -> dict[int, str]:
        """The change ids the leases carry, for the log; none when the store cannot say (the round
        goes on: a log line without its change id, not a failed delivery)."""
        try:
            entries = self.store.get_changes(sorted({lease.change_seq for lease in leases}))
        except Exception:
            return {}
        return {seq: entry.change_id for seq, entry in entries.items()}

    async def _deliver(self, leases: list[Lease], names: Mapping[int, str] | None = None) -> list[Settled]:
        built, failed = await asyncio.to_thread(self._build, leases)
        results: list[Settled] = list(failed)
        if names:
            trace.attempts(
                self.route.name, self.route.to, [lease for b in built for lease in b.leases], names
            )
        if self.route.mode == "shadow":
            diffs: list[dict[str, Any] | None] = [None] * len(built)
            if self.reader is not None:
                diffs = list(await asyncio.gather(*(self._compare(b) for b in built)))
            for b, diff in zip(built, diffs, strict=True):
                results.extend(self._settled(b, "shadowed", diff))
            self.stats.shadowed += len(built)
        else:
            size = self.route.batch
            calls = [built[i : i + size] for i in range(0, len(built), size)]
            outcomes = await asyncio.gather(*(self._send(call) for call in calls))
            for call, error in zip(calls, outcomes, strict=True):
                for b in call:
                    results.extend(self._after(b, error))
        return results

    def _round_failed(self, leases: list[Lease], exc: Exception) -> list[Settled]:
        """A round that could not finish: one failed attempt per lease, retried on the schedule."""
        self.stats.failed_rounds += 1
        error = DeliveryError(ErrorKind.round_failed, f"{type(exc).__name__}: {exc}")
        self.stats.last_error = f"round failed: {error.message}"
        out: list[Settled] = []
        for lease in leases:
            decision = self.retry.decide(
                lease.attempts + 1, error, self.clock(), delivery_id(self.route.name, lease.id)
            )
            if isinstance(decision, Dead):
                out.append(self._dead(lease, error, None, lease.key, decision.reason))
            else:
                self.stats.retried += 1
                out.append(Settled(lease, "pending", error=str(error), next_attempt_us=_us(decision.at)))
        return out

    async def _give_back(self, leases: list[Lease]) -> None:
        """Return untried leases (the round was cancelled or could not settle); if the store cannot
        be reached either, the leases run out and the rows are leased again."""
        with contextlib.suppress(Exception):
            await asyncio.shield(asyncio.to_thread(self.queue.release, leases, _us(self.clock())))

    async def _renew(self, leases: list[Lease]) -> None:
        """Keep the round's leases while it works (a slow target, a small rate budget)."""
        every = self.queue.lease_us / 3_000_000
        while True:
            await asyncio.sleep(every)
            with contextlib.suppress(Exception):  # a busy store: the next renewal, or the lease runs out
                await asyncio.to_thread(self.queue.renew, leases, _us(self.clock()))

    async def drain(self, max_rounds: int = 1_000_000) -> int:
        """Run rounds until nothing is due (or the breaker holds back); leases handled in all."""
        total = 0
        for _ in range(max_rounds):
            n = await self.run_round()
            if n == 0:
                break
            total += n
        return total

    # -- building ------------------------------------------------------------------------------
    def _build(self, leases: list[Lease]) -> tuple[list[Built], list[Settled]]:
        """Each lease as a delivery: the record now (state), the event (events), ATP per SKU."""
        built: list[Built] = []
        failed: list[Settled] = []
        groups: dict[str, list[Lease]] = {}
        for lease in leases:
            key = split_inventory_key(lease.key)[0] if self.atp is not None else lease.key
            groups.setdefault(key, []).append(lease)
        previous = self.queue.last_fields(self.route.name, list(groups))
        own = [lease.change_seq for lease in leases if not lease.coalescing]
        events = self.store.get_changes(own) if own else {}
        records: list[tuple[str, list[Lease], Mapping[str, Any], int]] = []
        for key, group in groups.items():
            head = group[-1]
            revision = 0
            if self.atp is not None:
                fields: Mapping[str, Any] = self._atp_fields(key)
            elif head.change_seq in events:
                fields = events[head.change_seq].payload
                revision = head.change_seq
            else:
                record = self.store.get_record(head.domain, head.key)
                fields = dict(record.fields) if record is not None else {}
                revision = record.revision if record is not None else 0
            records.append((key, group, fields, revision))
        named = self._own_ids(records) if self.xref else {}
        for key, group, fields, revision in records:
            head = group[-1]
            sent_key = key
            if self.xref:
                translated = named[key]
                if isinstance(translated, str):  # a key the target has no id for
                    error = DeliveryError(ErrorKind.unknown_xref, translated)
                    failed.extend(self._dead(lease, error, None, key) for lease in group)
                    continue
                sent_key, fields = translated
            delivery = Delivery(
                id=delivery_id(self.route.name, head.id),
                route=self.route.name,
                target=self.route.to,
                domain=head.domain,
                key=sent_key,
                fields=fields,
                revision=revision,
                previous=previous.get(key),
                attempt=head.attempts + 1,
            )
            try:
                body = self.mapper(fields, delivery.context())
                if self.expected:
                    body["expected"] = None if delivery.previous is None else dict(delivery.previous)
                _check_json(body)
            except MappingError as exc:
                error = DeliveryError(ErrorKind.mapping, str(exc))
                for lease in group:
                    failed.append(self._dead(lease, error, None, key))
                continue
            built.append(Built(delivery, body, tuple(group), key))
        return built, failed

    def _own_ids(
        self, records: list[tuple[str, list[Lease], Mapping[str, Any], int]]
    ) -> dict[str, tuple[str, dict[str, Any]] | str]:
        """Each record's key and fields in the target's own ids (see `xref_out.py`), or why not:
        the ids are looked up once per kind for the whole round."""
        plans = {
            key: xref_out.plan(group[-1].domain, key, fields, self.xref, atp=self.atp is not None)
            for key, group, fields, _ in records
        }
        wanted: dict[str, set[str]] = {}
        for planned in plans.values():
            for kind, values in planned.wanted().items():
                wanted.setdefault(kind, set()).update(values)
        found = {kind: self.store.external_ids(self.route.to, kind, sorted(v)) for kind, v in wanted.items()}
        return {
            key: xref_out.apply(planned, found, self.route.to, self.xref) for key, planned in plans.items()
        }

    def _atp_fields(self, sku: str) -> dict[str, Any]:
        assert self.atp is not None
        positions = {
            split_inventory_key(r.key)[1]: available(r.fields)
            for r in self.store.iter_records("inventory", prefix=f"{sku}@")
        }
        return {"sku": sku, "available_to_promise": channel_atp(positions, self.atp)}

    # -- sending -------------------------------------------------------------------------------
    async def _send(self, call: list[Built]) -> DeliveryError | None:
        """One call: a single delivery, or several where the route batches."""
        permit = self.breaker.allow(self.clock())
        if permit is None:
            return DeliveryError(ErrorKind.unavailable, "the target's circuit breaker is open; not called")
        await self.budget.acquire(self.clock)
        self.stats.calls += 1
        try:
            if self.route.batch > 1:
                error = await self.sender.send_batch([b.delivery for b in call], [b.body for b in call])
            else:
                error = await self.sender.send(call[0].delivery, call[0].body)
        except asyncio.CancelledError:
            self.breaker.abandon(permit)
            raise
        except Exception as exc:  # a fault in the sender is the hub's, not the target's
            error = DeliveryError(ErrorKind.internal, f"{type(exc).__name__}: {exc}")
        finally:
            self.budget.release()
        now = self.clock()
        self.breaker.record(permit, error, now)
        if error is not None and error.kind is ErrorKind.throttled and error.retry_after is not None:
            self.budget.hold(now + error.retry_after)
        return error

    def _after(self, built: Built, error: DeliveryError | None) -> list[Settled]:
        if error is None:
            self.stats.delivered += len(built.leases)
            now = self.clock()
            for lease in built.leases:
                self.stats.latency.observe(now - lease.first_us / 1e6)
            if self.keep_latencies:
                self.stats.latencies.extend(now - lease.first_us / 1e6 for lease in built.leases)
            return self._settled(built, "delivered")
        self.stats.last_error = str(error)
        out: list[Settled] = []
        for lease in built.leases:
            decision = self.retry.decide(lease.attempts + 1, error, self.clock(), built.delivery.id)
            if isinstance(decision, Dead):
                out.append(self._dead(lease, error, built.body, built.state_key, decision.reason))
            else:
                self.stats.retried += 1
                out.append(Settled(lease, "pending", error=str(error), next_attempt_us=_us(decision.at)))
        return out

    async def _compare(self, built: Built) -> dict[str, Any]:
        """Shadow mode: how the body differs from what the target has (see `readback`)."""
        assert self.reader is not None
        # the target's own name for the record (its id, for a target with an `xref`)
        compared = await self.reader.compare(built.delivery.key, f"read-{built.delivery.id}", built.body)
        self.stats.shadow_compared += compared.read != "failed"
        self.stats.shadow_differed += compared.differs
        self.stats.shadow_read_failed += compared.read == "failed"
        return compared.as_dict()

    def _settled(self, built: Built, state: str, diff: dict[str, Any] | None = None) -> list[Settled]:
        return [
            Settled(
                lease,
                state,
                body=built.body,
                fields=built.delivery.fields,
                state_key=built.state_key,
                diff=diff,
            )
            for lease in built.leases
        ]

    def _dead(
        self, lease: Lease, error: DeliveryError, body: Any, key: str, reason: str | None = None
    ) -> Settled:
        self.stats.dead += 1
        why = reason or f"permanent failure ({error})"
        exception = NewException(
            "dead_delivery",
            f"route {self.route.name!r} to {self.route.to!r}: {why}",
            lease.domain,
            lease.key,
            self.route.to,
            None,
            self.route.name,
            {
                "outbox_id": lease.id,
                "attempts": lease.attempts + 1,
                "error": str(error),
                "error_kind": error.kind.value,
                "status": error.status,
                "body": body,
                "delivery_key": key,
            },
        )
        return Settled(lease, "dead", body=body, error=str(error), exception=exception)


class Dispatcher:
    """Runs a worker per route until stopped; `notify` wakes the realtime ones at once.

    With the sync map it also checks the routes' SLAs, and EDI acknowledgments that are
    overdue, every `sla_every` seconds.
    """

    def __init__(
        self,
        store: Store,
        workers: Sequence[RouteWorker],
        *,
        syncmap: SyncMap | None = None,
        clock: Clock = time.time,
        poll: float = 0.25,
        sla_every: float = 5.0,
        closers: Sequence[Callable[[], Awaitable[None]]] = (),
    ) -> None:
        self.store = store
        self.queue = OutboxQueue(store)  # type: ignore[arg-type]
        self.workers = list(workers)
        self.syncmap = syncmap
        self.clock = clock
        self.poll = poll
        self.sla_every = sla_every
        self.closers = list(closers)
        self._wakes: list[asyncio.Event] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self.running = False  # inside `run` (`/readyz` asks)

    @classmethod
    def for_syncmap(
        cls, syncmap: SyncMap, store: Store, env: Mapping[str, str] | None = None, **kw: Any
    ) -> Dispatcher:
        """A worker for every route, sending through each target's HTTP transport, budget and breaker."""
        from ..partners.sender import x12_policies
        from .senders import build_readers, build_targets, route_policies

        targets = build_targets(syncmap, env)
        readers = build_readers(syncmap, targets, env)
        queue = OutboxQueue(store)  # type: ignore[arg-type]
        clock = kw.get("clock", time.time)
        x12 = {r.name: p for r in syncmap.routes if (p := x12_policies(r, syncmap, store)) is not None}  # type: ignore[arg-type]
        workers = [
            RouteWorker(
                route,
                store,
                queue,
                clock=clock,
                xref=_xref_of(syncmap, route.to),
                **(x12.get(route.name) or route_policies(route, targets, readers)),
            )
            for route in syncmap.routes
            if route.mode == "shadow"
            or route.to in targets  # no url yet: its rows wait (status shows the lag)
            or route.name in x12  # files to a trading partner's outbox
        ]
        closers = [t.transport.close for t in targets.values()]
        closers += [r.transport.close for r in readers.values()]
        return cls(store, workers, syncmap=syncmap, closers=closers, **kw)

    def notify(self) -> None:
        """Something was enqueued: realtime routes look now (safe from any thread)."""
        if self._loop is not None:
            for wake in self._wakes:
                self._loop.call_soon_threadsafe(wake.set)

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set; rows a stopped run left in flight are leased again (see
        `OutboxQueue.recover`: on a shared store, only those whose lease ran out)."""
        self._loop = asyncio.get_running_loop()
        names = [w.route.name for w in self.workers]
        if names:
            await asyncio.to_thread(self.queue.recover, names, _us(self.clock()))
        wakes = [asyncio.Event() for _ in self.workers]
        self._wakes = wakes
        tasks = [
            asyncio.create_task(self._run_worker(w, e, stop))
            for w, e in zip(self.workers, wakes, strict=True)
        ]
        if self.syncmap is not None:
            tasks.append(asyncio.create_task(self._watch_slas(stop)))
        self.running = True
        try:
            await stop.wait()
        finally:
            self.running = False
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for close in self.closers:
                await close()

    async def _watch_slas(self, stop: asyncio.Event) -> None:
        """Every `sla_every` seconds: the routes' SLAs, and (with EDI partners that send 997s) our
        groups whose acknowledgment is overdue (`partners/acks.py`)."""
        from ..monitor.lag import check_slas
        from ..partners.acks import check_overdue

        assert self.syncmap is not None
        edi = any(s.edi is not None and s.edi.acknowledgments.expected for s in self.syncmap.systems.values())
        while not stop.is_set():
            with contextlib.suppress(Exception):  # a busy store: the next check will do
                await asyncio.to_thread(check_slas, self.syncmap, self.store, _us(self.clock()))
            if edi:
                with contextlib.suppress(Exception):
                    await asyncio.to_thread(check_overdue, self.store, _us(self.clock()))  # type: ignore[arg-type]
            await _sleep_until(stop, self.sla_every)

    async def _run_worker(self, worker: RouteWorker, wake: asyncio.Event, stop: asyncio.Event) -> None:
        """A realtime route's rounds: each worker has its own wake event, cleared before a round
        (not after), so a nudge that comes while the round runs is not lost."""
        cadence = worker.route.cadence
        while not stop.is_set():
            if cadence != "realtime":
                now = datetime.fromtimestamp(self.clock(), UTC)
                next_tick = croniter(cadence, now).get_next(datetime)
                await _sleep_until(stop, next_tick.timestamp() - self.clock())
                if stop.is_set():
                    return
                await _guard(worker, worker.drain())
                continue
            wake.clear()
            handled = await _guard(worker, worker.run_round())
            if handled:
                continue
            await _wait_any(wake, stop, self.poll)


def _xref_of(syncmap: SyncMap, system: str) -> dict[str, str]:
    """The kinds of keys a system names by ids of its own, and what it calls them (its `xref`)."""
    settings = syncmap.systems.get(system)
    return {str(kind): name for kind, name in ((settings.xref or {}) if settings else {}).items()}


def _check_json(body: Any) -> None:
    """A body the connector cannot serialise is the mapping's fault (permanent), found when built."""
    try:
        orjson.dumps(body)
    except TypeError as exc:
        raise MappingError("body", f"is not JSON: {exc}") from None


def _us(seconds: float) -> int:
    return int(seconds * 1_000_000)


async def _guard(worker: RouteWorker, work: Awaitable[int]) -> int:
    """Run a round; one that failed (the store was busy, a bug) is kept in the route's stats as its
    last error and tried again half a second later: the dispatcher outlives any one round."""
    try:
        return await work
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        worker.stats.last_error = f"round failed: {type(exc).__name__}: {exc}"
        worker.stats.failed_rounds += 1
        await asyncio.sleep(0.5)
        return 0


async def _wait_any(event: asyncio.Event, stop: asyncio.Event, timeout: float) -> None:
    waiters = [asyncio.create_task(event.wait()), asyncio.create_task(stop.wait())]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for w in waiters:
            w.cancel()


async def _sleep_until(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=max(0.0, seconds))
