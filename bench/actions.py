"""Action latency: marking an order shipped with an update (what ``POST /advance`` does)
against the source document's signal-then-query, on the same orders' twins in the same run.

    uv run python -m bench.actions [--orders 50]

Three ways, each on its own ``--orders`` orders waiting for shipment, one action at a time,
the ways taking turns, once every order is waiting and its confirmation email is sent:

- ``POST /api/orders/{id}/advance`` through the API process: the update, answered with
  the state after the transition;
- the same update straight through the Temporal client (no HTTP);
- ``request_advance`` signal, then ``get_state`` query at once, through the client.

A read is *stale* when the state that comes back is not SHIPPED: the person who clicked
"Mark shipped" would see the order still waiting for shipment.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from datetime import timedelta
from typing import Any

from bench.harness import confirmed, fill_catalog, save, stack
from opsdesk.orders import load
from opsdesk.orders import service as orders
from opsdesk.orders.catalog import sample_catalog
from opsdesk.orders.inputs import AdvanceRequest
from opsdesk.orders.status import OrderStatus
from opsdesk.orders.workflow import OrderWorkflow
from opsdesk.stats import summary_ms
from opsdesk.temporal.client import connect

BUSY = "WorkflowType = 'NotificationWorkflow' AND ExecutionStatus = 'Running'"


async def measure(orders_per_way: int) -> dict[str, Any]:
    with stack(worker=True, prepare=fill_catalog) as running:
        settings = running.settings
        client = await connect(settings)
        planned = [
            o.request
            for o in load.plan_orders(orders_per_way * 6, 1, sample_catalog())
            if o.plan == "delivered"
        ][: orders_per_way * 3]
        await asyncio.gather(*(orders.start_order(client, settings, r) for r in planned))
        while await confirmed(client, settings) < len(planned):  # noqa: ASYNC110 - polling the server
            await asyncio.sleep(1)
        # An order is CONFIRMED before its warehouse request and confirmation email are done;
        # measure once the worker has nothing else to do.
        while (await client.count_workflows(BUSY)).count:  # noqa: ASYNC110 - polling the server
            await asyncio.sleep(1)
        ids = [r.order_id for r in planned]
        ways = {
            "POST /advance (update)": ids[:orders_per_way],
            "update via client": ids[orders_per_way : 2 * orders_per_way],
            "signal, then query": ids[2 * orders_per_way :],
        }
        results: dict[str, Any] = {}
        async with running.api_client(timeout=30) as http:

            async def via_api(order_id: str) -> OrderStatus:
                response = await http.post(
                    f"/api/orders/{order_id}/advance", json={"tracking_number": "1Z999"}
                )
                response.raise_for_status()
                return OrderStatus(response.json()["status"])

            async def via_update(order_id: str) -> OrderStatus:
                state, _ = await orders.advance_order(
                    client,
                    order_id,
                    AdvanceRequest(tracking_number="1Z999"),
                    wait=timedelta(seconds=10),
                )
                return state.status

            async def via_signal(order_id: str) -> OrderStatus:
                handle = orders.order_handle(client, order_id)
                await handle.signal(
                    OrderWorkflow.request_advance, AdvanceRequest(tracking_number="1Z999")
                )
                return (await handle.query(OrderWorkflow.get_state)).status

            acts = dict(zip(ways, (via_api, via_update, via_signal), strict=True))
            samples: dict[str, list[float]] = {name: [] for name in ways}
            stale = dict.fromkeys(ways, 0)
            # The ways take turns, one action each, so that drift on the machine falls on all.
            for turn in zip(*ways.values(), strict=True):
                for name, order_id in zip(ways, turn, strict=True):
                    began = time.perf_counter()
                    status = await acts[name](order_id)
                    samples[name].append(time.perf_counter() - began)
                    stale[name] += status is not OrderStatus.SHIPPED
            for name, order_ids in ways.items():
                results[name] = {**summary_ms(samples[name]), "stale": stale[name]}
                print(
                    f"  {name:<24} p50 {results[name]['p50_ms']:6.1f} ms  "
                    f"p99 {results[name]['p99_ms']:6.1f} ms  stale {stale[name]}/{len(order_ids)}",
                    flush=True,
                )
    return {"orders_per_way": orders_per_way, "rows": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--orders", type=int, default=50, help="orders per way")
    args = parser.parse_args()
    print(f"saved {save('actions', asyncio.run(measure(args.orders)))}")


if __name__ == "__main__":
    main()
