"""monitor/logs.py: JSON lines carry the bound ids and the record's own, and never a secret."""

from __future__ import annotations

import io
import json
import logging

import pytest

from logisync.config import parse_syncmap
from logisync.monitor import logs


@pytest.fixture
def stream():
    out = io.StringIO()
    logs.configure("json", "debug", secrets=["s3cret-value"], redact=["email"], stream=out)
    yield out
    logs.unconfigure()


def lines(out: io.StringIO) -> list[dict]:
    return [json.loads(x) for x in out.getvalue().splitlines()]


def test_bound_ids_and_extra_fields_are_on_each_line(stream):
    log = logging.getLogger("logisync.test")
    with logs.bound(request_id="r1"):
        with logs.bound(batch_id="b1"):
            log.info("inner", extra={"change_id": "c1"})
        log.warning("outer %s", "x")
    log.info("after")
    inner, outer, after = lines(stream)
    assert inner["msg"] == "inner" and inner["level"] == "info" and inner["logger"] == "logisync.test"
    assert (inner["request_id"], inner["batch_id"], inner["change_id"]) == ("r1", "b1", "c1")
    assert outer["msg"] == "outer x" and outer["request_id"] == "r1" and "batch_id" not in outer
    assert "request_id" not in after
    assert inner["ts"].endswith("Z")


def test_secrets_and_sensitive_fields_never_appear(stream):
    log = logging.getLogger("logisync.test")
    log.info(
        "key is s3cret-value", extra={"fields": {"email": "a@b.c"}, "token": "t", "url": "http://u:pw@h/"}
    )
    text = stream.getvalue()
    assert "s3cret-value" not in text and "a@b.c" not in text and "pw@" not in text
    (line,) = lines(stream)
    assert line["msg"] == "key is [redacted]"
    assert line["fields"] == {"email": "[redacted]"} and line["token"] == "[redacted]"


def test_text_format_appends_the_ids():
    out = io.StringIO()
    logs.configure("text", "info", stream=out)
    try:
        with logs.bound(request_id="r1"):
            logging.getLogger("logisync.test").info("hello", extra={"change_id": "c 1"})
    finally:
        logs.unconfigure()
    assert out.getvalue().rstrip().endswith('hello request_id=r1 change_id="c 1"')


def test_unconfigure_hands_the_loggers_back():
    logs.configure("json", "debug", stream=io.StringIO())
    logs.unconfigure()
    logger = logging.getLogger("logisync")
    assert logger.propagate and logger.level == logging.NOTSET
    assert not [h for h in logger.handlers if h.get_name() == "logisync"]


def test_unknown_format_or_level_is_refused():
    with pytest.raises(ValueError, match="log format 'xml'"):
        logs.configure("xml")
    with pytest.raises(ValueError, match="log level 'loud'"):
        logs.configure("json", "loud")


def test_secrets_of_reads_every_env_name_the_sync_map_gives():
    syncmap = parse_syncmap(
        """\
api: {admin: {api_key_env: A}, metrics: {token_env: M}}
systems:
  wms: {kind: wms, auth: {api_key_env: W}}
  shop: {kind: marketplace, url: "https://shop.example/hook", signing: {secret_env: S}}
""",
        env={"S": "whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ="},
    )
    env = {
        "A": "admin-k",
        "M": "metrics-t",
        "W": "wms-k",
        "S": "whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ=",
        "X": "no",
    }
    assert sorted(logs.secrets_of(syncmap, env)) == sorted(["admin-k", "metrics-t", "wms-k", env["S"]])
