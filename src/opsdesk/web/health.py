"""Liveness and readiness.

``/healthz`` says the process is up. ``/readyz`` says this replica can serve: Temporal
answers, the database answers, and a worker is polling every task queue (a worker that
stopped polling more than ``POLLER_FRESHNESS`` ago counts as gone: a long poll lasts about
a minute, so a live worker always shows a fresher poll than that).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    DescribeTaskQueueRequest,
    GetSystemInfoRequest,
)
from temporalio.client import Client

from opsdesk.db import Database
from opsdesk.web.limits import rate_limited

POLLER_FRESHNESS = timedelta(seconds=90)
CHECK_TIMEOUT = timedelta(seconds=3)

router = APIRouter(tags=["health"], dependencies=[Depends(rate_limited("machines"))])


class Check(BaseModel):
    ok: bool
    detail: str


class Readiness(BaseModel):
    ready: bool
    checks: dict[str, Check]

    @property
    def reason(self) -> str:
        return "; ".join(f"{name}: {c.detail}" for name, c in self.checks.items() if not c.ok)


async def _check_temporal(client: Client) -> Check:
    try:
        await client.workflow_service.get_system_info(GetSystemInfoRequest(), timeout=CHECK_TIMEOUT)
    except Exception as exc:  # any failure means "not reachable" to a load balancer
        return Check(
            ok=False, detail=f"unreachable at {client.service_client.config.target_host} ({exc})"
        )
    return Check(ok=True, detail=f"reachable at {client.service_client.config.target_host}")


async def _check_database(db: Database) -> Check:
    try:
        await asyncio.wait_for(db.ping(), CHECK_TIMEOUT.total_seconds())
    except Exception as exc:
        return Check(ok=False, detail=f"unreachable ({type(exc).__name__}: {exc})")
    return Check(ok=True, detail=f"reachable ({db.url.get_backend_name()})")


async def fresh_pollers(client: Client, task_queue: str) -> set[str]:
    """The identities of the workers that polled ``task_queue`` within ``POLLER_FRESHNESS``."""
    now = datetime.now(UTC)
    response = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=client.namespace,
            task_queue=TaskQueue(name=task_queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        ),
        timeout=CHECK_TIMEOUT,
    )
    return {
        p.identity
        for p in response.pollers
        if now - p.last_access_time.ToDatetime(tzinfo=UTC) < POLLER_FRESHNESS
    }


async def _check_pollers(client: Client, task_queue: str) -> Check:
    try:
        fresh = await fresh_pollers(client, task_queue)
    except Exception as exc:
        return Check(ok=False, detail=f"cannot describe task queue ({exc})")
    if not fresh:
        return Check(ok=False, detail="no worker is polling")
    return Check(ok=True, detail=f"{len(fresh)} worker(s) polling")


async def check_readiness(client: Client, db: Database, task_queues: tuple[str, ...]) -> Readiness:
    names = ["temporal", "database", *(f"worker:{q}" for q in task_queues)]
    results = await asyncio.gather(
        _check_temporal(client),
        _check_database(db),
        *(_check_pollers(client, q) for q in task_queues),
    )
    checks = dict(zip(names, results, strict=True))
    return Readiness(ready=all(c.ok for c in results), checks=checks)


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "Not ready, with the reason"}})
async def readyz(request: Request) -> Any:
    state = request.app.state
    readiness = await check_readiness(state.temporal, state.db, state.task_queues)
    body = readiness.model_dump() | {"reason": readiness.reason or None}
    return JSONResponse(body, status_code=200 if readiness.ready else 503)
