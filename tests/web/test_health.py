from __future__ import annotations

from pathlib import Path

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from opsdesk.app import create_app
from opsdesk.db import Database
from opsdesk.settings import Settings
from opsdesk.worker import build_workers, running
from tests.conftest import free_port
from tests.http import serve
from tests.waiting import eventually


def _settings(db: Database, tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, database_url=db.url.render_as_string(hide_password=False))


async def test_healthz_answers_without_dependencies(db: Database, tmp_path: Path) -> None:
    nowhere = await Client.connect(f"127.0.0.1:{free_port()}", lazy=True)
    async with serve(create_app(_settings(db, tmp_path), temporal=nowhere)) as http:
        response = await http.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_waits_for_a_worker_on_every_task_queue(
    dev_env: WorkflowEnvironment, db: Database, tmp_path: Path
) -> None:
    settings = _settings(db, tmp_path)
    async with serve(create_app(settings, temporal=dev_env.client)) as http:
        response = await http.get("/readyz")
        assert response.status_code == 503
        body = response.json()
        assert body["checks"]["temporal"]["ok"] is True
        assert body["checks"]["database"]["ok"] is True
        assert body["checks"]["worker:orders"]["ok"] is False
        assert "worker:orders: no worker is polling" in body["reason"]

        async with running(build_workers(dev_env.client, db, settings)):
            response = await eventually(lambda: http.get("/readyz"), lambda r: r.status_code != 503)
    assert response.status_code == 200, response.text
    assert response.json()["reason"] is None


async def test_readyz_names_an_unreachable_temporal_and_database(
    tmp_path: Path, db: Database
) -> None:
    nowhere = await Client.connect(
        f"127.0.0.1:{free_port()}", lazy=True, data_converter=pydantic_data_converter
    )
    settings = _settings(db, tmp_path)
    app = create_app(settings, temporal=nowhere)
    async with serve(app) as http:
        app.state.db = Database(f"postgresql+asyncpg://nobody@127.0.0.1:{free_port()}/none")
        response = await http.get("/readyz")
        await app.state.db.dispose()
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["temporal"]["ok"] is False
    assert "unreachable" in checks["temporal"]["detail"]
    assert checks["database"]["ok"] is False
    assert "unreachable" in checks["database"]["detail"]
