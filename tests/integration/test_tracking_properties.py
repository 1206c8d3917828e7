"""Property: any permutation and duplication of a shipment's carrier events, ingested in any
batching, gives the shipment the status `final_status` gives the sorted, deduplicated events.

The shipment is known before its first event (it lists the number), or anywhere in the delivery
when every event names it (`shipment_number`, as an X12 214 does). Events are resent with the same
change id (the hub's idempotency), with a new one (a webhook delivered twice), and corrected (same
carrier event id, new content)."""

from __future__ import annotations

import itertools
from typing import Any, NamedTuple

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fixtures.fulfilment import SYNCMAP, event, order, package, shipment
from logisync.domain.change import Change
from logisync.domain.tracking import TrackingStatus
from logisync.pipeline import Pipeline
from logisync.store import open_store
from logisync.tracking.status import final_status

TN = "1Z999AA10123456784"


class Sent(NamedTuple):
    system: str
    change: Change


carrier_event = st.fixed_dictionaries(
    {
        "status": st.sampled_from([s.value for s in TrackingStatus]),
        "minutes": st.integers(0, 20),  # few distinct times: ties happen, precedence breaks them
        "event_id": st.one_of(st.none(), st.sampled_from(["c1", "c2", "c3", "c4", "c5", "c6"])),
        "city": st.sampled_from([None, "Leipzig"]),
    }
)


def as_change(i: int, e: dict[str, Any], named: bool) -> Change:
    extra = {k: e[k] for k in ("event_id", "city") if e[k] is not None}
    if named:
        extra["shipment_number"] = "SH-1"
    return event(f"e{i}", TN, e["status"], e["minutes"], **extra)


@st.composite
def deliveries(draw: st.DrawFn) -> tuple[list[dict[str, Any]], list[list[Sent]]]:
    events = draw(st.lists(carrier_event, min_size=1, max_size=10))
    named = draw(st.booleans())
    sent = [Sent("carrier", as_change(i, e, named)) for i, e in enumerate(events)]
    same_id = draw(st.lists(st.sampled_from(sent), max_size=len(sent)))  # resent as they were
    new_id = [  # the same carrier events under another change id
        Sent("carrier", as_change(100 + i, events[j], named))
        for i, j in enumerate(draw(st.lists(st.integers(0, len(events) - 1), max_size=len(events))))
    ]
    delivery = draw(st.permutations(sent + same_id + new_id))
    ship = Sent("wms", shipment("s1", "SH-1", "SO-1", package("P1", ("SKU-1", 1), tracking=TN)))
    where = draw(st.integers(0, len(delivery))) if named else 0
    delivery.insert(where, ship)
    cuts = sorted(draw(st.sets(st.integers(1, len(delivery) - 1)))) if len(delivery) > 1 else []
    bounds = [0, *cuts, len(delivery)]
    return events, [delivery[a:b] for a, b in itertools.pairwise(bounds)]


def send(pipeline: Pipeline, batch: list[Sent]) -> None:
    """One batch as the hub receives it: one call per system, in the order each first appears."""
    for system in dict.fromkeys(s.system for s in batch):
        changes = [s.change for s in batch if s.system == system]
        assert len(pipeline.ingest(system, changes)) == len(changes)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(deliveries())
def test_any_order_duplication_and_batching_of_events_gives_the_shipment_final_status(case):
    events, batches = case
    store = open_store("sqlite:///:memory:")
    try:
        pipeline = Pipeline(store, SYNCMAP)
        pipeline.ingest("shop", [order("o1", "SO-1", ("SKU-1", 1))])
        for batch in batches:
            send(pipeline, batch)
        expected = final_status(
            [{**e, "occurred_at": event("x", TN, e["status"], e["minutes"]).occurred_at} for e in events]
        )
        assert expected is not None
        shipment_fields = store.get_record("shipment", "SH-1").fields
        assert shipment_fields.get("status") == expected.value
        assert shipment_fields["tracking_status"][TN]["status"] == expected.value
        assert store.get_record("order", "SO-1").fields["shipped_in"]["SH-1"]["status"] == expected.value
    finally:
        store.close()
