"""The generic event format: canonical codes only, carrier ids kept, content ids when absent."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from logisync.tracking.formats.generic import decode

FIXTURE = Path(__file__).parents[2] / "fixtures" / "carriers" / "generic_events.json"


def payload() -> list[dict[str, Any]]:
    return json.loads(FIXTURE.read_text())


def test_fixture_decodes_to_canonical_changes() -> None:
    result = decode(payload())
    assert [c.fields["status"] for c in result.changes] == [
        "label_created",
        "in_transit",
        "out_for_delivery",
        "delivered",
    ]
    assert [c.id for c in result.changes][:2] == ["ev-1001", "ev-1002"]
    assert result.changes[1].fields["occurred_at"] == "2024-05-10T16:30:00+00:00"
    assert "event_id" not in result.changes[2].fields


def test_unknown_code_is_quarantined_not_guessed() -> None:
    [problem] = decode(payload()).problems
    assert (problem.kind, problem.code, problem.path) == ("unknown_code", "IT", "[3].code")


def test_content_id_is_stable_across_resends() -> None:
    first = decode(payload()).changes[2].id
    resend = payload()[2]
    resend["description"] = "On the van"
    assert decode(resend).changes[0].id == first
    assert first.startswith("generic:")


def test_single_object_paths_have_no_index() -> None:
    event = payload()[0]
    del event["occurred_at"]
    assert decode(event).problems[0].path == "occurred_at"
