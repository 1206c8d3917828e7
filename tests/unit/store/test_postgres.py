"""PostgreSQL store helpers: advisory-lock buckets, and URLs shown without their passwords."""

from __future__ import annotations

import pytest

from logisync.errors import StoreError
from logisync.store.postgres import _LOCK_SPACE, LOCK_BUCKETS, PostgresStore, _lock_bucket


def test_keys_lock_a_bounded_number_of_stable_buckets():
    keys = [f"r:inventory/SKU-{i}@DC1" for i in range(20_000)] + ["", "i:wms/c1"]
    buckets = [_lock_bucket(k) for k in keys]
    assert {b - _LOCK_SPACE for b in buckets} == set(range(LOCK_BUCKETS))  # all used, no more
    assert [_lock_bucket(k) for k in keys] == buckets  # stable


def test_a_refused_connection_names_the_server_but_not_the_password():
    with pytest.raises(StoreError) as refused:
        PostgresStore("postgresql://hub:s3cret@127.0.0.1:1/logisync?connect_timeout=2")
    assert "127.0.0.1:1" in str(refused.value)
    assert "s3cret" not in str(refused.value)
