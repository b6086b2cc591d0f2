"""Worker memory with many open orders: `opsdesk worker` as its own process, orders started
straight through Temporal until N of them wait for shipment (CONFIRMED), the worker's
resident memory sampled along the way.

    uv run python -m bench.memory [--orders 1200] [--concurrency 40]

An open order costs the worker memory only while it sits in the sticky cache
(``OPSDESK_WORKER_CACHE`` workflows, default 1,000); past that the worker evicts the
least recently used and replays it from history when it is next touched. So memory grows
until the cache is full and then stays flat, however many orders are open.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
from typing import Any

import psutil
from temporalio.client import WorkflowQueryFailedError
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


def rss_mib(process: psutil.Process) -> float:
    return process.memory_info().rss / 2**20


def summary(
    count: int,
    idle: float,
    samples: list[tuple[float, int, float]],
    settled: float | None,
) -> dict[str, Any]:
    """The row for ``count`` asked orders; without a settled reading it is a run still going,
    saved with how far it got."""
    reached = samples[-1][1] if samples else 0
    row: dict[str, Any] = {
        "orders": count if settled is not None else reached,
        "asked": count,
        "idle_mib": round(idle, 1),
        "peak_mib": round(max(s[2] for s in samples), 1) if samples else None,
        "settled_mib": None if settled is None else round(settled, 1),
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
        settings = running.settings
        worker = psutil.Process(running.processes[0].pid)
        client = await connect(settings)
        planned = [
            order
            for order in load.plan_orders(count * 2, seed=1, catalog=sample_catalog())
            if order.plan == "delivered"
        ][:count]
        await asyncio.sleep(5)  # the worker's imports and first polls
        idle = rss_mib(worker)
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
        await asyncio.sleep(10)  # settled: nothing left for the worker to do
        settled = rss_mib(worker)
        watching.cancel()
    return summary(count, idle, samples, settled)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=1200)
    parser.add_argument("--concurrency", type=int, default=40)
    args = parser.parse_args()
    row = asyncio.run(run(args.orders, args.concurrency))
    path = save_row("memory", str(args.orders), row)
    print(f"{args.orders} open orders: worker {row['settled_mib']} MiB (idle {row['idle_mib']})")
    print(f"saved {path}")


if __name__ == "__main__":
    main()
