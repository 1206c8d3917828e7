"""The watched folder: complete files read once and moved to processed/ or failed/ with a reason;
partial files never read; and the transports running on their cron schedules inside `logisync serve`."""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from fixtures.api_process import HubProcess
from logisync.config import parse_syncmap
from logisync.files.folder import FolderInbox, stable_files
from logisync.files.receive import receive_file
from logisync.files.service import FileService
from logisync.pipeline import Pipeline
from logisync.store import open_store

SYNCMAP = """\
store: {store}
systems:
  erp:
    kind: erp
    files:
      inbox: {{folder: {inbox}, schedule: "{schedule}", settle: 0.05}}
      outbox: {{folder: {outbox}}}
      imports:
        - {{name: stock, domain: inventory, format: csv, fields: {{sku: Item, location: Site, on_hand: {{from: Qty, type: int}}}}}}
      exports:
        - {{name: stock-out, domain: inventory, format: csv, schedule: "{schedule}", columns: {{Item: sku, Site: location, Qty: on_hand}}}}
owners:
  inventory.quantities: erp
"""
GOOD = "Item,Site,Qty\nSKU-1,DC1,5\nSKU-2,DC1,x\n"


def config(tmp_path: Path, store: str, schedule: str = "* * * * *"):
    text = SYNCMAP.format(store=store, inbox=tmp_path / "in", outbox=tmp_path / "out", schedule=schedule)
    return text, parse_syncmap(text, "hub.yaml", env={})


@pytest.fixture
def inbox(tmp_path, store):
    _, syncmap = config(tmp_path, store.url)
    pipeline = Pipeline(store, syncmap)
    folder = tmp_path / "in"
    folder.mkdir()
    return folder, FolderInbox(folder, lambda p: receive_file(pipeline, store, "erp", p), settle=0)


def test_partial_and_hidden_files_are_never_read(tmp_path):
    for name in ("a.csv.part", "b.tmp", ".c.csv", "d.filepart", "ready.csv"):
        (tmp_path / name).write_text("x")
    (tmp_path / "sub").mkdir()
    assert [p.name for p in stable_files(tmp_path, 0)] == ["ready.csv"]


def test_a_file_still_growing_between_the_two_looks_waits(tmp_path):
    growing = tmp_path / "growing.csv"
    growing.write_text("Item,Site,Qty\n")
    (tmp_path / "done.csv").write_text("Item,Site,Qty\n")

    def writer_keeps_writing(seconds: float) -> None:
        with growing.open("a") as fh:
            fh.write("SKU-1,DC1,5\n")

    assert [p.name for p in stable_files(tmp_path, 1.0, sleep=writer_keeps_writing)] == ["done.csv"]


def test_files_are_read_once_and_moved_with_reasons(inbox, store):
    folder, watcher = inbox
    (folder / "stock.csv").write_text(GOOD)
    (folder / "notes.txt").write_text("hello")
    (folder / "short.csv").write_text("Item,Qty\nSKU-1,1\n")
    done = {p.name: p for p in watcher.process()}
    assert done["stock.csv"].state == "processed"
    assert dict(done["stock.csv"].report.counts) == {"applied": 1, "bad_row": 1}
    assert (folder / "processed" / "stock.csv").read_text() == GOOD
    assert store.get_record("inventory", "SKU-1@DC1").fields == {"on_hand": 5}
    assert done["notes.txt"].state == "failed"
    reason = (folder / "failed" / "notes.txt.reason.txt").read_text()
    assert reason.startswith("notes.txt: no import of this system reads it")
    assert (folder / "failed" / "notes.txt").exists()
    assert "the header has no column 'Site'" in (folder / "failed" / "short.csv.reason.txt").read_text()
    assert sorted(os.listdir(folder)) == ["failed", "processed"]

    (folder / "stock.csv").write_text(GOOD)  # the same bytes again, under a taken name
    (again,) = watcher.process()
    assert again.state == "duplicate" and again.moved_to.parent.name == "processed"
    assert again.moved_to.name.startswith("stock.csv.")  # the time appended
    note = (folder / "processed" / f"{again.moved_to.name}.duplicate.txt").read_text()
    assert note.startswith("already received as stock.csv at ")
    assert len(store.record_log("inventory", "SKU-1@DC1")) == 1


