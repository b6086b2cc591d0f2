"""Worker memory with many open orders: `opsdesk worker` as its own process, orders started
straight through Temporal until N of them wait for shipment (CONFIRMED), the worker's
resident memory sampled along the way.

    uv run python -m bench.memory [--orders 1200] [--concurrency 40]

An open order costs the worker memory only while it sits in the sticky cache
(``OPSDESK_WORKER_CACHE`` workflows, default 1,000); past that the worker evicts the
least recently used and replays it from history when it is next touched. So memory grows
until the cache is full and then stays flat, however many orders are open.

Two readings are taken once the worker has settled: idle, after it polls its task queue and
before the first order; settled, after the last order waits for shipment. Settled means the
last ``SETTLE_SAMPLES`` readings, ``SETTLE_EVERY`` seconds apart, lie within
``SETTLE_BAND_MIB`` of each other; the reading is their median, and the row keeps how long
settling took. A worker that has not settled after ``SETTLE_TIMEOUT`` is read anyway and the
row says so.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

import psutil
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client, WorkflowQueryFailedError
from temporalio.service import RPCError

from bench.harness import confirmed, fill_catalog, save_row, stack
from opsdesk.orders import load
from opsdesk.orders import service as orders
from opsdesk.orders.catalog import sample_catalog
from opsdesk.orders.status import OrderStatus
from opsdesk.temporal.client import connect

SAMPLE_EVERY = 2.0
# A 10,000-order run takes an hour here; its row is saved along the way so that a run cut
# short still leaves what it measured.
SAVE_EVERY = 30
# Settled: the last SETTLE_SAMPLES readings, SETTLE_EVERY s apart, within SETTLE_BAND_MIB of
# each other. Fixed waits (5 s, 10 s) could read a worker still starting (one row's idle
# was 81 MiB against others' 160) or still finishing the last orders' work.
SETTLE_EVERY = 1.0
SETTLE_SAMPLES = 10
SETTLE_BAND_MIB = 2.0
SETTLE_TIMEOUT = 120.0
POLLING_TIMEOUT = 120.0


@dataclass
class Reading:
    mib: float
    after_s: float
    """Seconds from the start of the wait to the reading."""
    steady: bool
    """False when ``SETTLE_TIMEOUT`` passed before the readings held still."""


def rss_mib(process: psutil.Process) -> float:
    return process.memory_info().rss / 2**20


def settle_rule() -> dict[str, float]:
    return {
        "samples": SETTLE_SAMPLES,
        "every_s": SETTLE_EVERY,
        "band_mib": SETTLE_BAND_MIB,
        "timeout_s": SETTLE_TIMEOUT,
    }


async def settled_reading(process: psutil.Process, since: float) -> Reading:
    """The worker's memory once it holds still (see the module's docstring); ``since`` is
    the ``perf_counter`` time the wait is counted from."""
    window: deque[float] = deque(maxlen=SETTLE_SAMPLES)
    while True:
        window.append(rss_mib(process))
        waited = time.perf_counter() - since
        if len(window) == SETTLE_SAMPLES and max(window) - min(window) <= SETTLE_BAND_MIB:
            return Reading(statistics.median(window), waited, steady=True)
        if waited >= SETTLE_TIMEOUT:
            return Reading(statistics.median(window), waited, steady=False)
        await asyncio.sleep(SETTLE_EVERY)


async def wait_for_poller(client: Client, task_queue: str) -> None:
    """Until a worker polls ``task_queue`` for workflow tasks: the worker's imports, its
    migration and its connection are done."""
    deadline = time.monotonic() + POLLING_TIMEOUT
    request = DescribeTaskQueueRequest(
        namespace=client.namespace,
        task_queue=TaskQueue(name=task_queue),
        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    )
    while time.monotonic() < deadline:
        with contextlib.suppress(RPCError):
            if (await client.workflow_service.describe_task_queue(request)).pollers:
                return
        await asyncio.sleep(0.5)
    raise TimeoutError(f"no worker polled {task_queue} within {POLLING_TIMEOUT:.0f} s")


def summary(
    count: int,
    idle: Reading,
    samples: list[tuple[float, int, float]],
    settled: Reading | None,
) -> dict[str, Any]:
    """The row for ``count`` asked orders; without a settled reading it is a run still going,
    saved with how far it got."""
    reached = samples[-1][1] if samples else 0
    readings = [s[2] for s in samples] + ([settled.mib] if settled is not None else [])
    row: dict[str, Any] = {
        "orders": count if settled is not None else reached,
        "asked": count,
        "idle_mib": round(idle.mib, 1),
        "idle_settle_s": round(idle.after_s, 1),
        "peak_mib": round(max(readings), 1) if readings else None,
        "settled_mib": None if settled is None else round(settled.mib, 1),
        "settle_s": None if settled is None else round(settled.after_s, 1),
        # Readings taken at the timeout rather than once the worker held still.
        "unsteady": [
            name
            for name, reading in (("idle", idle), ("settled", settled))
            if reading is not None and not reading.steady
        ],
        "settle_rule": settle_rule(),
        "minutes_to_create": round(samples[-1][0] / 60, 1) if samples else 0.0,
        "samples": [[round(t, 1), n, round(r, 1)] for t, n, r in samples],
    }
    if settled is None:
        row["note"] = (
            f"had reached {reached:,} of {count:,} when this row was last saved, "
            "before its settled reading"
        )
    return row


async def run(count: int, concurrency: int) -> dict[str, Any]:
    with stack(api=False, worker=True, prepare=fill_catalog) as running:
        started = time.perf_counter()  # the worker was spawned just now
        settings = running.settings
        worker = psutil.Process(running.processes[0].pid)
        client = await connect(settings)
        planned = [
            order
            for order in load.plan_orders(count * 2, seed=1, catalog=sample_catalog())
            if order.plan == "delivered"
        ][:count]
        # Idle: once the worker polls (its imports, migration and connection done) and its
        # memory holds still, counted from the worker's start.
        await wait_for_poller(client, settings.orders_task_queue)
        idle = await settled_reading(worker, started)
        print(f"  idle: worker {idle.mib:,.0f} MiB after {idle.after_s:.0f} s", flush=True)
        samples: list[tuple[float, int, float]] = []
        began = time.perf_counter()

        async def sampler() -> None:
            while True:
                open_orders = await confirmed(client, settings)
                samples.append((time.perf_counter() - began, open_orders, rss_mib(worker)))
                print(f"  {open_orders:>6} open · worker {samples[-1][2]:,.0f} MiB", flush=True)
                if len(samples) % SAVE_EVERY == 0:
                    save_row("memory", str(count), summary(count, idle, samples, None))
                if open_orders >= count:
                    done.set()
                await asyncio.sleep(SAMPLE_EVERY)

        queue: asyncio.Queue[load.PlannedOrder] = asyncio.Queue()
        for order in planned:
            queue.put_nowait(order)

        async def starter() -> None:
            # Closed loop: the next order starts when this one waits for shipment. Starting
            # them all at once buries the dev server under first tasks and nothing finishes.
            while not queue.empty():
                request = queue.get_nowait().request
                await orders.start_order(client, settings, request)
                while True:
                    await asyncio.sleep(1)
                    with contextlib.suppress(RPCError, WorkflowQueryFailedError):
                        state = await orders.get_order(client, request.order_id)
                        if state.status is OrderStatus.CONFIRMED:
                            break

        done = asyncio.Event()
        watching = asyncio.create_task(sampler())
        await asyncio.gather(*(starter() for _ in range(concurrency)))
        await done.wait()
        # The curve ends at the last order; settling is counted from there.
        watching.cancel()
        settled = await settled_reading(worker, time.perf_counter())
        print(f"  settled: worker {settled.mib:,.0f} MiB after {settled.after_s:.0f} s", flush=True)
    return summary(count, idle, samples, settled)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=1200)
    parser.add_argument("--concurrency", type=int, default=40)
    args = parser.parse_args()
    row = asyncio.run(run(args.orders, args.concurrency))
    path = save_row("memory", str(args.orders), row)
    print(
        f"{args.orders} open orders: worker {row['settled_mib']} MiB after {row['settle_s']} s "
        f"(idle {row['idle_mib']} MiB after {row['idle_settle_s']} s)"
        + (f"; not settled: {', '.join(row['unsteady'])}" if row["unsteady"] else "")
    )
    print(f"saved {path}")


if __name__ == "__main__":
    main()
