"""The `files` section of a system: file imports and exports, and the folder or SFTP they travel by.

```yaml
systems:
  erp:
    kind: erp
    connector: files
    files:
      inbox: {folder: /srv/erp/in, schedule: "*/5 * * * *"}          # or with sftp: {...}
      outbox: {folder: /srv/erp/out}
      imports:
        - {name: erp-stock, domain: inventory, format: csv, match: "stock*.csv",
           fields: {sku: {from: ItemNo, xref: sku}, location: {from: Whse, default: DC1},
                    on_hand: {from: Qty, type: int}}}
      exports:
        - {name: nightly-stock, domain: inventory, format: csv, schedule: "0 2 * * *",
           columns: {ItemNo: sku, Whse: location, Qty: on_hand}}
```

The checks that need the domain catalogue (field names, key templates) are in `files/mapping.py`,
called from here so a wrong mapping fails when the sync map loads, naming the line.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from croniter import croniter
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..domain.kinds import Domain
from .durations import parse_duration

FileFormat = Literal["csv", "json", "ndjson", "x12"]
ValueType = Literal["str", "int", "decimal", "bool", "date", "datetime"]
_NAME = r"^[a-z][a-z0-9_\-]{0,49}$"
_ENV = r"^[A-Za-z_][A-Za-z0-9_]*$"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


def _cron(value: str) -> str:
    if croniter.is_valid(value):
        return value
    raise ValueError(f"schedule {value!r} is not a cron expression (e.g. '*/5 * * * *', '@hourly')")


class UnitConversion(_Section):
    """A measure given in one unit, kept in another: `{from: lb, to: kg}` (see `domain/measures.py`)."""

    from_: str = Field(alias="from")
    to: str


class FieldSpec(_Section):
    """Where one value of a row comes from and how it is read.

    `from` is a CSV column (by its header name) or a dotted path into a JSON object; a value
    written alone (`on_hand: Qty`) is the same as `{from: Qty}`. An empty or missing value takes
    `default`; without one the field is left out, unless it is `required` (then the row is bad).
    """

    from_: str | None = Field(default=None, alias="from")
    type: ValueType = "str"
    format: str | None = None  # strptime format for date / datetime (default: ISO 8601)
    default: Any = None
    required: bool = False
    values: dict[str, Any] | None = None  # a code table: {A: active, I: inactive}; another code is bad
    unit: UnitConversion | None = None  # decimal/int measures only
    xref: Literal["sku", "location", "service"] | None = None  # translate through the system's table
    strip: bool = True

    @model_validator(mode="before")
    @classmethod
    def _shorthand(cls, value: Any) -> Any:
        return {"from": value} if isinstance(value, str) else value

    @model_validator(mode="after")
    def _sound(self) -> FieldSpec:
        if self.from_ is None and self.default is None:
            raise ValueError("give `from` (a column or path) or a `default`")
        if self.unit is not None and self.type not in ("int", "decimal"):
            raise ValueError(f"`unit` converts numbers; this field is a {self.type}")
        if self.format is not None and self.type not in ("date", "datetime"):
            raise ValueError("`format` is for date and datetime fields")
        return self


class CsvOptions(_Section):
    delimiter: str = Field(default=",", min_length=1, max_length=1)
    quotechar: str = Field(default='"', min_length=1, max_length=1)
    encoding: Literal["utf-8", "latin-1", "cp1252"] = "utf-8"


class FileImport(_Section):
    """How one kind of file from this system becomes changes of one domain.

    `key` and `id` are templates over the mapped values (`{sku}@{location}`); a value used only in
    them need not be a field of the domain. Without `id`, a row's change id is the file's content
    hash and the row's line (`3f9a…:12`): the same bytes twice are duplicates, a corrected file is
    new. Give `id` when the source has its own (needed for stock movements that must apply once).
    """

    name: Annotated[str, Field(pattern=_NAME)]
    domain: Domain
    format: FileFormat
    match: str | None = None  # a glob on the file name; none: any file of this format
    key: str | None = None  # default: {sku}@{location} for inventory, {sku} for product
    id: str | None = None
    version: FieldSpec | None = None  # orders changes of the same record (int)
    occurred_at: FieldSpec | None = None  # the source's event time (datetime)
    items: str = "item"  # JSON: where the objects are (ijson prefix: `item` for a top-level array)
    csv: CsvOptions = CsvOptions()
    fields: dict[str, FieldSpec] = {}

    @model_validator(mode="after")
    def _mapping(self) -> FileImport:
        if self.format == "x12":
            if self.fields:
                raise ValueError("an x12 import is mapped by its transaction sets, not by `fields`")
            return self
        from ..files.mapping import check_import  # the domain catalogue, kept out of config's imports

        check_import(self)
        return self


class FileExport(_Section):
    """A snapshot of a domain's records written to a file on a schedule (e.g. a nightly stock file).

    `columns` maps a column (CSV) or key (JSON, NDJSON) to a record field: a canonical field, a
    dotted path into one, `key`, or for inventory `sku` and `location` (from the key) and
    `available`. None: the key and every field.
    """

    name: Annotated[str, Field(pattern=_NAME)]
    domain: Domain
    format: Literal["csv", "json", "ndjson"]
    schedule: str
    filename: str | None = None  # default: {name}-{stamp}.{format}; may use {name}, {stamp}, {date}
    columns: dict[str, str] | None = None
    key_prefix: str = ""
    csv: CsvOptions = CsvOptions()

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        return _cron(value)

    @field_validator("filename")
    @classmethod
    def _plain_name(cls, value: str | None) -> str | None:
        if value is None:
            return value
        if "/" in value or "\\" in value or value.startswith("."):
            raise ValueError(f"filename {value!r} must be a plain file name (no folders, no leading dot)")
        from ..files.mapping import template_names

        unknown = sorted(set(template_names(value)) - {"name", "stamp", "date"})
        if unknown:
            raise ValueError(
                f"filename {value!r} may use {{name}}, {{stamp}} and {{date}}, not {', '.join(unknown)}"
            )
        return value

    @model_validator(mode="after")
    def _csv_columns(self) -> FileExport:
        if self.format == "csv" and not self.columns:
            raise ValueError("a csv export needs `columns` (column -> field) to write its header")
        return self


class SftpSettings(_Section):
    """An SFTP server: secrets come only from environment variables named here."""

    host: str
    port: int = Field(default=22, ge=1, le=65535)
    user: str
    path: str = "."  # the remote folder: files are pulled from it, or pushed into it
    password_env: Annotated[str, Field(pattern=_ENV)] | None = None
    key_path_env: Annotated[str, Field(pattern=_ENV)] | None = None  # holds the private key's path
    known_hosts: str | None = None  # a known_hosts file; none: ~/.ssh/known_hosts
    timeout: Annotated[float, Field(gt=0)] = 30.0

    @field_validator("timeout", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        return parse_duration(value)

    @model_validator(mode="after")
    def _some_credential(self) -> SftpSettings:
        if self.password_env is None and self.key_path_env is None:
            raise ValueError("name password_env or key_path_env: the environment variable with the secret")
        return self


class FileInbox(_Section):
    """Where this system's files arrive: a local folder, filled from an SFTP folder when `sftp` is set."""

    folder: str
    sftp: SftpSettings | None = None
    schedule: str = "* * * * *"
    settle: Annotated[float, Field(ge=0, le=600)] = 1.0  # seconds between the two looks at a file's size

    @field_validator("schedule")
    @classmethod
    def _schedule(cls, value: str) -> str:
        return _cron(value)

    @field_validator("settle", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> Any:
        return parse_duration(value)


class FileOutbox(_Section):
    """Where exports for this system are written; pushed on to an SFTP folder when `sftp` is set."""

    folder: str
    sftp: SftpSettings | None = None


def check_files_xref(files: FilesConfig, xref: Mapping[Any, str] | None) -> None:
    """A field may translate ids through the xref tables only where the pipeline does not already:
    for a system whose `xref` names the kind, its inventory keys, lines and the like are translated
    on ingest (pipeline/translate.py), and translating twice would look up a canonical key."""
    declared = {str(kind): name for kind, name in (xref or {}).items()}
    for spec in files.imports:
        for field_name, fs in spec.fields.items():
            if fs.xref is not None and fs.xref in declared:
                raise ValueError(
                    f"files.imports[{spec.name}].fields.{field_name}: the hub already translates this system's "
                    f"{fs.xref} ids on ingest (its `xref: {{{fs.xref}: {declared[fs.xref]}}}`): leave `xref` out here"
                )


class FilesConfig(_Section):
    inbox: FileInbox | None = None
    outbox: FileOutbox | None = None
    imports: list[FileImport] = []
    exports: list[FileExport] = []

    @model_validator(mode="after")
    def _names(self) -> FilesConfig:
        for kind, items in (("import", self.imports), ("export", self.exports)):
            seen: set[str] = set()
            for item in items:
                if item.name in seen:
                    raise ValueError(f"two {kind}s are called {item.name!r}")
                seen.add(item.name)
        if self.exports and self.outbox is None:
            raise ValueError("exports need an `outbox: {folder: ...}` to be written to")
        return self
