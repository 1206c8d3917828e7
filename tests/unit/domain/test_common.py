"""Shared value types: ISO country and currency codes, times that carry a UTC offset."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from logisync.domain.catalog import CATALOG
from logisync.domain.common import Address, CountryCode, CurrencyCode, Timestamp
from logisync.domain.kinds import Domain


def problem(type_: object, value: object) -> str:
    with pytest.raises(ValidationError) as caught:
        TypeAdapter(type_).validate_python(value)
    return str(caught.value.errors()[0]["msg"]).removeprefix("Value error, ")


def test_a_country_must_be_an_assigned_iso_3166_code():
    assert TypeAdapter(CountryCode).validate_python("DE") == "DE"
    assert problem(CountryCode, "XX") == "'XX' is not an ISO 3166-1 alpha-2 country code"
    # no silent upper-casing
    assert problem(CountryCode, "de") == (
        "'de' is not an ISO 3166-1 alpha-2 country code (two capital letters, e.g. DE)"
    )


def test_a_currency_must_be_an_iso_4217_code():
    assert TypeAdapter(CurrencyCode).validate_python("EUR") == "EUR"
    assert problem(CurrencyCode, "EUX") == "'EUX' is not an ISO 4217 currency code"


def test_every_address_checks_its_country():
    with pytest.raises(ValidationError):
        Address(country="QQ")
    assert Address(country="FR").country == "FR"


def test_the_catalog_names_the_field_of_a_bad_country_or_currency():
    order = CATALOG[Domain.order]
    assert order.validate_fields({"ship_to": {"country": "XX"}}) == (
        None,
        "field ship_to.country: 'XX' is not an ISO 3166-1 alpha-2 country code (got 'XX')",
    )
    assert order.validate_fields({"currency": "ABC"})[1] == (
        "field currency: 'ABC' is not an ISO 4217 currency code (got 'ABC')"
    )
    product = CATALOG[Domain.product]
    assert product.validate_fields({"country_of_origin": "CN", "currency": "CNY"})[1] is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-03-01T12:00:00Z", datetime(2026, 3, 1, 12, tzinfo=UTC)),
        ("2026-03-01T14:00:00+02:00", datetime(2026, 3, 1, 14, tzinfo=timezone(timedelta(hours=2)))),
        (
            "2026-03-01 12:00:00.5-05:00",
            datetime(2026, 3, 1, 12, 0, 0, 500000, tzinfo=timezone(timedelta(hours=-5))),
        ),
    ],
)
def test_a_time_with_an_offset_is_taken_and_keeps_its_offset(text, expected):
    value = TypeAdapter(Timestamp).validate_python(text)
    assert value == expected
    assert value.utcoffset() == expected.utcoffset()


@pytest.mark.parametrize("text", ["2026-03-01T12:00:00", "2026-03-01 12:00", "2026-03-01T12:00:00.250"])
def test_a_time_without_an_offset_is_refused_not_guessed(text):
    assert problem(Timestamp, text).startswith("a time needs a UTC offset: write it with Z or +hh:mm")


def test_a_date_alone_is_refused_as_a_time():
    assert problem(Timestamp, "2026-03-01").startswith("a time needs a time of day and a UTC offset")


@pytest.mark.parametrize(
    "text",
    [
        "yesterday",
        "01/03/2026 12:00Z",
        "2026-03-01T12Z",
        "2026-W09-7T12:00Z",
        "Sun, 01 Mar 2026 12:00:00 GMT",
    ],
)
def test_only_iso_8601_text_is_a_time(text):
    assert problem(Timestamp, text).startswith("not an ISO 8601 time")


def test_an_impossible_date_is_an_iso_date_error():
    with pytest.raises(ValidationError) as caught:
        TypeAdapter(Timestamp).validate_python("2026-02-30T12:00:00Z")
    assert caught.value.errors()[0]["type"] != "iso_date"  # pydantic's own; the catalog maps it to iso_date


def test_every_time_error_is_of_the_rule_iso_date():
    for value in ("2026-03-01T12:00:00", "2026-03-01", "yesterday", 1772366400):
        with pytest.raises(ValidationError) as caught:
            TypeAdapter(Timestamp).validate_python(value)
        assert caught.value.errors()[0]["type"] == "iso_date"


@pytest.mark.parametrize("value", [1772366400, 1772366400000, "1772366400", 1.5e9, True])
def test_an_epoch_number_is_refused_seconds_and_milliseconds_look_alike(value):
    assert problem(Timestamp, value).startswith("a time is ISO 8601 text with a UTC offset, not a number")


def test_an_aware_datetime_object_passes_and_a_naive_one_does_not():
    aware = datetime(2026, 3, 1, tzinfo=UTC)
    assert TypeAdapter(Timestamp).validate_python(aware) is aware
    assert problem(Timestamp, datetime(2026, 3, 1)).startswith("a time needs a UTC offset")


# -- Timestamp, over any input ------------------------------------------------------------------------


OFFSETS = st.integers(-14 * 60, 14 * 60).map(lambda m: timezone(timedelta(minutes=m)))


@given(st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(9999, 1, 1), timezones=OFFSETS))
def test_any_aware_time_written_in_iso_8601_reads_back_as_the_same_moment(moment):
    for text in (moment.isoformat(), moment.isoformat(sep=" ")):
        assert TypeAdapter(Timestamp).validate_python(text) == moment


@given(st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(9999, 1, 1)))
def test_any_naive_time_is_refused_as_iso_date(moment):
    with pytest.raises(ValidationError) as caught:
        TypeAdapter(Timestamp).validate_python(moment.isoformat())
    assert caught.value.errors()[0]["type"] == "iso_date"


@given(st.one_of(st.text(max_size=40), st.integers(), st.floats(), st.none(), st.booleans()))
def test_any_input_is_a_time_or_a_validation_error_never_a_crash(value):
    try:
        moment = TypeAdapter(Timestamp).validate_python(value)
    except ValidationError:
        return
    assert moment.utcoffset() is not None
