"""The sync map's `reconcile` section: which system's snapshot of which domain is compared with
the golden records, from where, how often, and what is done with the variances."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from croniter import croniter
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..domain.kinds import Domain
from .urls import HttpUrl

if TYPE_CHECKING:
    from .model import SyncMap

EnvName = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")]
FieldName = Annotated[str, Field(pattern=r"^[a-z_][a-z0-9_]{0,63}$")]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class HttpSource(_Section):
    """A snapshot served over HTTP, a page at a time.

    Each page is JSON; `items` is the dotted path of the list of rows in it (none: the answer is
    the list). The next page is the URL at `next` in the answer (absolute or relative), or, with
    `page_param`, the same URL with that parameter counting up from 1 until a page comes back
    empty. `token_env` names the variable holding a bearer token; `headers` are sent as they are.
    """

    url: HttpUrl
    items: str | None = None
    next: str | None = None
    page_param: str | None = None
    page_size_param: str | None = None
    page_size: int = Field(default=1000, ge=1, le=100_000)
    max_pages: int = Field(default=10_000, ge=1)
    headers: dict[str, str] = {}
    token_env: EnvName | None = None
    timeout: float = Field(default=30.0, gt=0)
    allow_private_network: bool = False

    @model_validator(mode="after")
    def _one_way_to_page(self) -> HttpSource:
        if self.next and self.page_param:
            raise ValueError("give `next` (a link in each page) or `page_param` (a page number), not both")
        return self


class QuerySource(_Section):
    """A snapshot read from a system's database: `sql` run on the database whose URL
    (`sqlite:///FILE` or `postgresql://...`) is in the variable `url_env` (it holds a password)."""

    url_env: EnvName
    sql: str = Field(min_length=1)


class SourceConfig(_Section):
    """Where the snapshot comes from: exactly one of `file`, `http`, `query`."""

    file: str | None = None
    format: Literal["csv", "json", "ndjson", "x12-846"] | None = None  # default: from the file's suffix
    http: HttpSource | None = None
    query: QuerySource | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> SourceConfig:
        given = [name for name in ("file", "http", "query") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError(f"a source is one of file, http, query (given: {', '.join(given) or 'none'})")
        if self.file is not None and self.format is None and self.file.rsplit(".", 1)[-1] not in FORMATS:
            raise ValueError(
                f"cannot tell the format of {self.file!r}: name it (format: csv, json or ndjson)"
            )
        return self


FORMATS = ("csv", "json", "ndjson", "x12", "edi")  # what a file's suffix may say (.x12/.edi: an 846)


class FieldConfig(_Section):
    """One compared field: a `number` within `tolerance` (units) or `tolerance_pct` (% of the
    hub's value), or `text`, compared exactly."""

    kind: Literal["number", "text"] = "number"
    tolerance: float = Field(default=0, ge=0)
    tolerance_pct: float = Field(default=0, ge=0, le=100)


class CorrectionsConfig(_Section):
    """What is done with the variances. `report`: nothing but the report. `auto`: corrections are
    pushed when the run's variances stay within `max_keys` keys and `max_units_pct` % of the units
    the hub holds; past either, nothing is pushed and one exception waits for a person.

    When the system is the owner of the compared fields (a WMS count), the corrections update the
    golden records through the pipeline instead; otherwise they go out on `route` (default: the
    live route of the domain to the system, when there is exactly one)."""

    mode: Literal["report", "auto"] = "report"
    route: str | None = None
    max_keys: int = Field(default=100, ge=0)
    max_units_pct: float = Field(default=1.0, ge=0, le=100)


class ReconcileConfig(_Section):
    """One reconciliation: `system`'s snapshot of `domain` against the golden records."""

    name: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_\-]{0,49}$")] | None = None  # default SYSTEM-DOMAIN
    system: str
    domain: Domain
    source: SourceConfig | None = None  # none: by hand only (`logisync reconcile --file`)
    columns: dict[str, str] = {}  # canonical name -> the snapshot's column name
    fields: dict[FieldName, FieldConfig] | None = None  # default for inventory: on_hand
    schedule: str | None = None  # a cron expression; none: by hand only
    reports: str = "reconcile-reports"  # the folder each run's variance file goes to
    corrections: CorrectionsConfig = CorrectionsConfig()

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is not None and not croniter.is_valid(value):
            raise ValueError(f"schedule {value!r} is not a cron expression")
        return value

    @property
    def label(self) -> str:
        return self.name or f"{self.system}-{self.domain.value}"


def check_reconcile(syncmap: SyncMap) -> list[tuple[tuple[Any, ...], str]]:
    """What the schema cannot see: the systems and routes a reconciliation names."""
    problems: list[tuple[tuple[Any, ...], str]] = []
    known = ", ".join(sorted(syncmap.systems)) or "none defined"
    seen: dict[str, int] = {}
    for i, rec in enumerate(syncmap.reconcile):
        if rec.label in seen:
            problems.append(((("reconcile", i, "name")), f"two reconciliations are named {rec.label!r}"))
        seen.setdefault(rec.label, i)
        if rec.system not in syncmap.systems:
            problems.append((("reconcile", i, "system"), f"unknown system {rec.system!r} (known: {known})"))
        if rec.domain != Domain.inventory and not rec.fields:
            problems.append(
                (
                    ("reconcile", i, "fields"),
                    f"name the fields to compare for {rec.domain.value} (e.g. status)",
                )
            )
        route = rec.corrections.route
        if route is not None:
            match = [r for r in syncmap.routes if r.name == route]
            if not match:
                problems.append((("reconcile", i, "corrections", "route"), f"unknown route {route!r}"))
            elif match[0].to != rec.system or match[0].domain != rec.domain:
                problems.append(
                    (
                        ("reconcile", i, "corrections", "route"),
                        f"route {route!r} carries {match[0].domain.value} to {match[0].to}, "
                        f"not {rec.domain.value} to {rec.system}",
                    )
                )
    return problems
