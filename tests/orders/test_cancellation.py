"""Cancels that arrive mid-step, and cancels from Temporal itself: whatever the timing, a
cancelled order is compensated, never told "confirmed" on its way to "cancelled", and shows
CANCELLED."""

from __future__ import annotations

from datetime import timedelta

from temporalio.api.enums.v1 import PendingActivityState
from temporalio.client import WorkflowExecutionStatus, WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from opsdesk.db import Database
from opsdesk.orders.inputs import AdvanceRequest, CancelRequest
from opsdesk.orders.inventory import Inventory
from opsdesk.orders.payloads import CANCEL_FULFILMENT, RELEASE_STOCK
from opsdesk.orders.service import start_order
from opsdesk.orders.state import OrderState
from opsdesk.orders.status import OrderStatus as S
from opsdesk.orders.workflow import OrderWorkflow
from opsdesk.settings import Settings
from tests.orders.contention import write_lock_held
from tests.orders.factory import order_request
from tests.orders.helpers import order_worker, wait_for_status
from tests.orders.records import Records
from tests.orders.test_lifecycle import statuses
from tests.orders.test_worker_crash import attempts_of
from tests.waiting import eventually

OrderHandle = WorkflowHandle[OrderWorkflow, OrderState]


async def closed(handle: OrderHandle) -> OrderState:
    """The final state of an order, however its workflow closed (completed or cancelled)."""
    await eventually(
        handle.describe,
        lambda d: d.status is not WorkflowExecutionStatus.RUNNING,
        timeout=60,
    )
    return await handle.query(OrderWorkflow.get_state)


async def assert_compensated(records: Records, order_id: str, *, confirmed: bool = False) -> None:
    """Charged once and refunded in full, no stock held, told once that it was cancelled,
    and told it was confirmed only if it was."""
    [charge] = await records.charges(order_id)
    [refund] = await records.refunds(order_id)
    assert refund.amount_cents == charge.amount_cents
    assert all(r.released_at is not None for r in await records.reservations(order_id))
    assert await records.stock("MUG-01") == 100
    assert await records.stock("TEE-M") == 50
    await records.wait_for_email(order_id, "cancelled")
    assert len(await records.emails(order_id, "confirmation")) == int(confirmed)


async def test_cancel_during_payment_is_acted_on_before_allocation(
    time_env: WorkflowEnvironment, db: Database, catalog: Inventory, settings: Settings
) -> None:
    records = Records(db)
    # tok_slow: the processor takes seconds to answer, so the cancel lands mid-charge.
    request = order_request(token="tok_slow")
    async with order_worker(time_env, db, settings):
        handle = await start_order(time_env.client, settings, request)
        await wait_for_status(handle, S.PAYMENT)
        await handle.signal(OrderWorkflow.request_cancel, CancelRequest(reason="changed mind"))
        final = await handle.result()
        await assert_compensated(records, request.order_id)

    assert final.status is S.CANCELLED
    assert statuses(final) == [S.PENDING, S.PAYMENT, S.CANCELLED]
    assert await records.reservations(request.order_id) == []
    assert await records.fulfilment(request.order_id) is None


async def test_cancel_during_allocation_never_confirms(
    dev_env: WorkflowEnvironment, db: Database, catalog: Inventory, settings: Settings
) -> None:
    records = Records(db)
    request = order_request(token="tok_slow")
    async with order_worker(dev_env, db, settings):
        handle = await start_order(dev_env.client, settings, request)
        await wait_for_status(handle, S.PAYMENT)
        # The charge has committed and its answer is on its way; the reservation that
        # follows waits on the database while the cancel arrives.
        await eventually(lambda: records.charges(request.order_id), bool)
        async with write_lock_held(db):
            await wait_for_status(handle, S.ALLOCATING)
            await handle.signal(OrderWorkflow.request_cancel, CancelRequest())
        final = await closed(handle)
        await assert_compensated(records, request.order_id)

    assert final.status is S.CANCELLED
    assert S.CONFIRMED not in statuses(final)
    assert await records.fulfilment(request.order_id) is None


async def in_flight(handle: OrderHandle) -> list[tuple[str, int]]:
    """Each activity a worker is running now, with its attempt."""
    pending = (await handle.describe()).raw_description.pending_activities
    return [
        (p.activity_type.name, p.attempt)
        for p in pending
        if p.state == PendingActivityState.PENDING_ACTIVITY_STATE_STARTED
    ]


async def step_timeouts(
    handle: OrderHandle, activity: str
) -> list[tuple[timedelta | None, timedelta]]:
    """The heartbeat timeout (None: it has none) and the start-to-close timeout of each
    scheduling of ``activity``, as the server enforces them."""
    timeouts = []
    async for event in handle.fetch_history_events():
        if event.HasField("activity_task_scheduled_event_attributes"):
            attrs = event.activity_task_scheduled_event_attributes
            if attrs.activity_type.name == activity:
                heartbeat = attrs.heartbeat_timeout.ToTimedelta()
                timeouts.append((heartbeat or None, attrs.start_to_close_timeout.ToTimedelta()))
    return timeouts


