"""ISO code lists: assigned country codes and current currency codes, read on first use."""

from __future__ import annotations

import pytest

from logisync.domain import iso


@pytest.mark.parametrize("code", ["DE", "US", "GB", "NL", "CN", "AX"])
def test_assigned_country_codes_are_known(code):
    assert iso.country_problem(code) is None


@pytest.mark.parametrize("code", ["XX", "UK", "EU", "XK", "ZZ"])
def test_unassigned_or_reserved_country_codes_are_not(code):
    assert iso.country_problem(code) == f"{code!r} is not an ISO 3166-1 alpha-2 country code"


@pytest.mark.parametrize("code", ["EUR", "USD", "JPY", "CHF", "XAU"])
def test_current_currency_codes_are_known(code):
    assert iso.currency_problem(code) is None


@pytest.mark.parametrize("code", ["ABC", "DEM", "EUX"])
def test_unknown_or_withdrawn_currency_codes_are_not(code):
    assert iso.currency_problem(code) == f"{code!r} is not an ISO 4217 currency code"


def test_the_lists_are_complete_enough_and_read_once():
    assert len(iso.countries()) >= 249
    assert len(iso.currencies()) >= 150
    assert iso.countries() is iso.countries()
