"""Worker Versioning on a real dev server: the rollout drill (``opsdesk drill --rollout``)
deploys build B beside build A with orders and a repair request in flight, and every step
of docs/deployment.md's runbook holds; and a worker makes its version current on a fresh
deployment, but never takes over one that has a current version."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.common import VersioningBehavior, WorkerDeploymentVersion
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import UnsandboxedWorkflowRunner, Worker, WorkerDeploymentConfig

from opsdesk.db import Database
from opsdesk.drill.rollout import run_rollout
from opsdesk.settings import Settings
from opsdesk.temporal import interceptors
from opsdesk.temporal.deployments import (
    VersionNotRegistered,
    current_build_id,
    deployment_config,
    deployment_status,
    set_current,
)
from opsdesk.worker import build_workers, running, settle_version


async def test_a_rollout_keeps_orders_on_their_build_and_moves_requests_to_the_new_one(
    dev_env: WorkflowEnvironment, db: Database, settings: Settings
) -> None:
    said: list[str] = []
    report = await run_rollout(dev_env.client, db, settings, orders=2, say=said.append)
    assert report.failures == [], report.checks
    # Each step of the runbook was checked: the request on A; a new order on B; each of
    # A's two orders on A; the request's next step on B; A drained; B alone after A stops.
    assert len(report.checks) == 7
    assert said[-1] == f"{report.a} drained and its workers stopped"


async def test_a_worker_makes_its_version_current_only_on_a_deployment_without_one(
    dev_env: WorkflowEnvironment, db: Database, settings: Settings
) -> None:
    client = dev_env.client
    first = settings.model_copy(
        update={"deployment_name": f"fresh-{uuid.uuid4().hex[:6]}", "build_id": "1"}
    )
    second = first.model_copy(update={"build_id": "2"})
    async with running(build_workers(client, db, first, deployment=deployment_config(first))):
        await settle_version(client, first)
        assert await current_build_id(client, first.deployment_name) == "1"
        async with running(build_workers(client, db, second, deployment=deployment_config(second))):
            await settle_version(client, second)
            # A rollout's new build waits beside the current one until a person chooses it.
            assert await current_build_id(client, first.deployment_name) == "1"
            # What `opsdesk deployment status` shows: newest first, nothing pinned yet.
            versions = await deployment_status(client, first.deployment_name)
            assert [(v.build_id, v.current, v.open_pinned) for v in versions] == [
                ("2", False, 0),
                ("1", True, 0),
            ]


async def test_the_deployment_commands_refuse_what_they_cannot_do_in_a_sentence(
    dev_env: WorkflowEnvironment, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OPSDESK_", "TEMPORAL_"))}
    env |= {
        "TEMPORAL_ADDRESS": dev_env.client.service_client.config.target_host,
        "OPSDESK_DATA_DIR": str(tmp_path),
        "OPSDESK_DEPLOYMENT_NAME": f"nobody-{uuid.uuid4().hex[:6]}",
    }

    def opsdesk(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "opsdesk", "deployment", *args],
            env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip

    unknown = await asyncio.to_thread(opsdesk, "status")
    assert unknown.returncode == 1
    assert "has polled yet" in unknown.stderr
    bad = await asyncio.to_thread(opsdesk, "current", "not a build")
    assert (bad.returncode, "is not a build id" in bad.stderr) == (2, True)
    absent = await asyncio.to_thread(opsdesk, "current", "9.9.9")
    assert absent.returncode == 1
    assert "cannot take new workflows" in absent.stderr
    assert "Traceback" not in unknown.stderr + bad.stderr + absent.stderr


def test_unversioned_workers_check_the_sdk_they_reach_into(monkeypatch: pytest.MonkeyPatch) -> None:
    # The attribute UnversionedInterceptor clears is where this SDK keeps it...
    assert interceptors.sdk_keeps_versioning_behavior()
    # ...and an SDK that moved it stops the worker at start, saying so.
    monkeypatch.setattr(interceptors, "sdk_keeps_versioning_behavior", lambda: False)
    with pytest.raises(RuntimeError, match="UnversionedInterceptor updated"):
        interceptors.UnversionedInterceptor()


@workflow.defn(versioning_behavior=VersioningBehavior.AUTO_UPGRADE)
class Idle:
    """A workflow that waits, keeping its task queue in use."""

    @workflow.run
    async def run(self) -> None:
        await workflow.wait_condition(lambda: False)


async def test_a_build_missing_a_queue_of_the_current_one_is_not_made_current(
    dev_env: WorkflowEnvironment,
) -> None:
    client = dev_env.client
    name = f"queues-{uuid.uuid4().hex[:6]}"
    first, second = f"{name}-first", f"{name}-second"
    a = WorkerDeploymentVersion(deployment_name=name, build_id="a")
    b = WorkerDeploymentVersion(deployment_name=name, build_id="b")

    def worker(version: WorkerDeploymentVersion, queue: str) -> Worker:
        return Worker(
            client,
            task_queue=queue,
            workflows=[Idle],
            workflow_runner=UnsandboxedWorkflowRunner(),  # a test module's workflow
            deployment_config=WorkerDeploymentConfig(version=version, use_worker_versioning=True),
        )

    async with worker(a, first), worker(a, second), worker(b, first):
        await set_current(client, a, (first, second))
        # By name: mypy (2.4) given ``Idle.run`` here mis-solves every other test's
        # ``get_workflow_handle_for`` on a cold cache.
        waiting = await client.start_workflow("Idle", id=f"{name}-idle", task_queue=second)
        # B polls one of A's two queues: the server would leave the other unversioned.
        # Waited on as "not yet" (its workers may still be starting), then said plainly.
        with pytest.raises(VersionNotRegistered, match="does not poll every task queue"):
            await set_current(client, b, (first,), within=3)
        assert await current_build_id(client, name) == "a"
        await waiting.terminate()
