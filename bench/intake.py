"""Intake throughput against bare Temporal: repair requests a second from the demo
property-management feed to their first question (the owner asked to approve), next to a
bare poller and request of the same shape, on the same dev server in the same run.

    uv run python -m bench.intake [--requests 40] [--rounds 4]

Each side's worker is its own process, up for the whole run. Each round, for each side in
turn (bare first in odd rounds, real first in even ones), the feed gets ``--requests`` new
records at once and, once the last round's notifications have finished, a fresh poller is
started on that backlog; it is stopped when the round is over. A warm-up round of 10
records a side comes first and is not counted. The round's rate is the records divided by
the time from that start to the last request's question (``RequestState.question.asked_at``,
the workflow's clock). Records are fetched 20 a poll, so that a round's backlog takes two;
the real side checks each, starts it, triages it offline and asks the owner. The server's
and each worker's CPU over the round say who the bottleneck is.

The real side is `opsdesk worker` polling ``/dev/pms/requests`` with ``PmsPollerWorkflow``.
The bare side (``bench/maintenance_baseline.py``) fetches the same feed over HTTP and starts
one child per record, each with the request's shape up to the owner's question: two no-op
activities, two notification children of three no-op activities each, the deadline timer;
no directory checks, no search attributes, no memo.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import psutil
from temporalio.client import Client, WorkflowHandle
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.service import RPCError

from bench.harness import Stack, save, spread
from bench.maintenance_baseline import BarePollerInput, BaselinePoller, BaselineRequest
from bench.maintenance_stack import (
    BATCH,
    POLL_INTERVAL,
    TOKEN,
    count,
    cpu_seconds,
    feed_record,
    feed_url,
    maintenance_stack,
    refill_feed,
    server_process,
    spawn_baseline,
    spawn_real,
    workers,
)
from opsdesk.db import Database
from opsdesk.maintenance.ids import external_request_id, request_workflow_id
from opsdesk.maintenance.status import RequestStatus
from opsdesk.maintenance.workflow import MaintenanceRequestWorkflow
from opsdesk.settings import Settings
from opsdesk.temporal.client import connect
from opsdesk.worker import start_poller

ROUND_LIMIT = 300.0
BUSY = "WorkflowType IN ('NotificationWorkflow', 'BaselineNotice') AND ExecutionStatus = 'Running'"
WARM_UP = 10
"""Records per side in the round before the measured ones: the first requests a worker runs
pay for its sandbox's first imports."""


@dataclass
class Side:
    name: str
    spawn: Callable[[], subprocess.Popen[bytes]]
    start_poller: Callable[[], Awaitable[WorkflowHandle[Any, Any]]]
    """Start the poller, or find the one running."""
    notice_type: str
    """The notification workflow's type: two are started when a request asks the owner."""
    asked_at: Callable[[str], Awaitable[datetime]]
    """When the request with that external id asked its first question."""
    worker: psutil.Process | None = None


async def _polled_once(handle: WorkflowHandle[Any, Any], within: float = 90.0) -> None:
    """Wait until the poller's first fetch has come back empty: its worker is up and polls."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            description = await handle.describe()
        except RPCError:
            description = None
        if description is not None:
            for pending in description.raw_description.pending_activities:
                if pending.attempt >= 2:
                    return
        await asyncio.sleep(0.25)
    raise TimeoutError(f"{handle.id} did not poll within {within:.0f} s")


async def _idle(client: Client) -> None:
    """Wait until the last round's notifications have finished (they outlive its clock), so
    that no round runs on another's leftovers."""
    began = time.monotonic()
    while await count(client, BUSY):
        if time.monotonic() - began > ROUND_LIMIT:
            raise TimeoutError("the last round's notifications did not finish")
        await asyncio.sleep(0.25)


async def one_round(
    client: Client, db: Database, side: Side, requests: int, server: psutil.Process
) -> dict[str, Any]:
    await _idle(client)
    ids = [f"{side.name[:4]}-{uuid.uuid4().hex[:10]}" for _ in range(requests)]
    await refill_feed(db, [feed_record(i) for i in ids])
    notices = f"WorkflowType = '{side.notice_type}'"
    before = await count(client, notices)
    assert side.worker is not None
    cpu = (cpu_seconds(server), cpu_seconds(side.worker))
    began = time.time()
    poller = await side.start_poller()
    while await count(client, notices) < before + 2 * requests:
        if time.time() - began > ROUND_LIMIT:
            raise TimeoutError(f"{side.name}: not every request was asked within the limit")
        await asyncio.sleep(0.25)
    wall = time.time() - began
    # Cores each used while the round ran: who the bottleneck is.
    server_cores = (cpu_seconds(server) - cpu[0]) / wall
    worker_cores = (cpu_seconds(side.worker) - cpu[1]) / wall
    asked = await asyncio.gather(*(side.asked_at(i) for i in ids))
    await poller.terminate("bench: round over")
    last = max(a.timestamp() for a in asked) - began
    first = min(a.timestamp() for a in asked) - began
    rate = requests / last
    print(
        f"  {side.name:<9} {rate:6.2f} requests/s  first question after {first:5.2f} s, "
        f"last after {last:5.2f} s; cores: server {server_cores:.2f}, worker {worker_cores:.2f}",
        flush=True,
    )
    return {
        "requests_per_s": rate,
        "first_s": first,
        "last_s": last,
        "server_cores": server_cores,
        "worker_cores": worker_cores,
    }


