"""JSON responses rendered with orjson, for every route and error of the API."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from starlette.responses import Response


class JSONBody(Response):
    """A JSON response serialized by orjson (datetimes as ISO 8601, no NaN)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def json_response(content: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> JSONBody:
    return JSONBody(content, status_code=status, headers=headers)
