"""Shared fixtures: both stores (real SQLite files, a real PostgreSQL database), a sync map."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import psycopg
import pytest

from fixtures.pg import data_tables
from logisync.config import SyncMap, parse_syncmap
from logisync.store import open_store
from logisync.store.base import Store

PG_ADMIN_URL = os.environ.get("LOGISYNC_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


SYNCMAP_YAML = """\
systems:
  wms:  {kind: wms, auth: {api_key_env: TEST_WMS_KEY}}
  erp:  {kind: erp, auth: {api_key_env: TEST_ERP_KEY}}
  shop: {kind: marketplace, auth: {api_key_env: TEST_SHOP_KEY}}
  carrier: {kind: carrier, auth: {api_key_env: TEST_CARRIER_KEY}}
owners:
  product: erp
  location: erp
  inventory.quantities: wms
  order.lines: shop
  order.fulfillment: wms
  shipment: wms
  tracking: carrier
  product.pricing: {system: shop, on_conflict: propose}
routes:
  - {name: stock-to-shop, domain: inventory, to: shop, filter: {sku_prefix: [SKU-]}}
  - {name: orders-to-wms, domain: order, to: wms}
  - {name: tracking-to-shop, domain: tracking, to: shop}
"""


@pytest.fixture
def syncmap() -> SyncMap:
    return parse_syncmap(SYNCMAP_YAML, "test.yaml", env={})


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """A database of its own for this test run, dropped at the end."""
    name = f"logisync_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def postgres_store(pg_url: str) -> Iterator[Store]:
    store = open_store(pg_url)
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f"TRUNCATE {', '.join(data_tables(conn))} RESTART IDENTITY")
        conn.execute("ALTER SEQUENCE changes_seq RESTART WITH 1")
    try:
        yield store
    finally:
        store.close()


@pytest.fixture
def sqlite_store(tmp_path) -> Iterator[Store]:
    store = open_store(f"sqlite:///{tmp_path / 'hub.db'}")
    try:
        yield store
    finally:
        store.close()


@pytest.fixture(params=["sqlite", "postgres"])
def store(request) -> Store:
    """The same test against both stores."""
    return request.getfixturevalue(f"{request.param}_store")
