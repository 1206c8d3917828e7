"""`HttpUrl`: a sync map's http:// or https:// address, checked when the map is loaded."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from pydantic import AfterValidator


def check_http_url(url: str) -> str:
    """`url` itself, if it is an http:// or https:// URL with a host; else a ValueError saying so."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{url!r} is not an http:// or https:// URL with a host")
    return url


HttpUrl = Annotated[str, AfterValidator(check_http_url)]
