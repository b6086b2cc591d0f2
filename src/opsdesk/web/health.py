"""Liveness and readiness.

``/healthz`` says the process is up. ``/readyz`` says this replica can serve: Temporal
answers, the database answers, a worker is polling every task queue (a worker that
stopped polling more than ``POLLER_FRESHNESS`` ago counts as gone: a long poll lasts about
a minute, so a live worker always shows a fresher poll than that), and, with Worker
Versioning, a build of the deployment is current (until one is, a new order or request
waits for a worker that will never take it).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
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
from opsdesk.temporal.deployments import current_build_id
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


class CurrentBuild:
    """Whether deployment ``name`` has a current build, asked of Temporal seldom: the server
    limits the requests about one deployment, and a worker setting its version current
    must not be crowded out by probes. Once a build is current one stays current (a
    rollout changes which), so a yes is kept ``KEEP_YES`` seconds, a no ``KEEP_NO``."""

    KEEP_YES = 60.0
    KEEP_NO = 3.0

    def __init__(self, name: str) -> None:
        self.name = name
        self._check: Check | None = None
        self._until = 0.0

    async def check(self, client: Client) -> Check:
        now = time.monotonic()
        if self._check is not None and now < self._until:
            return self._check
        try:
            current = await current_build_id(client, self.name)
        except Exception as exc:
            # A throttled or failed describe says nothing new about a deployment already
            # seen with a current build: every replica failing it at once would take the
            # whole API out of the load balancer. Temporal being down fails its own check.
            if self._check is not None and self._check.ok:
                self._until = now + self.KEEP_NO
                return self._check
            check = Check(ok=False, detail=f"cannot describe deployment {self.name} ({exc})")
        else:
            if current is None:
                check = Check(ok=False, detail=f"no build of {self.name} is current yet")
            else:
                check = Check(ok=True, detail=f"build {current} is current")
        self._check, self._until = check, now + (self.KEEP_YES if check.ok else self.KEEP_NO)
        return check


async def check_readiness(
    client: Client,
    db: Database,
    task_queues: tuple[str, ...],
    deployment: CurrentBuild | None = None,
) -> Readiness:
    """Whether this replica can serve; ``deployment``: the Worker Deployment whose current
    build must exist (None: workers are not versioned)."""
    names = ["temporal", "database", *(f"worker:{q}" for q in task_queues)]
    checks: list[Coroutine[Any, Any, Check]] = [
        _check_temporal(client),
        _check_database(db),
        *(_check_pollers(client, q) for q in task_queues),
    ]
    if deployment is not None:
        names.append("deployment")
        checks.append(deployment.check(client))
    results = await asyncio.gather(*checks)
    return Readiness(
        ready=all(c.ok for c in results), checks=dict(zip(names, results, strict=True))
    )


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", responses={503: {"description": "Not ready, with the reason"}})
async def readyz(request: Request) -> Any:
    state = request.app.state
    readiness = await check_readiness(
        state.temporal, state.db, state.task_queues, state.current_build
    )
    body = readiness.model_dump() | {"reason": readiness.reason or None}
    return JSONResponse(body, status_code=200 if readiness.ready else 503)
