"""The `logisync` command."""

from __future__ import annotations

from pathlib import Path

import typer

from .config import load_syncmap
from .errors import LogisyncError

app = typer.Typer(
    help="logisync: keep logistics data in sync across WMS, ERP, carriers and channels.",
    no_args_is_help=True,
    add_completion=False,
)

ConfigOption = typer.Option(
    Path("logisync.yaml"), "--config", "-c", help="the sync map file", envvar="LOGISYNC_CONFIG"
)


def _fail(exc: LogisyncError) -> typer.Exit:
    typer.secho(str(exc), err=True, fg=typer.colors.RED)
    return typer.Exit(code=2)


@app.command()
def serve(
    config: Path = ConfigOption,
    host: str | None = typer.Option(None, help="address to listen on (default: api.host from the sync map)"),
    port: int | None = typer.Option(None, help="port to listen on (default: api.port; 0 picks a free one)"),
    store: str | None = typer.Option(None, help="store URL, overriding the sync map's `store`"),
) -> None:
    """Run the hub: the HTTP API (and, as they land, dispatchers and connectors)."""
    from .api.server import serve as run_server

    try:
        syncmap = load_syncmap(config)
        run_server(syncmap, host=host, port=port, store_url=store)
    except LogisyncError as exc:
        raise _fail(exc) from None


def main() -> None:
    app()