async def busy_timeout(db: Database) -> timedelta:
    """How long a step waits for SQLite's write lock before it fails."""
    async with db.engine.connect() as conn:
        waits = (await conn.exec_driver_sql("PRAGMA busy_timeout")).scalar_one()
    return timedelta(milliseconds=waits)


async def test_a_busy_database_does_not_time_out_compensation(
    dev_env: WorkflowEnvironment, db: Database, catalog: Inventory, settings: Settings
) -> None:
    """Withdrawing the warehouse request and releasing stock never heartbeat: a slow
    attempt must be waited for, not timed out and retried on top of itself."""
    records = Records(db)
    request = order_request()
    async with order_worker(dev_env, db, settings):
        handle = await start_order(dev_env.client, settings, request)
        await wait_for_status(handle, S.CONFIRMED)
        # The confirmation's own steps write too: let them finish before the database is busy.
        await records.wait_for_email(request.order_id, "confirmation")
        async with write_lock_held(db):
            await handle.signal(OrderWorkflow.request_cancel, CancelRequest())
            # An undo step is under way, its first attempt waiting for the database.
            await eventually(
                lambda: in_flight(handle),
                lambda running: bool(set(running) & {(CANCEL_FULFILMENT, 1), (RELEASE_STOCK, 1)}),
            )
        final = await closed(handle)
        await assert_compensated(records, request.order_id, confirmed=True)

    assert final.status is S.CANCELLED
    # Only the server's timeouts could give up on an attempt still waiting for the database
    # and start a second beside it: a heartbeat timeout (these steps do not heartbeat) or a
    # start-to-close shorter than SQLite's busy_timeout. They have neither, so an attempt
    # is waited for as long as the database may keep it waiting (holding the lock for a
    # fixed 7 s here showed that for 7 s only).
    waits = await busy_timeout(db)
    for activity in (CANCEL_FULFILMENT, RELEASE_STOCK):
        [(heartbeat, start_to_close)] = await step_timeouts(handle, activity)
        assert heartbeat is None
        assert start_to_close > waits
    assert await attempts_of(handle, CANCEL_FULFILMENT) == [1]
    assert await attempts_of(handle, RELEASE_STOCK) == [1]


async def test_cancelling_the_workflow_in_temporal_compensates(
    time_env: WorkflowEnvironment, db: Database, catalog: Inventory, settings: Settings
) -> None:
    records = Records(db)
    request = order_request()
    async with order_worker(time_env, db, settings):
        handle = await start_order(time_env.client, settings, request)
        await wait_for_status(handle, S.CONFIRMED)
        await records.wait_for_email(request.order_id, "confirmation")
        await handle.cancel()  # what `temporal workflow cancel` and the UI's button send
        final = await closed(handle)
        told = await records.wait_for_email(request.order_id, "cancelled")
        described = await handle.describe()

    assert final.status is S.CANCELLED
    assert final.history[-1].actor == "temporal"
    assert described.status is WorkflowExecutionStatus.CANCELED
    [charge] = await records.charges(request.order_id)
    assert [r.amount_cents for r in await records.refunds(request.order_id)] == [
        charge.amount_cents
    ]
    assert all(r.released_at is not None for r in await records.reservations(request.order_id))
    assert await records.stock("MUG-01") == 100
    assert await records.fulfilment(request.order_id) == "cancelled"
    assert "68.00 USD" in told.body_text  # the refund


async def test_cancelling_the_workflow_mid_charge_waits_for_the_charge(
    time_env: WorkflowEnvironment, db: Database, catalog: Inventory, settings: Settings
) -> None:
    records = Records(db)
    request = order_request(token="tok_slow")
    async with order_worker(time_env, db, settings):
        handle = await start_order(time_env.client, settings, request)
        await wait_for_status(handle, S.PAYMENT)
        await handle.cancel()
        final = await closed(handle)
        await assert_compensated(records, request.order_id)

    assert final.status is S.CANCELLED
    assert statuses(final) == [S.PENDING, S.PAYMENT, S.CANCELLED]


async def test_a_shipped_order_stays_shipped_when_cancelled_in_temporal(
    time_env: WorkflowEnvironment, db: Database, catalog: Inventory, settings: Settings
) -> None:
    records = Records(db)
    request = order_request()
    async with order_worker(time_env, db, settings):
        handle = await start_order(time_env.client, settings, request)
        await wait_for_status(handle, S.CONFIRMED)
        await handle.signal(OrderWorkflow.request_advance, AdvanceRequest(tracking_number="1Z1"))
        await wait_for_status(handle, S.SHIPPED)
        await handle.cancel()
        refused = await eventually(
            lambda: handle.query(OrderWorkflow.get_state),
            lambda state: state.history[-1].actor == "temporal",
        )
        await handle.signal(OrderWorkflow.request_advance, AdvanceRequest())
        final = await handle.result()

    assert "already shipped" in refused.history[-1].note
    assert final.status is S.DELIVERED
    assert await records.refunds(request.order_id) == []
