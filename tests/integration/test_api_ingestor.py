"""The API's ingest worker on both stores: batches that wait while another commits are committed together."""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import datetime

from fixtures.api_live import change
from logisync.api.ingestor import RECEIVED_BEFORE, Ingestor
from logisync.domain.change import Change, Outcome
from logisync.pipeline import Pipeline


def changes(*raw: dict) -> list[Change]:
    return [Change.model_validate(c) for c in raw]


def run_while_blocked(store, ingestor: Ingestor, first: list[Change], *waiting: list[Change]) -> list:
    """Send `first`; while its commit waits for the store (held by this test), send the others; then let go.

    Returns each call's outcomes, or the exception it raised.
    """
    answers: list = []

    async def send() -> None:
        calls = [asyncio.ensure_future(ingestor.ingest("wms", first))]
        while ingestor.waiting:  # the worker has taken `first`, and waits for the store
            await asyncio.sleep(0.001)
        calls += [asyncio.ensure_future(ingestor.ingest("wms", batch)) for batch in waiting]
        answers.extend(await asyncio.gather(*calls, return_exceptions=True))

    with store.write():  # holds the store: the worker cannot commit `first` yet
        sender = threading.Thread(target=asyncio.run, args=(send(),))
        sender.start()
        while ingestor.waiting < len(waiting):
            time.sleep(0.001)
    sender.join(timeout=30)
    assert not sender.is_alive()
    return answers


def received(outcomes: list[Outcome]) -> set[int | None]:
    return {o.received_us for o in outcomes if o.outcome.value != "duplicate"}


def test_waiting_batches_are_committed_in_one_transaction_each_answered_with_its_own(store, syncmap):
    ingestor = Ingestor(Pipeline(store, syncmap))
    try:
        a, b, c = run_while_blocked(
            store,
            ingestor,
            changes(change("a1", key="SKU-1@DC1")),
            changes(change("b1", key="SKU-2@DC1"), change("b2", key="SKU-3@DC1")),
            changes(
                change("c1", key="SKU-4@DC1"), change("b1", key="SKU-2@DC1"), change("c1", key="SKU-4@DC1")
            ),
        )
    finally:
        ingestor.close()
    assert [o.id for o in a] == ["a1"] and [o.id for o in b] == ["b1", "b2"]
    assert [(o.id, o.outcome.value) for o in c] == [
        ("c1", "applied"),
        ("b1", "duplicate"),
        ("c1", "duplicate"),
    ]
    # b and c went in one transaction (one arrival time); a before, alone.
    assert received(b) == received(c) != received(a)
    # To c, b's id is one received before; its own repeat is a repeat within its batch.
    assert c[1].reason == RECEIVED_BEFORE and c[1].original is b[0]
    assert c[2].reason == "repeated in the same batch"
    assert sum(store.outcome_counts().values()) == 6
    assert store.count_records() == 4


class FaultyPipeline(Pipeline):
    """Fails, inside its transaction, any batch holding the change id `x2` (a store fault)."""

    def ingest(self, system, batch, *, source=None):
        if any(c.id == "x2" for c in batch):
            with self.store.write():
                raise RuntimeError("injected store fault")
        return super().ingest(system, batch, source=source)


def test_a_failing_batch_does_not_fail_the_others_of_its_group(store, syncmap):
    ingestor = Ingestor(FaultyPipeline(store, syncmap))
    try:
        a, bad, c = run_while_blocked(
            store,
            ingestor,
            changes(change("a1")),
            changes(change("x1", key="SKU-2@DC1"), change("x2")),
            changes(change("c1", key="SKU-3@DC1")),
        )
    finally:
        ingestor.close()
    assert isinstance(bad, RuntimeError)
    assert [o.outcome.value for o in a + c] == ["applied", "applied"]
    assert store.get_change("wms", "x1") is None  # nothing of the failing batch
    assert store.get_record("inventory", "SKU-3@DC1") is not None


def test_the_answer_comes_after_the_commit_and_close_may_be_called_twice(store, syncmap):
    ingestor = Ingestor(Pipeline(store, syncmap))

    async def send() -> list[Outcome]:
        return await ingestor.ingest("wms", changes(change("z1")))

    outcomes = asyncio.run(send())
    assert store.get_change("wms", "z1").outcome == "applied"
    ingestor.close()
    ingestor.close()
    assert outcomes[0].outcome.value == "applied"
    assert datetime.fromisoformat(outcomes[0].as_dict()["received_at"]).tzinfo is not None


def test_other_systems_are_never_grouped_together(store, syncmap):
    ingestor = Ingestor(Pipeline(store, syncmap))

    async def send() -> list:
        calls = [ingestor.ingest("wms", changes(change(f"w{i}", key=f"SKU-{i}@DC1"))) for i in range(3)]
        order = {"id": "o1", "domain": "order", "key": "SO-1", "fields": {"channel": "web"}}
        calls.append(ingestor.ingest("shop", changes(order)))
        return await asyncio.gather(*calls)

    try:
        *wms, shop = asyncio.run(send())
    finally:
        ingestor.close()
    assert store.get_change("shop", "o1").system == "shop"
    assert all(store.get_change("wms", o[0].id).system == "wms" for o in wms)
    assert received(shop[:1]).isdisjoint(set().union(*(received(o) for o in wms)))


def test_a_failing_on_commit_callback_does_not_stop_the_ingest_worker(store, syncmap):
    nudges: list[int] = []

    def nudge() -> None:
        nudges.append(1)
        raise RuntimeError("the dispatcher's loop is gone")

    ingestor = Ingestor(Pipeline(store, syncmap), on_commit=nudge)

    async def send() -> list[list[Outcome]]:
        first = await asyncio.wait_for(ingestor.ingest("wms", changes(change("a1", key="SKU-1@DC1"))), 60)
        # with the worker dead, this one would never be answered
        second = await asyncio.wait_for(ingestor.ingest("wms", changes(change("a2", key="SKU-2@DC1"))), 60)
        return [first, second]

    try:
        first, second = asyncio.run(send())
    finally:
        ingestor.close()
    assert [o.outcome.value for o in first + second] == ["applied", "applied"] and len(nudges) == 2
