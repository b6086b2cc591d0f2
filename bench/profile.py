"""Where a real order's time goes against the throughput baseline's: both workers and the
dev server under the same load as ``bench.throughput``, side by side.

    uv run --group bench python -m bench.profile [--orders 40] [--rounds 2] [--rate 100]

Each round runs the baseline and the shipped worker once (which goes first alternates), each
its own process as in ``bench.throughput``, driven by the same driver. For each side it
records:

- CPU seconds per order of the worker process and of the dev server (``psutil``);
- a ``py-spy`` profile of the worker (samples of the threads holding the GIL), its top
  functions by own time and the share of samples under each part named below;
- the events and commands in an order's history and its children's, by type, and the bytes
  of payloads in them, from a few finished orders.

The dev server is a Go binary py-spy cannot read: its share is given by its CPU per order,
and what it is asked to persist by the history counts. Results go to
``bench/results/throughput_profile.json``; ``bench.report`` adds them to the throughput
section.
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
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any, cast

import psutil
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.client import Client

from bench.harness import fill_catalog, save, stack
from bench.throughput import (
    BASELINE_QUEUE_PREFIX,
    RETRIES,
    VARIANTS,
    BaselineTarget,
    RoundFailed,
    app_database,
    one_round,
    polled_by,
    spawn,
)
from opsdesk.db import Database
from opsdesk.orders import load
from opsdesk.orders.catalog import sample_catalog
from opsdesk.orders.ids import order_workflow_id
from opsdesk.temporal.client import connect

PY_SPY = Path(sys.executable).parent / "py-spy"
SIDES = ("baseline", "shipped")
HISTORIES_READ = 3
TOP = 15

# What a sample is charged to, by the first of these found anywhere in its stack (outermost
# frame first): a sample under an activity counts as the activity's, whatever it calls.
PARTS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (
        "activities: database (SQLAlchemy, aiosqlite, asyncpg)",
        ("sqlalchemy/", "aiosqlite/", "asyncpg/"),
    ),
    ("activities: other", ("/activities.py", "temporalio/worker/_activity.py")),
    ("payload encryption (codec)", ("opsdesk/temporal/codec.py",)),
    (
        "sandbox: creating instances, serialization contexts",
        ("_Instance._create_instance", "_Instance.get_serialization_context",
         "_Instance.get_external_store_context"),
    ),
    (
        "payload conversion (pydantic, JSON)",
        ("temporalio/converter.py", "temporalio/contrib/pydantic", "pydantic/", "pydantic_core/"),
    ),
    ("workflow code", ("opsdesk/",)),
    (
        "SDK: workflow activations (in the sandbox)",
        ("temporalio/worker/_workflow_instance.py", "temporalio/worker/_workflow.py",
         "workflow_sandbox/"),
    ),
    ("SDK: core bridge, protobuf", ("temporalio/bridge/", "google/protobuf")),
)  # fmt: skip


def parse_raw(path: Path) -> Counter[tuple[str, ...]]:
    """py-spy's raw (collapsed) output: ``frame;frame;... count`` per line, outermost
    first."""
    stacks: Counter[tuple[str, ...]] = Counter()
    if not path.exists():
        return stacks
    for line in path.read_text().splitlines():
        frames, _, count = line.rpartition(" ")
        if frames and count.isdigit():
            stacks[tuple(frames.split(";"))] += int(count)
    return stacks


def part_of(frames: tuple[str, ...]) -> str:
    for name, marks in PARTS:
        if any(mark in frame for frame in frames for mark in marks):
            return name
    return "other (event loop, logging, ...)"


def _short(frame: str) -> str:
    # "function (path/to/module.py:123)" -> "function (module.py)"
    name, _, where = frame.partition(" (")
    module = where.rstrip(")").rpartition(":")[0]
    return f"{name} ({'/'.join(module.split('/')[-2:])})" if module else name


def sandbox_entry(frames: tuple[str, ...]) -> str | None:
    """What the SDK asked of a workflow's sandbox in this sample: creating the instance
    (importing the workflow's modules), an activation, or a payload's serialization context."""
    for frame in frames:
        if frame.startswith("_Instance.") and "workflow_sandbox/_runner.py" in frame:
            name = frame.split(" ")[0].removeprefix("_Instance.")
            if name not in ("_run_code", "__init__"):
                return name
    return None


def digest(stacks: Counter[tuple[str, ...]], orders: int) -> dict[str, Any]:
    total = sum(stacks.values()) or 1
    parts: Counter[str] = Counter()
    own: Counter[str] = Counter()
    sandbox: Counter[str] = Counter()
    for frames, count in stacks.items():
        parts[part_of(frames)] += count
        own[_short(frames[-1])] += count
        entry = sandbox_entry(frames)
        if entry is not None:
            sandbox[entry] += count

    def share(counts: Counter[str]) -> dict[str, float]:
        return {k: round(v / total, 3) for k, v in counts.most_common()}

    return {
        "samples": total,
        "samples_per_order": round(total / orders, 1),
        "parts": share(parts),
        "sandbox_calls": share(sandbox),
        "top_own": [[name, round(count / total, 3)] for name, count in own.most_common(TOP)],
    }


# -- histories ---------------------------------------------------------------------------------


def _payload_bytes(event: HistoryEvent) -> int:
    # Every payload in an event is in its attributes; the event's size less its fixed
    # fields is close enough, and the same measure on both sides.
    return event.ByteSize()


async def history_counts(client: Client, workflow_ids: list[str]) -> dict[str, Any]:
    """Events by type per order, counting the order's children (found by their
    ``StartChildWorkflowExecutionInitiated`` events) with it, and bytes per order."""
    events: Counter[str] = Counter()
    size = 0
    for workflow_id in workflow_ids:
        todo = [workflow_id]
        while todo:
            history = await client.get_workflow_handle(todo.pop()).fetch_history()
            for event in history.events:
                events[EventType.Name(event.event_type).removeprefix("EVENT_TYPE_")] += 1
                size += _payload_bytes(event)
                if event.HasField("start_child_workflow_execution_initiated_event_attributes"):
                    attrs = event.start_child_workflow_execution_initiated_event_attributes
                    todo.append(attrs.workflow_id)
    n = len(workflow_ids)
    by_type = {name: round(count / n, 1) for name, count in sorted(events.items())}
    return {
        "orders_read": n,
        "events_per_order": round(sum(events.values()) / n, 1),
        "workflow_tasks_per_order": by_type.get("WORKFLOW_TASK_COMPLETED", 0),
        "bytes_per_order": round(size / n),
        "by_type": by_type,
    }


# -- one side --------------------------------------------------------------------------------


def server_process() -> psutil.Process:
    """The dev server ``bench.harness.stack`` started (a child of this process)."""
    for child in psutil.Process().children(recursive=True):
        if "start-dev" in " ".join(child.cmdline()):
            return child
    raise RuntimeError("the dev server is not a child of this process")


def cpu_s(process: psutil.Process) -> float:
    times = process.cpu_times()
    return times.user + times.system


def database_cpu_s(url: str | None) -> float:
    """CPU seconds so far of the PostgreSQL server at ``url`` (its postmaster and every
    backend), 0 on SQLite, whose work is inside the worker's process."""
    if url is None or not url.startswith("postgresql"):
        return 0.0
    port = url.rsplit(":", 1)[1].split("/", 1)[0]
    total = 0.0
    for process in psutil.process_iter(["name", "cmdline"]):
        cmdline = " ".join(process.info["cmdline"] or [])
        if process.info["name"] == "postgres" and f"-p {port}" in cmdline:
            for one in [process, *process.children(recursive=True)]:
                with contextlib.suppress(psutil.NoSuchProcess):
                    total += cpu_s(one)
    return total


