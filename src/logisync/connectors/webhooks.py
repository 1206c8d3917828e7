"""The inbound webhook connector: a system's signed webhooks -> verified, mapped, validated changes.

The shape every connector has: `Settings` (a system's `webhooks` section), `SPEC`, and pure
functions: `Receiver.verify` checks the signature on the raw bytes (`webhook_schemes`), and
`Receiver.decode` parses the body, runs the system's mapping (`webhook_mapping`) and validates
each change as POST /v1/changes does. The I/O (reading the request, the ingest, the exceptions
inbox) is the API route's (`logisync.api.webhooks`).

Change ids: a change the mapping gives no `id` gets one from the webhook's id (`webhook-id`,
`X-Shopify-Webhook-Id`, a Stripe event's `id`): the first such change is the id itself, the n-th
`{id}:{n}`. A redelivered webhook maps to the same ids, so it is a `duplicate`, not applied twice.
A webhook with no id at all is named by its body: `sha256-<first 32 hex digits>`.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import ValidationError

from logisync.config.model import WebhooksConfig
from logisync.domain.change import Change
from logisync.errors import ConfigError

from . import webhook_schemes
from .spec import Capabilities, ConnectorSpec
from .webhook_mapping import InboundMapper, MappingProblem, WebhookContext, compile_inbound

NAME = "webhooks"
Settings = WebhooksConfig

SPEC = ConnectorSpec(
    name=NAME,
    summary="signed webhooks in: verified on the raw body, mapped to changes, ingested as the system",
    directions=frozenset({"in"}),
    capabilities=Capabilities(signing=webhook_schemes.SCHEMES),
)

log = logging.getLogger("logisync.webhooks")


@dataclass(frozen=True, slots=True)
class Problem:
    """Why a webhook could not become changes: a message, and one entry per bad place."""

    message: str
    errors: list[dict[str, str]]


class Unmappable(Exception):
    """A verified webhook whose body does not parse or does not map; `code` is the API's."""

    def __init__(self, code: str, problem: Problem, webhook_id: str | None = None) -> None:
        super().__init__(problem.message)
        self.code = code
        self.problem = problem
        self.webhook_id = webhook_id  # when known (a Stripe id is read from the body)


@dataclass(frozen=True)
class Receiver:
    """One system's webhooks, resolved once: its scheme, HMAC keys and compiled mapping."""

    system: str
    scheme: webhook_schemes.Scheme
    keys: tuple[bytes, ...]
    mapper: InboundMapper

    @classmethod
    def from_settings(
        cls, system: str, settings: WebhooksConfig, env: Mapping[str, str] | None = None
    ) -> Receiver:
        """Read the secrets named in `settings` (an unset one is skipped with a warning; with none,
        every webhook is refused 401) and compile the mapping."""
        env = os.environ if env is None else env
        secrets: list[str] = []
        for name in settings.signing.env_names:
            value = env.get(name)
            if value:
                secrets.append(value)
            else:
                log.warning("%s: a webhook signing secret of system %r is not set", name, system)
        try:
            keys = webhook_schemes.keys_of(settings.signing.scheme, secrets)
        except ValueError as exc:
            raise ConfigError(
                f"systems.{system}.webhooks.signing: a secret in {', '.join(settings.signing.env_names)} "
                f"is not usable: {exc}"
            ) from None
        if not keys:
            log.warning("system %r has no webhook signing secret set: its webhooks are refused", system)
        try:
            mapper = compile_inbound(settings.mapping)
        except ValueError as exc:
            raise ConfigError(f"systems.{system}.webhooks.mapping: {exc}") from None
        return cls(system, settings.signing.scheme, keys, mapper)

    def verify(self, headers: Mapping[str, str], body: bytes, now: float) -> str | None:
        """The webhook id its headers carry (None: in the body, or none); InvalidSignature else."""
        return webhook_schemes.verify(self.scheme, self.keys, headers, body, now)

    def decode(
        self, body: bytes, webhook_id: str | None, headers: Mapping[str, str]
    ) -> tuple[str, list[Change]]:
        """(the webhook id, its changes) from a verified body; `Unmappable` says what is wrong."""
        try:
            payload = orjson.loads(body)
        except orjson.JSONDecodeError as exc:
            problem = Problem(f"the body is not valid JSON: {exc}", [{"path": "(body)", "message": str(exc)}])
            raise Unmappable("invalid_json", problem, webhook_id) from None
        topic = None
        if self.scheme == "shopify":
            topic = {k.lower(): v for k, v in headers.items()}.get("x-shopify-topic")
        elif isinstance(payload, dict):  # Stripe events and Standard Webhooks payloads carry a `type`
            topic = payload.get("type") if isinstance(payload.get("type"), str) else None
            if (
                self.scheme == "stripe"
                and webhook_id is None
                and isinstance(payload.get("id"), str)
                and payload["id"]
            ):
                webhook_id = payload["id"]
        if webhook_id is None:
            webhook_id = "sha256-" + hashlib.sha256(body).hexdigest()[:32]
        context = WebhookContext(self.system, webhook_id, self.scheme, topic)
        try:
            raw = self.mapper(payload, context)
        except MappingProblem as exc:
            problem = Problem(f"the mapping failed: {exc}", [{"path": "(body)", "message": str(exc)}])
            raise Unmappable("unmappable_webhook", problem, webhook_id) from None
        try:
            return webhook_id, changes_of(raw, webhook_id)
        except Unmappable as exc:
            exc.webhook_id = webhook_id
            raise


def changes_of(raw: list[Any], webhook_id: str) -> list[Change]:
    """Validate the mapping's change dicts as POST /v1/changes would, giving ids where none is set."""
    changes: list[Change] = []
    errors: list[dict[str, str]] = []
    unnamed = 0
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            errors.append({"path": f"changes[{i}]", "message": "a change must be an object"})
            continue
        if item.get("id") is None:
            unnamed += 1
            item = {**item, "id": webhook_id if unnamed == 1 else f"{webhook_id}:{unnamed}"}
        try:
            changes.append(Change.model_validate(item))
        except ValidationError as exc:
            for err in exc.errors(include_url=False):
                where = ".".join(str(p) for p in err["loc"])
                errors.append(
                    {"path": f"changes[{i}].{where}" if where else f"changes[{i}]", "message": err["msg"]}
                )
    if errors:
        first = errors[0]
        message = f"the mapping gave changes the hub cannot take: {first['path']}: {first['message']}"
        raise Unmappable("unmappable_webhook", Problem(message, errors))
    return changes
