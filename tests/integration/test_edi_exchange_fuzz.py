"""Any mutation of valid partner files, through the whole exchange on a real store: never an
exception, never a partial set, every change accounted for."""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logisync.config import parse_syncmap
from logisync.partners.inbound import receive
from logisync.partners.outbox import MemoryOutbox
from logisync.pipeline import Pipeline
from logisync.store import open_store

FIXTURES = Path(__file__).parents[1] / "fixtures" / "x12"
FILES = [p.read_bytes() for p in sorted(FIXTURES.glob("*.x12")) + sorted((FIXTURES / "sets").glob("*.x12"))]

SYNCMAP = """\
systems:
  acme:
    kind: edi_partner
    edi:
      partner: {qualifier: ZZ, id: ACMESUPPLY}
      us: {qualifier: ZZ, id: LOGISYNCHUB}
      sends: ["214", "846", "850", "855", "856", "940", "943", "944", "945"]
      location: ACME-DC
      timezone: America/Chicago
owners:
  inventory.quantities: acme
  order.lines: acme
  shipment: acme
  tracking: acme
"""


@st.composite
def mutated(draw) -> bytes:
    data = bytearray(draw(st.sampled_from(FILES)))
    # every fixture as if from this partner: its sender id in ISA06, so the sets get mapped
    data[35:50] = b"ACMESUPPLY     "
    data[32:34] = b"ZZ"
    for _ in range(draw(st.integers(min_value=0, max_value=4))):
        at = draw(st.integers(min_value=0, max_value=len(data) - 1))
        kind = draw(st.sampled_from(["flip", "digit", "delimiter", "delete", "dup"]))
        if kind == "flip":
            data[at] = draw(st.integers(min_value=0, max_value=255))
        elif kind == "digit":
            data[at] = draw(st.sampled_from(b"0123456789X"))
        elif kind == "delimiter":
            data[at] = draw(st.sampled_from(b"*~>:^|"))
        elif kind == "delete":
            del data[at]
        else:
            data[at:at] = data[at : at + draw(st.integers(1, 40))]
    return bytes(data)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(mutated(), min_size=1, max_size=2))
def test_mutated_files_through_the_exchange(files):
    hub = parse_syncmap(SYNCMAP, "hub.yaml", env={})
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{tmp}/hub.db")
        try:
            pipeline = Pipeline(store, hub)
            for data in files:
                before = sum(store.count_changes().values())
                report = receive(
                    data, partner="acme", syncmap=hub, pipeline=pipeline, store=store, outbox=MemoryOutbox()
                )
                applied_rows = sum(store.count_changes().values()) - before
                # every change the pipeline logged came from an accepted set, and is counted
                logged = sum(s.outcomes.total() for ic in report.interchanges for s in ic.sets)
                assert applied_rows >= logged - sum(
                    s.outcomes.get("duplicate", 0) for ic in report.interchanges for s in ic.sets
                )
                for ic in report.interchanges:
                    for s in ic.sets:
                        if s.status == "R":
                            assert s.outcomes.total() == 0  # never a partial set
                        else:
                            assert s.outcomes.total() == s.changes
                    if ic.state in ("rejected", "duplicate"):
                        assert all(s.outcomes.total() == 0 for s in ic.sets)
        finally:
            store.close()
