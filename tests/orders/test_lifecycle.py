"""The order saga on the time-skipping test server: real workflows, real activities, a real
SQLite database. Human steps arrive as signals (the test server has no updates); deadlines
of days pass in milliseconds."""

from __future__ import annotations

import logging
from datetime import timedelta

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.testing import WorkflowEnvironment

from opsdesk.db import Database
from opsdesk.db.tables import FulfilmentRequest
from opsdesk.orders.inputs import AdvanceRequest, CancelRequest
from opsdesk.orders.inventory import Inventory
from opsdesk.orders.payloads import CANCEL_FULFILMENT, REFUND_PAYMENT, RELEASE_STOCK
from opsdesk.orders.service import order_handle, restock, start_order
from opsdesk.orders.state import OrderState
from opsdesk.orders.status import OrderStatus as S
from opsdesk.orders.workflow import OrderWorkflow
from opsdesk.settings import Settings
from tests.orders.factory import GREY_RISK, HIGH_RISK, OUT_OF_STOCK, order_request
from tests.orders.helpers import order_worker, wait_for_status
from tests.orders.records import Records


def statuses(state: OrderState) -> list[S]:
    """The distinct statuses the order went through, in order."""
    seen: list[S] = []
    for t in state.history:
        if not seen or seen[-1] is not t.status:
            seen.append(t.status)
    return seen


async def test_happy_path_to_delivered(
    time_env: WorkflowEnvironment, db: Database, catalog: Inventory, settings: Settings
) -> None:
    records = Records(db)
    request = order_request()
    async with order_worker(time_env, db, settings):
        handle = await start_order(time_env.client, settings, request)
        confirmed = await wait_for_status(handle, S.CONFIRMED)
        assert confirmed.risk is not None
        assert confirmed.risk.score == 20
        assert confirmed.total_cents == 2 * 1800 + 3200
        await handle.signal(OrderWorkflow.request_advance, AdvanceRequest(tracking_number="1Z999"))
        await wait_for_status(handle, S.SHIPPED)
        await handle.signal(OrderWorkflow.request_advance, AdvanceRequest(actor="courier"))
        final = await handle.result()
        await records.wait_for_email(request.order_id, "shipped")

    assert final.status is S.DELIVERED
    assert statuses(final) == [
        S.PENDING,
        S.PAYMENT,
        S.ALLOCATING,
        S.CONFIRMED,
        S.SHIPPED,
        S.DELIVERED,
    ]
    assert final.tracking_number == "1Z999"
    assert final.history[-1].actor == "courier"
    [charge] = await records.charges(request.order_id)
    assert charge.amount_cents == 6800
    assert await records.refunds(request.order_id) == []
    assert {(r.sku, r.quantity) for r in await records.reservations(request.order_id)} == {
        ("MUG-01", 2),
        ("TEE-M", 1),
    }
    assert await records.stock("MUG-01") == 98
    # The warehouse request followed the order to the door (it stayed "requested" before).
    assert await records.fulfilment(request.order_id) == "delivered"
    confirmation = await records.wait_for_email(request.order_id, "confirmation")
    assert confirmation.to_address == "ada@example.com"
    assert "68.00 USD" in confirmation.body_text
    assert confirmation.status == "not_sent"  # no SMTP configured: kept in the outbox


async def test_high_risk_is_rejected_before_payment(
    time_env: WorkflowEnvironment, db: Database, catalog: Inventory, settings: Settings
) -> None:
    records = Records(db)
    request = order_request(HIGH_RISK, billing_country="US")
    async with order_worker(time_env, db, settings):
        handle = await start_order(time_env.client, settings, request)
        final = await handle.result()
        told = await records.wait_for_email(request.order_id, "cancelled")

    assert final.status is S.REJECTED
    assert final.risk is not None
    assert final.risk.score == 90
    assert "billing country US differs" in final.history[-1].note
    assert await records.charges(request.order_id) == []
    assert await records.reservations(request.order_id) == []
    assert "You have not been charged" in told.body_text


