"""The drill itself: start the fleet, drive orders and repair requests through every API
replica, kill a worker, then an API replica, then the Temporal server, each with SIGKILL
while the load runs, start each again, and when the load is done count what happened."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import Callable
from typing import Any, TypeVar

from temporalio.client import Client

from opsdesk.access.roles import Role
from opsdesk.access.tokens import ApiTokens
from opsdesk.db import Database
from opsdesk.db.migrate import upgrade
from opsdesk.drill import maintenance
from opsdesk.drill.audit import EndedOrder, audit
from opsdesk.drill.fleet import Fleet
from opsdesk.drill.readiness import ReadinessWatch, fewest_pollers
from opsdesk.drill.replicas import Replicas, Tally
from opsdesk.drill.report import Desk, DrillReport, Kill, Options
from opsdesk.maintenance.directory import seed_sample_directory
from opsdesk.maintenance.status import RequestStatus
from opsdesk.notify.devmail import DevMailbox
from opsdesk.notify.sink import DevMailSink
from opsdesk.orders import load
from opsdesk.orders.catalog import seed_sample_catalog
from opsdesk.orders.inputs import OrderRequest
from opsdesk.orders.status import OrderStatus
from opsdesk.settings import Settings
from opsdesk.temporal.client import connect
from opsdesk.worker import task_queues

READY_AGAIN_TIMEOUT = 180.0
SETTLE = 60.0
"""Seconds the final count waits for items still moving on their own (not on a person)."""
KILL_AT = (0.15, 0.4, 0.65)
"""The share of the load ended before each kill: worker, API replica, Temporal server."""
VICTIMS = ("worker-1", "api-1", "temporal")

Say = Callable[[str], None]


class CountingTarget(load.ApiTarget):
    """``ApiTarget`` that notes each order the API accepted."""

    def __init__(self, http: load.Http) -> None:
        super().__init__(http)
        self.accepted: set[str] = set()

    async def create(self, request: OrderRequest) -> OrderStatus:
        status = await super().create(request)
        self.accepted.add(request.order_id)
        return status


async def prepare_database(settings: Settings) -> str:
    """Load the sample catalog and directory, and make an operator token."""
    db = Database(settings.resolved_database_url)
    try:
        await seed_sample_catalog(db)
        await seed_sample_directory(db)
        _, secret = await ApiTokens(db).create(f"drill-{secrets.token_hex(4)}", Role.OPERATOR)
    finally:
        await db.dispose()
    return secret


def run_drill(settings: Settings, options: Options, say: Say = print) -> DrillReport:
    """Run the drill on a fresh data directory (``settings.data_dir``) and database."""
    upgrade(settings.resolved_database_url)
    token = asyncio.run(prepare_database(settings))
    sink = DevMailSink(DevMailbox(settings.data_dir / "mailbox"))
    smtp_port = sink.start()
    fleet = Fleet(settings, workers=options.workers, apis=options.apis, smtp_port=smtp_port)
    try:
        started = time.monotonic()
        fleet.start(timeout=READY_AGAIN_TIMEOUT)
        say(
            f"fleet ready in {time.monotonic() - started:.1f} s: Temporal, "
            f"{options.workers} workers, {options.apis} API replicas ({', '.join(fleet.api_urls)})"
        )
        return asyncio.run(_drive(settings, fleet, token, options, say))
    finally:
        fleet.stop()
        sink.stop()


async def _drive(
    settings: Settings, fleet: Fleet, token: str, options: Options, say: Say
) -> DrillReport:
    tally = Tally()
    http = Replicas(fleet.api_urls, token, tally)
    target = CountingTarget(http)
    client = await connect(settings)
    began = time.monotonic()
    watch = ReadinessWatch(
        {f"api-{n}": url for n, url in enumerate(fleet.api_urls, start=1)}, began
    )
    watching = asyncio.create_task(watch.run())
    try:
        planned = await load.prepare(target, options.orders, options.seed)
        requests = await maintenance.plan_requests(http, options.requests, options.seed)
        total = len(planned) + len(requests)
        ended = 0
        errors: list[str] = []
        reported: set[str] = set()
        progressed = asyncio.Event()

        def one_ended(result: load.OrderResult | maintenance.RequestResult) -> None:
            nonlocal ended
            ended += 1
            if result.error:
                errors.append(result.error)
            progressed.set()

        async def drive_requests() -> None:
            queue = list(requests)

            async def driver() -> None:
                while queue:
                    request_id, form = queue.pop()
                    one_ended(
                        await maintenance.drive_request(
                            http, request_id, form, options.poll, reported
                        )
                    )

            await asyncio.gather(*(driver() for _ in range(max(1, options.concurrency // 4))))

        load_task = asyncio.gather(
            load.run_load(target, planned, options.concurrency, options.poll, one_ended),
            drive_requests(),
        )
        deadline = began + options.timeout
        kills: list[Kill] = []
        for share, victim in zip(KILL_AT, VICTIMS, strict=True):
            while ended < share * total and not load_task.done() and time.monotonic() < deadline:
                progressed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(progressed.wait(), 1.0)
            kill = await _kill(fleet, watch, victim, options.down, began, say)
            if victim == "temporal":
                kill.polling_at = await _workers_polling(client, settings, options, began, say)
            kills.append(kill)
        try:
            await asyncio.wait_for(load_task, max(0.0, deadline - time.monotonic()))
        except TimeoutError:
            say(f"the load was still running after {options.timeout:.0f} s; stopped it")
        elapsed = time.monotonic() - began
        say(f"load done in {elapsed:.1f} s; counting")
        order_ids = [o.request.order_id for o in planned]
        orders, order_statuses = await _desk(
            http, "/api/orders/", order_ids, target.accepted, OrderStatus
        )
        request_ids = [request_id for request_id, _ in requests]
        request_desk, request_statuses = await _desk(
            http, "/api/maintenance/requests/", request_ids, reported, RequestStatus
        )
        lines = {o.request.order_id: len({line.sku for line in o.request.lines}) for o in planned}
        ended_orders = [EndedOrder(i, s, lines[i]) for i, s in order_statuses.items()]
        db = Database(settings.resolved_database_url)
        try:
            found = await audit(db, settings.data_dir / "mailbox", ended_orders, request_statuses)
        finally:
            await db.dispose()
        exited = [m.name for m in fleet.members if not m.running]
        return DrillReport(
            options, orders, request_desk, tally, found, kills, elapsed, errors, exited
        )
    finally:
        watching.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watching
        await http.aclose()


async def _kill(
    fleet: Fleet, watch: ReadinessWatch, name: str, down: float, began: float, say: Say
) -> Kill:
    at = time.monotonic() - began
    fleet.kill(name)
    say(f"{at:6.1f} s  killed {name} (SIGKILL)")
    await asyncio.sleep(down)
    # Started from this thread: a child set to die with its parent dies with the thread
    # that started it, and an executor's thread may end before the drill does.
    fleet.launch(name)
    restarted = time.monotonic() - began
    say(f"{restarted:6.1f} s  started {name} again")
    ready_at: float | None = None
    with contextlib.suppress(TimeoutError):
        ready_at = await asyncio.wait_for(watch.until_ready(), READY_AGAIN_TIMEOUT)
    if ready_at is None:
        say(f"        the replicas were not ready {READY_AGAIN_TIMEOUT:.0f} s after the restart")
    else:
        say(f"{ready_at:6.1f} s  every replica ready")
    outages = [o for o in watch.outages if o.overlaps(at, ready_at)]
    return Kill(name, at, restarted, ready_at, outages)


async def _workers_polling(
    client: Client, settings: Settings, options: Options, began: float, say: Say
) -> float | None:
    """Seconds into the drill when Temporal saw every worker polling every task queue
    again (a restarted server knows only the pollers that have come back); None if not
    within ``READY_AGAIN_TIMEOUT``."""
    deadline = time.monotonic() + READY_AGAIN_TIMEOUT
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):  # the server may still be settling
            if await fewest_pollers(client, task_queues(settings)) >= options.workers:
                at = time.monotonic() - began
                say(f"{at:6.1f} s  every worker polling again")
                return at
        await asyncio.sleep(0.5)
    say(f"        not every worker polled again within {READY_AGAIN_TIMEOUT:.0f} s")
    return None


S = TypeVar("S", OrderStatus, RequestStatus)


async def _desk(
    http: Replicas, prefix: str, ids: list[str], accepted: set[str], statuses: type[S]
) -> tuple[Desk, dict[str, S]]:
    """Each item's status as Temporal has it, once those still moving on their own have
    ended (up to ``SETTLE`` seconds); the desk's figures, and the ended items' statuses."""
    found: dict[str, S | None] = {}
    unreadable: dict[str, str] = {}
    limit = asyncio.Semaphore(8)

    async def look(item: str) -> None:
        async with limit:
            response = await http.request("GET", f"{prefix}{item}")
        body: Any = response.json() if response.is_success else None
        found[item] = statuses(body["status"]) if body else None
        if response.status_code != 404 and not response.is_success:
            unreadable[item] = f"unreadable (HTTP {response.status_code})"

    deadline = time.monotonic() + SETTLE
    pending = list(ids)
    while pending:
        await asyncio.gather(*(look(item) for item in pending))
        pending = [i for i in pending if (s := found[i]) is not None and not s.terminal]
        if time.monotonic() > deadline:
            break
        await asyncio.sleep(1.0)
    desk = Desk(planned=len(ids), accepted=len(accepted))
    ended: dict[str, S] = {}
    for item in ids:
        status = found[item]
        if status is not None:
            desk.started += 1
            if status.terminal:
                ended[item] = status
                desk.ended[status.value] += 1
                continue
        if item in accepted:
            where = status.value if status else unreadable.get(item, "no workflow")
            desk.lost.append(f"{item}: {where}")
    return desk, ended
