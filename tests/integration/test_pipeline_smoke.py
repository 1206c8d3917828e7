"""A first end-to-end pass through the pipeline on both stores."""

from logisync.domain.change import Change
from logisync.pipeline import Pipeline


def test_applied_then_duplicate(store, syncmap):
    p = Pipeline(store, syncmap)
    c = Change(id="c1", domain="inventory", key="SKU-1@DC1", fields={"on_hand": 5}, version=1)
    first = p.ingest("wms", [c])
    again = p.ingest("wms", [c])
    assert first[0].outcome == "applied"
    assert again[0].outcome == "duplicate"
    assert again[0].original.outcome == "applied"
    assert store.get_record("inventory", "SKU-1@DC1").fields == {"on_hand": 5}
    assert [o.route for o in store.list_outbox()] == ["stock-to-shop"]
