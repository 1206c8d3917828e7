"""PostgreSQL store helpers: advisory-lock buckets, and URLs shown without their passwords."""

from __future__ import annotations

from logisync.store.postgres import _LOCK_SPACE, LOCK_BUCKETS, _lock_bucket, _safe


def test_keys_lock_a_bounded_number_of_stable_buckets():
    keys = [f"r:inventory/SKU-{i}@DC1" for i in range(20_000)] + ["", "i:wms/c1"]
    buckets = [_lock_bucket(k) for k in keys]
    assert {b - _LOCK_SPACE for b in buckets} == set(range(LOCK_BUCKETS))  # all used, no more
    assert [_lock_bucket(k) for k in keys] == buckets  # stable


def test_urls_in_messages_never_show_the_password():
    shown = _safe("postgresql://hub:s3cret@db.example:5432/logisync")
    assert "s3cret" not in shown
    assert "host=db.example" in shown
    assert "user=hub" in shown
    assert _safe("postgresql://hub@db.example/logisync?password=s3cret").find("s3cret") == -1
    assert _safe("not a url at all ===") == "<unparseable URL>"
