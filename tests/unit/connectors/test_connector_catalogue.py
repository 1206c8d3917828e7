"""The catalogue: every connector has the same shape, and listing them imports nothing heavy."""

from __future__ import annotations

import subprocess
import sys

import pytest

from logisync.connectors import BUILTIN, ConnectorSpec, catalogue, connector


@pytest.mark.parametrize("name", sorted(BUILTIN))
def test_every_builtin_connector_has_the_common_shape(name):
    module = connector(name)
    assert isinstance(module.SPEC, ConnectorSpec) and module.SPEC.name == name
    assert hasattr(module, "Settings")
    if "out" in module.SPEC.directions:
        assert callable(module.encode)
    caps = module.SPEC.capabilities
    assert caps.max_batch >= 1 and (caps.batching or caps.max_batch == 1)


def test_the_catalogue_lists_the_builtins():
    assert catalogue()["http"] == "logisync.connectors.http"


def test_an_unknown_connector_names_the_known_ones():
    with pytest.raises(KeyError, match=r"known: .*http"):
        connector("carrier-pigeon")


def test_importing_the_catalogue_loads_no_network_library():
    code = "import sys, logisync.connectors, logisync.delivery.retry; print('aiohttp' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
