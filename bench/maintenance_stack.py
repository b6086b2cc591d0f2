"""What the maintenance benchmarks (``bench.intake``, ``bench.submit``) share: a stack with the
sample directory, the demo property-management feed and the offline triage; the real worker
and the baseline worker, each its own process; the baseline's fetch activity.

    python -m bench.maintenance_stack serve-baseline TASK_QUEUE   (internal: the bare worker)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import httpx
import psutil
from sqlalchemy import delete, update
from temporalio import activity
from temporalio.client import Client
from temporalio.exceptions import ApplicationError, ApplicationErrorCategory
from temporalio.worker import Worker

from bench.harness import Stack, stack
from bench.maintenance_baseline import (
    FETCH,
    BareBatch,
    BareFetch,
    BaselineNotice,
    BaselinePoller,
    BaselineRequest,
    noop,
    recorded,
)
from opsdesk.db import Database
from opsdesk.db.migrate import upgrade
from opsdesk.db.tables import IntakeCursor, PmsFeedRecord
from opsdesk.maintenance.directory import Directory, sample_directory
from opsdesk.maintenance.feed import FEED_PATH
from opsdesk.maintenance.inputs import RequestForm
from opsdesk.settings import Settings
from opsdesk.temporal.client import connect
from opsdesk.worker import workflow_runner

TOKEN = "bench-demo-pms-token"
POLL_INTERVAL = timedelta(seconds=1)
BATCH = 20
"""Records a poll (``OPSDESK_PMS_BATCH_SIZE``), both sides: a round's backlog takes two."""
PROPERTY, UNIT = "harbor-12", "1A"
OWNER_EMAIL = "owner@harborlane.example"
"""12 Harbor Lane's owner in the sample directory: who is asked to approve."""
DESCRIPTION = "The kitchen tap drips all night and the cabinet underneath is damp"
"""Routine plumbing for the offline triage: the owner is asked before anything else."""
TENANT = {"name": "Sam Rivera", "email": "sam.rivera@example.com", "phone": "+1 415 555 0111"}


def fill_directory(settings: Settings) -> None:
    """Migrate and load the sample directory (as a first `opsdesk dev` does)."""

    def fill() -> None:
        # Its own thread: migrations and this run their own event loops.
        upgrade(settings.resolved_database_url)

        async def directory() -> None:
            db = Database(settings.resolved_database_url)
            await Directory(db).import_directory(sample_directory())
            await db.dispose()

        asyncio.run(directory())

    with ThreadPoolExecutor(1) as thread:
        thread.submit(fill).result()


@contextlib.contextmanager
def maintenance_stack(**api_env: str) -> Iterator[Stack]:
    """A dev server and the API serving the demo feed behind ``TOKEN``, the triage offline
    (a model would time the provider, not the desk); ``api_env`` adds settings."""
    with stack(
        api=True,
        api_env={
            "OPSDESK_DEMO_PMS": "true",
            "OPSDESK_PMS_TOKEN": TOKEN,
            "OPSDESK_AI_PROVIDER": "rules",
            **api_env,
        },
        prepare=fill_directory,
    ) as running:
        yield running


def feed_url(running: Stack) -> str:
    return f"{running.api_url}{FEED_PATH}"


def form() -> RequestForm:
    return RequestForm.model_validate(
        {"property_id": PROPERTY, "unit": UNIT, "tenant": TENANT, "description": DESCRIPTION}
    )


def feed_record(external_id: str) -> dict[str, Any]:
    return {
        "id": external_id,
        "property_id": PROPERTY,
        "unit": UNIT,
        "tenant_name": TENANT["name"],
        "tenant_email": TENANT["email"],
        "tenant_phone": TENANT["phone"],
        "description": DESCRIPTION,
    }


async def refill_feed(db: Database, records: list[dict[str, Any]]) -> None:
    """Empty the demo feed, then put ``records`` in it in one transaction. The stored intake
    cursors start again from the first record: an emptied SQLite table numbers its rows from
    1 again, so a cursor of the old feed would skip the new records (whose ids are new, so
    no claim stops them)."""
    async with db.transaction() as session:
        await session.execute(delete(PmsFeedRecord))
        await session.execute(update(IntakeCursor).values(cursor=None))
        session.add_all(PmsFeedRecord(record=record) for record in records)


