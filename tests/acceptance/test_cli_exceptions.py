"""`logisync exceptions ...` run for real on both stores (the sub-app, through Typer's runner)."""

from __future__ import annotations

import asyncio
import io
import json
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from typer.testing import CliRunner

from logisync.config import parse_syncmap
from logisync.console import exceptions as console
from logisync.console.exceptions import app
from logisync.delivery.dispatcher import RouteWorker
from logisync.delivery.errors import DeliveryError, ErrorKind
from logisync.domain.change import Change
from logisync.domain.kinds import Domain
from logisync.pipeline import Pipeline
from logisync.store.inbox import InboxTable
from logisync.store.outbox import OutboxQueue

MAP = """\
systems:
  wms: {kind: wms}
  erp: {kind: erp}
owners:
  product: erp
  inventory.quantities: wms
routes:
  - {name: stock-to-erp, domain: inventory, to: erp}
"""


class Dead:
    async def send(self, delivery: Any, body: Any) -> DeliveryError:
        return DeliveryError(ErrorKind.rejected, "bad sku", status=422)

    async def send_batch(self, deliveries: Any, bodies: Any) -> DeliveryError:
        return DeliveryError(ErrorKind.rejected, "bad sku", status=422)


@pytest.fixture
def config(tmp_path: Path, store) -> Path:
    path = tmp_path / "hub.yaml"
    path.write_text(MAP + f"store: {store.url}\n")
    return path


@pytest.fixture
def pipeline(store) -> Pipeline:
    return Pipeline(store, parse_syncmap(MAP, env={}))


def run(config: Path, *args: object):
    return CliRunner().invoke(
        app, [str(a) for a in args] + ["--config", str(config)], env={"COLUMNS": "250", "USER": "ann"}
    )


def stock(cid: str, key: str = "SKU-1@DC1", **fields: Any) -> Change:
    return Change(id=cid, domain=Domain.inventory, key=key, fields=fields)


