"""Shadow read-back: what a target holds now, and how a shadow route's body differs from it.

A system with a `read` section (`url` with `{key}`, optional `path` and `compare`) can be read:
a shadow route to it GETs each key it would send, with the system's transport headers and
Standard Webhooks signing (over the empty body, `webhook-id` = `read-<delivery id>`), and
records the field-level difference with the shadowed row. A 404 means the target has no such
record (every field differs); any other failure is recorded as a read that failed, never retried:
shadow mode observes, it does not deliver.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import orjson

from ..config.model import ReadConfig
from ..connectors.http import USER_AGENT, HttpRequest, HttpTransport, Target
from .budget import RateBudget
from .errors import DeliveryError
from .signing import signature_headers

_ABSENT = object()


@dataclass(frozen=True, slots=True)
class Compared:
    """One key's comparison: `read` is `ok`, `missing` (404) or `failed` (with `error`)."""

    read: str
    fields: dict[str, dict[str, Any]] = field(default_factory=dict)  # path -> {"hub", "target"}
    error: str | None = None

    @property
    def differs(self) -> bool:
        return bool(self.fields)

    def as_dict(self) -> dict[str, Any]:
        return {"read": self.read, "differs": self.differs, "fields": self.fields, "error": self.error}


def leaves(doc: Any, prefix: str = "") -> dict[str, Any]:
    """A JSON document's leaves by dotted path (objects are walked; lists and scalars are leaves)."""
    if isinstance(doc, Mapping) and (doc or not prefix):
        out: dict[str, Any] = {}
        for k, v in doc.items():
            out.update(leaves(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: doc}


def at_path(doc: Any, path: str) -> Any:
    """The value at a dotted path, or `_ABSENT`."""
    for part in path.split("."):
        if not isinstance(doc, Mapping) or part not in doc:
            return _ABSENT
        doc = doc[part]
    return doc


def difference(body: Any, current: Any, compare: Sequence[str] | None) -> dict[str, dict[str, Any]]:
    """The paths where what the route would send differs from what the target has (absent: null)."""
    paths = list(compare) if compare else list(leaves(body))
    out: dict[str, dict[str, Any]] = {}
    for path in paths:
        hub, target = at_path(body, path), at_path(current, path)
        if hub is _ABSENT and target is _ABSENT:
            continue
        if (
            hub is _ABSENT
            or target is _ABSENT
            or hub != target
            or isinstance(hub, bool) != isinstance(target, bool)  # true is not 1 in JSON
        ):
            out[path] = {
                "hub": None if hub is _ABSENT else hub,
                "target": None if target is _ABSENT else target,
            }
    return out


class Reader:
    """Reads one system's records over HTTP for the shadow routes that target it."""

    def __init__(
        self, system: str, read: ReadConfig, target: Target, transport: HttpTransport, budget: RateBudget
    ) -> None:
        self.system = system
        self.read = read
        self.target = target
        self.transport = transport
        self.budget = budget

    def request(self, key: str, read_id: str, now: float) -> HttpRequest:
        """The GET for one key, with the system's static headers and signature (pure)."""
        url = self.read.url.replace("{key}", quote(key, safe=""))
        headers = {**self.target.settings.headers, "user-agent": USER_AGENT, "accept": "application/json"}
        if self.target.secrets:
            headers.update(signature_headers(self.target.secrets, read_id, int(now), b""))
        return HttpRequest("GET", url, headers, b"", (read_id,))

    async def compare(self, key: str, read_id: str, body: Any) -> Compared:
        """Read what the target has for `key` and compare it with `body`."""
        await self.budget.acquire(time.time)
        try:
            result = await self.transport.send(self.request(key, read_id, time.time()))
        finally:
            self.budget.release()
        if isinstance(result, DeliveryError):
            if result.status == 404:
                return Compared("missing", difference(body, {}, self.read.compare))
            return Compared("failed", error=str(result))
        try:
            current = orjson.loads(result.body)
        except orjson.JSONDecodeError as exc:
            return Compared("failed", error=f"the answer is not JSON: {exc}")
        if self.read.path:
            current = at_path(current, self.read.path)
            if current is _ABSENT:
                return Compared("failed", error=f"the answer has no {self.read.path!r}")
        return Compared("ok", difference(body, current, self.read.compare))
