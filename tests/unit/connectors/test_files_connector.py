"""The files connector's pure functions: a row becomes a change, a record becomes a row."""

from __future__ import annotations

import subprocess
import sys

import pytest

from logisync.config.files import FileExport, FileImport
from logisync.connectors import connector
from logisync.domain.record import RecordState
from logisync.files.mapping import RowError

STOCK = FileImport.model_validate(
    {
        "name": "s",
        "domain": "inventory",
        "format": "csv",
        "fields": {"sku": "A", "location": "B", "on_hand": {"from": "C", "type": "int"}},
    }
)


def test_decode_and_encode():
    files = connector("files")
    change = files.decode(STOCK, ["SKU-1", "DC1", "4"], "f:2", header=["A", "B", "C"])
    assert (change.key, change.fields) == ("SKU-1@DC1", {"on_hand": 4})
    with pytest.raises(RowError, match="column C"):
        files.decode(STOCK, ["SKU-1", "DC1", "four"], "f:3", header=["A", "B", "C"])
    export = FileExport.model_validate(
        {
            "name": "e",
            "domain": "inventory",
            "format": "csv",
            "schedule": "@daily",
            "columns": {"Item": "sku", "Free": "available"},
        }
    )
    record = RecordState("inventory", "SKU-1@DC1", {"on_hand": 5, "allocated": 2})
    assert files.encode(export, record) == {"Item": "SKU-1", "Free": 3}


def test_the_connector_loads_no_ssh_library():
    """asyncssh is imported by the SFTP transport when it connects, not by the catalogue."""
    code = "import sys, logisync.connectors.files, logisync.files.service; print('asyncssh' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
