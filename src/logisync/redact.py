"""Fit to print: store URLs without their password, and log lines without secrets or sensitive fields."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import unquote_plus, urlsplit

import orjson

UNPARSEABLE = "<unparseable URL>"
REDACTED = "[redacted]"
_SCALARS = frozenset({int, float, bool})
# a key whose name contains one of these holds a secret: its value is never printed
SECRET_NAMES = (
    "authorization",
    "api_key",
    "apikey",
    "api-key",
    "secret",
    "password",
    "passwd",
    "token",
    "signature",
    "cookie",
)


def redact_url(url: str) -> str:
    """`url` without its password: the `:password` of `user:password@host` and any `password=`
    (or `sslpassword=`, ...) query parameter are dropped; the rest is left as written.

    What does not parse as a URL, or parses in a way that could have put part of a password
    somewhere else (an unencoded `/`, `?` or `#` in it), is `<unparseable URL>`: never the text.
    """
    try:
        parts = urlsplit(url)
    except ValueError:  # e.g. an unclosed `[` of an IPv6 host
        return UNPARSEABLE
    if not parts.scheme:
        return UNPARSEABLE
    if parts.netloc and "@" in parts.path + parts.query + parts.fragment:
        return UNPARSEABLE  # an `@` after the host: the password's own, not encoded
    userinfo, at, hostport = parts.netloc.rpartition("@")
    netloc = f"{userinfo.partition(':')[0]}{at}{hostport}"
    segments = parts.query.split("&") if parts.query else []
    kept = [s for s in segments if "password" not in unquote_plus(s.partition("=")[0]).lower()]
    shown = url
    if netloc != parts.netloc or len(kept) != len(segments):
        shown = parts._replace(netloc=netloc, query="&".join(kept)).geturl()
    # a key=value connection string behind a scheme (`postgresql:host=db password=...`)
    return UNPARSEABLE if "password=" in shown.lower() else shown


class Redactor:
    """Leaves out of what is logged: values under secret-looking names (`SECRET_NAMES`) and under
    the `fields` configured as sensitive (`logging.redact`), URL passwords, and every occurrence of
    the known `secrets` (the values of the sync map's `*_env` variables) anywhere in a line."""

    def __init__(self, fields: Iterable[str] = (), secrets: Iterable[str] = ()) -> None:
        self.fields: frozenset[str] = frozenset()
        self.secrets: list[tuple[str, str]] = []
        self.add(fields, secrets)

    def add(self, fields: Iterable[str] = (), secrets: Iterable[str] = ()) -> None:
        """Leave these out too (a new app's sync map and keys); nothing is ever let back in."""
        self.fields = self.fields | {f.lower() for f in fields}
        self._hidden: dict[str, bool] = {}
        known = {plain for plain, _ in self.secrets} | {s for s in secrets if len(s) >= 4}
        # longest first (one secret may contain another); the JSON-escaped form too
        self.secrets = [(s, orjson.dumps(s).decode()[1:-1]) for s in sorted(known, key=len, reverse=True)]

    def hidden(self, name: str) -> bool:
        found = self._hidden.get(name)
        if found is None:  # a line's few names repeat: each is looked at once
            low = name.lower()
            found = self._hidden[name] = low in self.fields or any(word in low for word in SECRET_NAMES)
        return found

    def tree(self, value: Any) -> Any:
        """`value` with the values under hidden names replaced, and URLs without passwords."""
        if value is None or type(value) in _SCALARS:
            return value
        if isinstance(value, Mapping):
            return {
                k: REDACTED if isinstance(k, str) and self.hidden(k) else self.tree(v)
                for k, v in value.items()
            }
        if isinstance(value, list | tuple):
            return [self.tree(v) for v in value]
        if isinstance(value, str) and "://" in value and "@" in value:
            return redact_url(value)
        return value

    def scrub(self, text: str) -> str:
        """`text` with every known secret replaced."""
        for plain, escaped in self.secrets:
            if plain in text:
                text = text.replace(plain, REDACTED)
            if escaped != plain and escaped in text:
                text = text.replace(escaped, REDACTED)
        return text
