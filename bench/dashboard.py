"""Dashboard at scale: ``GET /api/orders`` (first page) and ``GET /api/metrics`` at growing
numbers of orders, against the source document's way of building the same page (list every
order workflow, then query each one for its state), in the same run on the same server.

    uv run python -m bench.dashboard [--sizes 1000,10000] [--requests 50] [--runs 3]
    uv run python -m bench.dashboard --sizes 1000,10000,50000      # the long run

At each size: ``--runs`` runs of ``--requests`` rounds, each round one list request and one
metrics request in alternating order, through the API as it is configured in service (the
metrics recounted in the background every ``OPSDESK_METRICS_TTL``); how long one recount
takes (what bounds how old the numbers are); and how long after a new order starts the
metrics count it, from a reader's side.

Each size's row is kept in ``bench/results/dashboard.json`` until a run measures that size
again, so the long run's 50,000 row stands next to ``make bench``'s shorter ones. Past
``--sample`` orders the baseline lists every order but queries a random sample of them, and
its time is the listing plus the sample's query time scaled to every order (the table says
so): querying 50,000 workflows one by one would take this machine ten minutes per page.

How the orders are made: each is started with exactly the search attributes and memo a real
order carries, on the real task queue and under the real workflow type, by a stand-in
workflow that holds the order's state in memory and answers ``get_state``. The API's list
and metrics read visibility only, so what runs inside the workflow cannot change their cost;
the baseline pays one query per order, which a stand-in answers at least as fast as a real
order would. Running 10,000 real sagas first would take this 2-core machine most of an hour.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import insert
from temporalio import workflow
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Worker

from bench.harness import save_row, stack
from opsdesk.db import Database
from opsdesk.db.tables import ChargeRow, RefundRow
from opsdesk.orders.ids import order_workflow_id
from opsdesk.orders.inputs import Address, Customer
from opsdesk.orders.listing import order_metrics
from opsdesk.orders.payloads import PricedLine, RiskAssessment
from opsdesk.orders.state import OrderState, Transition
from opsdesk.orders.status import OrderStatus
from opsdesk.payments.models import Charge
from opsdesk.settings import Settings
from opsdesk.stats import summary_ms
from opsdesk.temporal import search_attributes as sa

SEED_CONCURRENCY = 64
QUERY_CONCURRENCY = 32
LIST = "/api/orders?page_size=25"
RECOUNTS = 5
FRESHNESS_TRIALS = 5
S = OrderStatus
# A desk some months old: most orders finished, a few dozen in flight per thousand.
STATUSES = [S.DELIVERED] * 11 + [
    S.CANCELLED, S.CANCELLED, S.REJECTED, S.FAILED,
    S.SHIPPED, S.SHIPPED, S.CONFIRMED, S.REVIEW, S.AWAITING_STOCK,
]  # fmt: skip
# One order every four minutes: 360 a day, and the 10,000th is four weeks old.
SPACING = timedelta(minutes=4)


@workflow.defn(name="OrderWorkflow", sandboxed=False)
class StandInOrder:
    """Holds an order's state and answers ``get_state`` like the real workflow."""

    @workflow.init
    def __init__(self, state: OrderState) -> None:
        self._state = state

    @workflow.run
    async def run(self, state: OrderState) -> None:
        # A finished order's workflow has closed; an open one waits, as a real one does.
        if not state.status.terminal:
            await workflow.wait_condition(lambda: False)

    @workflow.query
    def get_state(self) -> OrderState:
        return self._state


def order_state(n: int, now: datetime) -> OrderState:
    status = STATUSES[n % len(STATUSES)]
    customer = Customer(
        id=f"cus-{n % 500}", name=f"Customer {n % 500}", email=f"c{n % 500}@example.com"
    )
    address = Address(name=customer.name, line1="1 Main St", city="Springfield", country="US")
    lines = [
        PricedLine(sku="MUG-01", name="Enamel camp mug", quantity=1 + n % 3, unit_price_cents=1800)
    ]
    total = sum(line.total_cents for line in lines)
    at = now - n * SPACING
    return OrderState(
        order_id=f"b{n:06d}",
        status=status,
        customer=customer,
        shipping_address=address,
        lines=lines,
        total_cents=total,
        risk=RiskAssessment(score=n % 60, reason="seeded", action="approve"),
        charge=Charge(charge_id=f"ch_b{n:06d}", amount_cents=total, currency="USD", created_at=at),
        created_at=at,
        updated_at=at,
        history=[Transition(at=at, status=status, actor="bench")],
    )