def as_json(result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_list_shows_each_exception_with_its_root_cause(config, pipeline):
    pipeline.ingest("wms", [stock(f"c{i}", key=f"SKU-{i}@DC1", on_hand=-1) for i in range(3)])
    result = run(config, "list")
    assert result.exit_code == 0, result.output
    assert "3 exceptions" in result.stdout
    assert "inventory on_hand: Input should be greater than or equal to 0" in result.stdout
    assert "wms/c1" in result.stdout and "inventory SKU-2@DC1" in result.stdout
    page = as_json(run(config, "list", "--limit", 2, "--json"))
    assert [e["change_id"] for e in page["exceptions"]] == ["c0", "c1"]
    assert "more: --after" in run(config, "list", "--limit", 2).stdout
    rest = as_json(run(config, "list", "--after", page["next_after"], "--json"))
    assert [e["change_id"] for e in rest["exceptions"]] == ["c2"]
    assert (
        as_json(run(config, "list", "--since", "1h", "--key", "SKU-0@DC1", "--json"))["exceptions"][0]["id"]
        == 1
    )


def test_bad_options_exit_2(config, pipeline):
    for args, message in [
        (("list", "--state", "closed"), "--state 'closed'"),
        (("list", "--since", "someday"), "--since 'someday'"),
        (("retry",), "give an exception's id, or filters"),
        (("retry", "1", "--kind", "validation"), "not both"),
        (("edit", "1", "--set", "on_hand"), "write PATH=VALUE"),
        (("edit", "1", "--fields", "[1]"), "must be a JSON object"),
        (("edit", "1", "--fields", "{nope"), "--fields is not JSON"),
        (("assign", "1"), "name the person"),
        (("assign", "1", "bob", "--nobody"), "name the person"),
    ]:
        result = run(config, *args)
        assert result.exit_code == 2, (args, result.output)
        assert message in result.stderr, (args, result.stderr)


def test_show_puts_the_change_beside_the_record_and_lists_the_trail(config, pipeline):
    pipeline.ingest("wms", [stock("c1", on_hand=5, allocated=1)])
    pipeline.ingest("wms", [stock("c2", on_hand=-2)])
    run(config, "assign", 1, "bob")
    result = run(config, "show", 1)
    assert result.exit_code == 0, result.output
    assert "change wms/c2 (quarantined) beside inventory SKU-1@DC1 now" in result.stdout
    assert "≠" in result.stdout
    assert (
        "audit trail (1)" in result.stdout
        and "cli:ann" in result.stdout
        and "assigned to bob" in result.stdout
    )
    shown = as_json(run(config, "show", 1, "--json"))
    assert shown["diff"] == [{"field": "on_hand", "change": -2, "record": 5, "same": False}]
    missing = run(config, "show", 99)
    assert (missing.exit_code, missing.stderr.strip()) == (1, "no exception 99")


def test_retry_then_edit_resolves_and_the_trail_names_the_user(config, pipeline, store):
    pipeline.ingest("wms", [stock("c1", on_hand=-2)])
    retried = run(config, "retry", 1)
    assert retried.exit_code == 0, retried.output
    assert retried.stdout.startswith("exception 1: retry: sent as c1~retry1, quarantined (field on_hand:")
    assert retried.stdout.rstrip().endswith("→ open")
    edited = run(
        config, "edit", 1, "--fields", '{"on_hand": 1}', "--set", "on_hand=4", "--set", "allocated=1"
    )
    assert edited.exit_code == 0, edited.output
    assert edited.stdout.strip() == (
        'exception 1: edit: set {"on_hand":4,"allocated":1}, sent as c1~edit2, applied → resolved'
    )
    assert store.get_record("inventory", "SKU-1@DC1").fields == {"on_hand": 4, "allocated": 1}
    trail = InboxTable(store).trail(1)
    assert [(a.actor, a.action) for a in trail] == [("cli:ann", "retry"), ("cli:ann", "edit")]
    assert trail[1].detail["set"] == {"on_hand": 4, "allocated": 1}
    again = run(config, "retry", 1)
    assert again.exit_code == 1 and "is resolved" in again.stderr
    bad = run(config, "edit", 99, "--set", "on_hand=1")
    assert bad.exit_code == 1 and "no exception 99" in bad.stderr


def test_an_edit_that_does_not_fit_exits_2_and_text_values_stay_text(config, pipeline, store):
    pipeline.ingest("wms", [stock("c1", on_hand=-2)])
    misfit = run(config, "edit", 1, "--set", "on_hand[0]=1")
    assert misfit.exit_code == 2 and misfit.stderr.startswith("on_hand[0]: ")
    typed = run(config, "edit", 1, "--set", "on_hand=three")
    assert typed.exit_code == 0, typed.output
    assert "quarantined" in typed.stdout  # 'three' was sent as text, and refused as it should be
    assert store.get_change("wms", "c1~edit1").payload == {"on_hand": "three"}


def test_a_dead_delivery_is_retried_back_into_its_queue(config, pipeline, store):
    pipeline.ingest("wms", [stock("s1", on_hand=3)])
    route = parse_syncmap(MAP, env={}).routes[0]
    asyncio.run(RouteWorker(route, store, OutboxQueue(store), Dead()).drain())
    [group] = as_json(run(config, "groups", "--json"))["groups"]
    assert (group["kind"], group["cause"], group["count"]) == (
        "dead_delivery",
        "stock-to-erp: rejected 422",
        1,
    )
    assert "outbox row 1 on stock-to-erp: dead" in run(config, "show", 1).stdout
    result = run(config, "retry", 1)
    assert result.stdout.strip() == "exception 1: retry: outbox row 1 back in the queue → resolved"
    assert store.list_outbox(route="stock-to-erp")[0].state == "pending"


def test_bulk_retry_and_discard_by_filter(config, pipeline):
    pipeline.ingest("wms", [stock(f"c{i}", key=f"SKU-{i}@DC1", on_hand=-1) for i in range(3)])
    pipeline.ingest("wms", [stock("x1", colour="red")])
    groups = run(config, "groups")
    assert "inventory on_hand: Input should be greater than or equal to 0" in groups.stdout
    assert "logisync exceptions retry|discard --kind KIND --cause CAUSE" in groups.stdout
    cause = "inventory on_hand: Input should be greater than or equal to 0"
    retried = run(config, "retry", "--kind", "validation", "--cause", cause)
    assert retried.exit_code == 0, retried.output
    assert "3 done (0 resolved, 3 still open, 0 discarded), 0 refused" in retried.stdout
    discarded = as_json(run(config, "discard", "--kind", "validation", "--reason", "sandbox", "--json"))
    assert (discarded["done"], discarded["refused"]) == (4, 0)
    assert as_json(run(config, "list", "--json"))["exceptions"] == []
    closed = as_json(run(config, "list", "--state", "discarded", "--json"))
    assert len(closed["exceptions"]) == 4 + 3  # the retries' repeats were folded (discarded) too


def test_a_bulk_retry_with_refusals_exits_1(config, pipeline, store):
    pipeline.ingest("wms", [stock("c1", on_hand=2**70), stock("c2", key="SKU-2@DC1", on_hand=-1)])
    result = run(config, "retry", "--kind", "validation")
    assert result.exit_code == 1, result.output
    assert "could not be stored as received" in result.stdout
    assert "1 done (0 resolved, 1 still open, 0 discarded), 1 refused" in result.stdout


def test_assign_and_unassign(config, pipeline):
    pipeline.ingest("wms", [stock("c1", on_hand=-2)])
    assert run(config, "assign", 1, "bob").stdout.strip() == "exception 1: assigned to bob → open"
    assert as_json(run(config, "list", "--assignee", "bob", "--json"))["exceptions"][0]["id"] == 1
    again = run(config, "assign", 1, "bob")
    assert again.exit_code == 1 and "already assigned to bob" in again.stderr
    assert run(config, "assign", 1, "--nobody").stdout.strip() == "exception 1: assigned to nobody → open"


def test_a_bulk_retry_on_a_terminal_shows_a_progress_bar(config, pipeline, monkeypatch):
    screen = io.StringIO()
    monkeypatch.setattr(console, "err", lambda: Console(file=screen, force_terminal=True, width=100))
    pipeline.ingest("wms", [stock(f"c{i}", key=f"SKU-{i}@DC1", on_hand=-1) for i in range(3)])
    result = run(config, "retry", "--kind", "validation")
    assert result.exit_code == 0, result.output
    assert "retry exception 3" in screen.getvalue() and "3/3" in screen.getvalue()