async def profile_side(
    name: str,
    client: Client,
    orders_queue: str,
    database_url: str | None,
    env: dict[str, str],
    real: load.Target,
    planned: list[load.PlannedOrder],
    concurrency: int,
    rate: int,
    out: Path,
) -> dict[str, Any]:
    target: load.Target = real
    worker, queue = ["serve-real", name], orders_queue
    workflow_ids = [order_workflow_id(p.request.order_id) for p in planned]
    if name == "baseline":
        queue = f"{BASELINE_QUEUE_PREFIX}-{uuid.uuid4().hex[:6]}"
        target, worker = BaselineTarget(client, queue), ["serve-baseline", queue]
        workflow_ids = [f"baseline-{p.request.order_id}" for p in planned]
    process = spawn(env, *worker)
    spy = None
    try:
        # Started and polling, its imports done: neither the profile nor the CPU counts them.
        await polled_by(client, queue, process.pid)
        await asyncio.sleep(1)
        server, worker_ps = server_process(), psutil.Process(process.pid)
        spy = subprocess.Popen(  # noqa: ASYNC220 - started once, not waited on here
            [
                str(PY_SPY),
                "record",
                "--pid",
                str(process.pid),
                "--rate",
                str(rate),
                "--format",
                "raw",
                "--gil",
                "--nonblocking",
                "--output",
                str(out),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        database_before = database_cpu_s(database_url)
        server_before, worker_before = cpu_s(server), cpu_s(worker_ps)
        report = await one_round(target, planned, concurrency, 0.25)
        server_cpu, worker_cpu = cpu_s(server) - server_before, cpu_s(worker_ps) - worker_before
        database_cpu = database_cpu_s(database_url) - database_before
    finally:
        if spy is not None:
            spy.send_signal(signal.SIGINT)  # py-spy writes its file when interrupted
            try:
                spy.wait(timeout=60)
            except subprocess.TimeoutExpired:
                spy.kill()
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)
    orders = len(report.finished)
    return {
        "orders": orders,
        "orders_per_s": round(report.orders_per_second, 3),
        "worker_cpu_ms_per_order": round(1000 * worker_cpu / orders, 1),
        "server_cpu_ms_per_order": round(1000 * server_cpu / orders, 1),
        "database_cpu_ms_per_order": round(1000 * database_cpu / orders, 1),
        "history": await history_counts(client, workflow_ids[:HISTORIES_READ]),
        "profile": digest(parse_raw(out), orders),
    }


def merge(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """A side's rounds: medians of the per-order figures, profiles pooled by share."""

    def med(key: str) -> float:
        return round(float(statistics.median(r[key] for r in runs)), 1)

    parts: Counter[str] = Counter()
    top: Counter[str] = Counter()
    for run in runs:
        for name, share in run["profile"]["parts"].items():
            parts[name] += share / len(runs)
        for name, share in run["profile"]["top_own"]:
            top[name] += share / len(runs)
    return {
        "orders_per_s": med("orders_per_s"),
        "worker_cpu_ms_per_order": med("worker_cpu_ms_per_order"),
        "server_cpu_ms_per_order": med("server_cpu_ms_per_order"),
        "database_cpu_ms_per_order": med("database_cpu_ms_per_order"),
        "samples_per_order": round(
            statistics.median(r["profile"]["samples_per_order"] for r in runs), 1
        ),
        "history": runs[-1]["history"],
        "parts": {name: round(share, 3) for name, share in parts.most_common()},
        "top_own": [[name, round(share, 3)] for name, share in top.most_common(TOP)],
        "per_round": runs,
    }


async def measure(
    orders: int,
    rounds: int,
    concurrency: int,
    rate: int,
    keep: Path | None = None,
    sides: tuple[str, ...] = SIDES,
    database: str = "sqlite",
) -> dict[str, Any]:
    runs: dict[str, list[dict[str, Any]]] = {name: [] for name in sides}
    with (
        app_database(database) as overrides,
        stack(
            api=False,
            prepare=fill_catalog,
            api_env={f"OPSDESK_{k.upper()}": v for k, v in overrides.items()},
            **cast(dict[str, Any], overrides),
        ) as running,
        tempfile.TemporaryDirectory(prefix="opsdesk-profile-") as tmp,
    ):
        settings = running.settings
        env = running.env | {"PYTHONPATH": os.getcwd()}
        client = await connect(settings)
        db = Database(settings.resolved_database_url)
        real = load.TemporalTarget(client, settings, db)
        catalog = sample_catalog()
        try:
            for number in range(rounds):
                # Each round one place further along, as bench.throughput rotates them.
                order = sides[number % len(sides) :] + sides[: number % len(sides)]
                for name in order:
                    out = (keep or Path(tmp)) / f"{name}-{number}.txt"
                    for attempt in range(RETRIES + 1):
                        seed = uuid.uuid4().int % 10_000
                        planned = [
                            p for p in load.plan_orders(orders * 3, seed, catalog)
                            if p.plan == "delivered"
                        ][:orders]  # fmt: skip
                        try:
                            run = await profile_side(
                                name, client, settings.orders_task_queue,
                                settings.database_url, env, real, planned,
                                concurrency, rate, out,
                            )  # fmt: skip
                            break
                        except RoundFailed as exc:
                            if attempt == RETRIES:
                                raise
                            print(f" {name} round again: {exc}", flush=True)
                    runs[name].append({**run, "retried": attempt})
                    print(
                        f" round {number + 1} {name:<9} {run['orders_per_s']:5.2f} orders/s, "
                        f"worker {run['worker_cpu_ms_per_order']:.0f} ms CPU/order, "
                        f"server {run['server_cpu_ms_per_order']:.0f} ms/order, "
                        f"{run['history']['events_per_order']:.0f} events/order",
                        flush=True,
                    )
        finally:
            await db.dispose()
    return {
        "orders_per_round": orders,
        "rounds": rounds,
        "concurrency": concurrency,
        "rate_hz": rate,
        "database": database,
        "variants": {name: VARIANTS.get(name, "bare Temporal, same shape") for name in sides},
        "sides": {name: merge(side) for name, side in runs.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=40, help="orders per side and round")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--rate", type=int, default=100, help="py-spy samples a second")
    parser.add_argument("--name", default="throughput_profile", help="results file name")
    parser.add_argument("--keep", type=Path, help="keep py-spy's raw stacks in this folder")
    parser.add_argument(
        "--conditions", default="", help="what else ran on the machine, said beside the figures"
    )
    parser.add_argument(
        "--database",
        choices=["sqlite", "postgresql"],
        default="sqlite",
        help="the app's database, as in bench.throughput; postgresql saves <name>_postgresql",
    )
    parser.add_argument(
        "--sides",
        default=",".join(SIDES),
        help="baseline and bench.throughput's worker variants (shipped, previous, unsandboxed)",
    )
    args = parser.parse_args()
    if not PY_SPY.exists():
        parser.error("py-spy is in the bench group: uv sync --group bench")
    began = time.perf_counter()
    sides = tuple(args.sides.split(","))
    unknown = set(sides) - {"baseline", *VARIANTS}
    if unknown or "baseline" not in sides or "shipped" not in sides:
        parser.error("--sides takes baseline, shipped and any of " + ", ".join(VARIANTS))
    result = asyncio.run(
        measure(
            args.orders,
            args.rounds,
            args.concurrency,
            args.rate,
            args.keep,
            sides,
            args.database,
        )
    )
    result["conditions"] = args.conditions
    for name, side in result["sides"].items():
        print(f"{name}: {side['worker_cpu_ms_per_order']} ms worker CPU/order")
        for part, share in side["parts"].items():
            print(f"   {share:6.1%}  {part}")
    name = args.name if args.database == "sqlite" else f"{args.name}_{args.database}"
    print(f"saved {save(name, result)} ({time.perf_counter() - began:.0f} s)")


if __name__ == "__main__":
    main()
