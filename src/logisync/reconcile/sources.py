"""Where a snapshot comes from: a file (CSV, JSON, NDJSON), an HTTP endpoint a page at a time, or a
query on a system's database. Each gives the diff engine a `SnapshotInput` and the time the
snapshot was taken (deliveries settled after it still explain a difference)."""

from __future__ import annotations

import asyncio
import os
import socket
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

import aiohttp
import orjson
import pyarrow as pa

from .. import __version__
from ..config.edi import EdiPartnerConfig
from ..config.reconcile import FORMATS, HttpSource, QuerySource, SourceConfig
from ..connectors.http import refused_address
from ..domain.change import now_us
from ..redact import redact_url
from .diff import SnapshotInput
from .errors import SnapshotError, SnapshotUnavailable

Progress = Callable[[int], None]  # rows read so far


@dataclass(slots=True)
class Snapshot:
    input: SnapshotInput
    taken_us: int  # when the system's view was taken
    source: str  # for the run history: the file, URL or query


@contextmanager
def open_snapshot(
    config: SourceConfig,
    *,
    columns: Mapping[str, str],
    expected: Sequence[str],
    env: Mapping[str, str] | None = None,
    progress: Progress | None = None,
    partner: tuple[str, EdiPartnerConfig | None] = ("", None),
) -> Iterator[Snapshot]:
    """The snapshot a source names, ready for the engine (a temporary file lives until exit).
    `partner`: the system and its EDI settings, for an X12 846 file."""
    env = os.environ if env is None else env
    if config.file is not None:
        yield file_snapshot(Path(config.file), config.format, columns, partner)
    elif config.http is not None:
        with tempfile.TemporaryDirectory(prefix="logisync-snapshot-") as folder:
            yield http_snapshot(config.http, Path(folder), columns, expected, env, progress)
    elif config.query is not None:
        yield query_snapshot(config.query, columns, env)
    else:  # pragma: no cover - the model requires one
        raise SnapshotError("the source names no file, http or query")


def file_snapshot(
    path: Path,
    fmt: str | None,
    columns: Mapping[str, str],
    partner: tuple[str, EdiPartnerConfig | None] = ("", None),
) -> Snapshot:
    """A CSV (with a header), a JSON array of objects, NDJSON, or an X12 846 (`.x12`, `.edi`);
    taken when the file was written."""
    fmt = fmt or path.suffix.lower().lstrip(".")
    if fmt == "jsonl":
        fmt = "ndjson"
    if fmt in ("x12", "edi"):
        fmt = "x12-846"
    if fmt not in (*FORMATS, "x12-846"):
        raise SnapshotError(
            f"{path}: cannot tell the format from the name (give --format csv, json, ndjson or x12-846)"
        )
    try:
        taken = int(path.stat().st_mtime * 1_000_000)
    except OSError as exc:
        raise SnapshotError(f"{path}: {exc.strerror or exc}") from None
    if not path.is_file():
        raise SnapshotError(f"{path}: not a file")
    if fmt == "x12-846":
        from .x12_source import read_846

        table = read_846(path, *partner)
        return Snapshot(SnapshotInput(str(path), table=table, columns=dict(columns)), taken, str(path))
    return Snapshot(SnapshotInput(str(path), path=path, format=fmt, columns=dict(columns)), taken, str(path))


# -- HTTP ---------------------------------------------------------------------------------------


def at_path(doc: Any, path: str | None) -> Any:
    """The value at a dotted path (`data.items`), or None."""
    if not path:
        return doc
    for part in path.split("."):
        if not isinstance(doc, dict) or part not in doc:
            return None
        doc = doc[part]
    return doc


