"""EasyPost tracker webhooks: the fixture decodes, unknown codes are quarantined, ids are stable."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from logisync.domain.catalog import spec
from logisync.domain.tracking import TrackingStatus
from logisync.tracking.formats.easypost import EasyPostStatus, decode

FIXTURE = Path(__file__).parents[2] / "fixtures" / "carriers" / "easypost_tracker_updated.json"


def payload() -> dict[str, Any]:
    return json.loads(FIXTURE.read_text())


def test_fixture_decodes_to_canonical_changes() -> None:
    result = decode(payload())
    assert [c.fields["status"] for c in result.changes] == [
        "pre_transit",
        "in_transit",
        "out_for_delivery",
        "delivered",
    ]
    first = result.changes[0]
    assert first.domain == "tracking" and first.key == "9400110898825022579493"
    assert first.fields["carrier"] == "USPS" and first.fields["city"] == "PHOENIX"
    assert result.changes[-1].occurred_at is not None
    assert result.changes[-1].occurred_at.isoformat() == "2024-05-03T20:04:00+00:00"
    for change in result.changes:
        _normalised, reason = spec("tracking").validate_fields(change.fields)
        assert reason is None, reason


def test_unknown_code_is_a_problem_with_its_path() -> None:
    result = decode(payload())
    [problem] = result.problems
    assert problem.kind == "unknown_code"
    assert problem.code == "in_review"
    assert problem.path == "result.tracking_details[2].status"


def test_ids_are_stable_across_resends_and_ignore_rewording() -> None:
    first = decode(payload())
    resend = payload()
    resend["result"]["tracking_details"][0]["message"] = "Label created, USPS awaiting item"
    resend["result"]["tracking_details"].reverse()
    again = decode(resend)
    assert sorted(c.id for c in first.changes) == sorted(c.id for c in again.changes)
    assert len({c.id for c in first.changes}) == len(first.changes)


def test_no_status_codes_are_reported_not_mapped() -> None:
    body = payload()
    body["result"]["tracking_details"] = [dict(body["result"]["tracking_details"][0], status="unknown")]
    result = decode(body)
    assert result.changes == []
    assert [(p.kind, p.code) for p in result.problems] == [("no_status", "unknown")]


def test_every_native_code_maps_to_a_canonical_status() -> None:
    for member in EasyPostStatus:
        assert TrackingStatus(member.name)
        for code in member.value:
            body = payload()
            detail = copy.deepcopy(body["result"]["tracking_details"][0])
            body["result"]["tracking_details"] = [dict(detail, status=code)]
            assert decode(body).changes[0].fields["status"] == member.name


def test_bad_shapes_are_problems_not_exceptions() -> None:
    assert decode([]).problems[0].path == "$"
    assert decode({"description": "batch.created"}).problems[0].path == "description"
    body = payload()
    body["result"]["tracking_code"] = "bad number!"
    assert decode(body).problems[0].path == "result.tracking_code"
    body = payload()
    body["result"]["tracking_details"][1]["datetime"] = "2024-05-02T03:41:00"
    assert decode(body).problems[0].path == "result.tracking_details[1].datetime"
