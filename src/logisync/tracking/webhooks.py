"""Built-in webhook mappings for carrier event formats: name one in a system's `webhooks.mapping`.

    carrier: {kind: carrier, webhooks: {scheme: standard-webhooks, secret_env: CARRIER_SECRET,
              mapping: "logisync.tracking.webhooks:easypost"}}

Each mapping decodes the payload with its format's code table (`tracking/formats/`) and returns
the canonical tracking changes, each with the event id the format gives (or its content hash), so
a resent webhook maps to the same ids. A code the table does not list is never guessed: the
mapping raises `ValueError` naming every problem with its path and code, and the webhook endpoint
keeps the raw payload in an `unmappable_webhook` exception (docs/webhooks.md), so nothing is lost;
add the code to the table, have the carrier send it again, discard the exception. A known code
that states no status (EasyPost's `unknown`) is left out, not an error.
"""

from __future__ import annotations

from typing import Any

from .formats import tracking_format

__all__ = ["easypost", "generic"]


def easypost(payload: Any, context: Any) -> list[dict[str, Any]]:
    """An EasyPost-style tracker webhook (`tracker.created` / `tracker.updated`)."""
    return _changes("easypost", payload)


def generic(payload: Any, context: Any) -> list[dict[str, Any]]:
    """Generic `{"tracking_number", "carrier", "code", "occurred_at", "event_id"?}` events (one or a list)."""
    return _changes("generic", payload)


def _changes(name: str, payload: Any) -> list[dict[str, Any]]:
    result = tracking_format(name).decode(payload)
    problems = [p for p in result.problems if p.kind != "no_status"]
    if problems:
        parts = [
            f"{p.path}: {p.message}" + (f" (code {p.code!r})" if p.code and p.code not in p.message else "")
            for p in problems
        ]
        raise ValueError(f"{name} payload: " + "; ".join(parts))
    return [
        {
            "id": change.id,
            "domain": change.domain.value,
            "key": change.key,
            "fields": dict(change.fields),
            "occurred_at": change.fields["occurred_at"],
        }
        for change in result.changes
    ]
