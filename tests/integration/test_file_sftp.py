"""SFTP pull and push against a real OpenSSH server (sshd on a loopback port, temporary keys)."""

from __future__ import annotations

import asyncio
import os
import socket
from pathlib import Path

import asyncssh
import pytest

from fixtures.sshd import SshServer, start_sshd, stop_sshd
from logisync.config import parse_syncmap
from logisync.config.files import SftpSettings
from logisync.errors import ConfigError
from logisync.files.service import FileService
from logisync.files.sftp import SftpFolder, connect_options

KEY_ENV = "TEST_SFTP_KEY_PATH"


@pytest.fixture(scope="module")
def sshd(tmp_path_factory) -> SshServer:
    try:
        server = start_sshd(tmp_path_factory.mktemp("sshd"))
    except FileNotFoundError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"{exc}: .ci/run installs it")
        pytest.skip(str(exc))
    yield server
    stop_sshd(server)


def settings(server: SshServer, path: Path, **kw) -> SftpSettings:
    return SftpSettings.model_validate(
        {
            "host": server.host,
            "port": server.port,
            "user": server.user,
            "path": str(path),
            "key_path_env": KEY_ENV,
            "known_hosts": str(server.known_hosts),
            **kw,
        }
    )


def env(server: SshServer) -> dict[str, str]:
    return {KEY_ENV: str(server.key_path)}


def test_pull_takes_complete_files_and_moves_them_on_the_server(sshd, tmp_path):
    remote = sshd.root / "pull"
    remote.mkdir()
    (remote / "stock.csv").write_text("Item,Site,Qty\nSKU-1,DC1,5\n")
    (remote / "next.csv.part").write_text("half")
    (remote / ".hidden.csv").write_text("x")
    inbox = tmp_path / "in"
    done = asyncio.run(SftpFolder(settings(sshd, remote), env(sshd), settle=0.1).pull(inbox))
    assert done.files == ["stock.csv"] and not done.errors
    assert os.listdir(inbox) == ["stock.csv"]
    assert (inbox / "stock.csv").read_text() == "Item,Site,Qty\nSKU-1,DC1,5\n"
    assert sorted(os.listdir(remote)) == [".hidden.csv", "next.csv.part", "processed"]
    assert os.listdir(remote / "processed") == ["stock.csv"]

    (remote / "stock.csv").write_text("again")  # a name still waiting in the inbox is not overwritten
    again = asyncio.run(SftpFolder(settings(sshd, remote), env(sshd), settle=0).pull(inbox))
    assert again.skipped == ["stock.csv"] and (inbox / "stock.csv").read_text().startswith("Item")


def test_push_uploads_then_renames_and_keeps_a_sent_copy(sshd, tmp_path):
    remote = sshd.root / "push"
    outbox = tmp_path / "out"
    outbox.mkdir()
    (outbox / "stock-2026-06-01.csv").write_text("Item,Qty\nSKU-1,5\n")
    (outbox / ".stock-2026-06-02.csv.part").write_text("being written")
    done = asyncio.run(SftpFolder(settings(sshd, remote), env(sshd)).push(outbox))
    assert done.files == ["stock-2026-06-01.csv"] and not done.errors
    assert os.listdir(remote) == ["stock-2026-06-01.csv"]  # no .part left behind
    assert (remote / "stock-2026-06-01.csv").read_text() == "Item,Qty\nSKU-1,5\n"
    assert sorted(os.listdir(outbox)) == [".stock-2026-06-02.csv.part", "sent"]
    assert os.listdir(outbox / "sent") == ["stock-2026-06-01.csv"]


def test_an_unknown_host_key_is_refused(sshd, tmp_path):
    other = tmp_path / "known_hosts"
    other.write_text(
        f"[127.0.0.1]:{sshd.port} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIB7Vq1gqPd0i3X0n2O4t2Kx2cQ2yCqR0D1Zb3q2y4wq5\n"
    )
    folder = SftpFolder(settings(sshd, sshd.root, known_hosts=str(other)), env(sshd))
    with pytest.raises(asyncssh.HostKeyNotVerifiable):
        asyncio.run(folder.pull(tmp_path / "in"))


