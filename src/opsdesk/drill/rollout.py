"""The rollout drill: a new build of the worker deployed beside a running one, as
docs/deployment.md's runbook says, with real orders and a real repair request in flight.

Build A runs alone and is current; orders start on it and wait for the warehouse, and a
repair request waits on its first question. Build B starts beside it and is made current.
Then: A's orders (pinned) finish on A, a new order starts and finishes on B, the request
(auto-upgrade) takes its next step on B without a workflow task failing, A drains (no
pinned workflow open on it) and its workers stop, and B alone finishes the rest.

``opsdesk drill --rollout`` runs it on a dev server of its own; the test suite runs it on
the ``dev_env`` server. Both builds are this code under two build ids: the drill shows how
Temporal routes between versions, not a particular change.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle
from temporalio.common import VersioningBehavior, WorkerDeploymentVersion
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import WorkerDeploymentConfig

from opsdesk.db import Database
from opsdesk.db.migrate import upgrade_async
from opsdesk.drill.maintenance import passing_answer
from opsdesk.maintenance import service as requests
from opsdesk.maintenance.directory import Directory, seed_sample_directory
from opsdesk.maintenance.inputs import (
    ANSWER_MODELS,
    CancelRequest,
    RequestForm,
    TenantContact,
)
from opsdesk.maintenance.state import RequestState
from opsdesk.orders import load
from opsdesk.orders.catalog import seed_sample_catalog
from opsdesk.orders.ids import order_workflow_id
from opsdesk.orders.status import OrderStatus
from opsdesk.settings import Settings
from opsdesk.temporal import devserver, search_attributes
from opsdesk.temporal.client import data_converter
from opsdesk.temporal.deployments import (
    Drainage,
    drainage,
    open_pinned,
    set_current,
    version_name,
)
from opsdesk.worker import build_workers, running, task_queues

T = TypeVar("T")
Say = Callable[[str], None]

WAIT = 60.0
"""Seconds any one thing the drill waits for may take before it counts as a failure."""
POLL = 0.2


class DrillTimeout(Exception):
    """Something the drill waited for did not happen in time."""


@dataclass
class Check:
    """One thing the drill shows, and whether it held."""

    what: str
    ok: bool
    detail: str = ""


@dataclass
class RolloutReport:
    a: str
    b: str
    checks: list[Check] = field(default_factory=list)

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.ok]

    def check(self, what: str, ok: bool, detail: str = "") -> None:
        self.checks.append(Check(what, ok, detail))


async def eventually(
    probe: Callable[[], Awaitable[T]], done: Callable[[T], bool], what: str, within: float = WAIT
) -> T:
    """``probe()`` once ``done`` says it is; ``DrillTimeout`` naming ``what`` otherwise."""
    deadline = time.monotonic() + within
    while True:
        value = await probe()
        if done(value):
            return value
        if time.monotonic() > deadline:
            raise DrillTimeout(f"timed out after {within:.0f} s waiting for {what}")
        await asyncio.sleep(POLL)


@dataclass(frozen=True)
class Placement:
    """Where a workflow runs: its version and behaviour, and the builds its workflow tasks
    completed on, in order."""

    build_id: str
    behavior: str
    task_builds: tuple[str, ...]
    failed_tasks: int


async def placement(handle: WorkflowHandle[Any, Any]) -> Placement:
    info = (await handle.describe()).raw_description.workflow_execution_info.versioning_info
    builds: list[str] = []
    failed = 0
    async for event in handle.fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
            builds.append(
                event.workflow_task_completed_event_attributes.deployment_version.build_id
            )
        elif event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED:
            failed += 1
    behavior = VersioningBehavior(info.behavior).name
    return Placement(info.deployment_version.build_id, behavior, tuple(builds), failed)


class Build:
    """One build of the worker, running its workers in this process until stopped."""

    def __init__(
        self, client: Client, db: Database, settings: Settings, version: WorkerDeploymentVersion
    ) -> None:
        self.version = version
        config = WorkerDeploymentConfig(version=version, use_worker_versioning=True)
        self._workers = build_workers(client, db, settings, deployment=config)
        self._stack = AsyncExitStack()

    async def start(self) -> None:
        await self._stack.enter_async_context(running(self._workers))

    async def stop(self) -> None:
        await self._stack.aclose()


@asynccontextmanager
async def _builds(*builds: Build) -> AsyncIterator[None]:
    """Whatever happens, every build's workers stop."""
    try:
        yield
    finally:
        for build in builds:
            await build.stop()