async def test_grey_risk_review_approved(
    time_env: WorkflowEnvironment, db: Database, catalog: Inventory, settings: Settings
) -> None:
    records = Records(db)
    request = order_request(GREY_RISK)
    async with order_worker(time_env, db, settings):
        handle = await start_order(time_env.client, settings, request)
        review = await wait_for_status(handle, S.REVIEW)
        assert review.charge is None
        ops = await records.wait_for_email(request.order_id, "review_needed")
        assert ops.to_address == settings.ops_email
        await handle.signal(OrderWorkflow.request_advance, AdvanceRequest(actor="maria"))
        confirmed = await wait_for_status(handle, S.CONFIRMED)

    assert [t.actor for t in confirmed.history if t.status is S.REVIEW] == ["system", "maria"]
    assert len(await records.charges(request.order_id)) == 1


async def test_grey_risk_review_rejected(
    time_env: WorkflowEnvironment, db: Database, catalog: Inventory, settings: Settings
) -> None:
    records = Records(db)
    request = order_request(GREY_RISK)
    async with order_worker(time_env, db, settings):
        handle = await start_order(time_env.client, settings, request)
        await wait_for_status(handle, S.REVIEW)
        await handle.signal(
            OrderWorkflow.request_cancel,
            CancelRequest(actor="maria", reason="card testing pattern"),
        )
        final = await handle.result()
        told = await records.wait_for_email(request.order_id, "cancelled")

    assert final.status is S.REJECTED
    assert final.history[-1].note == "card testing pattern"
    assert await records.charges(request.order_id) == []
    assert "card testing pattern" in told.body_text


async def test_review_times_out_after_48_hours(
    time_env: WorkflowEnvironment, db: Database, catalog: Inventory, settings: Settings
) -> None:
    request = order_request(GREY_RISK)
    async with order_worker(time_env, db, settings):
        handle = await start_order(time_env.client, settings, request)
        await wait_for_status(handle, S.REVIEW)
        still = await handle.query(OrderWorkflow.get_state)
        assert still.status is S.REVIEW
        final = await handle.result()  # the test server skips the 48 hours

    assert final.status is S.CANCELLED
    assert final.history[-1].note == "not reviewed within 48 hours"
    assert final.updated_at - final.created_at >= timedelta(hours=48)
    assert await Records(db).charges(request.order_id) == []


async def test_declined_payment_fails_with_nothing_charged_or_reserved(
    time_env: WorkflowEnvironment, db: Database, catalog: Inventory, settings: Settings
) -> None:
    records = Records(db)
    request = order_request(token="tok_chargeDeclined")
    async with order_worker(time_env, db, settings):
        handle = await start_order(time_env.client, settings, request)
        final = await handle.result()
        told = await records.wait_for_email(request.order_id, "cancelled")

    assert final.status is S.FAILED
    assert final.last_error == "the card was declined"
    assert await records.payment_attempts(request.order_id) == ["declined"]  # not retried
    assert await records.charges(request.order_id) == []
    assert await records.reservations(request.order_id) == []
    assert await records.stock("MUG-01") == 100
    assert "could not complete" in told.subject


