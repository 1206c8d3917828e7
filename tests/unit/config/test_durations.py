"""Durations as a sync map writes them."""

from __future__ import annotations

import contextlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from logisync.config.durations import parse_duration


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("500ms", 0.5),
        ("60s", 60),
        ("5m", 300),
        ("2h", 7200),
        ("3d", 259200),
        ("1w", 604800),
        (" 1.5 h ", 5400),
        (90, 90),
    ],
)
def test_units(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["soon", "5", "5 minutes", "-5s", "", True, -1])
def test_not_durations(text):
    with pytest.raises(ValueError):
        parse_duration(text)


@given(st.text(max_size=12))
def test_any_text_is_a_duration_or_a_value_error(text):
    with contextlib.suppress(ValueError):
        assert parse_duration(text) >= 0
