"""Consoles and the small formatting rules every command shares (values, times, durations)."""

from __future__ import annotations

from typing import Any

import orjson
import typer
from rich.console import Console

from ..domain.change import from_us

NONE = "—"


def out() -> Console:
    """Where results go (stdout). Made per command so test runners can capture it. Markup is off:
    values from records and files are printed as they are, never read as Rich markup."""
    return Console(highlight=False, soft_wrap=False, markup=False)


def err() -> Console:
    """Where problems and progress go (stderr)."""
    return Console(stderr=True, highlight=False, soft_wrap=True, markup=False)


def fail(message: str, code: int = 2) -> typer.Exit:
    """Tell the user in red what is wrong; `raise fail(...)` ends the command with `code`."""
    err().print(message, style="red")
    return typer.Exit(code=code)


def value(v: Any, width: int = 48) -> str:
    """A field value on one line: strings as they are, everything else as compact JSON."""
    if v is None:
        return "null"
    text = v if isinstance(v, str) else orjson.dumps(v).decode()
    return text if len(text) <= width else text[: width - 1] + "…"


def when(us: int | None) -> str:
    """A moment in µs since the epoch, as UTC to the second, ISO style."""
    if not us:
        return NONE
    return from_us(us).strftime("%Y-%m-%d %H:%M:%S") + "Z"


def seconds(s: float | None) -> str:
    """A duration in seconds as a sync map writes it: 90 -> 90s, 300 -> 5m, 7200 -> 2h."""
    if s is None:
        return NONE
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if s >= size and s % size == 0:
            return f"{int(s // size)}{unit}"
    return f"{s:g}s"


def dumps(data: Any) -> str:
    """JSON for `--json` output: indented, stable key order."""
    return orjson.dumps(data, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS).decode()
