"""Throughput against bare Temporal: orders driven from start to DELIVERED per second, next
to a baseline workflow with the same shape and nothing inside, on the same dev server in
the same run.

    uv run python -m bench.throughput [--orders 50] [--rounds 3] [--concurrency 20] [--poll 0.25]

Both sides are driven by the load generator's own driver (``opsdesk.orders.load.drive``):
start, look at the state until it waits for shipment, the ``advance`` update to ship, the
``advance`` update to deliver. Each side's worker is its own process, as in production.

The baseline is a real order's history with the work taken out: five activities
(validate, score, charge, reserve, fulfil), a confirmation email as a child workflow with
three activities, a shipment timer, two updates, a shipped email as another child; every
activity body returns at once, and nothing is upserted to visibility. The ratio says what
Ops Desk's own work costs on top of Temporal's.

Every variant runs once in every round: the baseline, the shipped worker and the real
worker without its sandbox, which shows what the sandbox costs. Round i runs the list rotated by
i places, so each variant takes each place in turn and drift on the machine (the server's
SQLite file growing, anything else running) falls on all of them. Each round's figures are
kept; a variant's rate and its ratio to the baseline (taken within each round) are reported
as the median over the rounds with their range.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any, cast

from temporalio.client import Client, WorkflowQueryFailedError, WorkflowUpdateFailedError
from temporalio.service import RPCError
from temporalio.worker import UnsandboxedWorkflowRunner, Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from bench.baseline import BaselineEmail, BaselineOrder, noop
from bench.harness import fill_catalog, free_port, save, spread, stack
from opsdesk.db import Database
from opsdesk.db.scratch import scratch_server
from opsdesk.orders import load
from opsdesk.orders.catalog import sample_catalog
from opsdesk.orders.inputs import AdvanceRequest, OrderRequest
from opsdesk.orders.status import OrderStatus
from opsdesk.settings import Settings
from opsdesk.stats import summary_ms
from opsdesk.temporal.client import connect
from opsdesk.temporal.updates import start_update_when_ready
from opsdesk.web.health import fresh_pollers
from opsdesk.worker import PASSTHROUGH_MODULES, workflow_runner
from opsdesk.worker import run as run_worker

BASELINE_QUEUE_PREFIX = "baseline"
# Fewer rounds than this give no spread worth the name; the report judges nothing from them.
MIN_ROUNDS = 3


class BaselineTarget:
    """The load generator's ``Target`` for the baseline: the same calls, the bare workflow."""

    def __init__(self, client: Client, task_queue: str) -> None:
        self.client = client
        self.task_queue = task_queue

    async def _status(self, workflow_id: str) -> OrderStatus:
        state = await self.client.get_workflow_handle(workflow_id).query(
            BaselineOrder.get_state, rpc_timeout=timedelta(seconds=5)
        )
        return OrderStatus(state["status"])

    async def products(self) -> list[Any]:
        raise NotImplementedError

    async def create(self, request: OrderRequest) -> OrderStatus:
        handle = await self.client.start_workflow(
            BaselineOrder.run,
            request.order_id,
            id=f"baseline-{request.order_id}",
            task_queue=self.task_queue,
        )
        # As ``submit_order`` does: read the state back, PENDING if no worker has it yet.
        try:
            return await self._status(handle.id)
        except (RPCError, WorkflowQueryFailedError):
            return OrderStatus.PENDING

    async def status(self, order_id: str) -> OrderStatus:
        return await self._status(f"baseline-{order_id}")

    async def advance(self, order_id: str, tracking_number: str | None) -> OrderStatus:
        handle = self.client.get_workflow_handle(f"baseline-{order_id}")
        request = AdvanceRequest(tracking_number=tracking_number)
        try:
            # Delivered as the real orders' updates are, retried while the workflow is not
            # ready, so that neither side loses an order to that transient answer.
            pending = await start_update_when_ready(
                handle, BaselineOrder.advance, [request], uuid.uuid4().hex
            )
            state = await pending.result()
        except WorkflowUpdateFailedError as exc:
            raise load.Refused(str(exc.cause or exc)) from None
        return OrderStatus(state["status"])

    async def cancel(self, order_id: str, reason: str) -> OrderStatus:
        raise NotImplementedError

    async def restock(self, sku: str, quantity: int) -> None:
        raise NotImplementedError


# -- the workers, each in its own process ------------------------------------------------------

VARIANTS = {
    "shipped": "as shipped: sandbox, our models passed through",
    "unsandboxed": "no sandbox",
    "previous": "as on 2026-12-02: the notification workflows re-imported in every sandbox",
}