def page_url(url: str, param: str, page: int, size_param: str | None, size: int) -> str:
    """`url` with the page number (and page size) set in its query."""
    parts = urlsplit(url)
    query = [
        (k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k not in (param, size_param)
    ]
    query.append((param, str(page)))
    if size_param:
        query.append((size_param, str(size)))
    return urlunsplit(parts._replace(query=urlencode(query)))


def _check_host(url: str, allow_private: bool) -> None:
    if allow_private:
        return
    host = urlsplit(url).hostname or ""
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    except OSError as exc:
        raise SnapshotUnavailable(f"{redact_url(url)}: cannot resolve {host}: {exc}") from None
    for address in addresses:
        reason = refused_address(str(address))
        if reason:
            raise SnapshotError(f"{redact_url(url)}: {reason.replace('deliver there', 'read from it')}")


def http_snapshot(
    config: HttpSource,
    folder: Path,
    columns: Mapping[str, str],
    expected: Sequence[str],
    env: Mapping[str, str],
    progress: Progress | None = None,
) -> Snapshot:
    """Every page of an HTTP snapshot, written to an NDJSON file as it arrives (memory stays flat)."""
    headers = {"accept": "application/json", "user-agent": f"logisync/{__version__}", **config.headers}
    if config.token_env:
        token = env.get(config.token_env)
        if not token:
            raise SnapshotError(f"the token variable {config.token_env} is not set")
        headers["authorization"] = f"Bearer {token}"
    taken = now_us()
    path = folder / "snapshot.ndjson"
    rows = asyncio.run(_fetch_pages(config, headers, path, progress))
    label = redact_url(config.url)
    if rows == 0:  # nothing to read a schema from: an empty table with the columns asked for
        empty = pa.table({name: pa.array([], pa.string()) for name in expected})
        return Snapshot(SnapshotInput(label, table=empty, columns=dict(columns)), taken, label)
    return Snapshot(SnapshotInput(label, path=path, format="ndjson", columns=dict(columns)), taken, label)


async def _fetch_pages(
    config: HttpSource, headers: dict[str, str], path: Path, progress: Progress | None
) -> int:
    timeout = aiohttp.ClientTimeout(total=config.timeout)
    rows = 0
    url: str | None = (
        page_url(config.url, config.page_param, 1, config.page_size_param, config.page_size)
        if config.page_param
        else config.url
    )
    async with aiohttp.ClientSession(timeout=timeout, cookie_jar=aiohttp.DummyCookieJar()) as session:
        with path.open("wb") as out:
            for page in range(1, config.max_pages + 1):
                if url is None:
                    return rows
                _check_host(url, config.allow_private_network)
                doc = await _get(session, url, headers)
                items = at_path(doc, config.items)
                if not isinstance(items, list):
                    where = f"at {config.items!r}" if config.items else "(the answer itself)"
                    raise SnapshotError(f"{redact_url(url)}: page {page} has no list of rows {where}")
                for i, item in enumerate(items):
                    if not isinstance(item, dict):
                        raise SnapshotError(f"{redact_url(url)}: page {page}, row {i + 1} is not an object")
                    out.write(orjson.dumps(item) + b"\n")
                rows += len(items)
                if progress:
                    progress(rows)
                if config.page_param:
                    url = (
                        page_url(
                            config.url, config.page_param, page + 1, config.page_size_param, config.page_size
                        )
                        if items
                        else None
                    )
                else:
                    link = at_path(doc, config.next) if config.next else None
                    url = urljoin(url, link) if isinstance(link, str) and link else None
            if url is not None:
                raise SnapshotError(
                    f"{redact_url(config.url)}: more than {config.max_pages} pages (raise max_pages)"
                )
    return rows


async def _get(session: aiohttp.ClientSession, url: str, headers: dict[str, str]) -> Any:
    try:
        async with session.get(url, headers=headers, allow_redirects=False) as response:
            body = await response.read()
            if response.status >= 500 or response.status == 429:
                raise SnapshotUnavailable(f"{redact_url(url)}: answered {response.status}; try again later")
            if response.status != 200:
                raise SnapshotError(f"{redact_url(url)}: answered {response.status}: {body[:200]!r}")
    except (aiohttp.ClientError, TimeoutError) as exc:
        raise SnapshotUnavailable(f"{redact_url(url)}: {type(exc).__name__}: {exc}") from None
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise SnapshotError(f"{redact_url(url)}: the answer is not JSON ({exc})") from None


# -- a database query ---------------------------------------------------------------------------


def query_snapshot(config: QuerySource, columns: Mapping[str, str], env: Mapping[str, str]) -> Snapshot:
    """The rows of a query on a system's database (SQLite file or PostgreSQL), as Arrow columns."""
    url = env.get(config.url_env)
    if not url:
        raise SnapshotError(f"the database URL variable {config.url_env} is not set")
    label = f"query on {redact_url(url)}"
    taken = now_us()
    try:
        table = _run_query(url, config.sql)
    except SnapshotError:
        raise
    except Exception as exc:  # the driver's own errors: bad SQL, a refused connection
        message = str(exc).replace(url, redact_url(url)).strip().splitlines()
        raise SnapshotError(f"{label}: {message[0] if message else type(exc).__name__}") from None
    return Snapshot(SnapshotInput(label, table=table, columns=dict(columns)), taken, label)


def _run_query(url: str, sql: str) -> pa.Table:
    if url.startswith("sqlite:"):
        import adbc_driver_sqlite.dbapi as sqlite_adbc

        from ..store.sqlite import parse_sqlite_url

        path, _ = parse_sqlite_url(url)
        if not Path(path).is_file():
            raise SnapshotError(f"query on {url}: no such database file")
        with sqlite_adbc.connect(path) as conn, conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetch_arrow_table()
    if url.startswith(("postgresql:", "postgres:")):
        import adbc_driver_postgresql.dbapi as pg_adbc

        with pg_adbc.connect(url) as conn, conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetch_arrow_table()
    raise SnapshotError(f"query on {redact_url(url)}: a database URL is sqlite:///FILE or postgresql://...")
