"""Record the workflow histories the replay test guards.

    uv run python -m tests.histories.record

Run it when a workflow change is released, commit the new files next to the old ones, and
keep the old ones: they are what running orders' histories look like.
"""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

from temporalio.client import WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from opsdesk.db import Database
from opsdesk.db.migrate import upgrade_async
from opsdesk.orders import models as m
from opsdesk.orders.client import restock, start_order
from opsdesk.orders.inventory import Inventory
from opsdesk.orders.workflows import OrderWorkflow
from opsdesk.settings import Settings
from opsdesk.temporal.client import register_search_attributes
from opsdesk.temporal.devserver import find_binary
from opsdesk.temporal.worker import build_workers, running
from tests.orders.factory import CATALOG, GREY_RISK, OUT_OF_STOCK, order_request

HERE = Path(__file__).parent
Handle = WorkflowHandle[OrderWorkflow, m.OrderState]


async def _until(handle: Handle, status: m.OrderStatus) -> None:
    for _ in range(600):
        if (await handle.query(OrderWorkflow.get_state)).status is status:
            return
        await asyncio.sleep(0.05)
    raise TimeoutError(f"{handle.id} never reached {status}")


async def delivered(env: WorkflowEnvironment, settings: Settings) -> Handle:
    handle = await start_order(env.client, settings, order_request(order_id="delivered"))
    await _until(handle, m.OrderStatus.CONFIRMED)
    await handle.signal(
        OrderWorkflow.request_advance, m.AdvanceRequest(request_id="s", tracking_number="1Z")
    )
    await _until(handle, m.OrderStatus.SHIPPED)
    await handle.signal(OrderWorkflow.request_advance, m.AdvanceRequest(request_id="d"))
    return handle


async def rejected_in_review(env: WorkflowEnvironment, settings: Settings) -> Handle:
    handle = await start_order(env.client, settings, order_request(GREY_RISK, order_id="rejected"))
    await _until(handle, m.OrderStatus.REVIEW)
    await handle.signal(OrderWorkflow.request_cancel, m.CancelRequest(reason="fraud"))
    return handle


async def restocked_then_cancelled(env: WorkflowEnvironment, settings: Settings) -> Handle:
    handle = await start_order(
        env.client, settings, order_request(OUT_OF_STOCK, order_id="restocked")
    )
    await _until(handle, m.OrderStatus.AWAITING_STOCK)
    await restock(env.client, settings, "KETTLE-01", 1, request_id="history")
    await _until(handle, m.OrderStatus.CONFIRMED)
    await handle.signal(OrderWorkflow.request_cancel, m.CancelRequest(reason="changed mind"))
    return handle


async def escalated(env: WorkflowEnvironment, settings: Settings) -> Handle:
    handle = await start_order(env.client, settings, order_request(order_id="escalated"))
    await _until(handle, m.OrderStatus.CONFIRMED)
    await env.sleep(timedelta(days=8))
    await handle.signal(OrderWorkflow.request_advance, m.AdvanceRequest())
    await _until(handle, m.OrderStatus.SHIPPED)
    await handle.signal(OrderWorkflow.request_advance, m.AdvanceRequest())
    return handle


SCENARIOS: dict[str, Callable[[WorkflowEnvironment, Settings], Awaitable[Handle]]] = {
    "delivered": delivered,
    "rejected in review": rejected_in_review,
    "restocked then cancelled": restocked_then_cancelled,
    "escalated": escalated,
}


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/opsdesk.db"
        await upgrade_async(url)
        db = Database(url)
        await Inventory(db).import_catalog(CATALOG, set_stock=True)
        settings = Settings(
            data_dir=Path(tmp), database_url=url, orders_task_queue=f"h-{uuid.uuid4().hex[:6]}"
        )
        try:
            for name, scenario in SCENARIOS.items():
                # A server per scenario: one scenario's timers never move another's clock.
                env = await WorkflowEnvironment.start_time_skipping(
                    data_converter=pydantic_data_converter,
                    test_server_existing_path=str(find_binary("temporal-test-server")),
                )
                await register_search_attributes(env.client)
                try:
                    async with running(build_workers(env.client, db, settings)):
                        handle = await scenario(env, settings)
                        await handle.result()
                        history = await handle.fetch_history()
                finally:
                    await env.shutdown()
                # Named by workflow id: replay needs it (child ids and keys derive from it).
                (HERE / f"{handle.id}.json").write_text(history.to_json())
                print(f"recorded {name}: {len(history.events)} events")
        finally:
            await db.dispose()


if __name__ == "__main__":
    asyncio.run(main())
