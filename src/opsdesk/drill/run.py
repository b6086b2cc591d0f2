"""The drill itself: start the fleet, drive orders and repair requests through every API
replica, kill a worker, then an API replica, then the Temporal server, each with SIGKILL
while the load runs, start each again, and when the load is done count what happened."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import httpx

from opsdesk.access.roles import Role
from opsdesk.access.tokens import ApiTokens
from opsdesk.db import Database
from opsdesk.db.migrate import upgrade
from opsdesk.drill import maintenance
from opsdesk.drill.audit import Audit, EndedOrder, audit
from opsdesk.drill.fleet import Fleet
from opsdesk.drill.replicas import Replicas, Tally
from opsdesk.maintenance.directory import seed_sample_directory
from opsdesk.maintenance.status import RequestStatus
from opsdesk.notify.devmail import DevMailbox
from opsdesk.notify.sink import DevMailSink
from opsdesk.orders import load
from opsdesk.orders.catalog import seed_sample_catalog
from opsdesk.orders.inputs import OrderRequest
from opsdesk.orders.status import OrderStatus
from opsdesk.settings import Settings

WATCH_EVERY = 0.5
"""Seconds between looks at each replica's /readyz."""
READY_AGAIN_TIMEOUT = 180.0
SETTLE = 60.0
"""Seconds the final count waits for items still moving on their own (not on a person)."""
KILL_AT = (0.15, 0.4, 0.65)
"""The share of the load ended before each kill: worker, API replica, Temporal server."""


@dataclass(frozen=True)
class Options:
    orders: int = 200
    requests: int = 20
    concurrency: int = 16
    workers: int = 2
    apis: int = 2
    down: float = 3.0
    """Seconds a killed process stays dead before it is started again."""
    seed: int = 1
    poll: float = 0.25
    timeout: float = 900.0
    """Seconds the load may run; whatever has not ended by then counts as lost."""


@dataclass
class Outage:
    """One replica's /readyz answering anything but 200, from ``start`` to ``end`` (seconds
    into the drill; ``end`` None if it never came back)."""

    replica: str
    start: float
    end: float | None


@dataclass
class Kill:
    name: str
    at: float
    """Seconds into the drill."""
    restarted_at: float
    ready_at: float | None
    """When every replica was ready again; None if not within the timeout."""
    outages: list[Outage] = field(default_factory=list)
    """The replicas' not-ready spells that began between the kill and ``ready_at``."""


@dataclass
class Desk:
    """One desk's work items: planned, accepted by the API, started in Temporal, ended."""

    planned: int = 0
    accepted: int = 0
    started: int = 0
    ended: Counter[str] = field(default_factory=Counter)
    lost: list[str] = field(default_factory=list)
    """Accepted but not ended, with where each stands."""

    @property
    def ended_total(self) -> int:
        return sum(self.ended.values())


@dataclass
class DrillReport:
    options: Options
    orders: Desk
    requests: Desk
    tally: Tally
    audit: Audit
    kills: list[Kill]
    elapsed_s: float

    @property
    def failures(self) -> list[str]:
        """Every way the drill found the system wanting, one sentence each."""
        found: list[str] = []
        for name, desk in (("order", self.orders), ("repair request", self.requests)):
            found += [f"{name} lost: {lost}" for lost in desk.lost]
            if desk.accepted < desk.planned:
                found.append(
                    f"only {desk.accepted} of {desk.planned} {name}s were accepted by the API"
                )
        found += [f"request not recovered by retrying: {u}" for u in self.tally.unrecovered]
        # A 503 says "not now, retry"; anything else from the server is a fault of ours.
        found += [
            f"the API answered {n} request(s) with {cause}"
            for cause, n in self.tally.causes.items()
            if cause[:1] == "5" and not cause.startswith("503")
        ]
        found += self.audit.problems
        for kill in self.kills:
            if kill.ready_at is None:
                found.append(f"the replicas were not all ready again after {kill.name} was killed")
            if kill.name == "temporal":
                replicas = {o.replica for o in kill.outages}
                for replica in self.replicas:
                    if replica not in replicas:
                        found.append(
                            f"{replica} never said it was not ready while Temporal was down"
                        )
        return found

    @property
    def replicas(self) -> list[str]:
        return [f"api-{n}" for n in range(1, self.options.apis + 1)]


