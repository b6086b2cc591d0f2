from __future__ import annotations

import uuid
from pathlib import Path

from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from opsdesk.app import create_app
from opsdesk.db import Database
from opsdesk.settings import Settings
from opsdesk.temporal.deployments import deployment_config
from opsdesk.web.health import CurrentBuild
from opsdesk.worker import build_workers, running, settle_version
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


async def test_readyz_waits_for_a_worker_on_every_task_queue_and_a_current_build(
    dev_env: WorkflowEnvironment, db: Database, tmp_path: Path
) -> None:
    # A deployment of its own on the shared dev server: no build of it is current yet.
    settings = _settings(db, tmp_path).model_copy(
        update={"deployment_name": f"health-{uuid.uuid4().hex[:8]}", "build_id": "a"}
    )
    async with serve(create_app(settings, temporal=dev_env.client)) as http:
        response = await http.get("/readyz")
        assert response.status_code == 503
        body = response.json()
        assert body["checks"]["temporal"]["ok"] is True
        assert body["checks"]["database"]["ok"] is True
        assert body["checks"]["worker:orders"]["ok"] is False
        assert "worker:orders: no worker is polling" in body["reason"]

        workers = build_workers(
            dev_env.client, db, settings, deployment=deployment_config(settings)
        )
        async with running(workers):
            # Workers poll, but new workflows would wait until a build is current.
            waiting = await eventually(
                lambda: http.get("/readyz"),
                lambda r: (
                    r.json()["checks"]["worker:orders"]["ok"]
                    and r.json()["checks"]["worker:maintenance"]["ok"]
                ),
            )
            assert waiting.status_code == 503
            assert "is current yet" in waiting.json()["reason"]
            await settle_version(dev_env.client, settings)
            response = await eventually(lambda: http.get("/readyz"), lambda r: r.status_code != 503)
    assert response.status_code == 200, response.text
    assert response.json()["checks"]["deployment"]["detail"] == "build a is current"
    # A describe that fails (throttled, say) keeps a build once seen current, rather than
    # take every replica out of the load balancer at once; never seen, it is not ready.
    seen = CurrentBuild(settings.deployment_name)
    seen.KEEP_YES = 0.0
    assert (await seen.check(dev_env.client)).ok
    nowhere = await Client.connect(f"127.0.0.1:{free_port()}", lazy=True)
    assert (await seen.check(nowhere)).ok
    assert not (await CurrentBuild(settings.deployment_name).check(nowhere)).ok
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
