"""The app over HTTP with no Temporal behind it: what the web kit decides before a route
reaches a workflow."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from opsdesk.app import create_app
from opsdesk.db import Database
from opsdesk.settings import Settings
from tests.conftest import free_port
from tests.http import serve_http


@pytest.fixture
async def http(db: Database, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    nowhere = await Client.connect(
        f"127.0.0.1:{free_port()}", lazy=True, data_converter=pydantic_data_converter
    )
    settings = Settings(
        data_dir=tmp_path, database_url=db.url.render_as_string(hide_password=False)
    )
    async with serve_http(create_app(settings, temporal=nowhere)) as client:
        yield client
