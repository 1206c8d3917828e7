"""X12 214 AT7 statuses: the fixture decodes, estimates and unknown codes are reported, ids stable."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from logisync.domain.catalog import spec
from logisync.tracking.formats.x12_214 import NO_STATUS, STATUS_BY_CODE, decode

FIXTURE = Path(__file__).parents[2] / "fixtures" / "carriers" / "x12_214_statuses.json"


def payload() -> dict[str, Any]:
    return json.loads(FIXTURE.read_text())


def test_fixture_decodes_to_canonical_changes() -> None:
    result = decode(payload())
    assert [(c.fields["native_code"], c.fields["status"]) for c in result.changes] == [
        ("X3", "pre_transit"),
        ("AF", "in_transit"),
        ("X4", "in_transit"),
        ("X6", "in_transit"),
        ("D1", "delivered"),
    ]
    first = result.changes[0]
    assert first.key == "PRO48213377"
    assert first.fields["carrier"] == "ABFS" and first.fields["shipment_number"] == "SH100177"
    assert first.fields["occurred_at"] == "2024-05-06T13:15:00+00:00"  # 08:15 CDT
    for change in result.changes:
        assert spec("tracking").validate_fields(change.fields)[1] is None


def test_estimate_and_unknown_code_are_problems_with_their_element() -> None:
    problems = decode(payload()).problems
    assert [(p.kind, p.code, p.path) for p in problems] == [
        ("no_status", "AG", "statuses[2].AT7-01"),
        ("unknown_code", "ZZ", "statuses[4].AT7-01"),
    ]


def test_ids_are_stable_across_resends() -> None:
    ids = [c.id for c in decode(payload()).changes]
    again = payload()
    again["statuses"].reverse()
    assert sorted(ids) == sorted(c.id for c in decode(again).changes)
    assert len(set(ids)) == len(ids)


@pytest.mark.parametrize(
    ("time_code", "expected"),
    [
        ("UT", "2024-01-15T08:15:00+00:00"),
        ("ES", "2024-01-15T13:15:00+00:00"),
        ("ET", "2024-01-15T13:15:00+00:00"),
        ("M05", "2024-01-15T13:15:00+00:00"),
        ("P01", "2024-01-15T07:15:00+00:00"),
    ],
)
def test_time_codes(time_code: str, expected: str) -> None:
    body = {"b10": ["PRO1"], "statuses": [{"at7": ["D1", "NS", "", "", "20240115", "0815", time_code]}]}
    assert decode(body).changes[0].fields["occurred_at"] == expected


def test_local_time_needs_a_zone() -> None:
    body: dict[str, Any] = {"b10": ["PRO1"], "statuses": [{"at7": ["D1", "NS", "", "", "20240115", "0815"]}]}
    [problem] = decode(body).problems
    assert (problem.kind, problem.path) == ("missing", "statuses[0].AT7-07")
    body["local_tz"] = "Europe/Berlin"
    assert decode(body).changes[0].fields["occurred_at"] == "2024-01-15T07:15:00+00:00"


def test_appointment_is_not_a_status() -> None:
    body = {"b10": ["PRO1"], "statuses": [{"at7": ["", "", "AA", "", "20240115", "0815", "UT"]}]}
    assert [p.kind for p in decode(body).problems] == ["no_status"]


def test_table_and_estimates_do_not_overlap() -> None:
    assert not NO_STATUS & set(STATUS_BY_CODE)
    assert STATUS_BY_CODE["D1"] == "delivered" and STATUS_BY_CODE["A3"] == "returned_to_sender"