class ReadinessWatch:
    """Looks at every replica's /readyz every ``WATCH_EVERY`` seconds and keeps each spell
    it was not ready."""

    def __init__(self, urls: dict[str, str], began: float) -> None:
        self.urls = urls
        self.began = began
        self.outages: list[Outage] = []
        self._open: dict[str, Outage] = {}
        self.ready: dict[str, bool] = dict.fromkeys(urls, True)

    async def run(self) -> None:
        async with httpx.AsyncClient(timeout=2.0) as http:
            while True:
                await asyncio.gather(*(self._look(http, n, u) for n, u in self.urls.items()))
                await asyncio.sleep(WATCH_EVERY)

    async def _look(self, http: httpx.AsyncClient, name: str, url: str) -> None:
        try:
            ok = (await http.get(f"{url}/readyz")).status_code == 200
        except httpx.HTTPError:
            ok = False
        now = time.monotonic() - self.began
        self.ready[name] = ok
        if not ok and name not in self._open:
            self._open[name] = outage = Outage(name, now, None)
            self.outages.append(outage)
        elif ok and name in self._open:
            self._open.pop(name).end = now

    @property
    def all_ready(self) -> bool:
        return all(self.ready.values())


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


def run_drill(
    settings: Settings, options: Options, say: Callable[[str], None] = print
) -> DrillReport:
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
    settings: Settings, fleet: Fleet, token: str, options: Options, say: Callable[[str], None]
) -> DrillReport:
    tally = Tally()
    http = Replicas(fleet.api_urls, token, tally)
    target = CountingTarget(http)
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
        request_results: list[maintenance.RequestResult] = []

        progressed = asyncio.Event()

        def one_ended(_: object = None) -> None:
            nonlocal ended
            ended += 1
            progressed.set()

        async def drive_requests() -> None:
            queue = list(requests)
            slots = max(1, options.concurrency // 4)

            async def driver() -> None:
                while queue:
                    request_id, form = queue.pop()
                    result = await maintenance.drive_request(http, request_id, form, options.poll)
                    request_results.append(result)
                    one_ended()

            await asyncio.gather(*(driver() for _ in range(slots)))

        load_task = asyncio.gather(
            load.run_load(target, planned, options.concurrency, options.poll, one_ended),
            drive_requests(),
        )
        deadline = began + options.timeout
        kills: list[Kill] = []
        victims = ("worker-1", "api-1", "temporal")
        for share, victim in zip(KILL_AT, victims, strict=True):
            while ended < share * total and not load_task.done() and time.monotonic() < deadline:
                progressed.clear()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(progressed.wait(), 1.0)
            kills.append(await _kill(fleet, watch, victim, options.down, began, say))
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
        reported = {r.request_id for r in request_results if r.reported}
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
        return DrillReport(options, orders, request_desk, tally, found, kills, elapsed)
    finally:
        watching.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watching
        await http.aclose()


async def _kill(
    fleet: Fleet,
    watch: ReadinessWatch,
    name: str,
    down: float,
    began: float,
    say: Callable[[str], None],
) -> Kill:
    at = time.monotonic() - began
    await asyncio.to_thread(fleet.kill, name)
    say(f"{at:6.1f} s  killed {name} (SIGKILL)")
    await asyncio.sleep(down)
    await asyncio.to_thread(fleet.launch, name)
    restarted = time.monotonic() - began
    say(f"{restarted:6.1f} s  started {name} again")
    # Give the watch a look at the replicas after the restart before trusting "all ready".
    await asyncio.sleep(2 * WATCH_EVERY)
    deadline = time.monotonic() + READY_AGAIN_TIMEOUT
    ready_at: float | None = None
    while time.monotonic() < deadline:
        if watch.all_ready:
            ready_at = time.monotonic() - began
            break
        await asyncio.sleep(WATCH_EVERY / 2)
    outages = [o for o in watch.outages if at <= o.start <= (ready_at or float("inf"))]
    if ready_at is None:
        say(f"        the replicas were not ready {READY_AGAIN_TIMEOUT:.0f} s after the restart")
    else:
        say(f"{ready_at:6.1f} s  every replica ready")
    return Kill(name, at, restarted, ready_at, outages)


S = TypeVar("S", OrderStatus, RequestStatus)


async def _desk(
    http: Replicas, prefix: str, ids: list[str], accepted: set[str], statuses: type[S]
) -> tuple[Desk, dict[str, S]]:
    """Each item's status as Temporal has it, once those still moving on their own have
    ended (up to ``SETTLE`` seconds); the desk's figures, and the ended items' statuses."""
    found: dict[str, S | None] = {}
    limit = asyncio.Semaphore(8)

    async def look(item: str) -> None:
        async with limit:
            response = await http.request("GET", f"{prefix}{item}")
        found[item] = None if response.status_code == 404 else statuses(response.json()["status"])

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
            desk.lost.append(f"{item}: {status.value if status else 'no workflow'}")
    return desk, ended
