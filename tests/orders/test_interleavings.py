"""Orders under seeded random interleavings of everything a person or Temporal can do to
them (see ``tests/interleavings.py``): advance, cancel, approve and reject by update and by
signal, repeats of a request, restocks, a cancel from Temporal, and worker restarts with
actions queued meanwhile (which then reach the workflow in one task). Then every order is
driven to an end, and the invariants are checked."""

from __future__ import annotations

import asyncio
import random
from collections.abc import Coroutine
from typing import Any

import pytest
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.testing import WorkflowEnvironment

from opsdesk.db import Database
from opsdesk.orders.ids import order_workflow_id
from opsdesk.orders.inputs import AdvanceRequest, CancelRequest, LineItem
from opsdesk.orders.inventory import Inventory
from opsdesk.orders.rules import ADVANCEABLE, CANCELLABLE
from opsdesk.orders.service import restock, start_order
from opsdesk.orders.state import OrderState
from opsdesk.orders.status import OrderStatus as S
from opsdesk.orders.workflow import OrderWorkflow
from opsdesk.settings import Settings
from tests.interleavings import Calls, RestartableWorker, restartable, seeds
from tests.orders.factory import GREY_RISK, LOW_RISK, order_request
from tests.orders.helpers import order_worker
from tests.orders.records import Records
from tests.together import as_the_api_sends, queued
from tests.waiting import eventually

ORDERS = 6
ACTIONS = 30
KETTLE = [LineItem(sku="KETTLE-01", quantity=1)]  # none in stock: the order waits
TOKENS = ["tok_visa", "tok_visa", "tok_slow", "tok_flaky", "tok_chargeDeclined"]


def answered_or_refused(outcome: Any) -> bool:
    """What a caller may be answered: the order's state, a refusal that says why, or
    "no such running order" for a call that reached it after it closed."""
    if isinstance(outcome, OrderState):
        return True
    if isinstance(outcome, WorkflowUpdateFailedError):
        cause = outcome.cause
        return isinstance(cause, ApplicationError) and cause.type == "ActionNotAllowed"
    if isinstance(outcome, RPCError):
        return outcome.status is RPCStatusCode.NOT_FOUND
    return outcome is None  # signals, Temporal's cancel, restocks that finished


@pytest.mark.parametrize("seed", seeds())
async def test_orders_hold_under_random_interleavings(
    seed: int, dev_env: WorkflowEnvironment, db: Database, catalog: Inventory, settings: Settings
) -> None:
    rng = random.Random(seed)
    client = dev_env.client
    calls = Calls(seed)
    records = Records(db)
    requests = [
        order_request(rng.choice([LOW_RISK, GREY_RISK, KETTLE]), token=rng.choice(TOKENS))
        for _ in range(ORDERS)
    ]
    sent: list[AdvanceRequest | CancelRequest] = []

    def person_action(order: int) -> tuple[str, Coroutine[Any, Any, OrderState], str]:
        """One update a person sends (a repeat now and then): its label, the call and its
        update id."""
        handle = client.get_workflow_handle_for(
            OrderWorkflow.run, order_workflow_id(requests[order].order_id)
        )
        kind = rng.choice(["advance", "cancel", "repeat"] if sent else ["advance", "cancel"])
        request: AdvanceRequest | CancelRequest
        if kind == "repeat":
            request = rng.choice(sent)
        elif kind == "advance":
            request = AdvanceRequest(
                request_id=f"a{rng.randrange(10**9)}", actor="maria", tracking_number="1Z9"
            )
        else:
            request = CancelRequest(request_id=f"c{rng.randrange(10**9)}", actor="sam")
        sent.append(request)
        update_id = f"u{rng.randrange(10**9)}"
        label = f"{type(request).__name__}({request.request_id}) -> order {order} [{update_id}]"
        if isinstance(request, AdvanceRequest):
            call = as_the_api_sends(handle, OrderWorkflow.advance, request, update_id)
        else:
            call = as_the_api_sends(handle, OrderWorkflow.cancel, request, update_id)
        return label, call, update_id

    async def act(worker: RestartableWorker) -> None:
        for _ in range(ACTIONS):
            order = rng.randrange(ORDERS)
            handle = client.get_workflow_handle_for(
                OrderWorkflow.run, order_workflow_id(requests[order].order_id)
            )
            kind = rng.choice(
                ["update", "update", "update", "signal", "restock", "temporal", "restart"]
            )
            if kind == "update":
                label, call, _ = person_action(order)
                calls.send(label, call)
            elif kind == "signal":
                if rng.random() < 0.5:
                    calls.send(
                        f"signal advance -> order {order}",
                        handle.signal(
                            OrderWorkflow.request_advance, AdvanceRequest(tracking_number="1Z8")
                        ),
                    )
                else:
                    calls.send(
                        f"signal cancel -> order {order}",
                        handle.signal(OrderWorkflow.request_cancel, CancelRequest(actor="shop")),
                    )
            elif kind == "restock":
                calls.send("restock KETTLE-01", _restocked(client, settings, rng))
            elif kind == "temporal":
                calls.send(f"Temporal cancel -> order {order}", handle.cancel())
            else:
                # Down for a moment: what arrives meanwhile reaches the workflow in one task.
                await worker.stop()
                calls.note("worker stopped")
                # Two or three people at once, on the same order.
                target = rng.randrange(ORDERS)
                for _ in range(rng.randrange(2, 4)):
                    label, call, update_id = person_action(target)
                    answered = calls.send(label, call)
                    workflow_id = order_workflow_id(requests[target].order_id)
                    await queued(client, workflow_id, update_id, answered)
                await worker.start()
                calls.note("worker started")
            await asyncio.sleep(rng.uniform(0, 0.3))

    async with restartable(lambda: order_worker(dev_env, db, settings)) as worker:
        for request in requests:
            await start_order(client, settings, request)
        await act(worker)
        finals = [await _driven_to_end(client, request.order_id, calls) for request in requests]
        outcomes = await calls.answers()

        wrong = [(label, repr(out)) for label, out in outcomes if not answered_or_refused(out)]
        assert not wrong, calls.explain(f"callers answered wrongly: {wrong}")
        for request, final in zip(requests, finals, strict=True):
            await _check_order(records, request.order_id, final, calls)


