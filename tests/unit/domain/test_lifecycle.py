"""The generic `Lifecycle` value: checks, reasons, move iterators and table validation."""

from __future__ import annotations

from enum import StrEnum

import pytest

from logisync.domain.lifecycle import Lifecycle


class Light(StrEnum):
    off = "off"
    warming = "warming"
    on = "on"
    broken = "broken"


def light(**overrides) -> Lifecycle[Light]:
    values = {
        "name": "lamp",
        "states": Light,
        "initial": frozenset({Light.off}),
        "transitions": {
            Light.off: frozenset({Light.warming, Light.broken}),
            Light.warming: frozenset({Light.on, Light.off, Light.broken}),
            Light.on: frozenset({Light.off, Light.broken}),
            Light.broken: frozenset(),
        },
    }
    return Lifecycle(**{**values, **overrides})


LAMP = light()


def test_a_listed_move_is_legal():
    assert LAMP.check(Light.off, Light.warming) is None


@pytest.mark.parametrize("state", list(Light))
def test_staying_in_place_is_legal_even_in_a_final_state(state):
    assert LAMP.check(state, state) is None


def test_an_unlisted_move_names_both_states_and_what_is_allowed():
    assert LAMP.check(Light.off, Light.on) == (
        "lamp cannot move from 'off' to 'on'; from 'off' it can move only to: warming, broken"
    )


def test_leaving_a_final_state_says_it_is_final():
    assert LAMP.check(Light.broken, Light.on) == "lamp cannot move from 'broken' to 'on': 'broken' is final"


def test_string_values_are_accepted():
    assert LAMP.check("off", "warming") is None
    assert LAMP.check("on", "warming") is not None


def test_an_unknown_status_is_a_reason_not_a_crash():
    assert LAMP.check("off", "dimmed") == "'dimmed' is not a lamp status (known: off, warming, on, broken)"
    assert LAMP.check("dimmed", "off") == "'dimmed' is not a lamp status (known: off, warming, on, broken)"


def test_a_new_record_must_start_in_an_initial_state():
    assert LAMP.check(None, Light.off) is None
    assert LAMP.check(None, Light.on) == "a new lamp cannot start as 'on'; it can start only as: off"


def test_moves_split_all_pairs_between_legal_and_illegal():
    legal, illegal = set(LAMP.legal_moves()), set(LAMP.illegal_moves())
    assert not legal & illegal
    assert legal | illegal == {(a, b) for a in Light for b in Light}
    assert (Light.on, Light.on) in legal
    assert (Light.off, Light.warming) in legal
    assert (Light.broken, Light.off) in illegal
    assert len(legal) == 4 + 2 + 3 + 2


def test_allowed_final_and_reachable():
    assert LAMP.allowed(Light.on) == {Light.off, Light.broken}
    assert LAMP.final == {Light.broken}
    assert LAMP.is_final(Light.broken) and not LAMP.is_final(Light.on)
    assert LAMP.reachable() == set(Light)


def test_the_table_cannot_be_changed_after_it_is_built():
    with pytest.raises(TypeError):
        LAMP.transitions[Light.broken] = frozenset({Light.off})  # type: ignore[index]


@pytest.mark.parametrize(
    ("overrides", "words"),
    [
        ({"transitions": {Light.off: frozenset()}}, "no row for warming, on, broken"),
        (
            {"transitions": {**LAMP.transitions, Light.on: frozenset({Light.on})}},
            "row 'on' lists itself",
        ),
        (
            {"transitions": {**LAMP.transitions, Light.on: frozenset({"dimmed"})}},
            "row 'on' lists ['dimmed'], not Light members",
        ),
        ({"transitions": {**LAMP.transitions, "dimmed": frozenset()}}, "row 'dimmed' is not a Light"),
        ({"initial": frozenset()}, "no initial state"),
        ({"initial": frozenset({"dimmed"})}, "initial states ['dimmed'] are not Light members"),
    ],
)
def test_a_wrong_table_fails_when_built(overrides, words):
    with pytest.raises(ValueError, match="lamp lifecycle table is wrong") as err:
        light(**overrides)
    assert words in str(err.value)