def test_a_store_fault_leaves_the_file_for_the_next_look(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "stock.csv").write_text(GOOD)

    def broken(path):
        raise ConnectionError("the database went away")

    (kept,) = FolderInbox(folder, broken, settle=0).process()
    assert kept.state == "kept" and "the database went away" in kept.reason
    assert (folder / "stock.csv").exists()


def test_the_service_reads_and_exports_on_its_schedule(tmp_path):
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    _, syncmap = config(tmp_path, url, schedule="* * * * * *")  # every second
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "stock.csv").write_text(GOOD)
    store = open_store(url)
    try:
        service = FileService.for_syncmap(syncmap, store, env={})
        (erp,) = service.systems

        async def run() -> None:
            stop = asyncio.Event()
            task = asyncio.create_task(service.run(stop))
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and not (erp.stats.processed and _exported_after(erp)):
                await asyncio.sleep(0.1)
            stop.set()
            await task

        asyncio.run(run())
        assert [p.state for p in erp.stats.processed] == ["processed"]
        exported = tmp_path / "out" / erp.stats.exported[-1]
        assert exported.read_text().splitlines() == ["Item,Site,Qty", "SKU-1,DC1,5"]
    finally:
        store.close()


def test_stopping_the_service_waits_for_the_file_being_read(tmp_path):
    """A tick reads files in a thread: stopping waits for it, so nothing touches the store after
    the hub closes it (a cancelled tick left its thread running, reading on into a closed store)."""
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    _, syncmap = config(tmp_path, url, schedule="* * * * * *")
    (tmp_path / "in").mkdir()
    (tmp_path / "in" / "stock.csv").write_text(GOOD)
    store = open_store(url)
    try:
        service = FileService.for_syncmap(syncmap, store, env={})
        (erp,) = service.systems
        reading, release, read = threading.Event(), threading.Event(), []
        real = erp.inbox.handle

        def slow(path: Path):
            reading.set()
            release.wait(30)
            report = real(path)
            read.append(path.name)
            return report

        erp.inbox.handle = slow

        async def run() -> None:
            stop = asyncio.Event()
            task = asyncio.create_task(service.run(stop))
            while not reading.is_set():  # the first tick is reading the file
                await asyncio.sleep(0.05)
            stop.set()
            asyncio.get_running_loop().call_later(0.3, release.set)
            await task
            assert read == ["stock.csv"]  # stopped only once the file was read and applied

        asyncio.run(run())
        assert store.get_record("inventory", "SKU-1@DC1") is not None
    finally:
        store.close()


def _exported_after(erp) -> bool:
    """An export written once the file was read (the two run on their own schedules)."""
    out = [erp.stats.exported[-1]] if erp.stats.exported else []
    return bool(erp.stats.processed) and any(
        "SKU-1" in (Path(erp.files.outbox.folder) / n).read_text() for n in out
    )


def test_serve_runs_the_folder_transport(tmp_path):
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    text, _ = config(tmp_path, url, schedule="* * * * * *")
    path = tmp_path / "hub.yaml"
    path.write_text(text)
    (tmp_path / "in").mkdir()
    process = HubProcess(path, dict(os.environ), tmp_path / "serve.log").start()
    try:
        (tmp_path / "in" / ".stock.csv.part").write_text(GOOD)
        os.replace(tmp_path / "in" / ".stock.csv.part", tmp_path / "in" / "stock.csv")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not (tmp_path / "in" / "processed" / "stock.csv").exists():
            time.sleep(0.1)
        assert (tmp_path / "in" / "processed" / "stock.csv").exists(), process.stderr()
    finally:
        process.signal(signal.SIGTERM)
        process.wait()
    store = open_store(url)
    try:
        assert store.get_record("inventory", "SKU-1@DC1").fields == {"on_hand": 5}
        assert [x.kind for x in store.list_exceptions()] == ["bad_row"]
    finally:
        store.close()