async def test_a_declined_card_is_one_line_in_the_log_not_a_traceback(
    time_env: WorkflowEnvironment,
    db: Database,
    catalog: Inventory,
    settings: Settings,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A decline is a business outcome, not a fault of the system."""
    request = order_request(token="tok_chargeDeclined")
    with caplog.at_level(logging.INFO):
        async with order_worker(time_env, db, settings):
            handle = await start_order(time_env.client, settings, request)
            assert (await handle.result()).status is S.FAILED

    about_it = [r for r in caplog.records if request.order_id in r.getMessage()]
    assert [(r.levelno, r.exc_info) for r in about_it if r.levelno >= logging.WARNING] == []
    [line] = [r for r in about_it if r.name == "opsdesk.activities"]
    assert line.levelno == logging.INFO
    assert "charge_payment" in line.getMessage()
    assert "declined" in line.getMessage()


async def test_a_processor_error_that_outlasts_its_retries_fails_the_order(
    time_env: WorkflowEnvironment, db: Database, catalog: Inventory, settings: Settings
) -> None:
    records = Records(db)
    request = order_request(token="tok_processingError")
    async with order_worker(time_env, db, settings):
        handle = await start_order(time_env.client, settings, request)
        final = await handle.result()  # ten minutes of retries, skipped through

    assert final.status is S.FAILED
    assert final.last_error is not None
    assert "payment processor had an error" in final.last_error
    attempts = await records.payment_attempts(request.order_id)
    assert len(attempts) > 3
    # The charge gave up without an answer: its key is voided, so no late attempt can take
    # the customer's money after the order failed.
    assert set(attempts[:-1]) == {"error"}
    assert attempts[-1] == "voided"
    assert await records.charges(request.order_id) == []
    assert await records.reservations(request.order_id) == []


async def test_a_refused_warehouse_request_refunds_and_releases(
    time_env: WorkflowEnvironment, db: Database, catalog: Inventory, settings: Settings
) -> None:
    records = Records(db)
    request = order_request()
    # The warehouse already holds a withdrawn request under this order id: it refuses.
    async with db.transaction() as session:
        session.add(
            FulfilmentRequest(order_id=request.order_id, lines=[], ship_to={}, status="cancelled")
        )
    async with order_worker(time_env, db, settings):
        handle = await start_order(time_env.client, settings, request)
        final = await handle.result()
        told = await records.wait_for_email(request.order_id, "cancelled")

    assert final.status is S.FAILED
    assert final.last_error == f"the warehouse request for order {request.order_id} was withdrawn"
    assert S.CONFIRMED in statuses(final)
    assert await records.stock("MUG-01") == 100
    [refund] = await records.refunds(request.order_id)
    assert refund.amount_cents == 6800
    assert await records.emails(request.order_id, "confirmation") == []
    assert "refunded 68.00 USD" in told.body_text


async def test_transient_payment_failures_are_retried_to_success(
    time_env: WorkflowEnvironment, db: Database, catalog: Inventory, settings: Settings
) -> None:
    records = Records(db)
    request = order_request(token="tok_flaky")
    async with order_worker(time_env, db, settings):
        handle = await start_order(time_env.client, settings, request)
        await wait_for_status(handle, S.CONFIRMED)

    assert await records.payment_attempts(request.order_id) == ["error", "error", "captured"]
    assert len(await records.charges(request.order_id)) == 1


async def test_allocation_failure_after_payment_refunds(
    time_env: WorkflowEnvironment, db: Database, catalog: Inventory, settings: Settings
) -> None:
    records = Records(db)
    request = order_request(GREY_RISK)
    async with order_worker(time_env, db, settings):
        handle = await start_order(time_env.client, settings, request)
        await wait_for_status(handle, S.REVIEW)
        # The lamp is withdrawn from sale while the order waits for its review.
        await catalog.set_active("LAMP-DESK", False)
        await handle.signal(OrderWorkflow.request_advance, AdvanceRequest())
        final = await handle.result()
        told = await records.wait_for_email(request.order_id, "cancelled")

    assert final.status is S.FAILED
    assert final.last_error == "withdrawn from sale: LAMP-DESK"
    [charge] = await records.charges(request.order_id)
    [refund] = await records.refunds(request.order_id)
    assert refund.amount_cents == charge.amount_cents == 4 * 14900
    assert [r.refund_id for r in final.refunds] == [refund.id]
    assert await records.reservations(request.order_id) == []
    assert "refunded 596.00 USD" in told.body_text


async def test_out_of_stock_waits_and_a_restock_wakes_it(
    time_env: WorkflowEnvironment, db: Database, catalog: Inventory, settings: Settings
) -> None:
    records = Records(db)
    request = order_request(OUT_OF_STOCK)
    async with order_worker(time_env, db, settings):
        handle = await start_order(time_env.client, settings, request)
        waiting = await wait_for_status(handle, S.AWAITING_STOCK)
        assert waiting.history[-1].note == "short: KETTLE-01 (0 of 1)"
        assert await records.waits(request.order_id) == ["KETTLE-01"]
        await records.wait_for_email(request.order_id, "out_of_stock")

        result = await restock(time_env.client, settings, "KETTLE-01", 5)
        assert result.waiting_orders == [request.order_id]
        confirmed = await wait_for_status(handle, S.CONFIRMED)

    assert [t.note for t in confirmed.history if t.status is S.AWAITING_STOCK][-1] == "restocked"
    assert await records.stock("KETTLE-01") == 4
    assert await records.waits(request.order_id) == []
    assert len(await records.charges(request.order_id)) == 1


async def test_stock_timeout_after_72_hours_refunds_and_cancels(
    time_env: WorkflowEnvironment, db: Database, catalog: Inventory, settings: Settings
) -> None:
    records = Records(db)
    request = order_request(OUT_OF_STOCK)
    async with order_worker(time_env, db, settings):
        handle = await start_order(time_env.client, settings, request)
        await wait_for_status(handle, S.AWAITING_STOCK)
        final = await handle.result()
        told = await records.wait_for_email(request.order_id, "cancelled")

    assert final.status is S.CANCELLED
    assert final.history[-1].note == "no stock within 72 hours"
    [refund] = await records.refunds(request.order_id)
    assert refund.amount_cents == 5400
    assert await records.waits(request.order_id) == []
    assert "refunded 54.00 USD" in told.body_text


async def test_cancel_while_confirmed_compensates_in_reverse(
    time_env: WorkflowEnvironment, db: Database, catalog: Inventory, settings: Settings
) -> None:
    records = Records(db)
    request = order_request()
    async with order_worker(time_env, db, settings):
        handle = await start_order(time_env.client, settings, request)
        await wait_for_status(handle, S.CONFIRMED)
        assert await records.stock("MUG-01") == 98
        await handle.signal(
            OrderWorkflow.request_cancel, CancelRequest(actor="maria", reason="customer asked")
        )
        final = await handle.result()
        told = await records.wait_for_email(request.order_id, "cancelled")

    assert final.status is S.CANCELLED
    assert await records.fulfilment(request.order_id) == "cancelled"
    assert await records.stock("MUG-01") == 100
    assert all(r.released_at is not None for r in await records.reservations(request.order_id))
    [refund] = await records.refunds(request.order_id)
    assert refund.amount_cents == 6800
    assert "customer asked" in told.body_text
    assert "refunded 68.00 USD" in told.body_text
    # Undone newest first: the warehouse request, then the stock, then the charge.
    scheduled = [
        event.activity_task_scheduled_event_attributes.activity_type.name
        async for event in handle.fetch_history_events()
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]
    assert scheduled[-3:] == [CANCEL_FULFILMENT, RELEASE_STOCK, REFUND_PAYMENT]


async def test_cancel_after_shipped_is_ignored(
    time_env: WorkflowEnvironment, db: Database, catalog: Inventory, settings: Settings
) -> None:
    records = Records(db)
    request = order_request()
    async with order_worker(time_env, db, settings):
        handle = await start_order(time_env.client, settings, request)
        await wait_for_status(handle, S.CONFIRMED)
        await handle.signal(OrderWorkflow.request_advance, AdvanceRequest(tracking_number="T1"))
        await wait_for_status(handle, S.SHIPPED)
        await handle.signal(OrderWorkflow.request_cancel, CancelRequest(reason="too late"))
        await handle.signal(OrderWorkflow.request_advance, AdvanceRequest())
        final = await handle.result()

    assert final.status is S.DELIVERED
    assert await records.refunds(request.order_id) == []
    assert await records.emails(request.order_id, "cancelled") == []


async def test_shipment_deadline_escalates_and_the_order_still_ships(
    time_env: WorkflowEnvironment, db: Database, catalog: Inventory, settings: Settings
) -> None:
    records = Records(db)
    request = order_request()
    async with order_worker(time_env, db, settings):
        handle = await start_order(time_env.client, settings, request)
        await wait_for_status(handle, S.CONFIRMED)
        await time_env.sleep(timedelta(days=7, hours=1))
        escalated = await handle.query(OrderWorkflow.get_state)
        assert escalated.status is S.CONFIRMED
        assert escalated.escalated is True
        assert escalated.history[-1].note == "not shipped within 7 days; escalated"
        support = await records.wait_for_email(request.order_id, "escalation")
        assert support.to_address == settings.support_email

        await handle.signal(OrderWorkflow.request_advance, AdvanceRequest(tracking_number="LATE1"))
        await wait_for_status(handle, S.SHIPPED)
        await handle.signal(OrderWorkflow.request_advance, AdvanceRequest())
        final = await handle.result()

    assert final.status is S.DELIVERED
    assert final.escalated is True
    assert final.tracking_number == "LATE1"


async def test_duplicate_and_out_of_order_messages_are_harmless(
    time_env: WorkflowEnvironment, db: Database, catalog: Inventory, settings: Settings
) -> None:
    records = Records(db)
    request = order_request(GREY_RISK)
    async with order_worker(time_env, db, settings):
        handle = await start_order(time_env.client, settings, request)
        await wait_for_status(handle, S.REVIEW)
        # Meant for a later step: refused, not applied to the review.
        await handle.signal(
            OrderWorkflow.request_advance, AdvanceRequest(expected_status=S.SHIPPED)
        )
        # The same approval delivered twice.
        approve = AdvanceRequest(request_id="approve-1", expected_status=S.REVIEW)
        await handle.signal(OrderWorkflow.request_advance, approve)
        await handle.signal(OrderWorkflow.request_advance, approve)
        await wait_for_status(handle, S.CONFIRMED)

        ship = AdvanceRequest(
            request_id="ship-1", expected_status=S.CONFIRMED, tracking_number="T9"
        )
        for _ in range(3):
            await handle.signal(OrderWorkflow.request_advance, ship)
        await wait_for_status(handle, S.SHIPPED)
        # A late copy of the ship message under another id, and a cancel after shipping.
        await handle.signal(
            OrderWorkflow.request_advance,
            AdvanceRequest(request_id="ship-2", expected_status=S.CONFIRMED),
        )
        await handle.signal(OrderWorkflow.request_cancel, CancelRequest(request_id="c-1"))
        shipped = await handle.query(OrderWorkflow.get_state)
        assert shipped.status is S.SHIPPED

        await handle.signal(
            OrderWorkflow.request_advance, AdvanceRequest(expected_status=S.SHIPPED)
        )
        final = await handle.result()
        await records.wait_for_email(request.order_id, "shipped")

    assert statuses(final) == [
        S.PENDING,
        S.REVIEW,
        S.PAYMENT,
        S.ALLOCATING,
        S.CONFIRMED,
        S.SHIPPED,
        S.DELIVERED,
    ]
    assert [t.note for t in final.history if t.status is S.REVIEW] == [
        "risk 40: sizeable amount (596.00 USD); new customer",
        "approved",
    ]
    assert len(await records.charges(request.order_id)) == 1
    assert await records.refunds(request.order_id) == []
    assert len(await records.emails(request.order_id, "shipped")) == 1
    assert await records.emails(request.order_id, "cancelled") == []


async def test_the_temporal_cli_contract_signals_without_input(
    time_env: WorkflowEnvironment, db: Database, catalog: Inventory, settings: Settings
) -> None:
    """``temporal workflow signal --name request_cancel`` sends no payload at all."""
    records = Records(db)
    request = order_request()
    async with order_worker(time_env, db, settings):
        await start_order(time_env.client, settings, request)
        handle = order_handle(time_env.client, request.order_id)
        await wait_for_status(handle, S.CONFIRMED)
        await time_env.client.get_workflow_handle(handle.id).signal("request_cancel")
        final = await handle.result()

    assert final.status is S.CANCELLED
    assert final.history[-1].actor == "ops"
    assert len(await records.refunds(request.order_id)) == 1