def sides(running: Stack, client: Client, settings: Settings) -> tuple[Side, Side]:
    real_settings = settings.model_copy(update={"pms_poll_interval": POLL_INTERVAL})

    async def real_asked(external_id: str) -> datetime:
        request_id = external_request_id(real_settings.pms_source, external_id)
        handle = client.get_workflow_handle_for(
            MaintenanceRequestWorkflow.run, request_workflow_id(request_id)
        )
        state = await handle.query(MaintenanceRequestWorkflow.get_state)
        if state.status is not RequestStatus.OWNER_APPROVAL or state.question is None:
            raise RuntimeError(f"{request_id} is {state.status}, not asking the owner")
        return state.question.asked_at

    real = Side(
        name="real",
        spawn=lambda: spawn_real(running, poller=True),
        start_poller=lambda: start_poller(client, real_settings),
        notice_type="NotificationWorkflow",
        asked_at=real_asked,
    )

    queue = f"baseline-intake-{uuid.uuid4().hex[:6]}"
    source = "bare"

    async def bare_start() -> WorkflowHandle[Any, Any]:
        return await client.start_workflow(
            BaselinePoller.run,
            BarePollerInput(
                source=source,
                url=feed_url(running),
                token=TOKEN,
                limit=BATCH,
                poll_interval_s=POLL_INTERVAL.total_seconds(),
            ),
            id=f"baseline-poller-{source}",
            task_queue=queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        )

    async def bare_asked(external_id: str) -> datetime:
        handle = client.get_workflow_handle(f"baseline-{source}-{external_id}")
        state = await handle.query(BaselineRequest.get_state)
        if state["asked_at"] is None:
            raise RuntimeError(f"{handle.id} has not asked")
        return datetime.fromisoformat(state["asked_at"])

    bare = Side(
        name="baseline",
        spawn=lambda: spawn_baseline(running, queue),
        start_poller=bare_start,
        notice_type="BaselineNotice",
        asked_at=bare_asked,
    )
    return bare, real


async def measure(requests: int, rounds: int) -> dict[str, Any]:
    with maintenance_stack() as running:
        settings = running.settings
        client = await connect(settings)
        db = Database(settings.resolved_database_url)
        results: dict[str, list[dict[str, Any]]] = {}
        both = sides(running, client, settings)
        await refill_feed(db, [])
        try:
            # Both workers stay up for the whole run; the side whose round it is not is idle.
            spawned = [side.spawn() for side in both]
            for side, process in zip(both, spawned, strict=True):
                side.worker = psutil.Process(process.pid)
            server = server_process()
            with workers(running, *spawned):
                for side in both:
                    # Its first, empty poll says the worker is up; then the poller waits for
                    # a backlog to start on.
                    poller = await side.start_poller()
                    await _polled_once(poller)
                    await poller.terminate("bench: start again on a backlog")
                print(" warm-up round (not counted)", flush=True)
                for side in both:
                    await one_round(client, db, side, WARM_UP, server)
                for number in range(1, rounds + 1):
                    print(f" round {number}", flush=True)
                    # Bare first in odd rounds, real first in even ones: whatever going first
                    # or second costs falls on both.
                    for side in both if number % 2 else both[::-1]:
                        results.setdefault(side.name, []).append(
                            await one_round(client, db, side, requests, server)
                        )
        finally:
            await db.dispose()
    rows = {
        name: {
            "requests_per_s": spread([r["requests_per_s"] for r in runs], 2),
            "last_s": spread([r["last_s"] for r in runs], 2),
            "first_s": spread([r["first_s"] for r in runs], 2),
            "server_cores": spread([r["server_cores"] for r in runs], 2),
            "worker_cores": spread([r["worker_cores"] for r in runs], 2),
        }
        for name, runs in results.items()
    }
    ratios = [
        r["requests_per_s"] / b["requests_per_s"]
        for r, b in zip(results["real"], results["baseline"], strict=True)
    ]
    return {
        "requests_per_round": requests,
        "rounds": rounds,
        "batch": BATCH,
        "poll_interval_s": POLL_INTERVAL.total_seconds(),
        "rows": rows,
        "ratio": spread(ratios, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=40, help="records per side and round")
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    began = time.perf_counter()
    result = asyncio.run(measure(args.requests, args.rounds))
    rows = result["rows"]
    print(
        f"real {rows['real']['requests_per_s']['median']} requests/s vs baseline "
        f"{rows['baseline']['requests_per_s']['median']} (medians of {args.rounds} rounds): "
        f"ratio {result['ratio']['median']} ({time.perf_counter() - began:.0f} s)"
    )
    print(f"saved {save('intake', result)}")


if __name__ == "__main__":
    main()
