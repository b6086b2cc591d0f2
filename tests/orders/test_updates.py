"""Updates and visibility, on the dev server (the time-skipping server has neither)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from temporalio.client import WorkflowExecution, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from opsdesk.db import Database
from opsdesk.orders.inputs import AdvanceRequest, CancelRequest
from opsdesk.orders.inventory import Inventory
from opsdesk.orders.service import ActionRefused, advance_order, cancel_order, start_order
from opsdesk.orders.state import OrderRow
from opsdesk.orders.status import OrderStatus as S
from opsdesk.orders.workflow import OrderWorkflow
from opsdesk.settings import Settings
from opsdesk.temporal import search_attributes as sa
from tests.orders.factory import GREY_RISK, order_request
from tests.orders.helpers import order_worker, wait_for_status
from tests.orders.records import Records
from tests.waiting import eventually

WAIT = timedelta(seconds=20)


def refusal(err: pytest.ExceptionInfo[WorkflowUpdateFailedError]) -> str:
    cause = err.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == "ActionNotAllowed"
    return cause.message


async def test_approve_returns_the_state_once_the_order_has_settled(
    dev_env: WorkflowEnvironment, db: Database, catalog: Inventory, settings: Settings
) -> None:
    request = order_request(GREY_RISK)
    async with order_worker(dev_env, db, settings):
        handle = await start_order(dev_env.client, settings, request)
        await wait_for_status(handle, S.REVIEW)
        state = await handle.execute_update(
            OrderWorkflow.advance, AdvanceRequest(request_id="r1", actor="maria")
        )
        # The same click again (a retried request) changes nothing and answers the same.
        again = await handle.execute_update(
            OrderWorkflow.advance, AdvanceRequest(request_id="r1", actor="maria")
        )

    assert state.status is S.CONFIRMED
    assert state.charge is not None
    assert again.status is S.CONFIRMED
    assert [t.actor for t in again.history if t.status is S.REVIEW] == ["system", "maria"]


async def test_refused_actions_say_why(
    dev_env: WorkflowEnvironment, db: Database, catalog: Inventory, settings: Settings
) -> None:
    request = order_request()
    async with order_worker(dev_env, db, settings):
        handle = await start_order(dev_env.client, settings, request)
        await wait_for_status(handle, S.CONFIRMED)

        with pytest.raises(WorkflowUpdateFailedError) as stale:
            await handle.execute_update(
                OrderWorkflow.advance, AdvanceRequest(expected_status=S.SHIPPED)
            )
        assert refusal(stale) == (
            "the order has moved on: it is confirmed, to be shipped now (you saw: shipped); "
            "look at it again"
        )

        # From here through the client module, as the API does it.
        shipped, settled = await advance_order(
            dev_env.client,
            request.order_id,
            AdvanceRequest(tracking_number="1Z1", expected_status=S.CONFIRMED),
            wait=WAIT,
        )
        assert settled
        assert shipped.status is S.SHIPPED
        assert shipped.tracking_number == "1Z1"

        with pytest.raises(ActionRefused) as late:
            await cancel_order(dev_env.client, request.order_id, CancelRequest(), wait=WAIT)
        assert late.value.reason == (
            "the order has already shipped; it can no longer be cancelled (arrange a return)"
        )

        delivered, _ = await advance_order(
            dev_env.client, request.order_id, AdvanceRequest(), wait=WAIT
        )
        assert delivered.status is S.DELIVERED
        assert (await handle.result()).status is S.DELIVERED

        with pytest.raises(ActionRefused) as finished:
            await advance_order(dev_env.client, request.order_id, AdvanceRequest(), wait=WAIT)
        assert finished.value.reason == "the order is already delivered"

    assert await Records(db).refunds(request.order_id) == []


async def test_cancel_returns_the_state_after_compensation(
    dev_env: WorkflowEnvironment, db: Database, catalog: Inventory, settings: Settings
) -> None:
    records = Records(db)
    request = order_request()
    async with order_worker(dev_env, db, settings):
        handle = await start_order(dev_env.client, settings, request)
        await wait_for_status(handle, S.CONFIRMED)
        state = await handle.execute_update(
            OrderWorkflow.cancel, CancelRequest(request_id="c1", reason="duplicate order")
        )
        await records.wait_for_email(request.order_id, "cancelled")

    assert state.status is S.CANCELLED
    assert [r.amount_cents for r in state.refunds] == [6800]
    assert await records.fulfilment(request.order_id) == "cancelled"
    assert await records.stock("MUG-01") == 100


async def test_shipping_answers_without_waiting_for_the_email_to_start(
    dev_env: WorkflowEnvironment, db: Database, catalog: Inventory, settings: Settings
) -> None:
    request = order_request()
    async with order_worker(dev_env, db, settings):
        handle = await start_order(dev_env.client, settings, request)
        await wait_for_status(handle, S.CONFIRMED)
        shipped = await handle.execute_update(
            OrderWorkflow.advance,
            AdvanceRequest(request_id="ship-1", tracking_number="1Z9"),
            id="ship-1",
        )
        await Records(db).wait_for_email(request.order_id, "shipped")
        events = (await handle.fetch_history()).events

    assert shipped.status is S.SHIPPED

    def position(kind: str, matches: Callable[[Any], bool]) -> int:
        found = [
            i
            for i, e in enumerate(events)
            if e.WhichOneof("attributes") == kind and matches(getattr(e, kind))
        ]
        assert len(found) == 1, (kind, found)
        return found[0]

    answered = position(
        "workflow_execution_update_completed_event_attributes",
        lambda a: a.meta.update_id == "ship-1",
    )
    email_started = position(
        "child_workflow_execution_started_event_attributes",
        lambda a: a.workflow_execution.workflow_id.endswith(":shipped"),
    )
    # The start command went out with the answer; the server's word that the child
    # started came after it, and the answer did not wait for it.
    assert answered < email_started


async def test_search_attributes_and_memo_follow_every_transition(
    dev_env: WorkflowEnvironment, db: Database, catalog: Inventory, settings: Settings
) -> None:
    client = dev_env.client
    request = order_request(GREY_RISK, customer_id="cus-visibility")
    async with order_worker(dev_env, db, settings):
        handle = await start_order(client, settings, request)
        await wait_for_status(handle, S.REVIEW)
        query = 'OrderCustomer = "cus-visibility" AND OrderStatus = "REVIEW" AND OrderRisk = 40'
        [listed] = await eventually(
            lambda: _list(dev_env, query), lambda found: len(found) == 1, timeout=20
        )
        assert listed.id == handle.id
        row = await listed.memo_value("row", type_hint=OrderRow)
        assert row.status is S.REVIEW
        assert row.total_cents == 4 * 14900
        assert row.risk_score == 40
        assert listed.typed_search_attributes.get(sa.ORDER_TOTAL) == 596.0

        await handle.execute_update(OrderWorkflow.advance, AdvanceRequest())
        await eventually(
            lambda: _list(
                dev_env, 'OrderCustomer = "cus-visibility" AND OrderStatus = "CONFIRMED"'
            ),
            lambda found: len(found) == 1,
            timeout=20,
        )


async def _list(env: WorkflowEnvironment, query: str) -> list[WorkflowExecution]:
    return [execution async for execution in env.client.list_workflows(query)]
