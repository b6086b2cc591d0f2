"""Emergencies first: how long a few emergencies from one owner wait for their first question
while another owner's burst of routine requests fills the queue, with Temporal's task
priorities and fairness keys honoured and without.

    uv run python -m bench.priority [--burst 40] [--emergencies 3] [--rounds 4]

Two dev servers as `opsdesk dev` starts them, each with its own database, directory and
worker, up for the whole run: "priorities" runs the priority matcher and fairness
(``devserver.DYNAMIC_CONFIG``, as shipped), "FIFO" the server's first-in-first-out matcher
(``matching.useNewMatcher`` and ``matching.enableFairness`` off), which ignores the keys:
the desk as it was before them. The code and the keys it sets are the same on both.

Each worker (``serve-worker``) runs the real maintenance workflows and activities with the
offline triage, limited to ``ACTIVITY_SLOTS`` activities and ``WORKFLOW_SLOTS`` workflow
tasks at a time, so that a burst makes a queue. Each round, for each variant in turn (the
order alternating between rounds), ``--burst`` routine repairs at 12 Harbor Lane (owner
Harbor Lane Holdings) are started at once through ``service.submit_request`` as the API
starts them, then ``--emergencies`` burst pipes at 48 Elm Street (another owner). Measured:
each request's time from its start to its first question to a person
(``RequestState.question.asked_at``, the workflow's clock): for an emergency the vendor's
quote (the owner is only told), for a routine repair the owner's approval. The round ends
when visibility lists every request as waiting on someone (a query would be a task on the
very queue measured), and the next starts once its notifications have finished. A warm-up
round of 5 routine requests and one emergency comes first and is not counted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker

from bench.harness import Stack, save, spread, stack
from bench.maintenance_stack import count, fill_directory, stop
from opsdesk.db import Database
from opsdesk.maintenance import service
from opsdesk.maintenance.directory import Directory
from opsdesk.maintenance.ids import request_workflow_id
from opsdesk.maintenance.inputs import RequestForm
from opsdesk.maintenance.workflow import MaintenanceRequestWorkflow
from opsdesk.notify.workflows import NotificationWorkflow, PhoneCallWorkflow
from opsdesk.settings import Settings
from opsdesk.temporal.client import connect
from opsdesk.worker import (
    ai_activities,
    call_activities,
    maintenance_activities,
    notify_activities,
    workflow_runner,
)

ACTIVITY_SLOTS = 2
WORKFLOW_SLOTS = 2
"""The worker's slots: few enough that a burst waits in the task queues, where priorities
and fairness act (a worker with a free slot for every task has no queue to order)."""
ROUND_LIMIT = 600.0
WARM_UP = (5, 1)
QUERY_WAIT = timedelta(seconds=30)
BUSY = "WorkflowType = 'NotificationWorkflow' AND ExecutionStatus = 'Running'"
FIFO: dict[str, object] = {"matching.useNewMatcher": False, "matching.enableFairness": False}
"""The dev server's dynamic config without the priority matcher: keys are ignored."""

ROUTINE = {
    "property_id": "harbor-12",
    "unit": "1A",
    "tenant": {"name": "Sam Rivera", "email": "sam.rivera@example.com"},
    "description": "The kitchen tap drips all night and the cabinet underneath is damp",
}
"""Routine plumbing at 12 Harbor Lane (owner Harbor Lane Holdings): the owner is asked."""
EMERGENCY = {
    "property_id": "elm-48",
    "unit": "Main",
    "tenant": {"name": "Jordan Blake", "email": "jordan.blake@example.com"},
    "description": "A pipe burst in the bathroom and water is flooding the hallway",
}
"""A burst pipe at 48 Elm Street (another owner): a plumber is asked for a quote at once."""


@dataclass
class Variant:
    name: str
    running: Stack
    client: Client
    db: Database
    owners: dict[str, str]
    """Each property's owner, as the API looks it up before the start."""