def variant_runner(variant: str) -> Any:
    if variant == "shipped":
        return workflow_runner()
    if variant == "previous":
        passthrough = [m for m in PASSTHROUGH_MODULES if m != "opsdesk.notify.workflows"]
        restrictions = SandboxRestrictions.default.with_passthrough_modules(*passthrough)
        return SandboxedWorkflowRunner(restrictions=restrictions)
    return UnsandboxedWorkflowRunner()


async def serve_baseline(task_queue: str) -> None:
    client = await connect(Settings())
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[BaselineOrder, BaselineEmail],
        activities=[noop],
        workflow_runner=workflow_runner(),
    ):
        await stop.wait()


async def polled_by(client: Client, task_queue: str, pid: int, limit_s: float = 180) -> None:
    """Wait until the worker process ``pid`` polls ``task_queue``. The clock starts on a
    worker that is ready: a fixed pause let a busy machine's slower start (the real worker
    migrates the database and sets its schedules first) count against a side's rate."""
    deadline = time.monotonic() + limit_s
    while not any(p.startswith(f"{pid}@") for p in await fresh_pollers(client, task_queue)):
        if time.monotonic() > deadline:
            raise TimeoutError(f"worker {pid} did not poll {task_queue} within {limit_s:.0f} s")
        await asyncio.sleep(0.2)


def spawn(env: dict[str, str], *args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "bench.throughput", *args], env=env)


