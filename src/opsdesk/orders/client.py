"""What a Temporal client does with orders: start them, steer them, restock for them.

The API, the load generator and the tests all go through here, so an order is started
one way only.
"""

from __future__ import annotations

import uuid

from temporalio.client import Client, WorkflowHandle
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)

from opsdesk.orders import models as m
from opsdesk.orders.workflows import OrderWorkflow, RestockWorkflow
from opsdesk.settings import Settings
from opsdesk.temporal import search_attributes as sa


async def start_order(
    client: Client, settings: Settings, request: m.OrderRequest
) -> WorkflowHandle[OrderWorkflow, m.OrderState]:
    """Start the order's workflow. Raises ``WorkflowAlreadyStartedError`` if an order
    with this id exists, running or finished: an order id is used once."""
    return await client.start_workflow(
        OrderWorkflow.run,
        m.OrderInput(request=request, policy=settings.order_policy()),
        id=m.order_workflow_id(request.order_id),
        task_queue=settings.orders_task_queue,
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        # Set at start too, so the order is listed before its first workflow task runs.
        search_attributes=TypedSearchAttributes(
            [
                SearchAttributePair(sa.ORDER_STATUS, m.OrderStatus.PENDING.value),
                SearchAttributePair(sa.ORDER_CUSTOMER, request.customer.id),
                SearchAttributePair(sa.ORDER_ESCALATED, False),
            ]
        ),
    )


def order_handle(client: Client, order_id: str) -> WorkflowHandle[OrderWorkflow, m.OrderState]:
    return client.get_workflow_handle_for(OrderWorkflow.run, m.order_workflow_id(order_id))


async def restock(
    client: Client, settings: Settings, sku: str, quantity: int, request_id: str | None = None
) -> m.RestockResult:
    """Add stock and wake the orders waiting for it; a repeated ``request_id`` adds once."""
    workflow_id = f"restock-{sku}-{request_id or uuid.uuid4().hex}"
    return await client.execute_workflow(
        RestockWorkflow.run,
        m.RestockInput(idempotency_key=workflow_id, sku=sku, quantity=quantity),
        id=workflow_id,
        task_queue=settings.orders_task_queue,
        # A repeat while the first still runs joins it; after it, the activity's
        # idempotency key makes the stock go up once and only the wake-ups run again.
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )
