"""The restock workflow: add stock, then wake the orders that waited for it."""

from __future__ import annotations

import asyncio

from temporalio import workflow
from temporalio.common import VersioningBehavior

from opsdesk.orders.ids import order_workflow_id
from opsdesk.orders.payloads import RestockInput, RestockResult
from opsdesk.orders.steps import STORE
from opsdesk.orders.workflow import OrderWorkflow

with workflow.unsafe.imports_passed_through():
    from opsdesk.orders.activities import OrderActivities


# Pinned: it ends within its activity's schedule-to-close timeout.
@workflow.defn(versioning_behavior=VersioningBehavior.PINNED)
class RestockWorkflow:
    """Add stock, then wake every order that was waiting for it. A workflow rather than a
    plain API call so that the wake-ups happen even if the caller dies after the stock
    went up."""

    @workflow.run
    async def run(self, restock: RestockInput) -> RestockResult:
        result = await workflow.execute_activity_method(
            OrderActivities.restock,
            restock,
            start_to_close_timeout=STORE.start_to_close,
            schedule_to_close_timeout=STORE.schedule_to_close,
            retry_policy=STORE.retry_policy,
        )
        signals = [
            workflow.get_external_workflow_handle(order_workflow_id(order_id)).signal(
                OrderWorkflow.stock_available, restock.sku
            )
            for order_id in result.waiting_orders
        ]
        # An order that finished meanwhile cannot be signalled; that is fine.
        await asyncio.gather(*signals, return_exceptions=True)
        return result
