"""Running and answering maintenance requests in tests: the real worker assembly, the
sample directory, and answers as each channel sends them."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from opsdesk.db import Database
from opsdesk.maintenance.ids import request_workflow_id
from opsdesk.maintenance.inputs import (
    MaintenancePolicy,
    RequestForm,
    RequestSubmission,
    TenantContact,
)
from opsdesk.maintenance.state import RequestState
from opsdesk.maintenance.status import RequestStatus, Stage
from opsdesk.maintenance.workflow import MaintenanceRequestWorkflow
from opsdesk.settings import Settings
from opsdesk.worker import build_workers, running
from tests.waiting import eventually

RequestHandle = WorkflowHandle[MaintenanceRequestWorkflow, RequestState]

LEAK = "The kitchen tap leaks under the sink and the cabinet is getting wet"
BURST = "A pipe burst in the bathroom and water is flooding the hallway"


@asynccontextmanager
async def maintenance_worker(
    env: WorkflowEnvironment, db: Database, settings: Settings
) -> AsyncIterator[None]:
    async with running(build_workers(env.client, db, settings)):
        yield


def form(description: str = LEAK, property_id: str = "harbor-12", unit: str = "1A") -> RequestForm:
    return RequestForm(
        property_id=property_id,
        unit=unit,
        tenant=TenantContact(name="Sam Rivera", email="sam.rivera@example.com"),
        description=description,
    )


async def start(
    client: Client,
    settings: Settings,
    description: str = LEAK,
    policy: MaintenancePolicy | None = None,
    **where: Any,
) -> RequestHandle:
    request_id = f"MR-{uuid.uuid4().hex[:8]}"
    return await client.start_workflow(
        MaintenanceRequestWorkflow.run,
        RequestSubmission(
            request_id=request_id,
            form=form(description, **where),
            policy=policy or MaintenancePolicy(),
        ),
        id=request_workflow_id(request_id),
        task_queue=settings.maintenance_task_queue,
    )


async def waiting_for(
    handle: RequestHandle, stage: Stage, timeout: float = 60.0, round: int | None = None
) -> RequestState:
    """The state once the request asks ``stage`` (of ``round``, when given)."""
    return await eventually(
        lambda: handle.query(MaintenanceRequestWorkflow.get_state),
        lambda s: s.question is not None
        and s.question.stage is stage
        and round in (None, s.question.round),
        timeout=timeout,
    )


async def ended(handle: RequestHandle, timeout: float = 60.0) -> RequestState:
    return await eventually(
        lambda: handle.query(MaintenanceRequestWorkflow.get_state),
        lambda s: s.status.terminal,
        timeout=timeout,
    )


def answer(actor: str = "someone", channel: str = "api", **fields: Any) -> dict[str, Any]:
    return {"answer_id": uuid.uuid4().hex, "actor": actor, "channel": channel, **fields}


def quick_policy(**deadlines: timedelta) -> MaintenancePolicy:
    return MaintenancePolicy(**deadlines)


TERMINAL = {RequestStatus.CLOSED, RequestStatus.EXPIRED, RequestStatus.DECLINED}
