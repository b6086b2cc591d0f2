"""A new order's round trip: from the submission to its priced state, with update-with-start
(one call) against the start-then-update it replaced (two calls; a retry took three).

    uv run python -m bench.roundtrip [--orders 10] [--rounds 5] [--runs 3]

Three ways, each ``--orders`` new orders a round, one order at a time, the ways taking turns
(which goes first turns with each round), after a warm-up order each that is not counted:

- ``submit_order`` through the Temporal client: update-with-start, the ``submitted``
  update answering with the priced state (what the API and the webhook do);
- the way it was done before, through the same client: start the workflow, then send the
  ``priced`` update; a retry started, heard the id was taken, read the memo to compare the
  body, then queried (kept here only, so that the two can be compared);
- ``POST /api/orders`` with the order's own id through the API process (update-with-start).

Each order is sent twice: new, then again with the same id and body (a retry), and both
round trips are timed. The next order is sent once the last one is CONFIRMED and its emails
are done, so each is measured on an idle worker. A round's figure is each way's median; the
headline is the median of the rounds' medians, with their range, over ``--runs`` runs, each
on a fresh stack (dev server, worker, API).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
from temporalio.client import Client
from temporalio.exceptions import WorkflowAlreadyStartedError

from bench.harness import fill_catalog, save, spread, stack
from opsdesk.orders import load
from opsdesk.orders import service as orders
from opsdesk.orders.catalog import sample_catalog
from opsdesk.orders.inputs import OrderRequest
from opsdesk.orders.state import INTAKE_MEMO, OrderState
from opsdesk.orders.status import OrderStatus
from opsdesk.orders.workflow import OrderWorkflow
from opsdesk.settings import Settings
from opsdesk.stats import summary_ms
from opsdesk.temporal.client import connect

BUSY = "WorkflowType = 'NotificationWorkflow' AND ExecutionStatus = 'Running'"
SETTLE_LIMIT = 60.0
WAYS = {
    "update-with-start": "update-with-start through the client (as shipped)",
    "start, then update": "start, then update through the client (before)",
    "POST /api/orders": "POST /api/orders through the API (update-with-start)",
}

Send = Callable[[OrderRequest], Awaitable[OrderState]]


async def start_then_update(
    client: Client, settings: Settings, request: OrderRequest
) -> OrderState:
    """What ``submit_order`` did before update-with-start: two calls for a new order, three
    for a retry."""
    try:
        handle = await orders.start_order(client, settings, request)
    except WorkflowAlreadyStartedError:
        handle = orders.order_handle(client, request.order_id)
        memo = await (await handle.describe()).memo()
        if memo.get(INTAKE_MEMO) != orders.fingerprint(request):
            raise orders.IntakeConflict(request.order_id) from None
        return await handle.query(OrderWorkflow.get_state, rpc_timeout=orders.QUERY_TIMEOUT)
    state: OrderState = await handle.execute_update(OrderWorkflow.priced)
    return state


def _ways(client: Client, http: httpx.AsyncClient, settings: Settings) -> dict[str, Send]:
    async def with_start(request: OrderRequest) -> OrderState:
        state, _ = await orders.submit_order(client, settings, request)
        return state

    async def before(request: OrderRequest) -> OrderState:
        return await start_then_update(client, settings, request)

    async def via_api(request: OrderRequest) -> OrderState:
        response = await http.post("/api/orders", json=request.model_dump(mode="json"))
        if response.status_code not in (200, 201):
            raise RuntimeError(f"POST /api/orders answered {response.status_code}: {response.text}")
        return OrderState.model_validate(response.json())

    return dict(zip(WAYS, (with_start, before, via_api), strict=True))


async def _settled(client: Client, order_id: str) -> None:
    """Wait until the order is CONFIRMED and no email is still being sent."""
    handle = orders.order_handle(client, order_id)
    began = time.monotonic()
    while (await handle.query(OrderWorkflow.get_state)).status is not OrderStatus.CONFIRMED or (
        await client.count_workflows(BUSY)
    ).count:
        if time.monotonic() - began > SETTLE_LIMIT:
            raise TimeoutError(f"order {order_id} did not settle")
        await asyncio.sleep(0.05)


Samples = dict[str, dict[str, list[list[float]]]]
"""Seconds taken, by way, then ``new`` or ``retry``, then round."""


async def measure(orders_per_round: int, rounds: int, runs: int) -> dict[str, Any]:
    samples: Samples = {name: {"new": [], "retry": []} for name in WAYS}
    for run in range(runs):
        print(f"run {run + 1} of {runs}", flush=True)
        taken = await _one_run(orders_per_round, rounds)
        for name, kinds in taken.items():
            for kind, per_round in kinds.items():
                samples[name][kind] += per_round
    return _result(samples, orders_per_round, rounds, runs)


async def _one_run(orders_per_round: int, rounds: int) -> Samples:
    """``rounds`` rounds on a stack of their own, after a warm-up round (left out)."""
    with stack(worker=True, prepare=fill_catalog) as running:
        settings = running.settings
        client = await connect(settings)
        needed = len(WAYS) * (orders_per_round * rounds + 1)
        requests = iter(
            [
                p.request
                for p in load.plan_orders(needed * 4, 7, sample_catalog())
                if p.plan == "delivered"
            ]
        )
        samples: Samples = {name: {"new": [], "retry": []} for name in WAYS}
        async with running.api_client(timeout=30) as http:
            sends = _ways(client, http, settings)
            order = list(WAYS)
            for number in range(rounds + 1):  # round 0 warms each way up with one order
                for kind in ("new", "retry"):
                    for name in WAYS:
                        samples[name][kind].append([])
                turns = 1 if number == 0 else orders_per_round
                # Which way goes first turns with each round.
                turn_order = order[number % len(order) :] + order[: number % len(order)]
                for _ in range(turns):
                    for name in turn_order:
                        request = next(requests)
                        for kind in ("new", "retry"):
                            began = time.perf_counter()
                            state = await sends[name](request)
                            took = time.perf_counter() - began
                            if not state.lines:
                                raise RuntimeError(f"{name}: answered before it was priced")
                            samples[name][kind][-1].append(took)
                        await _settled(client, request.order_id)
                if number:
                    print(f"  round {number}: " + _round_line(samples), flush=True)
    return {name: {kind: r[1:] for kind, r in kinds.items()} for name, kinds in samples.items()}


def _round_line(samples: Samples) -> str:
    return "  ".join(
        f"{name} {statistics.median(kinds['new'][-1]) * 1000:.1f}/"
        f"{statistics.median(kinds['retry'][-1]) * 1000:.1f} ms"
        for name, kinds in samples.items()
    )


def _result(samples: Samples, orders_per_round: int, rounds: int, runs: int) -> dict[str, Any]:
    rows: dict[str, Any] = {}
    for name, kinds in samples.items():
        rows[name] = {}
        for kind, per_round in kinds.items():
            medians = [statistics.median(r) * 1000 for r in per_round]
            rows[name][kind] = {
                "round_medians_ms": spread(medians, 1),
                **summary_ms([s for r in per_round for s in r]),
            }
    ratios: dict[str, Any] = {}
    for kind in ("new", "retry"):
        after = rows["update-with-start"][kind]["round_medians_ms"]["rounds"]
        before = rows["start, then update"][kind]["round_medians_ms"]["rounds"]
        each = [a / b for a, b in zip(after, before, strict=True)]
        per_run = [statistics.median(each[r * rounds : (r + 1) * rounds]) for r in range(runs)]
        ratios[kind] = {**spread(each), "runs": [round(r, 3) for r in per_run]}
    return {
        "orders_per_round": orders_per_round,
        "rounds": rounds,
        "runs": runs,
        "ways": WAYS,
        "rows": rows,
        "ratio": ratios,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=10, help="new orders per way per round")
    parser.add_argument("--rounds", type=int, default=5, help="rounds per run")
    parser.add_argument("--runs", type=int, default=3, help="runs, each on a fresh stack")
    parser.add_argument(
        "--shared", action="store_true", help="other work ran on the machine: say so by the figures"
    )
    args = parser.parse_args()
    result = asyncio.run(measure(args.orders, args.rounds, args.runs))
    print(f"saved {save('roundtrip', {**result, 'shared': args.shared})}")


if __name__ == "__main__":
    main()