async def _restocked(client: Client, settings: Settings, rng: random.Random) -> None:
    await restock(client, settings, "KETTLE-01", 1, request_id=f"r{rng.randrange(10**9)}")


async def _driven_to_end(client: Client, order_id: str, calls: Calls) -> OrderState:
    """Cancel the order where it can be, ship and deliver it where it cannot, until its
    execution has closed; its final state."""
    handle = client.get_workflow_handle_for(OrderWorkflow.run, order_workflow_id(order_id))

    async def step() -> bool:
        description = await handle.describe()
        if description.status is not WorkflowExecutionStatus.RUNNING:
            return True
        state = await handle.query(OrderWorkflow.get_state)
        try:
            if state.status in CANCELLABLE:
                await handle.execute_update(OrderWorkflow.cancel, CancelRequest(actor="ops"))
            elif state.status in ADVANCEABLE:
                await handle.execute_update(OrderWorkflow.advance, AdvanceRequest(actor="ops"))
        except WorkflowUpdateFailedError:
            pass  # the order moved meanwhile: look again
        return False

    try:
        await eventually(step, bool, timeout=120, interval=0.2)
    except AssertionError as err:
        raise AssertionError(calls.explain(f"order {order_id} never closed: {err}")) from None
    state: OrderState = await handle.query(OrderWorkflow.get_state)
    calls.note(f"order {order_id} ended {state.status}")
    return state


async def _check_order(records: Records, order_id: str, final: OrderState, calls: Calls) -> None:
    def check(ok: bool, problem: str) -> None:
        assert ok, calls.explain(f"order {order_id} ({final.status}): {problem}")

    check(final.status.terminal, "closed without a final state")
    charges = await records.charges(order_id)
    refunds = await records.refunds(order_id)
    reservations = await records.reservations(order_id)
    check(len(charges) <= 1, f"charged {len(charges)} times")
    charged = sum(c.amount_cents for c in charges)
    refunded = sum(r.amount_cents for r in refunds)
    if final.status is S.DELIVERED:
        check(len(charges) == 1 and refunded == 0, f"charged {charged}, refunded {refunded}")
        check(
            bool(reservations) and all(r.released_at is None for r in reservations),
            "a delivered order's stock is not held",
        )
        await eventually(lambda: records.emails(order_id, "shipped"), lambda e: len(e) == 1)
    else:
        check(refunded == charged, f"charged {charged} but refunded {refunded}")
        check(
            all(r.released_at is not None for r in reservations),
            "an ended order still holds stock",
        )
        check(await records.waits(order_id) == [], "an ended order still waits for stock")
        cancelled = await eventually(
            lambda: records.emails(order_id, "cancelled"), lambda e: len(e) >= 1
        )
        check(len(cancelled) == 1, f"told it was cancelled {len(cancelled)} times")
    check(len(await records.emails(order_id, "confirmation")) <= 1, "confirmed twice")