# -- the workers, each in its own process ------------------------------------------------------


def spawn_real(running: Stack, *, poller: bool) -> subprocess.Popen[bytes]:
    """`opsdesk worker`, as shipped; with ``poller`` it polls the demo feed."""
    env = dict(running.env)
    if poller:
        env |= {
            "OPSDESK_PMS_URL": feed_url(running),
            "OPSDESK_PMS_POLL_INTERVAL": f"PT{POLL_INTERVAL.total_seconds():g}S",
            "OPSDESK_PMS_BATCH_SIZE": str(BATCH),
        }
    return _spawn(running, "worker-real", [sys.executable, "-m", "opsdesk", "worker"], env)


def spawn_baseline(running: Stack, task_queue: str) -> subprocess.Popen[bytes]:
    env = running.env | {"PYTHONPATH": os.getcwd()}
    command = [sys.executable, "-m", "bench.maintenance_stack", "serve-baseline", task_queue]
    return _spawn(running, "worker-baseline", command, env)


def _spawn(
    running: Stack, name: str, command: list[str], env: dict[str, str]
) -> subprocess.Popen[bytes]:
    """Its output goes to ``<name>.log`` in the data directory: a poller stopped between
    rounds makes the SDK warn about the fetch it had in flight. ``workers`` shows the end of
    the logs when a run fails."""
    log = running.settings.data_dir / f"{name}.log"
    with open(log, "ab") as out:
        return subprocess.Popen(command, env=env, stdout=out, stderr=out)


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextlib.contextmanager
def workers(running: Stack, *spawned: subprocess.Popen[bytes]) -> Iterator[None]:
    """Stop the workers on the way out; on an error, show the end of their logs."""
    try:
        yield
    except BaseException:
        for log in sorted(running.settings.data_dir.glob("worker-*.log")):
            lines = log.read_text(errors="replace").splitlines()[-30:]
            print(f"--- the end of {log.name}:", *lines, sep="\n", file=sys.stderr)
        raise
    finally:
        for process in spawned:
            stop(process)


@activity.defn(name=FETCH)
async def bare_fetch(request: BareFetch) -> BareBatch:
    """The feed's next page, taken as it comes: ids only, nothing checked or set aside."""
    params: dict[str, str | int] = {"limit": request.limit}
    if request.cursor is not None:
        params["after"] = request.cursor
    async with httpx.AsyncClient(timeout=10) as http:
        response = await http.get(
            request.url, params=params, headers={"Authorization": f"Bearer {request.token}"}
        )
    response.raise_for_status()
    body = response.json()
    if not body["requests"]:
        raise ApplicationError(
            "nothing new", type="NothingNew", category=ApplicationErrorCategory.BENIGN
        )
    return BareBatch(cursor=body["cursor"], ids=[str(r["id"]) for r in body["requests"]])


async def serve_baseline(task_queue: str) -> None:
    client = await connect(Settings())
    stop_event = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop_event.set)
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[BaselineRequest, BaselineNotice, BaselinePoller],
        activities=[noop, recorded, bare_fetch],
        workflow_runner=workflow_runner(),
    ):
        await stop_event.wait()


# -- reading the server ------------------------------------------------------------------------


async def count(client: Client, query: str) -> int:
    return (await client.count_workflows(query)).count


def server_process() -> psutil.Process:
    """The dev server this benchmark started (the harness runs it as our child)."""
    for child in psutil.Process().children():
        if child.name().startswith("temporal"):
            return child
    raise LookupError("no Temporal dev server among this process's children")


def cpu_seconds(process: psutil.Process) -> float:
    """User and system CPU seconds of a process and its children so far."""
    total = 0.0
    for one in [process, *process.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess):
            times = one.cpu_times()
            total += times.user + times.system
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    baseline = sub.add_parser("serve-baseline", help="run the baseline worker")
    baseline.add_argument("task_queue")
    args = parser.parse_args()
    asyncio.run(serve_baseline(args.task_queue))


if __name__ == "__main__":
    main()
