"""The diff engine against a plain Python reference, on random golden sides and snapshots."""

from __future__ import annotations

import tempfile
from pathlib import Path

import orjson
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st

from logisync.reconcile.diff import DiffEngine, SnapshotInput
from logisync.reconcile.rules import DiffRule, FieldRule

KEYS = [f"SKU-{i}@DC{j}" for i in range(8) for j in (1, 2)]
qty = st.integers(0, 50)
hub_side = st.dictionaries(
    st.sampled_from(KEYS), st.fixed_dictionaries({"on_hand": qty, "allocated": qty}), max_size=16
)
sys_side = st.dictionaries(st.sampled_from(KEYS), st.tuples(qty, qty), max_size=16)


def reference(hub, system, explained, tol):
    """Variances as (key, kind, field), by the rules of docs/reconcile.md, in plain Python."""
    out = set()
    for key in set(hub) | set(system):
        if key in explained:
            continue
        h = hub.get(key)
        s = system.get(key)
        if s is None:
            if h["on_hand"] or h["allocated"]:
                out.add((key, "missing_in_system", None))
        elif h is None:
            if s[0] or s[1]:
                out.add((key, "missing_in_hub", None))
        else:
            if abs(s[0] - h["on_hand"]) > tol:
                out.add((key, "differs", "on_hand"))
            if s[1] != h["allocated"]:
                out.add((key, "differs", "allocated"))
    return out


@settings(max_examples=40, deadline=None)
@given(
    hub=hub_side, system=sys_side, explained=st.sets(st.sampled_from(KEYS), max_size=4), tol=st.integers(0, 3)
)
def test_the_engine_finds_exactly_what_the_reference_finds(hub, system, explained, tol):
    rule = DiffRule(
        "inventory",
        (FieldRule("on_hand", tolerance=tol), FieldRule("allocated")),
        units_field="on_hand",
        absent_is_zero=True,
        split_key=True,
    )
    golden = pa.table(
        {"key": list(hub), "fields": [orjson.dumps(v).decode() for v in hub.values()]},
        schema=pa.schema([("key", pa.string()), ("fields", pa.string())]),
    )
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "snap.csv"
        path.write_text("key,on_hand,allocated\n" + "".join(f"{k},{a},{b}\n" for k, (a, b) in system.items()))
        explained_table = pa.table({"key": pa.array(sorted(explained), pa.string())})
        with DiffEngine(rule).run(
            golden, SnapshotInput("snap", path=path, format="csv"), explained=explained_table
        ) as result:
            got = {(r["key"], r["kind"], r["field"]) for r in result.rows()}
            summary = result.summary()
    assert got == reference(hub, system, explained, tol)
    assert summary.hub_keys == len(hub) and summary.system_keys == len(system)
    assert summary.matched_keys == len(set(hub) & set(system))
    assert summary.hub_units == sum(v["on_hand"] for v in hub.values())