def test_secrets_come_only_from_the_environment(sshd):
    s = settings(sshd, sshd.root)
    with pytest.raises(ConfigError, match=f"{KEY_ENV} is not set"):
        connect_options(s, env={})
    with_password = settings(sshd, sshd.root, password_env="TEST_SFTP_PASSWORD", key_path_env=None)
    assert connect_options(with_password, env={"TEST_SFTP_PASSWORD": "pw"})["password"] == "pw"
    assert "hunter2" not in repr(with_password)


def test_the_inbox_tick_pulls_reads_and_pushes(sshd, tmp_path):
    remote_in, remote_out = sshd.root / "erp-out", sshd.root / "erp-in"
    remote_in.mkdir()
    (remote_in / "stock.csv").write_text("Item,Site,Qty\nSKU-1,DC1,5\nSKU-2,DC1,x\n")
    sftp = (
        f"{{host: {sshd.host}, port: {sshd.port}, user: {sshd.user}, key_path_env: {KEY_ENV}, "
        f"known_hosts: {sshd.known_hosts}, path: %s}}"
    )
    text = f"""\
store: sqlite:///{tmp_path / "hub.db"}
systems:
  erp:
    kind: erp
    files:
      inbox: {{folder: {tmp_path / "in"}, settle: 0, sftp: {sftp % remote_in}}}
      outbox: {{folder: {tmp_path / "out"}, sftp: {sftp % remote_out}}}
      imports:
        - {{name: stock, domain: inventory, format: csv, fields: {{sku: Item, location: Site, on_hand: {{from: Qty, type: int}}}}}}
      exports:
        - {{name: stock-out, domain: inventory, format: ndjson, schedule: "@daily", filename: "stock.ndjson"}}
owners:
  inventory.quantities: erp
"""
    syncmap = parse_syncmap(text, "hub.yaml", env={})
    from logisync.store import open_store

    store = open_store(syncmap.store)
    try:
        (erp,) = FileService.for_syncmap(syncmap, store, env=env(sshd)).systems

        async def tick() -> None:
            await erp.inbox_tick()
            await erp.export_tick(syncmap.systems["erp"].files.exports[0])

        asyncio.run(tick())
        assert erp.stats.pulled == ["stock.csv"] and not erp.stats.errors
        assert [p.state for p in erp.stats.processed] == ["processed"]
        assert store.get_record("inventory", "SKU-1@DC1").fields == {"on_hand": 5}
        assert [x.kind for x in store.list_exceptions()] == ["bad_row"]
        assert erp.stats.pushed == ["stock.ndjson"]
        assert (remote_out / "stock.ndjson").read_text().startswith('{"key":"SKU-1@DC1"')
    finally:
        store.close()


def test_a_remote_file_still_growing_is_left_for_the_next_pull(sshd, tmp_path):
    remote = sshd.root / "growing"
    remote.mkdir()
    (remote / "big.csv").write_text("Item,Site,Qty\n")
    (remote / "done.csv").write_text("Item,Site,Qty\n")
    folder = SftpFolder(settings(sshd, remote), env(sshd), settle=0.5)

    async def pull_while_writing():
        pulling = asyncio.create_task(folder.pull(tmp_path / "in"))
        while not pulling.done():  # the sender keeps writing through both looks
            with (remote / "big.csv").open("a") as fh:
                fh.write("SKU-1,DC1,5\n")
            await asyncio.sleep(0.05)
        return await pulling

    done = asyncio.run(pull_while_writing())
    assert done.files == ["done.csv"] and done.skipped == ["big.csv"]
    assert (remote / "big.csv").exists()


