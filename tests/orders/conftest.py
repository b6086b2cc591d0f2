"""Fixtures for order tests: the API served with a worker."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from opsdesk.db import Database
from opsdesk.orders.inventory import Inventory
from opsdesk.settings import Settings
from tests.orders.helpers import served_api


@pytest.fixture
async def api(
    dev_env: WorkflowEnvironment, db: Database, catalog: Inventory, settings: Settings
) -> AsyncIterator[httpx.AsyncClient]:
    async with served_api(dev_env, db, settings) as http:
        yield http
