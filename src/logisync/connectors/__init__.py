"""The catalogue of connectors: the built-in ones by name, others through an entry-point group.

Every connector module exposes the same names: its `Settings`, a `SPEC` (a `ConnectorSpec`),
pure functions that turn deliveries into requests (`encode`) or raw input into changes
(`decode`), and one transport object that does all the I/O. Modules are imported when asked
for, so importing this package loads no network library.

Outside packages add connectors with an entry point in the `logisync.connectors` group whose
value is the module (`myconnector = "my_package.my_connector"`).
"""

from __future__ import annotations

import importlib
from importlib.metadata import entry_points
from types import ModuleType

from .spec import Capabilities, ConnectorSpec

ENTRY_POINT_GROUP = "logisync.connectors"

BUILTIN: dict[str, str] = {
    "http": "logisync.connectors.http",  # signed webhooks and REST calls out
    "webhooks": "logisync.connectors.webhooks",  # signed webhooks in (POST /v1/webhooks/{system})
    "files": "logisync.connectors.files",  # CSV/JSON/NDJSON files in and snapshots out, folder or SFTP
    "edi": "logisync.connectors.edi",  # X12 with trading partners, 997s, acknowledgment tracking
}

__all__ = ["BUILTIN", "ENTRY_POINT_GROUP", "Capabilities", "ConnectorSpec", "catalogue", "connector"]


def catalogue() -> dict[str, str]:
    """Every known connector: name -> module path (built-ins win over a plugin of the same name)."""
    found = {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}
    return {**found, **BUILTIN}


def connector(name: str) -> ModuleType:
    """The connector module called `name`; KeyError names the known ones."""
    known = catalogue()
    if name not in known:
        raise KeyError(f"no connector {name!r} (known: {', '.join(sorted(known))})")
    return importlib.import_module(known[name])