def test_a_push_that_cannot_connect_keeps_the_file_for_the_next_tick(sshd, tmp_path):
    outbox = tmp_path / "out"
    outbox.mkdir()
    (outbox / "stock.csv").write_text("x")
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    folder = SftpFolder(settings(sshd, sshd.root, port=port, timeout=2), env(sshd))
    with pytest.raises(OSError):
        asyncio.run(folder.push(outbox))
    assert (outbox / "stock.csv").exists() and not (outbox / "sent" / "stock.csv").exists()


def test_a_failing_push_opens_one_exception_and_the_first_success_resolves_it(sshd, tmp_path):
    from logisync.store import open_store

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead_port = s.getsockname()[1]
    text = f"""\
store: sqlite:///{tmp_path / "hub.db"}
systems:
  erp:
    kind: erp
    files:
      outbox: {{folder: {tmp_path / "out"}, sftp: {{host: 127.0.0.1, port: {dead_port}, user: {sshd.user}, key_path_env: {KEY_ENV}, known_hosts: {sshd.known_hosts}, path: {sshd.root / "alerts"}, timeout: 2}}}}
      exports:
        - {{name: stock-out, domain: inventory, format: ndjson, schedule: "@daily", filename: "stock.ndjson"}}
"""
    syncmap = parse_syncmap(text, "hub.yaml", env={})
    store = open_store(syncmap.store)
    try:
        (erp,) = FileService.for_syncmap(syncmap, store, env=env(sshd)).systems
        spec = syncmap.systems["erp"].files.exports[0]
        asyncio.run(erp.export_tick(spec))
        asyncio.run(erp.export_tick(spec))  # still failing: no second exception
        (alert,) = store.list_exceptions(kind="transport_failed")
        assert alert.system == "erp" and alert.reason.startswith("erp: push failed: ")
        assert alert.detail["transport"] == "push"
        assert (tmp_path / "out" / "stock.ndjson").exists()  # kept for the next tick

        erp.push_to = SftpFolder(settings(sshd, sshd.root / "alerts"), env(sshd))  # the server is back
        asyncio.run(erp.push())
        assert (sshd.root / "alerts" / "stock.ndjson").exists()
        assert store.list_exceptions(kind="transport_failed") == []
        assert [x.state for x in store.list_exceptions(kind="transport_failed", state=None)] == ["resolved"]
    finally:
        store.close()


def test_serve_pulls_from_sftp_on_its_schedule(sshd, tmp_path):
    import signal
    import time

    from fixtures.api_process import HubProcess
    from logisync.store import open_store

    remote = sshd.root / "serve-pull"
    remote.mkdir()
    config = tmp_path / "hub.yaml"
    config.write_text(
        f"""\
store: sqlite:///{tmp_path / "hub.db"}
systems:
  erp:
    kind: erp
    files:
      inbox:
        folder: {tmp_path / "in"}
        schedule: "* * * * * *"
        settle: 0.1
        sftp: {{host: {sshd.host}, port: {sshd.port}, user: {sshd.user}, key_path_env: {KEY_ENV}, known_hosts: {sshd.known_hosts}, path: {remote}}}
      imports:
        - {{name: stock, domain: inventory, format: csv, fields: {{sku: Item, location: Site, on_hand: {{from: Qty, type: int}}}}}}
owners:
  inventory.quantities: erp
"""
    )
    process = HubProcess(config, {**os.environ, **env(sshd)}, tmp_path / "serve.log").start()
    try:
        (remote / ".stock.csv.part").write_text("Item,Site,Qty\nSKU-1,DC1,7\n")
        os.replace(
            remote / ".stock.csv.part", remote / "stock.csv"
        )  # the partner's upload, renamed when done
        done = tmp_path / "in" / "processed" / "stock.csv"
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not done.exists():
            time.sleep(0.1)
        assert done.exists(), process.stderr()
        assert os.listdir(remote / "processed") == ["stock.csv"]
    finally:
        process.signal(signal.SIGTERM)
        process.wait()
    store = open_store(f"sqlite:///{tmp_path / 'hub.db'}")
    try:
        assert store.get_record("inventory", "SKU-1@DC1").fields == {"on_hand": 7}
    finally:
        store.close()
