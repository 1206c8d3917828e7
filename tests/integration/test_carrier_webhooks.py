"""The built-in carrier webhook mappings (`logisync.tracking.webhooks`) as a sync map names them: a
format's events become tracking changes the pipeline takes once; an unknown code refuses the
webhook naming its path and code, never guessed."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from logisync.connectors.webhook_mapping import MappingProblem, WebhookContext, compile_inbound
from logisync.domain.change import Change
from logisync.pipeline import Pipeline

CARRIERS = Path(__file__).parent.parent / "fixtures" / "carriers"
CONTEXT = WebhookContext("carrier", "evt_1", "standard-webhooks")


def fixture(name: str) -> Any:
    return json.loads((CARRIERS / name).read_text())


def easypost_known() -> Any:
    """The EasyPost fixture without its detail in a status EasyPost's table does not list."""
    payload = copy.deepcopy(fixture("easypost_tracker_updated.json"))
    details = payload["result"]["tracking_details"]
    payload["result"]["tracking_details"] = [d for d in details if d["status"] != "in_review"]
    return payload


def test_an_unknown_code_refuses_the_webhook_with_its_path_and_code():
    mapper = compile_inbound("logisync.tracking.webhooks:easypost")
    with pytest.raises(MappingProblem, match=r"result\.tracking_details\[2\]\.status: .*'in_review'"):
        mapper(fixture("easypost_tracker_updated.json"), CONTEXT)
    generic = compile_inbound("logisync.tracking.webhooks:generic")
    with pytest.raises(MappingProblem, match=r"\[3\]\.code: code 'IT' is not a canonical tracking status"):
        generic(fixture("generic_events.json"), CONTEXT)


def test_a_known_code_that_states_nothing_is_left_out():
    payload = easypost_known()
    payload["result"]["tracking_details"][0]["status"] = "unknown"
    changes = compile_inbound("logisync.tracking.webhooks:easypost")(payload, CONTEXT)
    assert len(changes) == len(payload["result"]["tracking_details"]) - 1


@pytest.mark.parametrize(
    ("mapping", "payload", "final"),
    [
        ("easypost", easypost_known(), "delivered"),
        ("generic", [e for e in fixture("generic_events.json") if e["code"] != "IT"], "delivered"),
    ],
)
def test_a_formats_events_are_taken_once_and_end_in_their_final_status(
    store, syncmap, mapping, payload, final
):
    items = compile_inbound(f"logisync.tracking.webhooks:{mapping}")(payload, CONTEXT)
    changes = [Change.model_validate(item) for item in items]
    pipeline = Pipeline(store, syncmap)
    first = pipeline.ingest("carrier", changes)
    assert {o.outcome for o in first} == {"applied"}
    again = pipeline.ingest(
        "carrier",
        [
            Change.model_validate(i)
            for i in compile_inbound(f"logisync.tracking.webhooks:{mapping}")(payload, CONTEXT)
        ],
    )
    assert {o.outcome for o in again} == {"duplicate"}  # a resent webhook maps to the same ids
    record = store.get_record("tracking", changes[0].key)
    assert record.fields["status"] == final
