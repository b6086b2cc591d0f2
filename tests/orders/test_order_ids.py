"""An order id serves one order, whatever Temporal still remembers: side effects are keyed
by it, so a second order under an old id, or a reset of a compensated order, must never run
on the first order's refunded charge and released stock."""

from __future__ import annotations

import uuid

import httpx
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType, ResetReapplyType
from temporalio.api.workflowservice.v1 import ResetWorkflowExecutionRequest
from temporalio.common import WorkflowIDReusePolicy
from temporalio.testing import WorkflowEnvironment

from opsdesk.db import Database
from opsdesk.orders.claims import OrderIds
from opsdesk.orders.ids import order_workflow_id
from opsdesk.orders.inputs import CancelRequest, OrderInput, OrderRequest
from opsdesk.orders.inventory import Inventory
from opsdesk.orders.payloads import OrderClaim
from opsdesk.orders.service import order_handle, start_order
from opsdesk.orders.status import OrderStatus as S
from opsdesk.orders.workflow import OrderWorkflow
from opsdesk.settings import Settings
from tests.orders.factory import order_request
from tests.orders.helpers import body, error_of, order_worker, wait_for_status
from tests.orders.records import Records
from tests.orders.test_lifecycle import statuses


async def cancelled_order(
    env: WorkflowEnvironment, settings: Settings, request: OrderRequest
) -> None:
    """An order confirmed, then cancelled: charged and refunded, stock taken and released."""
    handle = await start_order(env.client, settings, request)
    await wait_for_status(handle, S.CONFIRMED)
    await handle.signal(OrderWorkflow.request_cancel, CancelRequest())
    assert (await handle.result()).status is S.CANCELLED


async def assert_nothing_new(records: Records, order_id: str) -> None:
    [charge] = await records.charges(order_id)
    [refund] = await records.refunds(order_id)
    assert refund.amount_cents == charge.amount_cents
    assert all(r.released_at is not None for r in await records.reservations(order_id))
    assert await records.stock("MUG-01") == 100
    assert await records.fulfilment(order_id) == "cancelled"


async def test_a_new_start_under_a_used_id_fails_without_effects(
    time_env: WorkflowEnvironment, db: Database, catalog: Inventory, settings: Settings
) -> None:
    """What `temporal workflow start --workflow-id order-<old id>` does, or any start after
    Temporal's retention has forgotten the first order."""
    records = Records(db)
    request = order_request()
    async with order_worker(time_env, db, settings):
        await cancelled_order(time_env, settings, request)
        second = await time_env.client.start_workflow(
            OrderWorkflow.run,
            OrderInput(request=request),
            id=order_workflow_id(request.order_id),
            task_queue=settings.orders_task_queue,
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        )
        final = await second.result()

    assert final.status is S.FAILED
    assert final.last_error is not None
    assert "already used" in final.last_error
    assert statuses(final) == [S.PENDING, S.FAILED]
    await assert_nothing_new(records, request.order_id)


async def test_a_reset_of_a_compensated_order_cannot_confirm_it(
    dev_env: WorkflowEnvironment, db: Database, catalog: Inventory, settings: Settings
) -> None:
    records = Records(db)
    request = order_request()
    async with order_worker(dev_env, db, settings):
        await cancelled_order(dev_env, settings, request)
        handle = order_handle(dev_env.client, request.order_id)
        first_task = 0
        async for event in handle.fetch_history_events():
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED:
                first_task = event.event_id
                break
        reset = await dev_env.client.workflow_service.reset_workflow_execution(
            ResetWorkflowExecutionRequest(
                namespace=dev_env.client.namespace,
                workflow_execution=WorkflowExecution(workflow_id=handle.id),
                reason="test: reset after compensation",
                workflow_task_finish_event_id=first_task,
                request_id=uuid.uuid4().hex,
                # Without the cancel signal again: the steps after the reset point re-run.
                reset_reapply_type=ResetReapplyType.RESET_REAPPLY_TYPE_NONE,
            )
        )
        again = dev_env.client.get_workflow_handle_for(
            OrderWorkflow.run, handle.id, run_id=reset.run_id
        )
        final = await again.result()

    assert final.status is S.FAILED
    assert S.CONFIRMED not in statuses(final)
    assert final.last_error is not None
    assert "was refunded" in final.last_error
    await assert_nothing_new(records, request.order_id)


async def test_the_api_refuses_an_id_an_earlier_order_used(
    api: httpx.AsyncClient, db: Database
) -> None:
    # An order Temporal no longer remembers (retention) left its claim behind.
    await OrderIds(db).claim(OrderClaim(order_id="gone-1", stamp="an-earlier-run"))
    response = await api.post("/api/orders", json=body(order_id="gone-1"))
    assert "already used" in error_of(response, 409)