async def submit(variant: Variant, tag: str, fields: dict[str, Any]) -> tuple[str, float]:
    """Start one request as the API does (source "api": no report check), its id starting
    with the round's ``tag``; its id and when it started."""
    form = RequestForm.model_validate(fields)
    request_id = f"{tag}-{uuid.uuid4().hex[:10]}"
    settings = variant.running.settings
    submission = service.submission_of(settings, request_id, form, source="api")
    began = time.time()
    await service.submit_request(
        variant.client, settings, submission, variant.owners[form.property_id]
    )
    return request_id, began


async def asked_at(variant: Variant, request_id: str) -> float:
    """When the request asked its first question, on the workflow's clock."""
    handle = variant.client.get_workflow_handle_for(
        MaintenanceRequestWorkflow.run, request_workflow_id(request_id)
    )
    state = await handle.query(MaintenanceRequestWorkflow.get_state, rpc_timeout=QUERY_WAIT)
    if state.question is None:
        raise RuntimeError(f"{request_id} is listed as asking but asks nothing")
    return state.question.asked_at.timestamp()


async def idle(client: Client) -> None:
    """Wait until the last round's notifications have finished (they outlive its clock)."""
    began = time.monotonic()
    while await count(client, BUSY):
        if time.monotonic() - began > ROUND_LIMIT:
            raise TimeoutError("the last round's notifications did not finish")
        await asyncio.sleep(0.5)


async def one_round(variant: Variant, burst: int, emergencies: int) -> dict[str, Any]:
    await idle(variant.client)
    tag = f"B{uuid.uuid4().hex[:6]}"
    routine = await asyncio.gather(*(submit(variant, tag, ROUTINE) for _ in range(burst)))
    urgent = await asyncio.gather(*(submit(variant, tag, EMERGENCY) for _ in range(emergencies)))
    # Visibility, not queries, says when all have asked: a query is a task on the same queue,
    # and would wait in (and add to) the backlog being measured.
    asking = (
        f"WorkflowId STARTS_WITH '{request_workflow_id(tag)}' "
        "AND RequestWaitingOn IN ('owner', 'vendor')"
    )
    deadline = time.monotonic() + ROUND_LIMIT
    while await count(variant.client, asking) < burst + emergencies:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{variant.name}: not every request asked within the limit")
        await asyncio.sleep(0.5)
    waits = {
        request_id: await asked_at(variant, request_id) - began
        for request_id, began in routine + urgent
    }
    emergency = [waits[i] for i, _ in urgent]
    routine_waits = [waits[i] for i, _ in routine]
    result = {
        "emergency_s": statistics.median(emergency),
        "emergency_max_s": max(emergency),
        "routine_s": statistics.median(routine_waits),
        "routine_max_s": max(routine_waits),
    }
    print(
        f"  {variant.name:<10} emergencies asked after {result['emergency_s']:6.2f} s "
        f"(worst {result['emergency_max_s']:6.2f}); routine median {result['routine_s']:6.2f} s,"
        f" last {result['routine_max_s']:6.2f} s",
        flush=True,
    )
    return result


def spawn_worker(running: Stack) -> subprocess.Popen[bytes]:
    env = running.env | {"PYTHONPATH": os.getcwd()}
    log = running.settings.data_dir / "worker-priority.log"
    with open(log, "ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "bench.priority", "serve-worker"],
            env=env,
            stdout=out,
            stderr=out,
        )


