"""Every legal and every illegal move of each lifecycle, through the pipeline (generated from the
tables): a legal status is applied; an illegal one is `rejected` naming both states, with an
`illegal_transition` exception, and the record keeps its status."""

from __future__ import annotations

import pytest

from logisync.config import parse_syncmap
from logisync.domain.change import Change
from logisync.domain.kinds import Domain
from logisync.domain.lifecycles import LIFECYCLES
from logisync.pipeline import Pipeline
from logisync.store import open_store

KEYS = {"order": "SO-1", "shipment": "SH-1", "return": "RMA-1"}
MOVES = [
    pytest.param(
        lifecycle, current.value, new.value, legal, id=f"{lifecycle.name}:{current.value}->{new.value}"
    )
    for lifecycle in LIFECYCLES
    for legal, pairs in ((True, lifecycle.legal_moves()), (False, lifecycle.illegal_moves()))
    for current, new in pairs
]


MAP = """\
systems:
  wms: {kind: wms, writes: [order, shipment, return]}
owners:
  order.fulfillment: wms
  shipment: wms
  return: wms
"""


@pytest.fixture(scope="module")
def sqlite_pipeline(tmp_path_factory, request):
    """One store for every move (each move has a record of its own): 500 cases stay quick."""
    store = open_store(f"sqlite:///{tmp_path_factory.mktemp('moves') / 'hub.db'}")
    request.addfinalizer(store.close)
    return store, Pipeline(store, parse_syncmap(MAP, env={}))


@pytest.mark.parametrize(("lifecycle", "current", "new", "legal"), MOVES)
def test_each_move_through_the_pipeline(sqlite_pipeline, lifecycle, current, new, legal):
    store, pipeline = sqlite_pipeline
    domain = Domain(lifecycle.name)
    key = f"{KEYS[lifecycle.name]}-{current}-{new}"  # a record of its own per move
    [first] = pipeline.ingest(
        "wms", [Change(id=f"{key}/1", domain=domain, key=key, fields={"status": current}, version=1)]
    )
    assert first.outcome == "applied", first.reason
    [out] = pipeline.ingest(
        "wms", [Change(id=f"{key}/2", domain=domain, key=key, fields={"status": new}, version=2)]
    )
    record = store.get_record(domain.value, key)
    if legal:
        assert out.outcome == "applied", out.reason
        assert record.fields["status"] == new
    else:
        assert out.outcome == "rejected"
        assert current in out.reason and new in out.reason
        assert record.fields["status"] == current
        [exc] = [e for e in store.list_exceptions(kind="illegal_transition", limit=10_000) if e.key == key]
        assert exc.change_id == f"{key}/2"
