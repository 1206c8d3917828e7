"""Browser tests: a real hub (uvicorn on a loopback port, SQLite in tmp) driven by Debian's chromium.

Playwright for Python launches `/usr/bin/chromium` headless; it never downloads a browser (`.ci/run`
installs Debian's `chromium` where it is missing). The hub has three users, `admin`, `operator`
and `viewer`, all with the password `PASSWORD`. A failing test leaves a screenshot of its page
under pytest's temporary folder (`.../browser-screenshots/TEST.png`); the path is printed.

Fixtures: `hub` (one per module: `.url`, `.store`, `.syncmap`, `.login(page, name)`), `browser`
(one per module), `page` (a fresh browser context per test, so no cookies leak between tests).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from fixtures.api_live import KEYS, LiveServer
from logisync.api import create_app
from logisync.config import SyncMap, load_syncmap
from logisync.domain.change import now_us
from logisync.store import open_store
from logisync.store.base import Store
from logisync.web import users

CHROMIUM = Path("/usr/bin/chromium")
PASSWORD = "browser-test-password"
SYNCMAP = Path(__file__).parent.parent / "fixtures" / "syncmaps" / "hub.yaml"
ROLES = {"admin": users.Role.admin, "operator": users.Role.operator, "viewer": users.Role.viewer}


@dataclass
class Hub:
    url: str
    store: Store
    syncmap: SyncMap
    password: str = PASSWORD  # every user's

    def login(self, page, name: str, password: str = PASSWORD) -> None:
        """Sign in through the form, as a person would, and wait for the page it leads to."""
        page.goto(f"{self.url}/ui/login")
        page.get_by_label("User name").fill(name)
        page.get_by_label("Password").fill(password)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(re.compile(r".*/ui/(?!login).*"))


@pytest.fixture(scope="module")
def hub(tmp_path_factory) -> Iterator[Hub]:
    folder = tmp_path_factory.mktemp("hub")
    store = open_store(f"sqlite:///{folder / 'hub.db'}")
    env = {**os.environ, **KEYS}
    syncmap = load_syncmap(SYNCMAP)
    for name, role in ROLES.items():
        users.add(store, name, role, PASSWORD, now_us(), "cli:test")
    try:
        with LiveServer(create_app(syncmap, store, env=env)) as server:
            yield Hub(server.url, store, syncmap)
    finally:
        store.close()


@pytest.fixture(scope="module")
def browser():
    """One chromium per module. Not per session: Playwright's sync API keeps an event loop running
    in this thread while it is open, and the tests after the browser tests call asyncio.run()."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (`.ci/run` does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield browser
        finally:
            browser.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"report_{report.when}", report)
    return report


@pytest.fixture
def page(browser, request, tmp_path_factory):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    try:
        yield page
    finally:
        failed = getattr(request.node, "report_call", None)
        if failed is not None and failed.failed:
            folder = tmp_path_factory.getbasetemp() / "browser-screenshots"
            folder.mkdir(exist_ok=True)
            path = folder / (re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name) + ".png")
            page.screenshot(path=str(path), full_page=True)
            print(f"screenshot of the failed test: {path}")
        context.close()
