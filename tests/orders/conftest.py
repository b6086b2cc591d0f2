"""Fixtures for order tests: a stocked catalog, settings on a task queue of the test's own,
and the real worker assembly."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from opsdesk.db import Database
from opsdesk.orders import models as m
from opsdesk.orders.inventory import Inventory
from opsdesk.orders.workflows import OrderWorkflow
from opsdesk.settings import Settings
from opsdesk.temporal.worker import build_workers, running
from tests.orders.factory import CATALOG
from tests.waiting import eventually


@pytest.fixture
async def catalog(db: Database) -> Inventory:
    inventory = Inventory(db)
    await inventory.import_catalog(CATALOG, set_stock=True)
    return inventory


@pytest.fixture
def settings(db: Database, tmp_path: Path) -> Settings:
    # A task queue per test: a workflow a test leaves behind can never run another test's
    # activities against that test's database.
    return Settings(
        data_dir=tmp_path,
        database_url=db.url.render_as_string(hide_password=False),
        orders_task_queue=f"orders-{uuid.uuid4().hex[:8]}",
    )


@asynccontextmanager
async def order_worker(
    env: WorkflowEnvironment, db: Database, settings: Settings
) -> AsyncIterator[None]:
    async with running(build_workers(env.client, db, settings)):
        yield


async def wait_for_status(
    handle: WorkflowHandle[OrderWorkflow, m.OrderState],
    *statuses: m.OrderStatus,
    timeout: float = 60.0,
) -> m.OrderState:
    return await eventually(
        lambda: handle.query(OrderWorkflow.get_state),
        lambda state: state.status in statuses,
        timeout=timeout,
    )