async def run_rollout(
    client: Client, db: Database, settings: Settings, *, orders: int = 2, say: Say = print
) -> RolloutReport:
    """Run the drill against the Temporal server ``client`` reaches, on ``db`` (the sample
    catalog and directory are loaded into it if it is empty). Its own deployment name
    (``<deployment_name>-rollout-<run>``), so it never touches a real deployment."""
    run = uuid.uuid4().hex[:6]
    name = f"{settings.deployment_name}-rollout-{run}"
    settings = settings.model_copy(update={"deployment_name": name})
    a = WorkerDeploymentVersion(name, "a")
    b = WorkerDeploymentVersion(name, "b")
    report = RolloutReport(version_name(a), version_name(b))
    queues = task_queues(settings)
    await seed_sample_catalog(db)
    await seed_sample_directory(db)
    build_a = Build(client, db, settings, a)
    build_b = Build(client, db, settings, b)
    async with _builds(build_a, build_b):
        await build_a.start()
        await set_current(client, a, queues)
        say(f"{report.a} is current")
        # Stock for the orders comes by a restock workflow: with A running.
        target = load.TemporalTarget(client, settings, db)
        planned = [
            p for p in await load.prepare(target, orders * 12, seed=28) if p.plan == "delivered"
        ]
        if len(planned) < orders + 1:
            raise ValueError("the catalog cannot make enough plain orders for the drill")
        old_orders, new_order = planned[:orders], planned[orders]

        for order in old_orders:
            await target.create(order.request)
        request_id = f"rollout-{run}"
        await requests.submit_request(
            client,
            settings,
            requests.submission_of(settings, request_id, await _form(db)),
        )
        for order in old_orders:
            await _until_status(target, order.request.order_id, OrderStatus.CONFIRMED)
        asked = await _until_asked(client, request_id)
        say(
            f"{len(old_orders)} orders wait for the warehouse and a repair request waits on "
            f"its first question ({asked.question.stage if asked.question else '?'}), on "
            f"{report.a}"
        )
        before = await placement(requests.request_handle(client, request_id))
        report.check(
            f"the repair request runs on {report.a}, auto-upgrade",
            before.build_id == a.build_id and before.behavior == "AUTO_UPGRADE",
            f"on {before.build_id or 'no version'}, {before.behavior}",
        )

        await build_b.start()
        await set_current(client, b, queues)
        say(f"{report.b} started beside it and is current")

        await target.create(new_order.request)
        await _deliver(target, new_order.request.order_id)
        placed = await placement(client.get_workflow_handle(_wid(new_order)))
        report.check(
            f"a new order starts and finishes on {report.b}, pinned",
            placed.build_id == b.build_id
            and placed.behavior == "PINNED"
            and set(placed.task_builds) == {b.build_id},
            f"on {placed.build_id}, {placed.behavior}, tasks on {sorted(set(placed.task_builds))}",
        )

        for order in old_orders:
            await _deliver(target, order.request.order_id)
            placed = await placement(client.get_workflow_handle(_wid(order)))
            report.check(
                f"order {order.request.order_id}, started on {report.a}, finishes there",
                placed.build_id == a.build_id and set(placed.task_builds) == {a.build_id},
                f"pinned to {placed.build_id}, tasks on {sorted(set(placed.task_builds))}",
            )
        say(f"A's orders were delivered on {report.a}; the new one on {report.b}")

        question = asked.question
        assert question is not None
        answer = ANSWER_MODELS[question.stage].model_validate(
            {
                "answer_id": f"rollout-{run}-1",
                "actor": "rollout drill",
                "channel": "api",
                **passing_answer(question.stage),
            }
        )
        await requests.answer_request(
            client, request_id, question.stage, answer, wait=timedelta(seconds=WAIT)
        )
        moved = await eventually(
            lambda: placement(requests.request_handle(client, request_id)),
            lambda p: p.task_builds[-1:] == (b.build_id,),
            "the repair request's next step on B",
        )
        report.check(
            f"the repair request takes its next step on {report.b}, no workflow task failing",
            moved.build_id == b.build_id and moved.failed_tasks == 0,
            f"on {moved.build_id}, tasks on {_runs(moved.task_builds)}, "
            f"{moved.failed_tasks} failed",
        )

        drained = await eventually(
            lambda: drainage(client, a), lambda d: d is Drainage.DRAINED, f"{report.a} to drain"
        )
        still_open = await open_pinned(client, a)
        report.check(
            f"{report.a} drains: no pinned workflow is open on it",
            drained is Drainage.DRAINED and still_open == 0,
            f"the server says {drained}, visibility counts {still_open} open",
        )
        await build_a.stop()
        say(f"{report.a} drained and its workers stopped")

        await requests.cancel_request(
            client,
            request_id,
            CancelRequest(answer_id=f"rollout-{run}-2", actor="rollout drill", reason="drill"),
            wait=timedelta(seconds=WAIT),
        )
        ended = await eventually(
            lambda: requests.get_request(client, request_id),
            lambda s: s.status.terminal,
            "the repair request to end on B",
        )
        final = await placement(requests.request_handle(client, request_id))
        report.check(
            f"with {report.a} stopped, {report.b} alone ends the repair request",
            ended.status.terminal and final.build_id == b.build_id and final.failed_tasks == 0,
            f"{ended.status.value} on {final.build_id}",
        )
    return report


