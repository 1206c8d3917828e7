"""The crash test: `logisync serve` is SIGKILLed at random moments while a client sends batches over HTTP.

Two senders resend every batch whose answer they did not get. At the end every acknowledged change
is in the change log exactly once (applied, or stale where a newer version won), the outcome
counters balance, and every record holds the value of its highest version. Set
LOGISYNC_CRASH_SEED to replay a run; the seed is printed.
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from fixtures.api_process import HubProcess
from logisync.store import open_store

SEED = int(os.environ.get("LOGISYNC_CRASH_SEED", "20251128"))
KILLS = 12  # while traffic flows; the issue asks for at least 10
KEYS = [f"SKU-{i:02d}@DC1" for i in range(16)]
BATCHES, BATCH = 600, 10  # planned; the client stops once the killer is done (and MIN_BATCHES are in)
MIN_BATCHES = 100
SENDERS = 2
API_KEY = "crash-wms-key"
SYNCMAP = """\
store: sqlite:///{db}
systems:
  wms:  {{kind: wms, auth: {{api_key_env: CRASH_WMS_KEY}}}}
  shop: {{kind: marketplace}}
owners:
  inventory.quantities: wms
routes:
  - {{name: stock-to-shop, domain: inventory, to: shop}}
"""

pytestmark = pytest.mark.slow


def plan(rng: random.Random) -> list[list[dict]]:
    """Batches of inventory counts with unique ids and versions, shuffled a little so that some
    older versions arrive after newer ones (those must end `stale`)."""
    changes = [
        {
            "id": f"crash-{i:05d}",
            "domain": "inventory",
            "key": rng.choice(KEYS),
            "version": i + 1,
            "fields": {"on_hand": rng.randrange(1000)},
        }
        for i in range(BATCHES * BATCH)
    ]
    for start in range(0, len(changes), 25):
        window = changes[start : start + 25]
        rng.shuffle(window)
        changes[start : start + 25] = window
    return [changes[i : i + BATCH] for i in range(0, len(changes), BATCH)]


@dataclass
class Hub:
    """The server process, restarted after every kill; `up` is set while it listens."""

    process: HubProcess
    up: threading.Event = field(default_factory=threading.Event)
    url: str = ""
    starts: int = 0
    failure: BaseException | None = None

    def start(self) -> None:
        self.process.start()
        self.url = self.process.url
        self.starts += 1
        self.up.set()

    def crash(self) -> None:
        self.up.clear()
        self.process.kill()


@dataclass
class Client:
    """SENDERS threads, each sending its share of the batches until every one is acknowledged.

    Concurrent batches let the hub commit several in one transaction, as it does in production.
    """

    hub: Hub
    attempts: int = 0
    sent: int = 0  # changes in every attempt, answered or not
    acked: int = 0  # changes in answered attempts
    outcomes: dict[str, dict] = field(default_factory=dict)  # id -> first answer for it
    completed: list[list[dict]] = field(default_factory=list)  # the batches acknowledged
    in_flight: int = 0
    stop: threading.Event = field(default_factory=threading.Event)  # set when the killer is done
    progress: threading.Condition = field(default_factory=threading.Condition)
    done: bool = False
    errors: list[BaseException] = field(default_factory=list)

    def run(self, batches: list[list[dict]]) -> None:
        senders = [
            threading.Thread(target=self.sender, args=(batches[i::SENDERS],), name=f"sender-{i}")
            for i in range(SENDERS)
        ]
        try:
            for sender in senders:
                sender.start()
            for sender in senders:
                sender.join()
        finally:
            with self.progress:
                self.done = True
                self.progress.notify_all()
        if self.errors:
            raise self.errors[0]

    def sender(self, batches: list[list[dict]]) -> None:
        try:
            with httpx.Client(timeout=30) as http:
                for batch in batches:
                    if self.errors or (self.stop.is_set() and len(self.completed) >= MIN_BATCHES):
                        return
                    self.send(http, batch)
        except BaseException as exc:
            self.errors.append(exc)

    def send(self, http: httpx.Client, batch: list[dict]) -> None:
        """Send one batch until an answer comes back (the hub may be killed at any moment)."""
        for _ in range(100):
            self.hub.up.wait(60)
            if self.hub.failure is not None:
                pytest.fail(f"the hub could not be restarted: {self.hub.failure}")
            with self.progress:
                self.attempts += 1
                self.sent += len(batch)
                self.in_flight += 1
                self.progress.notify_all()
            try:
                response = http.post(
                    f"{self.hub.url}/v1/changes",
                    json={"changes": batch},
                    headers={"Authorization": f"Bearer {API_KEY}"},
                )
            except httpx.TransportError:
                continue  # no answer: send the same batch again once the hub is back
            finally:
                with self.progress:
                    self.in_flight -= 1
            assert response.status_code == 200, response.text
            with self.progress:
                self.acked += len(batch)
                for outcome in response.json()["outcomes"]:
                    self.outcomes.setdefault(outcome["id"], outcome)
                self.completed.append(batch)
            return
        pytest.fail(f"batch {batch[0]['id']} was never acknowledged")

    def wait_for_attempt(self, n: int) -> bool:
        with self.progress:
            return (
                self.progress.wait_for(lambda: self.done or self.attempts >= n, timeout=120) and not self.done
            )


def killer(hub: Hub, client: Client, rng: random.Random, log: list[str]) -> None:
    """Kill the hub KILLS times at random points of the traffic: before, during or after requests."""
    try:
        crashes(hub, client, rng, log)
    except BaseException as exc:  # the client reports it
        hub.failure = exc
        hub.up.set()
    finally:
        client.stop.set()


def crashes(hub: Hub, client: Client, rng: random.Random, log: list[str]) -> None:
    for kill in range(KILLS):
        if not client.wait_for_attempt(client.attempts + rng.randint(1, 9)):
            return
        pause = rng.choice([0.0, rng.uniform(0, 0.002), rng.uniform(0, 0.01), rng.uniform(0, 0.05)])
        time.sleep(pause)
        mid_request = client.in_flight > 0
        hub.crash()
        log.append(
            f"kill {kill + 1}: {pause * 1000:.1f} ms after attempt {client.attempts}, mid-request={mid_request}"
        )
        if rng.random() < 0.2:
            crash_while_starting(hub, rng, log)
        hub.start()


def crash_while_starting(hub: Hub, rng: random.Random, log: list[str]) -> None:
    """Kill the hub while it starts up (importing, opening and migrating the store)."""
    hub.process.spawn()
    time.sleep(rng.uniform(0.05, 0.8))
    hub.process.kill()
    log.append("  and once more while starting")


def test_sigkill_at_random_moments_loses_no_acknowledged_change_and_applies_none_twice(tmp_path: Path):
    rng = random.Random(SEED)
    print(f"crash test seed: {SEED} (replay with LOGISYNC_CRASH_SEED={SEED})")
    db = tmp_path / "hub.db"
    config = tmp_path / "hub.yaml"
    config.write_text(SYNCMAP.format(db=db))
    env = {**os.environ, "CRASH_WMS_KEY": API_KEY}
    hub = Hub(HubProcess(config, env, tmp_path / "hub.log"))
    batches = plan(rng)
    client = Client(hub)
    log: list[str] = []
    crash_while_starting(hub, rng, log)  # the first start creates the store
    hub.start()
    chaos = threading.Thread(target=killer, args=(hub, client, random.Random(rng.random()), log), daemon=True)
    chaos.start()
    try:
        client.run(batches)
        chaos.join(timeout=120)
        assert not chaos.is_alive()
        assert hub.failure is None, hub.failure
        hub.process.signal(signal.SIGTERM)
        assert hub.process.wait() == 0, hub.process.stderr()
    finally:
        client.stop.set()
        chaos.join(timeout=120)
        hub.process.kill()
    print("\n".join(log))
    kills = sum(line.startswith("kill") for line in log)
    print(
        f"{kills} kills, {hub.starts} starts, {client.attempts} requests for {len(client.completed)} batches"
    )
    assert kills == KILLS, "the plan ran out before the killer was done: plan more batches"

    changes = [c for batch in client.completed for c in batch]
    store = open_store(f"sqlite:///{db}")
    try:
        log_entries = [e for key in KEYS for e in store.record_log("inventory", key)]
        records = {key: store.get_record("inventory", key) for key in KEYS}
        counts = store.outcome_counts()
        by_outcome = store.count_changes()
    finally:
        store.close()

    # Every change was acknowledged, and each is in the change log exactly once.
    assert set(client.outcomes) == {c["id"] for c in changes}
    seen = Counter(e.change_id for e in log_entries)
    assert seen == Counter({c["id"]: 1 for c in changes})
    entries = {e.change_id: e for e in log_entries}
    for cid, answer in client.outcomes.items():
        first = answer["original"] if answer["outcome"] == "duplicate" else answer
        assert first["outcome"] == entries[cid].outcome, cid
        assert entries[cid].outcome in ("applied", "stale"), entries[cid]
    # An older version never overwrote a newer one; stale only where a newer one was applied first.
    for key in KEYS:
        newest = -1
        for e in sorted((e for e in log_entries if e.key == key), key=lambda e: e.seq):
            if e.outcome == "applied":
                assert e.stamp > newest, e
                newest = e.stamp
            else:
                assert e.outcome == "stale" and e.stamp < newest, e

    # The counters balance: received = sum of outcomes, duplicates (resends) included.
    received = sum(n for (system, domain, _), n in counts.items() if (system, domain) == ("wms", "inventory"))
    assert client.acked <= received <= client.sent
    assert counts.get(("wms", "inventory", "applied"), 0) == by_outcome.get("applied", 0)
    assert counts.get(("wms", "inventory", "stale"), 0) == by_outcome.get("stale", 0)
    assert by_outcome.get("applied", 0) + by_outcome.get("stale", 0) == len(changes)
    assert received - len(changes) == counts.get(("wms", "inventory", "duplicate"), 0)
    assert set(by_outcome) <= {"applied", "stale"}
    transactions = len({e.received_us for e in log_entries})
    print(f"outcomes {by_outcome}, resent after commit (duplicates): {received - len(changes)}")
    print(f"{len(client.completed)} batches were committed in {transactions} transactions")

    # Every record holds the value of its highest version.
    for key in KEYS:
        newest = max((c for c in changes if c["key"] == key), key=lambda c: c["version"], default=None)
        if newest is None:
            assert records[key] is None
            continue
        assert records[key] is not None, key
        assert records[key].fields == {"on_hand": newest["fields"]["on_hand"]}, key
        assert records[key].prov["on_hand"]["v"] == newest["version"]
