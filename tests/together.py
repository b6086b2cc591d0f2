"""Making things happen "at the same moment" for a workflow: updates and signals sent
while no worker runs are admitted by the server and then delivered to the workflow in one
workflow task when a worker starts, in the order they were admitted. That is how two
people acting at once look to a workflow, reproduced every time instead of one try in
eight."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from datetime import timedelta
from typing import Any

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import UpdateWorkflowExecutionLifecycleStage
from temporalio.api.update.v1 import UpdateRef, WaitPolicy
from temporalio.api.workflowservice.v1 import PollWorkflowExecutionUpdateRequest
from temporalio.client import Client, WorkflowHandle
from temporalio.service import RPCError, RPCStatusCode

from opsdesk.temporal.updates import start_update_when_ready
from tests.waiting import eventually


async def until_admitted(client: Client, workflow_id: str, update_id: str) -> None:
    """Wait until the server holds the update ``update_id`` (for a worker to take it)."""
    request = PollWorkflowExecutionUpdateRequest(
        namespace=client.namespace,
        update_ref=UpdateRef(
            workflow_execution=WorkflowExecution(workflow_id=workflow_id), update_id=update_id
        ),
        identity="tests",
        wait_policy=WaitPolicy(
            lifecycle_stage=UpdateWorkflowExecutionLifecycleStage.UPDATE_WORKFLOW_EXECUTION_LIFECYCLE_STAGE_ADMITTED
        ),
    )

    async def admitted() -> bool:
        try:
            await client.workflow_service.poll_workflow_execution_update(
                request, timeout=timedelta(seconds=5)
            )
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                return False
            raise
        return True

    await eventually(admitted, bool, timeout=30)


async def queued(
    client: Client, workflow_id: str, update_id: str, answered: asyncio.Task[Any]
) -> None:
    """Wait until the server holds the update, or has answered it already (a workflow
    that has closed admits none)."""
    admitted = asyncio.create_task(until_admitted(client, workflow_id, update_id))
    await asyncio.wait([admitted, answered], return_when=asyncio.FIRST_COMPLETED)
    admitted.cancel()


async def as_the_api_sends(
    handle: WorkflowHandle[Any, Any], update: Any, arg: Any, update_id: str
) -> Any:
    """Send an update as the API does (``start_update_when_ready``: a workflow task that
    failed under it, as when a worker stops, is "not ready yet"), and wait for its answer."""
    pending = await start_update_when_ready(handle, update, [arg], update_id)
    return await pending.result()


class Together:
    """Updates queued in order while no worker runs; ``results`` once a worker has run
    them. Each update's outcome is its result or the exception it raised."""

    def __init__(self, client: Client, workflow_id: str) -> None:
        self.client = client
        self.workflow_id = workflow_id
        self._tasks: list[asyncio.Task[Any]] = []

    async def update(self, update_id: str, send: Callable[[str], Coroutine[Any, Any, Any]]) -> None:
        """Send an update (``send(update_id)``) and wait until it is admitted, so the next
        one queues behind it."""
        self._tasks.append(asyncio.create_task(send(update_id)))
        await until_admitted(self.client, self.workflow_id, update_id)

    async def results(self, timeout: float = 60) -> list[Any]:
        async with asyncio.timeout(timeout):
            return list(await asyncio.gather(*self._tasks, return_exceptions=True))
