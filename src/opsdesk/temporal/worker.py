"""Worker assembly: one worker per task queue, all in one process."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import timedelta

from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from opsdesk import orders
from opsdesk.db import Database
from opsdesk.db.migrate import upgrade_async
from opsdesk.orders.workflows import OrderWorkflow
from opsdesk.settings import Settings
from opsdesk.temporal.client import connect

log = logging.getLogger(__name__)

TASK_QUEUES: tuple[str, ...] = (orders.TASK_QUEUE,)

# Modules workflows import that are safe to share with the sandbox: loading them once
# outside it instead of re-importing them for every workflow run is the cheapest speed-up.
PASSTHROUGH_MODULES = (
    "pydantic",
    "pydantic_core",
    "annotated_types",
    "opsdesk.temporal.search_attributes",
)


def workflow_runner() -> SandboxedWorkflowRunner:
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH_MODULES)
    )


def build_workers(client: Client, db: Database, settings: Settings) -> list[Worker]:
    return [
        Worker(
            client,
            task_queue=orders.TASK_QUEUE,
            workflows=[OrderWorkflow],
            activities=[],
            workflow_runner=workflow_runner(),
            graceful_shutdown_timeout=timedelta(seconds=10),
        )
    ]


async def run(settings: Settings) -> None:
    """Run every task queue's worker until SIGINT or SIGTERM, then drain and stop."""
    await upgrade_async(settings.resolved_database_url)
    client = await connect(settings)
    db = Database(settings.resolved_database_url)
    workers = build_workers(client, db, settings)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    try:
        async with _running(workers):
            log.info("worker polling %s", ", ".join(TASK_QUEUES))
            await stop.wait()
            log.info("worker stopping")
    finally:
        await db.dispose()


@asynccontextmanager
async def _running(workers: Sequence[Worker]) -> AsyncIterator[None]:
    async with AsyncExitStack() as stack:
        for worker in workers:
            await stack.enter_async_context(worker)
        yield
