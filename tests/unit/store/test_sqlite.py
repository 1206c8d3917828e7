"""The SQLite store's URL: where the file is, and the PRAGMAs a URL may change."""

from __future__ import annotations

import pytest

from logisync.errors import ConfigError
from logisync.store.sqlite import PRAGMAS, connect, parse_sqlite_url


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
    ("query", "name", "value"),
    [
        ("synchronous=NORMAL", "synchronous", "normal"),
        ("synchronous=extra", "synchronous", "extra"),
        ("journal_mode=WAL", "journal_mode", "wal"),
        ("cache_size=-2000", "cache_size", "-2000"),
        ("cache_size=500", "cache_size", "500"),
        ("busy_timeout=0", "busy_timeout", "0"),
        ("temp_store=file", "temp_store", "file"),
        ("foreign_keys=on", "foreign_keys", "on"),
    ],
)
def test_a_setting_takes_one_of_its_known_values(query, name, value):
    assert parse_sqlite_url(f"sqlite:///hub.db?{query}")[1][name] == value


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("synchronous=off", "synchronous='off' is not allowed (allowed: normal, full, extra)"),
        (
            "synchronous=full;%20DROP%20TABLE%20records",
            "synchronous='full; DROP TABLE records' is not allowed",
        ),
        ("journal_mode=delete", "journal_mode='delete' is not allowed (allowed: wal)"),
        ("journal_mode=memory", "journal_mode='memory' is not allowed (allowed: wal)"),
        ("cache_size=1;x", "cache_size='1;x' is not allowed (allowed: an integer)"),
        ("cache_size=2.5", "cache_size='2.5' is not allowed (allowed: an integer)"),
        ("busy_timeout=", "busy_timeout='' is not allowed (allowed: an integer)"),
        ("busy_timeout=10s", "busy_timeout='10s' is not allowed (allowed: an integer)"),
        ("busy_timeout=99999999999999999999", "busy_timeout='99999999999999999999' is not allowed"),
        ("temp_store=2", "temp_store='2' is not allowed (allowed: default, file, memory)"),
        ("foreign_keys=1", "foreign_keys='1' is not allowed (allowed: on, off)"),
    ],
)
def test_a_setting_outside_its_known_values_is_refused(query, message):
    with pytest.raises(ConfigError) as info:
        parse_sqlite_url(f"sqlite:///hub.db?{query}")
    assert str(info.value).startswith(f"SQLite setting {message}")


def test_connect_checks_the_settings_too():
    with pytest.raises(ConfigError, match=r"synchronous='off; x' is not allowed"):
        connect(":memory:", {**PRAGMAS, "synchronous": "off; x"})
    conn = connect(":memory:", {**PRAGMAS, "synchronous": "NORMAL", "busy_timeout": "1234"})
    try:
        assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
        assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 1234
    finally:
        conn.close()


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
