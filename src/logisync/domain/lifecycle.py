"""A lifecycle as data: a states enum, where a record may start, and which moves are legal.

A `Lifecycle` is the one owner of a lifecycle's transitions (STYLE rule 9). It is a pure value:
`check(current, new)` answers `None` when the move is legal and otherwise a reason that names both
states and what is allowed instead, so a caller can turn a refusal into a `rejected` outcome
(business rejections are data, rule 7). The rules:

- Moving to the same state is always legal: a resent update changes nothing.
- `current=None` means the record is new: `new` must be one of `initial`.
- Otherwise `new` must be in `transitions[current]`. A state whose set is empty is final.

The table is validated when the value is built (every state has a row, every target is a state,
no row lists its own state since staying is implicit), so a typo fails at import, not in the field.
`legal_moves()` and `illegal_moves()` split all N x N pairs between them, for tests generated from
the table.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import Enum
from types import MappingProxyType
from typing import Generic, TypeVar

S = TypeVar("S", bound=Enum)


@dataclass(frozen=True, eq=False)
class Lifecycle(Generic[S]):
    """One lifecycle: `name` (used in reasons), `states`, `initial` states and the `transitions`."""

    name: str
    states: type[S]
    initial: frozenset[S]
    transitions: Mapping[S, frozenset[S]] = field(repr=False)

    def __post_init__(self) -> None:
        members = set(self.states)
        problems = []
        missing = [s.value for s in self.states if s not in self.transitions]
        if missing:
            problems.append(f"no row for {', '.join(map(str, missing))}")
        for state, targets in self.transitions.items():
            if state not in members:
                problems.append(f"row {state!r} is not a {self.states.__name__}")
                continue
            strangers = [t for t in targets if t not in members]
            if strangers:
                problems.append(
                    f"row {state.value!r} lists {strangers!r}, not {self.states.__name__} members"
                )
            if state in targets:
                problems.append(f"row {state.value!r} lists itself (staying in a state is always legal)")
        if not self.initial:
            problems.append("no initial state")
        strangers = [s for s in self.initial if s not in members]
        if strangers:
            problems.append(f"initial states {strangers!r} are not {self.states.__name__} members")
        if problems:
            raise ValueError(f"{self.name} lifecycle table is wrong: {'; '.join(problems)}")
        frozen = {state: frozenset(self.transitions[state]) for state in self.states}
        object.__setattr__(self, "initial", frozenset(self.initial))
        object.__setattr__(self, "transitions", MappingProxyType(frozen))

    def coerce(self, value: S | str) -> S | None:
        """The member for `value` (a member or its string value); None when it is not a state."""
        try:
            return self.states(value)
        except ValueError:
            return None

    def allowed(self, current: S) -> frozenset[S]:
        """The states `current` may move to (besides staying where it is)."""
        return self.transitions[current]

    def is_final(self, state: S) -> bool:
        return not self.transitions[state]

    @property
    def final(self) -> frozenset[S]:
        """The states nothing leaves."""
        return frozenset(s for s in self.states if self.is_final(s))

    def check(self, current: S | str | None, new: S | str) -> str | None:
        """None when moving from `current` (None: a new record) to `new` is legal, else the reason."""
        target = self.coerce(new)
        if target is None:
            return f"{new!r} is not a {self.name} status (known: {self._names(self.states)})"
        if current is None:
            if target in self.initial:
                return None
            return (
                f"a new {self.name} cannot start as {target.value!r}; "
                f"it can start only as: {self._names(self.initial)}"
            )
        source = self.coerce(current)
        if source is None:
            return f"{current!r} is not a {self.name} status (known: {self._names(self.states)})"
        if source == target or target in self.transitions[source]:
            return None
        if self.is_final(source):
            return f"{self.name} cannot move from {source.value!r} to {target.value!r}: {source.value!r} is final"
        return (
            f"{self.name} cannot move from {source.value!r} to {target.value!r}; "
            f"from {source.value!r} it can move only to: {self._names(self.transitions[source])}"
        )

    def legal_moves(self) -> Iterator[tuple[S, S]]:
        """Every legal (current, new) pair, staying in place included, in declaration order."""
        for source in self.states:
            for target in self.states:
                if source == target or target in self.transitions[source]:
                    yield source, target

    def illegal_moves(self) -> Iterator[tuple[S, S]]:
        """Every illegal (current, new) pair; with `legal_moves()` it covers all N x N pairs."""
        for source in self.states:
            for target in self.states:
                if source != target and target not in self.transitions[source]:
                    yield source, target

    def reachable(self) -> frozenset[S]:
        """The states some path from an initial state reaches."""
        seen: set[S] = set(self.initial)
        frontier = list(self.initial)
        while frontier:
            for target in self.transitions[frontier.pop()]:
                if target not in seen:
                    seen.add(target)
                    frontier.append(target)
        return frozenset(seen)

    def _names(self, states: Iterable[S]) -> str:
        """States as `a, b, c` in declaration order (sets have none), or `nothing`."""
        wanted = set(states)
        return ", ".join(str(s.value) for s in self.states if s in wanted) or "nothing"
