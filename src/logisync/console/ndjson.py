"""Reading changes from an NDJSON file one line at a time: constant memory, every line accounted for."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

import orjson
from pydantic import ValidationError

from ..domain.change import Change

SKIP_CHUNK = 1 << 16
_BOM = b"\xef\xbb\xbf"
_ORJSON_WHERE = re.compile(r"line \d+ column (\d+) \(char \d+\)")
_CHANGE_KEYS = ", ".join(Change.model_fields)


@dataclass(frozen=True, slots=True)
class Line:
    """One line of the file: a change, or what is wrong with it; both None for a blank line."""

    number: int
    offset: int  # bytes read so far, this line included
    change: Change | None = None
    problem: str | None = None

    @property
    def blank(self) -> bool:
        return self.change is None and self.problem is None


def read_changes(stream: BinaryIO, *, max_line: int) -> Iterator[Line]:
    """Every line of `stream` as a `Line`. A line longer than `max_line` bytes is skipped
    without being held in memory, and reported as a problem like any other bad line."""
    number = offset = 0
    while True:
        raw = stream.readline(max_line + 1)
        if not raw:
            return
        number += 1
        offset += len(raw)
        if len(raw) > max_line and not raw.endswith(b"\n"):
            while chunk := stream.readline(SKIP_CHUNK):
                offset += len(chunk)
                if chunk.endswith(b"\n"):
                    break
            yield Line(number, offset, problem=f"longer than {max_line} bytes; one change per line")
            continue
        if number == 1:
            raw = raw.removeprefix(_BOM)
        text = raw.strip()
        if not text:
            yield Line(number, offset)
            continue
        change, problem = parse_change(text)
        yield Line(number, offset, change, problem)


def parse_change(text: bytes) -> tuple[Change | None, str | None]:
    """(the change, None) or (None, what is wrong with the line)."""
    try:
        data = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        return None, "not valid JSON: " + _ORJSON_WHERE.sub(r"column \1", str(exc))
    if not isinstance(data, dict):
        return None, f"expected a JSON object (one change), got {_json_kind(data)}"
    try:
        return Change.model_validate(data), None
    except ValidationError as exc:
        return None, "not a change: " + describe(exc)


def describe(exc: ValidationError) -> str:
    """A change's validation errors in a few words each: `missing id; version: ... (got -1)`."""
    parts = []
    for e in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in e["loc"])
        if e["type"] == "missing":
            parts.append(f"missing {loc}")
        elif e["type"] == "extra_forbidden":
            parts.append(f"unknown key {loc!r} (a change has {_CHANGE_KEYS})")
        else:
            got = e.get("input")
            shown = _json_kind(got) if isinstance(got, dict | list) else repr(got)
            parts.append(f"{loc}: {e['msg']} (got {shown[:60]})")
    return "; ".join(parts)


def _json_kind(data: object) -> str:
    names = {dict: "an object", list: "an array", str: "a string", bool: "a boolean", type(None): "null"}
    return names.get(type(data), "a number")
