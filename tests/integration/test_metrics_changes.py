"""`logisync_changes_total` counts every change committed through the hub's store once, whatever
sent it: the API, an EDI partner's X12 file, a reconciliation's correction (each through a
pipeline of its own, as the file transports and the scheduler make them), on both stores."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from fixtures.api_live import KEYS, WMS, InProcess, change
from logisync.api.app import create_app
from logisync.config import parse_syncmap
from logisync.config.model import ReconcileConfig
from logisync.partners.inbound import receive
from logisync.partners.outbox import MemoryOutbox
from logisync.pipeline import Pipeline
from logisync.reconcile.run import Reconciler

FIXTURES = Path(__file__).parents[1] / "fixtures" / "x12"
TOKEN = "metrics-token-0123456789"
ENV = {**KEYS, "TEST_METRICS_TOKEN": TOKEN}
SCRAPER = {"Authorization": f"Bearer {TOKEN}"}
HUB = """\
api: {metrics: {cache: 0s, token_env: TEST_METRICS_TOKEN}}
systems:
  acme:
    kind: edi_partner
    auth: {api_key_env: TEST_WMS_KEY}
    connector: edi
    edi:
      partner: {qualifier: ZZ, id: ACMESUPPLY}
      us: {qualifier: ZZ, id: LOGISYNCHUB}
      version: "4010"
      sends: ["846"]
      location: ACME-DC
owners:
  inventory.quantities: acme
"""


def changes_total(hub: InProcess) -> Counter[tuple[str, str, str]]:
    """logisync_changes_total from a real scrape: (system, domain, outcome) -> count."""
    r = hub.get("/metrics", headers=SCRAPER)
    assert r.status_code == 200, r.text
    found: Counter[tuple[str, str, str]] = Counter()
    for family in text_string_to_metric_families(r.text):
        for s in family.samples:
            if s.name == "logisync_changes_total":
                found[(s.labels["system"], s.labels["domain"], s.labels["outcome"])] = int(s.value)
    return found


def delta(after: Counter, before: Counter) -> dict[tuple[str, str, str], int]:
    return {k: after[k] - before[k] for k in after if after[k] != before[k]}


def test_a_change_from_each_source_is_counted_once(store, tmp_path):
    syncmap = parse_syncmap(HUB, env=ENV)
    app = create_app(syncmap, store, env=ENV)
    with InProcess(app) as hub:
        start = changes_total(hub)

        # the API: two new changes and a repeated id
        r = hub.post(
            "/v1/changes",
            json={"changes": [change("a1", "SKU-1@DC1"), change("a2", "SKU-2@DC1")]},
            headers=WMS,
        )
        assert r.status_code == 200, r.text
        r = hub.post("/v1/changes", json={"changes": [change("a1", "SKU-1@DC1")]}, headers=WMS)
        assert r.status_code == 200, r.text
        after_api = changes_total(hub)
        assert delta(after_api, start) == {
            ("acme", "inventory", "applied"): 2,
            ("acme", "inventory", "duplicate"): 1,
        }

        # an EDI partner's 846, through a pipeline of its own (as the file transports run it)
        report = receive(
            (FIXTURES / "846_4010.x12").read_bytes(),
            partner="acme",
            syncmap=syncmap,
            pipeline=Pipeline(store, syncmap),
            store=store,
            outbox=MemoryOutbox(),
            name="in.x12",
        )
        assert report.outcomes["applied"] > 0
        after_edi = changes_total(hub)
        assert delta(after_edi, after_api) == {
            ("acme", "inventory", outcome): n for outcome, n in report.outcomes.items() if n
        }

        # a reconciliation whose corrections go in through the pipeline (a count from the owner)
        snapshot = tmp_path / "acme.csv"
        counted = {r.key: r.fields["on_hand"] for r in store.iter_records("inventory")}
        counted["SKU-1@DC1"] += 1  # the owner counted one more than the hub has
        snapshot.write_text(
            "key,on_hand\n" + "".join(f"{k},{v}\n" for k, v in counted.items()), encoding="utf-8"
        )
        config = ReconcileConfig.model_validate(
            {
                "system": "acme",
                "domain": "inventory",
                "source": {"file": str(snapshot)},
                "reports": str(tmp_path / "reports"),
                "corrections": {"mode": "auto", "max_keys": 5, "max_units_pct": 100},
            }
        )
        result = Reconciler(store, syncmap).run(config)
        assert result.corrections.get("via") == "pipeline", result.corrections
        assert result.corrections["outcomes"] == {"applied": 1}
        assert delta(changes_total(hub), after_edi) == {("acme", "inventory", "applied"): 1}


def test_only_committed_transactions_are_counted(store):
    class Fault(Exception):
        pass

    with store.write() as tx:
        tx.count_outcomes({("acme", "inventory", "applied"): 3, ("acme", "inventory", "stale"): 0})
    with pytest.raises(Fault), store.write() as tx:
        tx.count_outcomes({("acme", "inventory", "applied"): 5})
        raise Fault
    assert store.committed_outcomes() == {("acme", "inventory", "applied"): 3}
    assert store.outcome_counts() == {("acme", "inventory", "applied"): 3}