def stop(process: subprocess.Popen[bytes]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


# -- the measurement -----------------------------------------------------------------------


async def one_round(
    target: load.Target, planned: list[load.PlannedOrder], concurrency: int, poll: float
) -> load.LoadReport:
    report = await load.run_load(target, planned, concurrency, poll=poll)
    if report.errors():
        raise RoundFailed(f"{len(report.errors())} orders failed: {report.errors()[:3]}")
    return report


class RoundFailed(RuntimeError):
    """An order of the round could not be driven to its end (on a loaded machine: a query
    that timed out). Its rate would mean nothing: the side runs its round again."""


RETRIES = 2
"""Fresh attempts at a side's round after a failed one; each is counted in the results."""


def rotation(names: list[str], rounds: int) -> list[list[str]]:
    """The order each round runs the variants in: round i starts i places further along."""
    return [names[i % len(names) :] + names[: i % len(names)] for i in range(rounds)]


@contextlib.contextmanager
def app_database(kind: str) -> Iterator[dict[str, str]]:
    """The app's database for the run: the stack's SQLite file, or a scratch PostgreSQL
    server (durable, as the drill's) whose URL the stack and the workers are given."""
    if kind == "sqlite":
        yield {}
        return
    with scratch_server(free_port(), durable=True) as url:
        yield {"database_url": url}


async def measure(
    orders: int,
    rounds: int,
    concurrency: int,
    poll: float,
    variants: list[str],
    database: str = "sqlite",
) -> dict[str, Any]:
    names = list(dict.fromkeys(["baseline", "shipped", *variants]))
    orders_by_round = rotation(names, rounds)
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
    rates: dict[str, list[float]] = {name: [] for name in names}
    latencies: dict[str, list[float]] = {name: [] for name in names}
    with (
        app_database(database) as overrides,
        stack(
            api=False,
            prepare=fill_catalog,
            api_env={f"OPSDESK_{k.upper()}": v for k, v in overrides.items()},
            **cast(dict[str, Any], overrides),
        ) as running,
    ):
        settings = running.settings
        env = running.env | {"PYTHONPATH": os.getcwd()}
        client = await connect(settings)
        db = Database(settings.resolved_database_url)
        catalog = sample_catalog()
        real = load.TemporalTarget(client, settings, db)

        def plan() -> list[load.PlannedOrder]:
            seed = uuid.uuid4().int % 10_000
            planned = load.plan_orders(orders * 3, seed, catalog)
            return [o for o in planned if o.plan == "delivered"][:orders]

        async def run_side(name: str) -> tuple[load.LoadReport, int]:
            target: load.Target = real
            worker, queue = ["serve-real", name], settings.orders_task_queue
            if name == "baseline":
                # A fresh queue each round: no task left over from the last round reaches it.
                queue = f"{BASELINE_QUEUE_PREFIX}-{uuid.uuid4().hex[:6]}"
                target, worker = BaselineTarget(client, queue), ["serve-baseline", queue]
            for attempt in range(RETRIES + 1):
                process = spawn(env, *worker)
                try:
                    await polled_by(client, queue, process.pid)
                    return await one_round(target, plan(), concurrency, poll), attempt
                except RoundFailed as exc:
                    if attempt == RETRIES:
                        raise
                    print(f"  {name:<15} round again: {exc}", flush=True)
                finally:
                    stop(process)
            raise AssertionError("unreachable: the last attempt returns or raises")

        try:
            for number, order in enumerate(orders_by_round, start=1):
                print(f" round {number}: {', '.join(order)}", flush=True)
                for place, name in enumerate(order, start=1):
                    report, retried = await run_side(name)
                    rates[name].append(report.orders_per_second)
                    latencies[name] += report.latencies_s
                    runs[name].append(
                        {
                            "round": number,
                            "place": place,
                            "orders": len(report.finished),
                            "elapsed_s": round(report.elapsed_s, 2),
                            "orders_per_s": round(report.orders_per_second, 3),
                            "retried": retried,
                            **summary_ms(report.latencies_s),
                        }
                    )
                    print(
                        f"  {name:<15} {report.orders_per_second:5.2f} orders/s  "
                        f"p50 {runs[name][-1]['p50_ms']:,.0f} ms",
                        flush=True,
                    )
        finally:
            await db.dispose()

    def row(name: str) -> dict[str, Any]:
        # Ratios are taken within a round, where both sides saw the same machine.
        ratios = [r / b for r, b in zip(rates[name], rates["baseline"], strict=True)]
        return {
            "orders": sum(r["orders"] for r in runs[name]),
            "orders_per_s": spread(rates[name]),
            "vs_baseline": spread(ratios),
            **summary_ms(latencies[name]),
            "per_round": runs[name],
        }

    rows = {name: row(name) for name in names}
    return {
        "orders_per_round": orders,
        "rounds": rounds,
        "concurrency": concurrency,
        "poll_s": poll,
        "order_by_round": orders_by_round,
        "database": database,
        "variants": {name: VARIANTS.get(name, "bare Temporal, same shape") for name in rows},
        "rows": rows,
        "ratio": rows["shipped"]["vs_baseline"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command")
    real = sub.add_parser("serve-real", help="(internal) run the real worker")
    real.add_argument("variant", choices=list(VARIANTS))
    baseline = sub.add_parser("serve-baseline", help="(internal) run the baseline worker")
    baseline.add_argument("task_queue")
    parser.add_argument("--orders", type=int, default=50, help="orders per variant and round")
    parser.add_argument(
        "--rounds",
        type=int,
        default=MIN_ROUNDS,
        help=f"rounds, each running every variant (the report judges from {MIN_ROUNDS} or more)",
    )
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument(
        "--poll",
        type=float,
        default=0.25,
        help="seconds between looks at an order that is not waiting for a person yet",
    )
    parser.add_argument("--variants", default="unsandboxed", help="extra real-worker variants")
    parser.add_argument(
        "--conditions", default="", help="what else ran on the machine, said beside the figures"
    )
    parser.add_argument(
        "--database",
        choices=["sqlite", "postgresql"],
        default="sqlite",
        help="the app's database (Temporal's dev server stays on its SQLite file); "
        "postgresql starts a scratch server from Debian's binaries and saves its own result",
    )
    args = parser.parse_args()
    if args.command == "serve-real":
        asyncio.run(run_worker(Settings(), variant_runner(args.variant)))
        return
    if args.command == "serve-baseline":
        asyncio.run(serve_baseline(args.task_queue))
        return
    variants = [v for v in args.variants.split(",") if v]
    unknown = set(variants) - set(VARIANTS)
    if unknown:
        parser.error(f"unknown variants: {', '.join(sorted(unknown))}")
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    if args.rounds < MIN_ROUNDS:
        print(f"fewer than {MIN_ROUNDS} rounds: the report will not judge the target", flush=True)
    began = time.perf_counter()
    result = asyncio.run(
        measure(args.orders, args.rounds, args.concurrency, args.poll, variants, args.database)
    )
    result["conditions"] = args.conditions
    rows, ratio = result["rows"], result["ratio"]
    print(
        f"real {rows['shipped']['orders_per_s']['median']} orders/s vs baseline "
        f"{rows['baseline']['orders_per_s']['median']} (medians of {args.rounds} rounds): "
        f"ratio {ratio['median']} ({ratio['min']} to {ratio['max']}) "
        f"({time.perf_counter() - began:.0f} s)"
    )
    name = "throughput" if args.database == "sqlite" else f"throughput_{args.database}"
    print(f"saved {save(name, result)}")


if __name__ == "__main__":
    main()
