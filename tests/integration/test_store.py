"""The stores themselves, on both engines: paging, counts, checkpoints, exceptions, migrations."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import closing

import psycopg
import pytest

import logisync.store.sqlite as sqlite_module
from logisync.domain.change import Change
from logisync.domain.kinds import Domain
from logisync.errors import MigrationError
from logisync.pipeline import Pipeline
from logisync.store import open_store
from logisync.store.migrate import migrations

INVENTORY_KEYS = [f"SKU-{i}@DC1" for i in range(25)] + ["SKU-1@DC2", "ABC-1@DC1", "SKV-1@DC1", "SKU10@DC1"]


def inv(cid: str, key: str, **fields) -> Change:
    return Change(id=cid, domain=Domain.inventory, key=key, fields=fields, version=1)


@pytest.fixture
def filled(store, syncmap):
    p = Pipeline(store, syncmap)
    p.ingest("wms", [inv(f"c-{k}", k, on_hand=i) for i, k in enumerate(INVENTORY_KEYS)])
    p.ingest("erp", [Change(id="p1", domain=Domain.product, key="SKU-1", fields={"name": "Mug"})])
    return store


@pytest.mark.parametrize("batch", [1, 2, 3, 7, 1000])
@pytest.mark.parametrize("prefix", ["", "SKU-1", "SKU-", "SKU-1@", "ABC", "SKU", "ZZZ", "A"])
def test_iter_records_pages_through_a_prefix_in_key_order(filled, prefix, batch):
    got = [r.key for r in filled.iter_records("inventory", prefix=prefix, batch=batch)]
    assert got == sorted(k for k in INVENTORY_KEYS if k.startswith(prefix))


def test_iter_records_yields_whole_records_of_one_domain(filled):
    records = list(filled.iter_records("inventory", prefix="SKU-3@", batch=1))
    assert [(r.key, r.fields, r.prov["on_hand"]["c"]) for r in records] == [
        ("SKU-3@DC1", {"on_hand": 3}, "c-SKU-3@DC1")
    ]
    assert [r.key for r in filled.iter_records("product")] == ["SKU-1"]
    assert list(filled.iter_records("order")) == []


def test_count_records(filled):
    assert filled.count_records() == len(INVENTORY_KEYS) + 1
    assert filled.count_records("inventory") == len(INVENTORY_KEYS)
    assert filled.count_records("product") == 1
    assert filled.count_records("order") == 0


def test_get_changes_by_position_across_many(store, syncmap):
    keys = [f"SKU-{i}@DC1" for i in range(1100)]
    Pipeline(store, syncmap).ingest("wms", [inv(f"c{i}", k, on_hand=1) for i, k in enumerate(keys)])
    seqs = [store.get_record("inventory", k).last_seq for k in keys]
    found = store.get_changes(seqs + seqs[:10])
    assert sorted(found) == sorted(seqs)
    assert {found[s].key for s in seqs} == set(keys)
    assert store.get_changes([]) == {}
    assert store.get_changes([10**12]) == {}
    assert store.get_change("wms", "nope") is None


def test_checkpoints(store):
    assert store.get_checkpoint("cdc:erp") is None
    store.set_checkpoint("cdc:erp", "0/16B3748")
    store.set_checkpoint("files:wms", "stock-2024-05-01.csv:120")
    assert store.get_checkpoint("cdc:erp") == "0/16B3748"
    store.set_checkpoint("cdc:erp", "0/16B9000")
    assert store.get_checkpoint("cdc:erp") == "0/16B9000"
    assert store.get_checkpoint("files:wms") == "stock-2024-05-01.csv:120"


def test_checkpoints_survive_a_restart(store):
    store.set_checkpoint("cdc:erp", "0/16B3748")
    store.close()
    again = open_store(store.url)
    try:
        assert again.get_checkpoint("cdc:erp") == "0/16B3748"
    finally:
        again.close()


def test_exceptions_are_listed_in_pages_and_by_kind(store, syncmap):
    p = Pipeline(store, syncmap)
    p.ingest("wms", [inv(f"bad{i}", "SKU-1@DC1", on_hand=-i - 1) for i in range(5)])
    p.ingest("shop", [inv("nope", "SKU-1@DC1", on_hand=1)])
    everything = store.list_exceptions()
    assert [x.change_id for x in everything] == ["bad0", "bad1", "bad2", "bad3", "bad4", "nope"]
    assert all(x.state == "open" and x.assignee is None for x in everything)
    first = store.list_exceptions(limit=2)
    rest = store.list_exceptions(after_id=first[-1].id, limit=10)
    assert first + rest == everything
    assert [x.change_id for x in store.list_exceptions(kind="scope")] == ["nope"]
    assert store.list_exceptions(state="resolved") == []
    assert len(store.list_exceptions(state=None)) == 6
    assert everything[0].created_us == everything[0].updated_us > 0


# -- migrations -------------------------------------------------------------------------------------


def schema_versions(store) -> list[int]:
    """The versions recorded in schema_migrations, read over a connection of our own."""
    if store.dialect == "sqlite":
        with closing(sqlite3.connect(store.path)) as conn:
            return [r[0] for r in conn.execute("SELECT version FROM schema_migrations ORDER BY version")]
    with psycopg.connect(store.url) as conn:
        return [r[0] for r in conn.execute("SELECT version FROM schema_migrations ORDER BY version")]


def run_sql(store, sql: str) -> None:
    if store.dialect == "sqlite":
        with closing(sqlite3.connect(store.path)) as conn, conn:
            conn.execute(sql)
    else:
        with psycopg.connect(store.url, autocommit=True) as conn:
            conn.execute(sql)


def test_migrations_run_once(store, syncmap):
    shipped = [m.version for m in migrations(store.dialect)]
    assert schema_versions(store) == shipped
    Pipeline(store, syncmap).ingest("wms", [inv("c1", "SKU-1@DC1", on_hand=1)])
    assert store.migrate() == []
    second = open_store(store.url)  # a second process opening the same store
    try:
        assert second.migrate() == []
        assert second.get_record("inventory", "SKU-1@DC1").fields == {"on_hand": 1}
    finally:
        second.close()
    assert schema_versions(store) == shipped


def test_a_store_newer_than_the_code_is_refused(store):
    newer = len(migrations(store.dialect)) + 1
    run_sql(store, f"INSERT INTO schema_migrations VALUES ({newer}, 'from_the_future', 0)")
    again = type(store)(store.url)
    try:
        with pytest.raises(MigrationError, match=f"schema is at version {newer}, newer than this logisync"):
            again.migrate()
    finally:
        again.close()
        run_sql(store, f"DELETE FROM schema_migrations WHERE version = {newer}")


def test_open_store_closes_what_it_opened_when_the_store_is_refused(store, monkeypatch):
    """A refused store must not leak its connection (a hub retrying at startup would run out)."""
    newer = len(migrations(store.dialect)) + 1
    run_sql(store, f"INSERT INTO schema_migrations VALUES ({newer}, 'from_the_future', 0)")
    opened, closed = [], []
    cls = type(store)
    real_close, real_migrate = cls.close, cls.migrate

    def migrate(self) -> list[str]:
        opened.append(self)
        return real_migrate(self)

    def close(self) -> None:
        closed.append(self)
        real_close(self)

    monkeypatch.setattr(cls, "migrate", migrate)
    monkeypatch.setattr(cls, "close", close)
    try:
        with pytest.raises(MigrationError):
            open_store(store.url)
        assert len(opened) == 1
        assert closed == opened
    finally:
        for leaked in opened:
            if leaked not in closed:
                real_close(leaked)  # keep the leak out of the other tests
        run_sql(store, f"DELETE FROM schema_migrations WHERE version = {newer}")


def test_a_fresh_sqlite_file_is_migrated_on_open(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'sub' / 'dir' / 'hub.db'}", migrate=False)
    try:
        assert store.migrate() == [f"{m.version:04d}_{m.name}" for m in migrations("sqlite")]
        assert store.migrate() == []
    finally:
        store.close()


def test_two_hub_processes_opening_a_new_sqlite_file_at_once(tmp_path, monkeypatch):
    """`logisync serve` and `logisync ingest` started together on a fresh file: both must open it.

    The other process tries to migrate just after this one has read which versions are applied.
    If this one holds the write lock by then, the other has to wait (here: gives up at once, and
    tries again later, finding nothing to do); if not, it migrates, and this one must not fail.
    """
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    first, second = open_store(url, migrate=False), open_store(url, migrate=False)
    real_pending = sqlite_module.pending

    def pending_while_the_other_migrates(dialect, applied):
        monkeypatch.setattr(sqlite_module, "pending", real_pending)
        second.conn.execute("PRAGMA busy_timeout = 0")
        try:
            second.migrate()
        except sqlite3.OperationalError as exc:
            assert "locked" in str(exc)  # it has to wait for us: fine
        return real_pending(dialect, applied)

    monkeypatch.setattr(sqlite_module, "pending", pending_while_the_other_migrates)
    try:
        first.migrate()
        second.conn.execute("PRAGMA busy_timeout = 10000")
        assert second.migrate() == []
        assert schema_versions(first) == [m.version for m in migrations("sqlite")]
    finally:
        first.close()
        second.close()


# -- PostgreSQL with a linguistic collation --------------------------------------------------------


@pytest.fixture
def icu_postgres_store(pg_url: str) -> Iterator:
    """A store in a database whose default collation is linguistic, as on most Linux servers
    (`en_US.UTF-8`): punctuation is ignored at first, so `SKU10` sorts between `SKU-1@...` keys."""
    admin = pg_url.rsplit("/", 1)[0] + "/postgres"
    name = f"logisync_icu_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        if not conn.execute("SELECT count(*) FROM pg_collation WHERE collprovider = 'i'").fetchone()[0]:
            pytest.skip("this PostgreSQL server is built without ICU")
        conn.execute(
            f"CREATE DATABASE {name} TEMPLATE template0 LOCALE_PROVIDER icu "
            "ICU_LOCALE 'en-US-u-ka-shifted' LOCALE 'C.UTF-8'"
        )
    store = open_store(pg_url.rsplit("/", 1)[0] + f"/{name}")
    try:
        yield store
    finally:
        store.close()
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.mark.postgres
def test_iter_records_by_prefix_on_a_linguistic_collation(icu_postgres_store, syncmap):
    store = icu_postgres_store
    keys = ["SKU-1@DC1", "SKU-1@DC2", "SKU10@DC1", "SKU1@DC1", "SKU-2@DC1"]
    Pipeline(store, syncmap).ingest("wms", [inv(f"c{i}", k, on_hand=1) for i, k in enumerate(keys)])
    assert [r.key for r in store.iter_records("inventory", prefix="SKU-1")] == ["SKU-1@DC1", "SKU-1@DC2"]
    assert [r.key for r in store.iter_records("inventory", batch=2)] == sorted(keys)


def test_postgres_reconnects_after_the_server_drops_the_connection(postgres_store, pg_url, syncmap):
    pipeline = Pipeline(postgres_store, syncmap)
    pipeline.ingest("wms", [Change(id="r1", domain=Domain.inventory, key="SKU-1@DC1", fields={"on_hand": 1})])
    pid = postgres_store.conn.info.backend_pid
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    with pytest.raises(psycopg.OperationalError):  # the batch in flight when it dropped fails...
        pipeline.ingest(
            "wms", [Change(id="r2", domain=Domain.inventory, key="SKU-1@DC1", fields={"on_hand": 2})]
        )
    # ...and the next one, the client's retry, goes through on a new connection
    [out] = pipeline.ingest(
        "wms", [Change(id="r2", domain=Domain.inventory, key="SKU-1@DC1", fields={"on_hand": 2})]
    )
    assert out.outcome == "applied"
    assert postgres_store.conn.info.backend_pid != pid
    assert postgres_store.get_record("inventory", "SKU-1@DC1").fields == {"on_hand": 2}


def test_postgres_takes_a_bounded_number_of_locks_for_a_large_batch(postgres_store, syncmap):
    batch = [
        Change(id=f"b{i}", domain=Domain.inventory, key=f"SKU-{i}@DC1", fields={"on_hand": 1}, version=1)
        for i in range(20_000)
    ]
    outcomes = Pipeline(postgres_store, syncmap).ingest("wms", batch)
    assert {o.outcome.value for o in outcomes} == {"applied"}
    assert postgres_store.count_records("inventory") == 20_000


def test_sqlite_reads_do_not_wait_for_a_write_transaction(sqlite_store, syncmap):
    import threading

    Pipeline(sqlite_store, syncmap).ingest(
        "wms", [Change(id="w1", domain=Domain.inventory, key="SKU-1@DC1", fields={"on_hand": 4})]
    )
    seen: list = []
    with sqlite_store.write():  # the writer holds the store (as during a commit)
        reader = threading.Thread(
            target=lambda: seen.append(sqlite_store.get_record("inventory", "SKU-1@DC1"))
        )
        reader.start()
        reader.join(timeout=30)
        assert not reader.is_alive(), "the read waited for the writer"
    assert seen[0].fields == {"on_hand": 4}
