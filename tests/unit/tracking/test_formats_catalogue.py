"""The catalogue of tracking formats: every table maps native codes to canonical statuses once."""

from __future__ import annotations

import pytest

from logisync.domain.tracking import TrackingStatus
from logisync.tracking.formats import FORMATS, tracking_format


def test_catalogue_lists_the_three_formats() -> None:
    assert set(FORMATS) == {"easypost", "x12_214", "generic"}


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_table_members_are_canonical_and_codes_unique(name: str) -> None:
    fmt = FORMATS[name]
    codes = [code for member in fmt.table for code in member.value]
    assert len(codes) == len(set(codes))
    assert all(TrackingStatus(member.name) for member in fmt.table)
    assert not fmt.no_status & set(fmt.status_by_code)


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_garbage_is_a_problem_not_an_exception(name: str) -> None:
    result = FORMATS[name].decode(42)
    assert result.changes == [] and result.problems


def test_unknown_format_names_the_known_ones() -> None:
    with pytest.raises(KeyError, match="easypost"):
        tracking_format("dhl")