async def serve_worker() -> None:
    """The maintenance queue's worker as ``opsdesk worker`` builds it (offline triage), with
    few slots."""
    settings = Settings()
    client = await connect(settings)
    db = Database(settings.resolved_database_url)
    stop_event = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop_event.set)
    async with Worker(
        client,
        task_queue=settings.maintenance_task_queue,
        workflows=[MaintenanceRequestWorkflow, NotificationWorkflow, PhoneCallWorkflow],
        activities=[
            *maintenance_activities(db, settings).all(),
            *ai_activities(db, None, settings).all(),
            *notify_activities(db, settings, None).all(),
            *call_activities(db, settings).all(),
        ],
        workflow_runner=workflow_runner(),
        max_concurrent_activities=ACTIVITY_SLOTS,
        max_concurrent_workflow_tasks=WORKFLOW_SLOTS,
    ):
        await stop_event.wait()
    await db.dispose()


@contextlib.contextmanager
def variant_stack(dynamic_config: dict[str, object] | None) -> Iterator[Stack]:
    """A dev server (with ``dynamic_config`` over the shipped one), its database migrated
    and the sample directory loaded, and its worker."""
    with stack(
        api=False,
        api_env={"OPSDESK_AI_PROVIDER": "rules"},
        prepare=fill_directory,
        dynamic_config=dynamic_config,
    ) as running:
        worker = spawn_worker(running)
        try:
            yield running
        except BaseException:
            log = running.settings.data_dir / "worker-priority.log"
            print(*log.read_text(errors="replace").splitlines()[-30:], sep="\n", file=sys.stderr)
            raise
        finally:
            stop(worker)


async def variant(name: str, running: Stack) -> Variant:
    db = Database(running.settings.resolved_database_url)
    owners = {}
    for fields in (ROUTINE, EMERGENCY):
        facts = await Directory(db).property_facts(str(fields["property_id"]), str(fields["unit"]))
        owners[facts.property_id] = facts.owner_id
    return Variant(name, running, await connect(running.settings), db, owners)


async def measure(burst: int, emergencies: int, rounds: int) -> dict[str, Any]:
    results: dict[str, list[dict[str, Any]]] = {}
    with variant_stack(None) as with_keys, variant_stack(FIFO) as fifo:
        both = [await variant("priorities", with_keys), await variant("FIFO", fifo)]
        try:
            print(" warm-up round (not counted)", flush=True)
            for side in both:
                await one_round(side, *WARM_UP)
            for number in range(1, rounds + 1):
                print(f" round {number}", flush=True)
                for side in both if number % 2 else both[::-1]:
                    results.setdefault(side.name, []).append(
                        await one_round(side, burst, emergencies)
                    )
        finally:
            for side in both:
                await side.db.dispose()
    rows = {
        name: {key: spread([r[key] for r in runs], 2) for key in runs[0]}
        for name, runs in results.items()
    }
    ratios = [
        p["emergency_s"] / f["emergency_s"]
        for p, f in zip(results["priorities"], results["FIFO"], strict=True)
    ]
    return {
        "burst": burst,
        "emergencies": emergencies,
        "rounds": rounds,
        "activity_slots": ACTIVITY_SLOTS,
        "workflow_slots": WORKFLOW_SLOTS,
        "rows": rows,
        "emergency_ratio": spread(ratios, 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")
    sub.add_parser("serve-worker", help="(internal) run a variant's worker")
    parser.add_argument("--burst", type=int, default=40, help="routine requests a round")
    parser.add_argument("--emergencies", type=int, default=3, help="emergencies a round")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument(
        "--conditions", default="", help="a sentence on the machine's load, for the report"
    )
    args = parser.parse_args()
    if args.command == "serve-worker":
        asyncio.run(serve_worker())
        return
    began = time.perf_counter()
    result = asyncio.run(measure(args.burst, args.emergencies, args.rounds))
    result["conditions"] = args.conditions
    rows = result["rows"]
    print(
        f"emergencies asked after {rows['priorities']['emergency_s']['median']} s with "
        f"priorities vs {rows['FIFO']['emergency_s']['median']} s FIFO (medians of "
        f"{args.rounds} rounds; {time.perf_counter() - began:.0f} s)"
    )
    print(f"saved {save('priority', result)}")


if __name__ == "__main__":
    main()