def _wid(order: load.PlannedOrder) -> str:
    return order_workflow_id(order.request.order_id)


def _runs(builds: tuple[str, ...]) -> str:
    """``a 3, b 2``: the builds in the order the tasks ran on them."""
    runs: list[list[str | int]] = []
    for build in builds:
        if runs and runs[-1][0] == build:
            runs[-1][1] = int(runs[-1][1]) + 1
        else:
            runs.append([build, 1])
    return ", ".join(f"{build} {count}" for build, count in runs)


async def _form(db: Database) -> RequestForm:
    properties = [p for p in await Directory(db).properties() if p.units]
    if not properties:
        raise ValueError("the maintenance directory has no property with a unit")
    facts = await Directory(db).property_facts(properties[0].id, properties[0].units[0])
    # The tenant on file: anyone else's report would first wait for theirs to confirm it.
    tenant = (
        TenantContact(name=facts.tenants[0].name, email=facts.tenants[0].email)
        if facts.tenants
        else TenantContact(name="Drill Tenant", email="tenant@example.com")
    )
    return RequestForm(
        property_id=properties[0].id,
        unit=properties[0].units[0],
        tenant=tenant,
        description="The kitchen tap drips all night and the cabinet under it is damp.",
    )


async def _until_status(target: load.TemporalTarget, order_id: str, status: OrderStatus) -> None:
    await eventually(
        lambda: target.status(order_id), lambda s: s is status, f"order {order_id} to be {status}"
    )


async def _deliver(target: load.TemporalTarget, order_id: str) -> None:
    """Ship and deliver a confirmed order, as the warehouse does."""
    await _until_status(target, order_id, OrderStatus.CONFIRMED)
    await target.advance(order_id, f"RO{order_id[-6:]}")
    await _until_status(target, order_id, OrderStatus.SHIPPED)
    await target.advance(order_id, None)
    await _until_status(target, order_id, OrderStatus.DELIVERED)


async def _until_asked(client: Client, request_id: str) -> RequestState:
    async def state() -> RequestState | None:
        try:
            return await requests.get_request(client, request_id)
        except requests.RequestNotFound:
            return None

    found = await eventually(
        state,
        lambda s: s is not None and s.question is not None,
        f"repair request {request_id} to ask its first question",
    )
    assert found is not None
    return found


async def rollout_on_dev_server(workdir: Path, say: Say = print) -> RolloutReport:
    """The drill on a dev server and SQLite database of its own, both in ``workdir``'s
    reach and gone afterwards (``opsdesk drill --rollout``)."""
    settings = Settings(data_dir=workdir)
    await upgrade_async(settings.resolved_database_url)
    env = await WorkflowEnvironment.start_local(
        data_converter=data_converter(settings),
        search_attributes=search_attributes.ALL_KEYS,
        dev_server_existing_path=str(devserver.find_binary("temporal")),
        dev_server_extra_args=devserver.dynamic_config_args(),
        dev_server_startup_timeout=timedelta(seconds=60),
        dev_server_log_level="error",
    )
    db = Database(settings.resolved_database_url)
    try:
        return await run_rollout(env.client, db, settings, say=say)
    finally:
        await db.dispose()
        await env.shutdown()
