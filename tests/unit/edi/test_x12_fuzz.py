"""Any bytes, and any mutation of a valid file, give a parse with problems: never an exception."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from logisync.edi.ack import acknowledge, build_ta1, read_997
from logisync.edi.envelope import parse

FIXTURES = Path(__file__).parents[2] / "fixtures" / "x12"
VALID = [p.read_bytes() for p in sorted(FIXTURES.glob("*.x12"))]
DELIMITERS = b"*|^{:>~!'\r\n "


def _everything(data: bytes, chunk: int) -> None:
    parsed = parse([data[i : i + chunk] for i in range(0, len(data), chunk)] or [b""])
    for problem in parsed.all_problems():
        assert problem.message
        str(problem)
    for ic in parsed.interchanges:
        build_ta1(ic)
        ack = acknowledge(ic)
        for _, body in ack.acks:
            assert body[0][0] == "AK1" and body[-1][0] == "AK9"
        for group in ic.groups:
            for tset in group.sets:
                if tset.code == "997":
                    read_997(tset)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=400), st.integers(min_value=1, max_value=64))
def test_any_bytes_never_raise(data, chunk):
    _everything(data, chunk)


@st.composite
def mutated(draw) -> bytes:
    data = bytearray(draw(st.sampled_from(VALID)))
    for _ in range(draw(st.integers(min_value=1, max_value=6))):
        kind = draw(st.sampled_from(["flip", "delimiter", "delete", "insert", "cut"]))
        at = draw(st.integers(min_value=0, max_value=len(data)))
        if kind == "flip" and at < len(data):
            data[at] = draw(st.integers(min_value=0, max_value=255))
        elif kind == "delimiter" and at < len(data):
            data[at] = draw(st.sampled_from(DELIMITERS))
        elif kind == "delete":
            del data[at : at + draw(st.integers(min_value=1, max_value=20))]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=12))
        elif kind == "cut":
            del data[at:]
    return bytes(data)


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated(), st.integers(min_value=1, max_value=200))
def test_mutated_valid_files_never_raise(data, chunk):
    _everything(data, chunk)
