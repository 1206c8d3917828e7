"""The sync map as typed models: what each section may hold, checked on load."""

from __future__ import annotations

from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from croniter import croniter
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator

from ..domain.kinds import Domain, SystemKind
from .alerts import AlertsConfig
from .durations import parse_duration
from .edi import EdiPartnerConfig
from .files import FilesConfig, check_files_xref
from .reconcile import ReconcileConfig

Seconds = Annotated[float, BeforeValidator(parse_duration)]
Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_\-]{0,49}$")]
EnvName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AuthConfig(Section):
    """How a system proves who it is when it calls the hub: an API key read from the environment."""

    api_key_env: EnvName


Scheme = Literal["standard-webhooks", "shopify", "stripe"]


class SigningConfig(Section):
    """How the hub signs the calls it makes *to* a system (outbound deliveries and read-backs).

    Only `standard-webhooks` is signed today. What a system signs the webhooks it sends the hub
    with is `systems.NAME.webhooks.signing` (`WebhookSigning`), a separate secret.
    """

    scheme: Scheme = "standard-webhooks"
    secret_env: EnvName

    @field_validator("scheme")
    @classmethod
    def _outbound(cls, scheme: str) -> str:
        if scheme != "standard-webhooks":
            raise ValueError(
                f"the hub signs its calls to a system with standard-webhooks only; how the system signs "
                f"the webhooks it sends the hub ({scheme}) goes in webhooks.signing"
            )
        return scheme


class WebhookSigning(Section):
    """How a system signs the webhooks it sends the hub; each one is verified on arrival.

    `secret_env` names the variable holding the secret; during a rotation `secret_envs` lists
    several (the new one and the old ones): a webhook signed with any of them is accepted.
    """

    scheme: Scheme = "standard-webhooks"
    secret_env: EnvName | None = None
    secret_envs: list[EnvName] | None = Field(default=None, min_length=1, max_length=10)

    @model_validator(mode="after")
    def _one_way(self) -> WebhookSigning:
        if (self.secret_env is None) == (self.secret_envs is None):
            raise ValueError("give the secret's variable as secret_env: NAME, or secret_envs: [NAME, ...]")
        return self

    @property
    def env_names(self) -> list[str]:
        """Every variable that may hold a secret, the current one first."""
        return [self.secret_env] if self.secret_env is not None else list(self.secret_envs or ())


class WebhooksConfig(Section):
    """Webhooks the system sends the hub at `POST /v1/webhooks/NAME`: how they are signed, and the
    mapping from the system's payload to changes (`logisync.connectors.webhook_mapping`):
    `"package.module:function"` or a declarative mapping."""

    signing: WebhookSigning
    mapping: dict[str, Any] | str


Connector = Literal["http", "poll", "files", "edi", "pg_cdc", "nats", "mqtt"]


XrefKind = Literal["sku", "location", "service"]
XrefName = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_\-]{0,49}$")]


class ReadConfig(Section):
    """Where the hub can read what a system holds now, for shadow routes to compare with.

    `url` names the record by `{key}` (URL-encoded), e.g. `https://shop.example/api/stock/{key}`;
    the call is a GET with the system's transport headers and signing. `path` is where the value
    sits in the JSON answer (dotted, e.g. `data`; none: the whole answer); `compare` lists the
    body paths to compare (none: every field of the body the route would send).
    """

    url: str
    path: str | None = None
    compare: list[str] | None = Field(default=None, min_length=1)

    @field_validator("url")
    @classmethod
    def _template(cls, url: str) -> str:
        parts = urlsplit(url.replace("{key}", "k"))
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"{url!r} is not an http:// or https:// URL with a host")
        if "{key}" not in url:
            raise ValueError(f"{url!r} does not say where the record's key goes (write {{key}})")
        if "{" in url.replace("{key}", "") or "}" in url.replace("{key}", ""):
            raise ValueError(f"{url!r}: only {{key}} may be written in braces")
        return url


class SystemConfig(Section):
    """An external party the hub talks to.

    `xref` says which canonical keys this system names by ids of its own, and what it calls them:
    `{sku: listing_id}` means every SKU in its order, shipment and return lines is one of its
    listing ids, translated through the hub's cross-reference table for (system, `sku`); a product
    change from it with `attributes.listing_id` teaches the hub the pair.
    """

    kind: SystemKind
    connector: Connector = "http"
    url: str | None = None
    auth: AuthConfig | None = None
    signing: SigningConfig | None = None  # how the hub signs its calls to the system
    webhooks: WebhooksConfig | None = None  # webhooks the system sends the hub (verified, mapped)
    writes: list[Domain | Literal["*"]] | None = None  # default: the domains it owns something in
    reads: list[Domain | Literal["*"]] | None = None  # default: what it writes or is routed
    transport: dict[str, Any] | None = None
    read: ReadConfig | None = None  # shadow routes read what the system has, to compare
    description: str | None = None
    xref: dict[XrefKind, XrefName] | None = None
    edi: EdiPartnerConfig | None = None  # a trading partner's X12 settings (config/edi.py)
    files: FilesConfig | None = None  # file imports, exports and their folder or SFTP (config/files.py)

    @model_validator(mode="after")
    def _files_xref(self) -> SystemConfig:
        if self.files is not None:
            check_files_xref(self.files, self.xref)
        return self


