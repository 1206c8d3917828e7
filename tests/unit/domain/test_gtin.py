"""GTIN check digits: known codes, every single-digit error caught, lengths and characters."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from logisync.domain.gtin import check_digit, gtin_problem, normalise

KNOWN = ["96385074", "036000291452", "4006381333931", "10614141000415", "00012345600012"]


@pytest.mark.parametrize("code", KNOWN)
def test_published_examples_are_valid(code):
    assert gtin_problem(code) is None
    assert len(normalise(code)) == 14


@pytest.mark.parametrize(
    ("code", "words"),
    [
        ("036000291453", "check digit 3, expected 2"),
        ("0360002914", "has 10 digits"),
        ("03600029145a", "digits only"),
        ("٠٣٦٠٠٠٢٩١٤٥٢", "digits only"),  # Arabic-Indic digits are digits, but not GTIN digits
    ],
)
def test_bad_codes_say_what_is_wrong(code, words):
    assert words in gtin_problem(code)
    with pytest.raises(ValueError):
        normalise(code)


@given(
    st.sampled_from([8, 12, 13, 14]).flatmap(lambda n: st.text("0123456789", min_size=n - 1, max_size=n - 1))
)
def test_the_computed_check_digit_makes_a_valid_code(body):
    assert gtin_problem(body + str(check_digit(body))) is None


@given(
    st.sampled_from([8, 12, 13, 14]).flatmap(lambda n: st.text("0123456789", min_size=n - 1, max_size=n - 1)),
    st.data(),
)
def test_every_single_digit_error_is_caught(body, data):
    code = body + str(check_digit(body))
    i = data.draw(st.integers(0, len(code) - 1))
    wrong = data.draw(st.sampled_from([d for d in "0123456789" if d != code[i]]))
    assert gtin_problem(code[:i] + wrong + code[i + 1 :]) is not None


def test_the_same_item_compares_equal_across_lengths():
    assert normalise("036000291452") == normalise("0036000291452") == "00036000291452"


@given(st.text(max_size=30))
def test_any_text_gets_an_answer_never_an_exception(code):
    problem = gtin_problem(code)
    assert problem is None or problem.startswith("GTIN ")
    if problem is None:
        assert code.isascii() and code.isdigit() and len(code) in (8, 12, 13, 14)


@given(st.one_of(st.text(max_size=20), st.text("0123456789", min_size=7, max_size=15)))
def test_the_product_schema_agrees_with_the_check_and_names_the_rule(code):
    from logisync.domain.catalog import CATALOG
    from logisync.domain.kinds import Domain

    fields, problems = CATALOG[Domain.product].check_fields({"gtin": code})
    if gtin_problem(code) is None:
        assert problems == [] and fields == {"gtin": code}
    else:
        [problem] = problems
        assert (problem.rule, problem.field, problem.value) == ("gtin", "gtin", code)
        assert problem.reason.startswith(f"field gtin: {gtin_problem(code)}")


@given(
    st.sampled_from([8, 12, 13, 14]).flatmap(lambda n: st.text("0123456789", min_size=n - 1, max_size=n - 1))
)
def test_a_valid_code_padded_to_14_digits_stays_valid(body):
    code = body + str(check_digit(body))
    assert gtin_problem(normalise(code)) is None
