"""A shop's burst of orders takes turns with the desk's and API clients' own: each order's
workflow starts with its channel as the fairness key, as the server records it."""

from __future__ import annotations

import uuid

from temporalio.testing import WorkflowEnvironment

from opsdesk.orders.service import start_order
from opsdesk.settings import Settings
from tests.orders.factory import order_request


async def test_each_channel_is_a_fairness_key_of_its_own(
    dev_env: WorkflowEnvironment, settings: Settings
) -> None:
    # No worker: the start alone is what is checked; the orders are terminated after.
    unique = uuid.uuid4().hex[:8]
    channels = {
        f"shop-{unique}": "orders:shop",
        str(int(unique, 16) + 10_000_000_000): "orders:desk",
        f"client-{unique}": "orders:api",
    }
    for order_id, fairness_key in channels.items():
        handle = await start_order(dev_env.client, settings, order_request(order_id=order_id))
        try:
            described = await handle.describe()
            priority = described.raw_description.workflow_execution_info.priority
            assert (priority.priority_key, priority.fairness_key) == (0, fairness_key)
        finally:
            await handle.terminate("test over")
