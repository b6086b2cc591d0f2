"""Submit to the owner's email against bare Temporal: the time from a tenant's submit to the
owner's approval email recorded in the outbox, next to a bare request of the same shape, on
the same dev server in the same run.

    uv run python -m bench.submit [--requests 30]

Three ways, ``--requests`` requests each, one request at a time, the ways taking turns
(one warm-up request each first, not counted):

- the tenant's web form, ``POST /report`` through the API process;
- ``service.submit_request`` through the Temporal client (start, then read the state back),
  which the form, the JSON API and the poller's children share;
- the bare request (``bench/maintenance_baseline.py``), started and read back the same way.

The clock starts just before the submit and stops at the owner's email's outbox row
(``outbox.created_at``, written inside the ``record_email`` activity); the bare request's
notification returns the time its ``record`` activity ran. The next request starts once the
last one's two notifications (the tenant's acknowledgement and the owner's question) have
finished, so each is measured on an idle worker.
"""

from __future__ import annotations

import argparse
import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from sqlalchemy import select
from temporalio.client import Client

from bench.harness import save
from bench.maintenance_baseline import BaselineRequest, notice_id
from bench.maintenance_stack import (
    DESCRIPTION,
    OWNER_EMAIL,
    PROPERTY,
    TENANT,
    UNIT,
    count,
    form,
    maintenance_stack,
    spawn_baseline,
    spawn_real,
    workers,
)
from opsdesk.db import Database
from opsdesk.db.tables import OutboxMessage
from opsdesk.maintenance import service
from opsdesk.maintenance.ids import request_workflow_id
from opsdesk.maintenance.workflow import MaintenanceRequestWorkflow
from opsdesk.settings import Settings
from opsdesk.stats import summary_ms
from opsdesk.temporal.client import connect

SETTLE_LIMIT = 60.0
WAYS = {
    "form": "tenant's form: POST /report, through the API",
    "client": "submit_request through the client",
    "baseline": "bare workflow, same shape, through the client",
}

Submit = Callable[[], Awaitable[str]]
"""Submit one request; returns its workflow id."""


async def _settled(client: Client, workflow_id: str) -> None:
    """Wait until the request's two notifications (tenant, owner) have finished."""
    query = f"ParentWorkflowId = '{workflow_id}' AND ExecutionStatus = 'Completed'"
    began = time.monotonic()
    while await count(client, query) < 2:
        if time.monotonic() - began > SETTLE_LIMIT:
            raise TimeoutError(f"{workflow_id}: its notifications did not finish")
        await asyncio.sleep(0.05)


async def measure(requests: int) -> dict[str, Any]:
    with maintenance_stack() as running:
        settings = running.settings
        client = await connect(settings)
        db = Database(settings.resolved_database_url)
        queue = f"baseline-submit-{uuid.uuid4().hex[:6]}"
        samples: dict[str, list[float]] = {name: [] for name in WAYS}
        try:
            with workers(
                running, spawn_real(running, poller=False), spawn_baseline(running, queue)
            ):
                async with running.api_client(timeout=30) as http:
                    submits = _ways(client, http, settings, queue)
                    ends = _ends(client, db)
                    for turn in range(requests + 1):
                        for name, submit in submits.items():
                            began = time.time()
                            workflow_id = await submit()
                            await _settled(client, workflow_id)
                            took = await ends[name](workflow_id) - began
                            if turn:  # the first turn warms each way up
                                samples[name].append(took)
        finally:
            await db.dispose()
    rows = {}
    for name, taken in samples.items():
        rows[name] = summary_ms(taken)
        print(
            f"  {name:<9} p50 {rows[name]['p50_ms']:6.1f} ms  p95 {rows[name]['p95_ms']:6.1f} ms  "
            f"p99 {rows[name]['p99_ms']:6.1f} ms",
            flush=True,
        )
    return {
        "requests_per_way": requests,
        "ways": WAYS,
        "rows": rows,
        "ratio": round(rows["client"]["p50_ms"] / rows["baseline"]["p50_ms"], 3),
    }


def _bench_id() -> str:
    return f"bench-{uuid.uuid4().hex[:12]}"


def _ways(
    client: Client, http: httpx.AsyncClient, settings: Settings, queue: str
) -> dict[str, Submit]:
    async def via_form() -> str:
        key = uuid.uuid4().hex
        response = await http.post(
            "/report",
            data={
                "property_id": PROPERTY,
                "unit": UNIT,
                "name": TENANT["name"],
                "email": TENANT["email"],
                "phone": TENANT["phone"],
                "description": DESCRIPTION,
                "key": key,
            },
        )
        if response.status_code != 303:
            raise RuntimeError(f"POST /report answered {response.status_code}: {response.text}")
        # The page it leads to names the request: /report/received/<request id>.
        return request_workflow_id(response.headers["location"].rsplit("/", 1)[-1])

    async def via_client() -> str:
        submission = service.submission_of(settings, _bench_id(), form())
        await service.submit_request(client, settings, submission)
        return request_workflow_id(submission.request_id)

    async def bare() -> str:
        request_id = _bench_id()
        handle = await client.start_workflow(
            BaselineRequest.run, request_id, id=f"baseline-{request_id}", task_queue=queue
        )
        # As ``submit_request`` does: read the state back.
        await handle.query(BaselineRequest.get_state)
        return handle.id

    return {"form": via_form, "client": via_client, "baseline": bare}


def _ends(client: Client, db: Database) -> dict[str, Callable[[str], Awaitable[float]]]:
    async def outbox(workflow_id: str) -> float:
        """When the owner's email was written to the outbox."""
        async with db.transaction() as session:
            rows = (
                await session.scalars(
                    select(OutboxMessage.created_at).where(
                        OutboxMessage.reference == workflow_id,
                        OutboxMessage.to_address == OWNER_EMAIL,
                    )
                )
            ).all()
        if len(rows) != 1:
            state = await client.get_workflow_handle_for(
                MaintenanceRequestWorkflow.run, workflow_id
            ).query(MaintenanceRequestWorkflow.get_state)
            raise RuntimeError(f"{workflow_id} ({state.status}): {len(rows)} emails to the owner")
        return rows[0].timestamp()

    async def bare(workflow_id: str) -> float:
        recorded: float = await client.get_workflow_handle(notice_id(workflow_id, 2)).result()
        return recorded

    return {"form": outbox, "client": outbox, "baseline": bare}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=30, help="requests per way")
    args = parser.parse_args()
    began = time.perf_counter()
    result = asyncio.run(measure(args.requests))
    rows = result["rows"]
    print(
        f"submit_request p50 {rows['client']['p50_ms']} ms vs baseline "
        f"{rows['baseline']['p50_ms']} ms: {result['ratio']} times "
        f"({time.perf_counter() - began:.0f} s)"
    )
    print(f"saved {save('submit', result)}")


if __name__ == "__main__":
    main()
