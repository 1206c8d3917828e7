"""The SQLite store's URL: where the file is, and the PRAGMAs a URL may change."""

from __future__ import annotations

import pytest

from logisync.errors import ConfigError
from logisync.store.sqlite import PRAGMAS, parse_sqlite_url


def test_relative_absolute_and_memory_paths():
    assert parse_sqlite_url("sqlite:///logisync.db")[0] == "logisync.db"
    assert parse_sqlite_url("sqlite:///data/hub.db")[0] == "data/hub.db"
    assert parse_sqlite_url("sqlite:////var/lib/hub.db")[0] == "/var/lib/hub.db"
    assert parse_sqlite_url("sqlite:///:memory:")[0] == ":memory:"


def test_durable_by_default():
    _, pragmas = parse_sqlite_url("sqlite:///hub.db")
    assert pragmas == PRAGMAS
    assert pragmas["journal_mode"] == "wal"
    assert pragmas["synchronous"] == "full"


def test_a_url_may_change_a_known_pragma_only():
    _, pragmas = parse_sqlite_url("sqlite:///hub.db?synchronous=normal")
    assert pragmas["synchronous"] == "normal"
    assert PRAGMAS["synchronous"] == "full"  # the defaults are not modified
    with pytest.raises(ConfigError, match=r"unknown SQLite setting 'colour'"):
        parse_sqlite_url("sqlite:///hub.db?colour=blue")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("postgresql://localhost/hub", "not a SQLite URL"),
        ("sqlite://", "names no file"),
        ("sqlite:///", "names no file"),
    ],
)
def test_bad_urls_say_what_to_write(url, message):
    with pytest.raises(ConfigError, match=message):
        parse_sqlite_url(url)