async def seed(client: Client, settings: Settings, start: int, end: int) -> float:
    """Start orders ``start..end-1``; returns orders started per second."""
    now = datetime.now(UTC)
    queue: asyncio.Queue[int] = asyncio.Queue()
    for n in range(start, end):
        queue.put_nowait(n)

    async def starter() -> None:
        while not queue.empty():
            state = order_state(queue.get_nowait(), now)
            await client.start_workflow(
                StandInOrder.run,
                state,
                id=order_workflow_id(state.order_id),
                task_queue=settings.orders_task_queue,
                memo={"row": state.row()},
                search_attributes=TypedSearchAttributes(
                    [
                        SearchAttributePair(sa.ORDER_STATUS, state.status.value),
                        SearchAttributePair(sa.ORDER_CUSTOMER, state.customer.id),
                        SearchAttributePair(sa.ORDER_TOTAL, state.total_cents / 100),
                        SearchAttributePair(sa.ORDER_RISK, state.risk.score if state.risk else 0),
                        SearchAttributePair(sa.ORDER_ESCALATED, False),
                        SearchAttributePair(sa.ORDER_CREATED, state.created_at),
                        SearchAttributePair(sa.ORDER_UPDATED, state.updated_at),
                    ]
                ),
            )

    began = time.perf_counter()
    await asyncio.gather(*(starter() for _ in range(SEED_CONCURRENCY)))
    return (end - start) / (time.perf_counter() - began)


async def record_payments(db: Database, start: int, end: int) -> None:
    """The ledger rows those orders would have left: metrics read revenue from them."""
    now = datetime.now(UTC)
    charges, refunds = [], []
    for n in range(start, end):
        state = order_state(n, now)
        if state.charge is None or state.status in (S.REVIEW, S.REJECTED, S.FAILED):
            continue
        charges.append(
            {
                "id": state.charge.charge_id,
                "idempotency_key": f"{order_workflow_id(state.order_id)}:charge",
                "order_id": state.order_id,
                "customer_id": state.customer.id,
                "amount_cents": state.total_cents,
                "currency": "USD",
                "payment_token": "tok_visa",
                "created_at": state.created_at,
            }
        )
        if state.status is S.CANCELLED:
            refunds.append(
                {
                    "id": f"re_b{n:06d}",
                    "idempotency_key": f"{order_workflow_id(state.order_id)}:refund",
                    "charge_id": state.charge.charge_id,
                    "amount_cents": state.total_cents,
                    "created_at": state.created_at,
                }
            )
    async with db.transaction() as session:
        if charges:
            await session.execute(insert(ChargeRow), charges)
        if refunds:
            await session.execute(insert(RefundRow), refunds)


async def wait_until_visible(client: Client, settings: Settings, count: int) -> None:
    query = f"WorkflowType = 'OrderWorkflow' AND TaskQueue = '{settings.orders_task_queue}'"
    while (await client.count_workflows(query)).count < count:  # noqa: ASYNC110 - polling the server
        await asyncio.sleep(0.5)


async def drain(client: Client, settings: Settings) -> None:
    """Wait until the worker has run every order's first workflow task."""
    request = DescribeTaskQueueRequest(
        namespace=client.namespace,
        task_queue=TaskQueue(name=settings.orders_task_queue),
        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
        report_stats=True,
    )
    while True:
        response = await client.workflow_service.describe_task_queue(request)
        if response.stats.approximate_backlog_count == 0:
            return
        await asyncio.sleep(1)


async def measure(http: httpx.AsyncClient, requests: int) -> dict[str, dict[str, float]]:
    """``requests`` rounds of one list and one metrics request, which goes first alternating,
    so whatever drifts on the machine falls on both."""
    paths = {"list": LIST, "metrics": "/api/metrics"}
    for path in paths.values():
        await http.get(path)  # warm: connection, the metrics' first count
    samples: dict[str, list[float]] = {name: [] for name in paths}
    for round_ in range(requests):
        for name in sorted(paths, reverse=round_ % 2 == 1):
            began = time.perf_counter()
            response = await http.get(paths[name])
            samples[name].append(time.perf_counter() - began)
            response.raise_for_status()
    return {name: summary_ms(taken) for name, taken in samples.items()}


async def recount(client: Client, settings: Settings, db: Database) -> dict[str, float]:
    """One computation of the metrics, as the API's background recount runs it."""
    taken = []
    for _ in range(RECOUNTS):
        began = time.perf_counter()
        await order_metrics(client, settings, db)
        taken.append(time.perf_counter() - began)
    return summary_ms(taken)


async def counted_after(
    http: httpx.AsyncClient, client: Client, settings: Settings, first: int
) -> dict[str, float]:
    """From starting an order to ``GET /api/metrics`` counting it, once per new order
    ``first, first+1, …``: how old the numbers a reader gets can be, visibility's own lag
    included."""
    taken = []
    for n in range(first, first + FRESHNESS_TRIALS):
        before = (await http.get("/api/metrics")).json()["total"]
        began = time.perf_counter()
        await seed(client, settings, n, n + 1)
        while (await http.get("/api/metrics")).json()["total"] <= before:  # noqa: ASYNC110
            await asyncio.sleep(0.05)
        taken.append(time.perf_counter() - began)
    return summary_ms(taken)


