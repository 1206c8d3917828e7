"""Logs: text or JSON lines, each carrying the ids of what it is about, with secrets left out.

The ids a line is about come from two places: `bound(...)` puts them in a context variable for
everything logged inside it (the request id for a request, the batch id for a transaction, the
route for a dispatcher), and a call may pass its own in `extra` (the change id, the delivery id).
`configure` installs one handler on the `logisync` logger; with `json`, every line is one object:

    {"ts": "2026-11-29T04:30:00.123Z", "level": "info", "logger": "logisync.pipeline",
     "msg": "change applied", "request_id": "…", "batch_id": "…", "change_id": "c1", ...}

What never appears: the values of the environment variables the sync map names for secrets (API
keys, webhook and signing secrets, tokens, passwords), anything under a secret-looking name
(`authorization`, `api_key`, `secret`, `password`, `token`, `signature`, `cookie`), a URL's
password (`redact.redact_url`), and the values of the sync map's `logging.redact` fields.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from types import MappingProxyType
from typing import Any, TextIO

import orjson

from ..redact import REDACTED, Redactor

ROOT = "logisync"
FORMATS = ("text", "json")
LEVELS = ("debug", "info", "warning", "error")
_EMPTY: Mapping[str, Any] = MappingProxyType({})
_CONTEXT: ContextVar[Mapping[str, Any]] = ContextVar("logisync_log_context", default=_EMPTY)
# what every LogRecord has: anything else on a record came from `extra`
REDACTOR = Redactor()  # what every line leaves out; grows with each app (`protect`)
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}


def new_id() -> str:
    """A short random id for a request or a batch (16 hex digits)."""
    return os.urandom(8).hex()


@contextmanager
def bound(**fields: Any) -> Iterator[None]:
    """Every line logged inside (in this thread or task) carries `fields`."""
    token = _CONTEXT.set({**_CONTEXT.get(), **fields})
    try:
        yield
    finally:
        _CONTEXT.reset(token)


def context() -> Mapping[str, Any]:
    """The fields bound now."""
    return _CONTEXT.get()


def fields_of(record: logging.LogRecord) -> dict[str, Any]:
    """A record's ids and values: the bound context, then its own `extra`."""
    out = dict(_CONTEXT.get())
    for name, value in record.__dict__.items():
        if name not in _STANDARD and not name.startswith("_"):
            out[name] = value
    return out


class JsonLines(logging.Formatter):
    """One JSON object per line, redacted."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": _iso(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        line.update(fields_of(record))
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return self.redactor.scrub(orjson.dumps(self.redactor.tree(line), default=str).decode())


class Text(logging.Formatter):
    """`TIME LEVEL logger: message key=value ...`, redacted."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")
        self.redactor = redactor

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        fields = self.redactor.tree(fields_of(record))
        if fields:
            text += " " + " ".join(f"{k}={_short(v)}" for k, v in fields.items())
        return self.redactor.scrub(text)


def configure(
    fmt: str = "text",
    level: str = "info",
    *,
    secrets: Iterable[str] = (),
    redact: Iterable[str] = (),
    stream: TextIO | None = None,
    also: Iterable[str] = (),
) -> logging.Handler:
    """Send the `logisync` loggers' lines at `level` and above to `stream` (stderr) as `fmt`.

    `secrets` are values never to print (read from the environment by `secrets_of`); `redact` are
    field names whose values are left out (`logging.redact`). `also`: other loggers to print the
    same way (`uvicorn`). Replaces the handler a previous call installed; what it redacted stays.
    """
    if fmt not in FORMATS:
        raise ValueError(f"log format {fmt!r}: use one of {', '.join(FORMATS)}")
    if level not in LEVELS:
        raise ValueError(f"log level {level!r}: use one of {', '.join(LEVELS)}")
    REDACTOR.add(redact, secrets)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JsonLines(REDACTOR) if fmt == "json" else Text(REDACTOR))
    handler.set_name("logisync")
    for name in (ROOT, *also):
        logger = logging.getLogger(name)
        for old in [h for h in logger.handlers if h.get_name() == "logisync"]:
            logger.removeHandler(old)
        logger.addHandler(handler)
        logger.propagate = False
    logging.getLogger(ROOT).setLevel(level.upper())
    return handler


def unconfigure(also: Iterable[str] = ()) -> None:
    """Undo `configure`: the loggers propagate to the root logger again, at no level of their own."""
    for name in (ROOT, *also):
        logger = logging.getLogger(name)
        for old in [h for h in logger.handlers if h.get_name() == "logisync"]:
            logger.removeHandler(old)
        logger.propagate = True
    logging.getLogger(ROOT).setLevel(logging.NOTSET)


def protect(secrets: Iterable[str] = (), redact: Iterable[str] = ()) -> None:
    """Never print these secret values, nor the values of these fields, in any line from now on
    (`create_app` calls it with its sync map's secrets and `logging.redact`)."""
    REDACTOR.add(redact, secrets)


def secrets_of(settings: Any, env: Mapping[str, str]) -> list[str]:
    """The values of every environment variable a settings tree names for a secret: each
    `..._env` key (`api_key_env`, `secret_env`, `token_env`, `password_env`, ...) and each list
    under an `..._envs` key."""
    found: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, Mapping):
            for key, value in node.items():
                if isinstance(key, str) and key.endswith("_env") and isinstance(value, str):
                    found.append(env.get(value, ""))
                elif isinstance(key, str) and key.endswith("_envs") and isinstance(value, list):
                    found.extend(env.get(v, "") for v in value if isinstance(v, str))
                else:
                    walk(value)
        elif isinstance(node, list | tuple):
            for item in node:
                walk(item)

    walk(settings.model_dump() if hasattr(settings, "model_dump") else settings)
    return [s for s in found if s]


def _iso(created: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(created)) + f".{int(created % 1 * 1000):03d}Z"


def _short(value: Any) -> str:
    if isinstance(value, str) and " " not in value and value:
        return value
    return orjson.dumps(value, default=str).decode()


__all__ = ["REDACTED", "bound", "configure", "context", "new_id", "protect", "secrets_of"]
