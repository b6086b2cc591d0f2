"""Orders when things happen at once: two people in one workflow task, an advance taken
while a step runs, a charge whose answer is lost, an order id that imitates another
order's child. Each ends with every caller answered and the execution closed."""

from __future__ import annotations

import pytest
from temporalio.client import WorkflowUpdateFailedError, WorkflowUpdateStage
from temporalio.exceptions import ApplicationError
from temporalio.testing import WorkflowEnvironment

from opsdesk.db import Database
from opsdesk.db.tables import FulfilmentRequest
from opsdesk.orders.inputs import AdvanceRequest, CancelRequest
from opsdesk.orders.inventory import Inventory
from opsdesk.orders.service import start_order
from opsdesk.orders.status import OrderStatus as S
from opsdesk.orders.workflow import OrderWorkflow
from opsdesk.payments.ledger import LedgerGateway
from opsdesk.payments.models import Charge, ChargeInput
from opsdesk.settings import Settings
from tests.orders.factory import GREY_RISK, order_request
from tests.orders.helpers import (
    GatedWarehouse,
    order_worker,
    order_worker_with,
    wait_for_status,
)
from tests.orders.records import Records
from tests.together import Together


def refused(outcome: object) -> str:
    assert isinstance(outcome, WorkflowUpdateFailedError), outcome
    cause = outcome.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == "ActionNotAllowed"
    return cause.message


async def test_approve_and_reject_in_one_task_both_answer_and_the_order_closes(
    dev_env: WorkflowEnvironment, db: Database, catalog: Inventory, settings: Settings
) -> None:
    request = order_request(GREY_RISK)
    async with order_worker(dev_env, db, settings):
        handle = await start_order(dev_env.client, settings, request)
        await wait_for_status(handle, S.REVIEW)
    # Both clicks reach the workflow in one task, the approval first.
    together = Together(dev_env.client, handle.id)
    await together.update(
        "approve",
        lambda id: handle.execute_update(
            OrderWorkflow.advance, AdvanceRequest(request_id=id, actor="maria"), id=id
        ),
    )
    await together.update(
        "reject",
        lambda id: handle.execute_update(
            OrderWorkflow.cancel, CancelRequest(request_id=id, actor="sam", reason="fraud"), id=id
        ),
    )
    async with order_worker(dev_env, db, settings):
        approve, reject = await together.results()
        final = await handle.result()

    assert final.status is S.REJECTED
    assert reject.status is S.REJECTED
    # The approval is refused in plain words. On a loaded server a workflow task can fail
    # under the queued updates ("context canceled"), and the client sends the approval again
    # after the rejection was taken: it then meets the cancellation under way instead.
    assert refused(approve) in (
        "the order is rejected; there is nothing left to advance",
        "the order is being cancelled",
    )
    assert await Records(db).charges(request.order_id) == []


async def test_an_advance_taken_during_the_warehouse_step_hears_the_cancel_after_it(
    dev_env: WorkflowEnvironment, db: Database, catalog: Inventory, settings: Settings
) -> None:
    warehouse = GatedWarehouse(db)
    request = order_request()
    async with order_worker_with(dev_env, db, settings, warehouse=warehouse):
        handle = await start_order(dev_env.client, settings, request)
        await warehouse.asked.wait()  # CONFIRMED, the warehouse step under way
        shipped = await handle.start_update(
            OrderWorkflow.advance,
            AdvanceRequest(request_id="ship", tracking_number="1Z1"),
            wait_for_stage=WorkflowUpdateStage.ACCEPTED,
        )
        cancel = await handle.start_update(
            OrderWorkflow.cancel,
            CancelRequest(request_id="cancel", reason="changed their mind"),
            wait_for_stage=WorkflowUpdateStage.ACCEPTED,
        )
        warehouse.gate.set()
        cancelled = await cancel.result()
        with pytest.raises(WorkflowUpdateFailedError) as shipping:
            await shipped.result()
        final = await handle.result()

    assert cancelled.status is S.CANCELLED
    assert final.status is S.CANCELLED
    assert refused(shipping.value) == "the order is cancelled; there is nothing left to advance"


async def test_an_advance_taken_during_a_warehouse_step_that_fails_is_refused(
    dev_env: WorkflowEnvironment, db: Database, catalog: Inventory, settings: Settings
) -> None:
    warehouse = GatedWarehouse(db)
    request = order_request()
    # The warehouse holds a withdrawn request under this id: it refuses the new one.
    async with db.transaction() as session:
        session.add(
            FulfilmentRequest(order_id=request.order_id, lines=[], ship_to={}, status="cancelled")
        )
    async with order_worker_with(dev_env, db, settings, warehouse=warehouse):
        handle = await start_order(dev_env.client, settings, request)
        await warehouse.asked.wait()
        shipped = await handle.start_update(
            OrderWorkflow.advance,
            AdvanceRequest(request_id="ship", tracking_number="1Z1"),
            wait_for_stage=WorkflowUpdateStage.ACCEPTED,
        )
        warehouse.gate.set()
        with pytest.raises(WorkflowUpdateFailedError) as shipping:
            await shipped.result()
        final = await handle.result()

    assert final.status is S.FAILED
    assert refused(shipping.value) == (
        "the order is stopped on a failure, for a person to look at; "
        "there is nothing left to advance"
    )


class LostAnswers(LedgerGateway):
    """A processor that takes the money and whose answer never arrives."""

    async def charge(self, request: ChargeInput) -> Charge:
        await super().charge(request)
        raise ConnectionError("the processor's answer was lost")


async def test_a_charge_whose_answer_is_lost_is_refunded_by_its_key(
    time_env: WorkflowEnvironment, db: Database, catalog: Inventory, settings: Settings
) -> None:
    records = Records(db)
    request = order_request()
    async with order_worker_with(time_env, db, settings, gateway=LostAnswers(db)):
        handle = await start_order(time_env.client, settings, request)
        final = await handle.result()  # the PAYMENT step's ten minutes, skipped through
        await records.wait_for_email(request.order_id, "cancelled")

    assert final.status is S.FAILED
    [charge] = await records.charges(request.order_id)
    [refund] = await records.refunds(request.order_id)
    assert refund.amount_cents == charge.amount_cents
    assert [r.amount_cents for r in final.refunds] == [charge.amount_cents]


async def test_an_order_id_cannot_take_another_orders_notification(
    dev_env: WorkflowEnvironment, db: Database, catalog: Inventory, settings: Settings
) -> None:
    records = Records(db)
    victim = order_request()
    # Before the fix this order's workflow id was the victim's first notice's id.
    forger = order_request(order_id=f"{victim.order_id}-notify-1-confirmation")
    async with order_worker(dev_env, db, settings):
        forged = await start_order(dev_env.client, settings, forger)
        await wait_for_status(forged, S.CONFIRMED)
        handle = await start_order(dev_env.client, settings, victim)
        await wait_for_status(handle, S.CONFIRMED)
        email = await records.wait_for_email(victim.order_id, "confirmation")

    assert email.to_address == "ada@example.com"