async def baseline_page(client: Client, settings: Settings, sample: int | None = None) -> float:
    """The source's dashboard: every order workflow listed, each queried for its state, the
    page and the metrics built from the answers. Returns the seconds it took, or with
    ``sample``, would take: listing, plus querying ``sample`` of them scaled to all."""
    began = time.perf_counter()
    query = f"WorkflowType = 'OrderWorkflow' AND TaskQueue = '{settings.orders_task_queue}'"
    ids = [execution.id async for execution in client.list_workflows(query)]
    listed = time.perf_counter() - began
    scale = 1.0
    if sample is not None and sample < len(ids):
        scale = len(ids) / sample
        ids = random.Random(len(ids)).sample(ids, sample)
    queried_from = time.perf_counter()
    gate = asyncio.Semaphore(QUERY_CONCURRENCY)

    async def state_of(workflow_id: str) -> OrderState:
        async with gate:
            result: OrderState = await client.get_workflow_handle(workflow_id).query(
                "get_state", result_type=OrderState
            )
            return result

    states = await asyncio.gather(*(state_of(i) for i in ids))
    counts: dict[str, int] = {}
    for state in states:
        counts[state.status.value] = counts.get(state.status.value, 0) + 1
    sorted(states, key=lambda s: s.created_at, reverse=True)[:25]  # the page
    return listed + (time.perf_counter() - queried_from) * scale


async def measure_baseline(
    client: Client, settings: Settings, repeats: int, sample: int | None
) -> dict[str, float]:
    return summary_ms([await baseline_page(client, settings, sample) for _ in range(repeats)])


async def run(sizes: list[int], requests: int, runs: int, sample: int) -> None:
    settings_queue = f"bench-{uuid.uuid4().hex[:6]}"
    # The API as in service: metrics recounted in the background, every request answered
    # from the latest count. What a recount costs is measured on its own.
    with stack(orders_task_queue=settings_queue) as running:
        settings = running.settings
        client = await Client.connect(
            running.temporal_address, data_converter=pydantic_data_converter
        )
        db = Database(settings.resolved_database_url)

        def stand_ins() -> Worker:
            return Worker(
                client,
                task_queue=settings.orders_task_queue,
                workflows=[StandInOrder],
                max_cached_workflows=2000,
            )

        async with running.api_client(timeout=120) as http:
            seeded = 0
            for size in sizes:
                rate = await seed(client, settings, seeded, size)
                await record_payments(db, seeded, size)
                # Finished orders' workflows close and open ones settle into their wait.
                async with stand_ins():
                    await drain(client, settings)
                await wait_until_visible(client, settings, size)
                print(f"{size:>6} orders (seeded at {rate:,.0f}/s)", flush=True)
                # Nothing else runs while the API is measured.
                measured = [await measure(http, requests) for _ in range(runs)]
                one_count = await recount(client, settings, db)
                # The next size's first orders are the ones whose counting is timed.
                fresh = await counted_after(http, client, settings, size)
                seeded = size + FRESHNESS_TRIALS
                async with stand_ins():
                    await drain(client, settings)
                    # Unmeasured pass to warm the worker's cache, as on a server that has
                    # been up a while; then the measured ones.
                    sampled = sample if size > sample else None
                    await baseline_page(client, settings, sampled)
                    baseline = await measure_baseline(
                        client, settings, 2 if size <= 1_000 else 1, sampled
                    )
                row = {
                    "orders": size,
                    "requests": requests,
                    "runs": measured,
                    "recount": one_count,
                    "metrics_interval_s": settings.metrics_ttl,
                    "counted_after": fresh,
                    "baseline": baseline,
                    "baseline_sampled": sampled,
                }
                print(f"saved {save_row('dashboard', str(size), row)}")
                p95s = {
                    name: sorted(run[name]["p95_ms"] for run in measured)
                    for name in ("list", "metrics")
                }
                print(
                    f"        list p95 {p95s['list']} ms · metrics p95 {p95s['metrics']} ms · "
                    f"recount p50 {one_count['p50_ms']:,.0f} ms · "
                    f"counted after p50 {fresh['p50_ms']:,.0f} ms · "
                    f"query-every-workflow {baseline['p50_ms']:,.0f} ms",
                    flush=True,
                )
        await db.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="1000,10000", help="comma-separated order counts")
    parser.add_argument(
        "--requests", type=int, default=50, help="rounds of one list and one metrics request"
    )
    parser.add_argument("--runs", type=int, default=3, help="runs of those rounds per size")
    parser.add_argument(
        "--sample", type=int, default=2000, help="past this many orders, the baseline samples"
    )
    args = parser.parse_args()
    sizes = sorted(int(s) for s in args.sizes.split(","))
    asyncio.run(run(sizes, args.requests, args.runs, args.sample))


if __name__ == "__main__":
    main()
