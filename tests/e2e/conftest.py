"""Browser tests: Playwright driving the machine's Chromium against the app on loopback.

Chromium comes from the system (``apt-get install chromium``; ``.ci/run`` installs it), or
from ``OPSDESK_CHROMIUM``; Playwright never downloads a browser. A failed test leaves a
screenshot in ``test-results/``.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import AsyncIterator, Generator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright
from temporalio.testing import WorkflowEnvironment

from opsdesk.db import Database
from opsdesk.maintenance.directory import Directory, sample_directory
from opsdesk.orders.inventory import Inventory
from opsdesk.settings import Settings
from tests.e2e.maildesk import mail_desk
from tests.e2e.people import app_under_test, sign_in
from tests.orders.helpers import served_api
from tests.staff import person

RESULTS = Path(__file__).parents[2] / "test-results"

# The closed network refuses Chromium's background calls home; don't make them.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    found = (
        os.environ.get("OPSDESK_CHROMIUM")
        or shutil.which("chromium")
        or shutil.which("chromium-browser")
    )
    if not found:
        pytest.fail("Chromium is not installed: `apt-get install chromium` or set OPSDESK_CHROMIUM")
    return found


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=chromium_path(), args=CHROMIUM_ARGS
        )
        yield launched
        await launched.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    item.stash.setdefault(_FAILED, False)
    if report.failed:
        item.stash[_FAILED] = True
    return report


_FAILED = pytest.StashKey[bool]()


@pytest.fixture
async def site(
    dev_env: WorkflowEnvironment, db: Database, catalog: Inventory, settings: Settings
) -> AsyncIterator[httpx.AsyncClient]:
    """The app and a worker; the client's base URL is where the browser goes."""
    await person(db)
    async with served_api(dev_env, db, settings) as http:
        yield http


@pytest.fixture
async def desk(
    dev_env: WorkflowEnvironment, db: Database, settings: Settings
) -> AsyncIterator[httpx.AsyncClient]:
    """The maintenance desk as ``opsdesk dev`` runs it (the sample directory, the dev
    mailbox and phone); the client's base URL is the app, where mail and calls lead."""
    await Directory(db).import_directory(sample_directory())
    await person(db)
    async with mail_desk(dev_env, db, settings) as http:
        yield http


@pytest.fixture
async def page(browser: Browser, request: pytest.FixtureRequest) -> AsyncIterator[Page]:
    """A browser tab, signed in as ``ops`` (an admin) to the app the test serves: list that
    app's fixture before ``page``."""
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    opened = await context.new_page()
    opened.set_default_timeout(20_000)
    base_url = app_under_test(request)
    try:
        if base_url is not None:
            await sign_in(opened, base_url)
        yield opened
    finally:
        if request.node.stash.get(_FAILED, False):
            RESULTS.mkdir(exist_ok=True)
            name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.nodeid)
            await opened.screenshot(path=RESULTS / f"{name}.png", full_page=True)
        await context.close()