class OwnerRule(Section):
    """Who is the single source of truth for a domain or a field group, and what a non-owner gets."""

    system: str
    on_conflict: Literal["reject", "propose"] = "reject"


class RouteFilter(Section):
    """Which records a route carries: the rollout waves of a go-live, from one SKU to everything;
    and which changes of them: `fields`, the changes that applied one of these (top-level) fields
    (a coalescing route still sends the record as it is then, every field)."""

    key_prefix: list[str] | None = None
    sku_prefix: list[str] | None = None
    sku: list[str] | None = None
    location: list[str] | None = None
    fields: list[str] | None = Field(default=None, min_length=1)


class AtpTransform(Section):
    """Channel availability (ATP) for the route's target: what the channel may sell of each SKU.

    `floor(max(0, (sum of max(0, available) over locations - safety_stock) * share))`: a location
    short of stock counts as zero, it does not take stock from another. `locations` are the
    ones that serve the channel (none given: every location); `on_insufficient` is what happens to
    an order from this channel that asks for more than its ATP: `reject` it, or accept it with the
    missing units `backorder`ed.
    """

    locations: list[str] | None = Field(default=None, min_length=1)
    safety_stock: int = Field(default=0, ge=0, le=10**12)
    share: float = Field(default=1.0, gt=0, le=1)
    on_insufficient: Literal["reject", "backorder"] = "reject"


class RouteTransform(Section):
    """What a route computes from the golden record before mapping it to the target's format."""

    atp: AtpTransform | None = None


class RouteConfig(Section):
    """A subscription: which changes go to which system, how often, and how fast."""

    name: Name
    domain: Domain
    to: str
    cadence: str = "realtime"
    filter: RouteFilter | None = None
    transform: RouteTransform | None = None
    mapping: dict[str, Any] | str | None = None  # declarative, or "package.module:function"
    format: str | None = None
    sla: Seconds | None = None
    mode: Literal["live", "shadow"] = "live"
    batch: int = Field(default=1, ge=1, le=10_000)
    coalesce: bool = True  # state domains: send only a key's latest (false: every change, in order)
    echo: bool = False  # carry changes that came from the target too (an 855 for the partner's 850)

    @field_validator("cadence")
    @classmethod
    def _cadence(cls, value: str) -> str:
        if value == "realtime" or croniter.is_valid(value):
            return value
        raise ValueError(f"cadence {value!r} is neither 'realtime' nor a cron expression")


class Limits(Section):
    max_batch: int = Field(default=1000, ge=1, le=100_000)
    max_body_bytes: int = Field(default=8 * 1024 * 1024, ge=1024)
    # batches waiting for the ingest worker past which a webhook is answered 503 + Retry-After
    max_ingest_queue: int = Field(default=1000, ge=1, le=1_000_000)


class MetricsConfig(Section):
    """`/metrics` (docs/observability.md): scraped with this bearer token (or the admin key);
    with neither configured it answers 401. Store-backed gauges are cached `cache` seconds."""

    token_env: EnvName | None = None
    cache: Seconds = Field(default=5.0, ge=0, le=3600)


class ApiConfig(Section):
    """The HTTP API: where it listens, the admin key (reads everything), and `/metrics`."""

    host: str = "127.0.0.1"
    port: int = Field(default=8400, ge=0, le=65535)
    admin: AuthConfig | None = None
    metrics: MetricsConfig = MetricsConfig()


class LoggingConfig(Section):
    """What the logs leave out: the values of these field names (`email`, `phone`), wherever they
    appear in a logged change, are written as `[redacted]`. Secrets are always left out."""

    redact: list[str] = []


UnknownPolicy = Literal["accept", "quarantine", "auto_create"]


class QualityConfig(Section):
    """Data-quality rules that read the store, run on ingest after the schema check.

    `unknown_sku` / `unknown_location`: what a change that names a SKU (inventory key, order,
    shipment or return lines) or a location (inventory key, return location, order warehouse,
    shipment ship_from) the hub has no record of gets: `accept` it as it is (the default),
    `quarantine` it, or `auto_create` a minimal record (a `draft` product; a location). `units`:
    `convert` quantities given in another unit than the SKU's base unit (`uom: case`) to base
    units with the product's `units`, or `accept` them as sent (the default).
    """

    unknown_sku: UnknownPolicy = "accept"
    unknown_location: UnknownPolicy = "accept"
    units: Literal["accept", "convert"] = "accept"


class SyncMap(Section):
    """The whole sync map. Built by `config.loader`, which also checks the cross-references."""

    store: str = "sqlite:///logisync.db"
    api: ApiConfig = ApiConfig()
    limits: Limits = Limits()
    idempotency_window: Seconds = 7 * 86400
    systems: dict[Name, SystemConfig] = {}
    owners: dict[str, str | OwnerRule] = {}
    routes: list[RouteConfig] = []
    quality: QualityConfig = QualityConfig()
    logging: LoggingConfig = LoggingConfig()
    reconcile: list[ReconcileConfig] = []  # snapshots compared with the golden records (config/reconcile.py)
    alerts: AlertsConfig | None = None  # channels and rules: who is told what, and when (config/alerts.py)
