"""Order workflows. Deterministic: they import models, rules and step policies, and reach
every side effect through an activity of ``OrderActivities``, called by typed reference
(the activities module is passed through the sandbox, never run inside it).

``OrderWorkflow`` is the order saga (DESIGN.md, "Order lifecycle"). Each step that changes
the world pushes its undo onto a stack; a cancel, a final failure after payment or an
expired deadline runs the stack in reverse and then tells the customer.

People act through two doors onto one mechanism:
- signals ``request_advance`` / ``request_cancel`` (fire and forget: the Temporal CLI,
  other systems), ignored when the order's status does not allow them;
- updates ``advance`` / ``cancel`` (the API), whose validators refuse what the status does
  not allow, with the reason, and which return the state once the order has settled again.
Every request may carry a request id; a repeated id is a no-op.

What both desks share (steps run to their end, waits, Temporal's cancel, children, the
closing sequence, handlers that end with the workflow) is ``DeskWorkflow``'s.
"""

from __future__ import annotations

from datetime import timedelta
from enum import Enum
from typing import Any, Literal

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate, VersioningBehavior
from temporalio.exceptions import ActivityError, ApplicationError

from opsdesk.ai.models import AiUsage
from opsdesk.errors import PaymentDeclined
from opsdesk.notify.models import Notification
from opsdesk.notify.workflows import NotificationWorkflow, child_key, child_workflow_id
from opsdesk.orders.inputs import AdvanceRequest, CancelRequest, OrderInput
from opsdesk.orders.notices import humanize, order_facts
from opsdesk.orders.payloads import (
    FulfilmentInput,
    FulfilmentUpdate,
    OrderClaim,
    ReserveInput,
    RiskAction,
    RiskRequest,
    ValidatedOrder,
)
from opsdesk.orders.rules import route, why_not_advance, why_not_cancel
from opsdesk.orders.state import (
    INTAKE_CONFLICT,
    INTAKE_MEMO,
    STARTED_BY_MEMO,
    OrderState,
    Submitted,
    Transition,
)
from opsdesk.orders.status import OrderStatus
from opsdesk.orders.steps import PAYMENT, REFUND, RISK, STORE, UNDO
from opsdesk.payments.models import ChargeInput, RefundInput
from opsdesk.temporal import search_attributes as sa
from opsdesk.temporal.counters import count
from opsdesk.temporal.lifecycle import DeskWorkflow
from opsdesk.temporal.steps import describe_failure
from opsdesk.values import format_money

with workflow.unsafe.imports_passed_through():
    from opsdesk.orders.activities import OrderActivities

SEEN_REQUESTS_KEPT = 200

# Patches: each names a change to what the workflow does, so that histories recorded
# before it replay as they ran (see tests/test_replay.py).
RISK_RULES_FALLBACK = "risk-rules-fallback"
NOTICES_WITHOUT_WAITING = "notices-without-waiting"
ORDER_ID_CLAIM = "claim-order-id"
CANCEL_AFTER_EVERY_STEP = "cancel-after-every-step"
TEMPORAL_CANCEL_COMPENSATES = "temporal-cancel-compensates"
WAREHOUSE_FOLLOWS_SHIPMENT = "warehouse-follows-shipment"
REFUND_BY_CHARGE_KEY = "refund-by-charge-key"
"""The refund is owed from the moment the charge is asked for, and names the charge by its
key: a charge whose answer was lost is still refunded."""


class Outcome(Enum):
    ADVANCE = "advance"
    CANCEL = "cancel"
    STOCK = "stock"
    TIMEOUT = "timeout"


class Undo(Enum):
    REFUND = "refund"
    RELEASE_STOCK = "release stock"
    CANCEL_FULFILMENT = "cancel fulfilment"


# Pinned: an order lives days at most and runs wholly on the build that started it, which
# drains as its orders end (changes are still patched, so recorded histories replay).
@workflow.defn(versioning_behavior=VersioningBehavior.PINNED)
class OrderWorkflow(DeskWorkflow):
    @workflow.init
    def __init__(self, input: OrderInput) -> None:
        self._start_core()
        self._request = input.request
        self._policy = input.policy
        self._state = OrderState.received(input.request, workflow.now())
        self._state.policy = input.policy
        self._advance: AdvanceRequest | None = None
        self._cancel: CancelRequest | None = None
        self._stock_arrived = False
        self._seen_requests: list[str] = []
        self._undo: list[Undo] = []
        self._notices = 0

    # -- the lifecycle -------------------------------------------------------------------

    @workflow.run
    async def run(self, input: OrderInput) -> OrderState:
        self._publish()
        count("opsdesk_orders_created", "Orders started.")
        await self._run_to_end(self._lifecycle)
        return self._state

    # What the closing sequence asks of the order (see ``DeskWorkflow``).

    @property
    def _ended(self) -> bool:
        return self._state.status.terminal

    @property
    def _ended_cancelled(self) -> bool:
        return self._state.status is OrderStatus.CANCELLED

    async def _gave_up(self, error: str) -> None:
        await self._fail_with_compensation(error)

    async def _lifecycle(self) -> None:
        request = self._request
        if workflow.patched(ORDER_ID_CLAIM):
            claim = OrderClaim(
                order_id=request.order_id, stamp=workflow.info().first_execution_run_id
            )
            try:
                await self._execute(OrderActivities.claim_order_id, claim, STORE)
            except ActivityError as err:
                # Not this customer's doing, and the id's earlier order has its own mail:
                # ops see it on the dashboard.
                return await self._finish(
                    OrderStatus.FAILED, error=describe_failure(err), tell=False
                )
        try:
            validated = await self._execute(OrderActivities.validate_order, request, STORE)
        except ActivityError as err:
            return await self._finish(OrderStatus.FAILED, error=describe_failure(err))
        self._state.lines = validated.lines
        self._state.total_cents = validated.total_cents
        self._state.currency = validated.currency
        self._publish()
        if self._cancel:
            return await self._cancel_now()

        decision = await self._assess_risk(validated)
        if self._cancel:
            return await self._cancel_now()
        if decision == "reject":
            assert self._state.risk is not None
            return await self._finish(
                OrderStatus.REJECTED,
                note=f"risk {self._state.risk.score}: {self._state.risk.reason}",
            )
        if decision == "review" and not await self._review():
            return

        self._transition(OrderStatus.PAYMENT)
        # Owed before the charge is asked for: a charge that went through but whose answer
        # was lost must still be refunded, by its key.
        refund_by_key = workflow.patched(REFUND_BY_CHARGE_KEY)
        if refund_by_key:
            self._undo.append(Undo.REFUND)
        try:
            charge = await self._execute(
                OrderActivities.charge_payment,
                ChargeInput(
                    idempotency_key=self._key("charge"),
                    order_id=request.order_id,
                    customer_id=request.customer.id,
                    payment_token=request.payment_token,
                    amount_cents=validated.total_cents,
                    currency=validated.currency,
                ),
                PAYMENT,
            )
        except ActivityError as err:
            if refund_by_key and not _declined(err):
                # No answer, or one we cannot trust: whatever the key took goes back.
                return await self._fail_with_compensation(describe_failure(err))
            self._undo.clear()  # a decline is the processor's word that nothing was taken
            return await self._finish(OrderStatus.FAILED, error=describe_failure(err))
        self._state.charge = charge
        if not refund_by_key:
            self._undo.append(Undo.REFUND)
        if self._cancel:
            return await self._cancel_now()

        if not await self._allocate():
            return
        if self._cancel_pending():
            return await self._cancel_now()

        self._transition(OrderStatus.CONFIRMED)
        try:
            await self._execute(
                OrderActivities.request_fulfilment,
                FulfilmentInput(
                    order_id=request.order_id,
                    lines=validated.lines,
                    ship_to=request.shipping_address,
                ),
                STORE,
            )
        except ActivityError as err:
            return await self._fail_with_compensation(describe_failure(err))
        self._undo.append(Undo.CANCEL_FULFILMENT)
        if self._cancel_pending():
            return await self._cancel_now()
        await self._notify(
            "confirmation", to=request.customer.email, ai_written=self._policy.ai_emails
        )
        await self._await_shipment()

    def _cancel_pending(self) -> bool:
        """A cancel arrived while the last step ran: act on it before the next one, so the
        customer is never told "confirmed" on the way to "cancelled"."""
        return self._cancel is not None and workflow.patched(CANCEL_AFTER_EVERY_STEP)

    async def _assess_risk(self, validated: ValidatedOrder) -> RiskAction:
        request = RiskRequest(request=self._request, validated=validated)
        try:
            risk = await self._execute(OrderActivities.score_order_risk, request, RISK)
        except ActivityError as err:
            error = describe_failure(err)
            if not workflow.patched(RISK_RULES_FALLBACK):
                self._state.last_error = f"risk scoring failed: {error}"
                return "review"
            return await self._score_by_rules(request, error)
        self._state.risk = risk
        if risk.usage is not None:
            self._note_ai_call(risk.usage, f"risk {risk.score}")
        self._publish()
        return route(risk, self._policy)

    async def _score_by_rules(self, request: RiskRequest, error: str) -> RiskAction:
        """The configured scorer failed: the offline rules score the order, and a person
        reviews it whatever they say. An AI failure never approves an order silently."""
        self._state.last_error = f"risk scoring failed ({error}); scored by the rules"
        try:
            risk = await self._execute(
                OrderActivities.score_order_risk,
                request.model_copy(update={"fallback_reason": error}),
                STORE,
            )
        except ActivityError:
            return "review"
        self._state.risk = risk
        self._publish()
        return "review"

    def _note_ai_call(self, usage: AiUsage, outcome: str) -> None:
        self._state.ai_calls.append(usage)
        self._state.history.append(
            Transition(
                at=workflow.now(),
                status=self._state.status,
                actor=usage.provider,
                note=(
                    f"{outcome} by {usage.model}: {usage.input_tokens} tokens in, "
                    f"{usage.output_tokens} out, {usage.latency_ms} ms"
                ),
            )
        )

    async def _review(self) -> bool:
        """REVIEW: a person approves (True) or rejects; nobody within the deadline cancels."""
        risk = self._state.risk
        self._transition(
            OrderStatus.REVIEW,
            note=f"risk {risk.score}: {risk.reason}" if risk else "risk could not be scored",
        )
        await self._notify(
            "review_needed",
            to=self._policy.ops_email,
            deadline=humanize(self._policy.review_timeout),
        )
        outcome = await self._wait_for_person_or_stock(self._policy.review_timeout)
        if outcome is Outcome.TIMEOUT:
            await self._finish(
                OrderStatus.CANCELLED,
                note=f"not reviewed within {humanize(self._policy.review_timeout)}",
            )
            return False
        if outcome is Outcome.CANCEL:
            cancel = self._take_cancel()
            await self._finish(
                OrderStatus.REJECTED,
                actor=cancel.actor,
                note=cancel.reason or "rejected in review",
            )
            return False
        advance = self._take_advance()
        self._record(OrderStatus.REVIEW, actor=advance.actor, note=advance.note or "approved")
        return True

    async def _allocate(self) -> bool:
        """ALLOCATING, and AWAITING_STOCK until stock arrives, a person gives up, or the
        stock deadline passes. True when every line is reserved."""
        deadline = None
        told_ops = False
        while True:
            if self._state.status is not OrderStatus.ALLOCATING:
                self._transition(OrderStatus.ALLOCATING)
            self._stock_arrived = False  # this attempt sees any stock that arrived before it
            try:
                result = await self._execute(
                    OrderActivities.reserve_stock,
                    ReserveInput(order_id=self._state.order_id, lines=self._request.lines),
                    STORE,
                )
            except ActivityError as err:
                await self._fail_with_compensation(describe_failure(err))
                return False
            if Undo.RELEASE_STOCK not in self._undo:
                # Releasing also forgets a wait for stock, so it is owed even when short.
                self._undo.append(Undo.RELEASE_STOCK)
            if result.reserved:
                return True
            if self._cancel:
                await self._cancel_now()
                return False

            if deadline is None:
                deadline = workflow.now() + self._policy.stock_timeout
            short = ", ".join(f"{s.sku} ({s.available} of {s.wanted})" for s in result.shortfalls)
            self._transition(OrderStatus.AWAITING_STOCK, note=f"short: {short}")
            if not told_ops:
                told_ops = True
                await self._notify(
                    "out_of_stock",
                    to=self._policy.ops_email,
                    shortfalls=[s.model_dump() for s in result.shortfalls],
                    deadline=humanize(self._policy.stock_timeout),
                )
            outcome = await self._wait_for_person_or_stock(deadline - workflow.now(), stock=True)
            if outcome is Outcome.TIMEOUT:
                await self._compensate()
                await self._finish(
                    OrderStatus.CANCELLED,
                    note=f"no stock within {humanize(self._policy.stock_timeout)}",
                )
                return False
            if outcome is Outcome.CANCEL:
                await self._cancel_now()
                return False
            if outcome is Outcome.ADVANCE:
                advance = self._take_advance()
                self._record(
                    OrderStatus.AWAITING_STOCK, actor=advance.actor, note="retry allocation"
                )
            else:
                self._record(OrderStatus.AWAITING_STOCK, actor="system", note="restocked")

    async def _await_shipment(self) -> None:
        """CONFIRMED until shipped (escalating once after the deadline), then SHIPPED until
        delivered."""
        outcome = await self._wait_for_person_or_stock(self._policy.shipment_escalation)
        if outcome is Outcome.TIMEOUT:
            self._state.escalated = True
            deadline = humanize(self._policy.shipment_escalation)
            self._record(
                OrderStatus.CONFIRMED,
                actor="system",
                note=f"not shipped within {deadline}; escalated",
            )
            await self._notify("escalation", to=self._policy.support_email, deadline=deadline)
            outcome = await self._wait_for_person_or_stock(None)
        if outcome is Outcome.CANCEL:
            return await self._cancel_now()

        shipped = self._take_advance()
        self._state.tracking_number = shipped.tracking_number
        note = f"tracking {shipped.tracking_number}" if shipped.tracking_number else shipped.note
        self._transition(OrderStatus.SHIPPED, actor=shipped.actor, note=note)
        await self._notify("shipped", to=self._request.customer.email)
        self._tell_warehouse("shipped")

        await self._wait_for_person_or_stock(None)
        delivered = self._take_advance()
        await self._finish(
            OrderStatus.DELIVERED, actor=delivered.actor, note=delivered.note, tell=False
        )
        self._tell_warehouse("delivered")

    def _tell_warehouse(self, status: Literal["shipped", "delivered"]) -> None:
        """Keep the warehouse's request in step with the order, in the background: whoever
        marked the order gets their answer without waiting for the warehouse, and ``run``
        collects the step before the workflow closes."""
        if workflow.patched(WAREHOUSE_FOLLOWS_SHIPMENT):
            self._in_background(self._update_warehouse(status))

    async def _update_warehouse(self, status: Literal["shipped", "delivered"]) -> None:
        update = FulfilmentUpdate(
            order_id=self._state.order_id,
            status=status,
            tracking_number=self._state.tracking_number,
        )
        try:
            await self._execute(OrderActivities.update_fulfilment, update, STORE)
        except ActivityError as err:
            # The order has moved on either way: noted on the timeline, not undone.
            self._state.last_error = f"the warehouse was not told: {describe_failure(err)}"
            self._record(self._state.status, actor="system", note=self._state.last_error)

    # -- ending ----------------------------------------------------------------------------

    async def _cancel_now(self) -> None:
        cancel = self._take_cancel()
        await self._compensate()
        await self._finish(OrderStatus.CANCELLED, actor=cancel.actor, note=cancel.reason)

    async def _fail_with_compensation(self, error: str) -> None:
        await self._compensate()
        await self._finish(OrderStatus.FAILED, error=error)

    async def _compensate(self) -> None:
        """Undo what was done, newest first. A refused undo is recorded and the rest still
        run: a failed warehouse cancellation must not keep the customer's money."""
        while self._undo:
            undo = self._undo.pop()
            try:
                await self._undo_one(undo)
            except ActivityError as err:
                self._state.last_error = f"could not {undo.value}: {describe_failure(err)}"
                self._record(self._state.status, actor="system", note=self._state.last_error)

    async def _undo_one(self, undo: Undo) -> None:
        order_id = self._state.order_id
        if undo is Undo.CANCEL_FULFILMENT:
            await self._execute(OrderActivities.cancel_fulfilment, order_id, UNDO)
        elif undo is Undo.RELEASE_STOCK:
            await self._execute(OrderActivities.release_stock, order_id, UNDO)
        elif undo is Undo.REFUND:
            charge = self._state.charge
            if workflow.patched(REFUND_BY_CHARGE_KEY):
                # Whatever the charge under this key took, if it took anything; a charge
                # still to come under the key is refused from now on.
                refund = await self._execute(
                    OrderActivities.refund_payment,
                    RefundInput(
                        idempotency_key=self._key("refund"),
                        charge_key=self._key("charge"),
                        reason="order cancelled",
                    ),
                    REFUND,
                )
            else:
                assert charge is not None
                refund = await self._execute(
                    OrderActivities.refund_payment,
                    RefundInput(
                        idempotency_key=self._key("refund"),
                        charge_id=charge.charge_id,
                        amount_cents=charge.amount_cents,
                        reason="order cancelled",
                    ),
                    REFUND,
                )
            if refund is not None:
                self._state.refunds.append(refund)
                self._publish()

    async def _finish(
        self,
        status: OrderStatus,
        *,
        actor: str = "system",
        note: str = "",
        error: str | None = None,
        tell: bool = True,
    ) -> None:
        if error is not None:
            self._state.last_error = error
        self._transition(status, actor=actor, note=note or error or "")
        count("opsdesk_orders_ended", "Orders ended, by final status.", status=status.value)
        if tell:
            refunded = sum(r.amount_cents for r in self._state.refunds)
            await self._notify(
                "cancelled",
                to=self._request.customer.email,
                reason=note or error or "",
                refunded=format_money(refunded, self._state.currency) if refunded else "",
            )
        self._settled = True

    # -- waiting for people ------------------------------------------------------------------

    async def _wait_for_person_or_stock(
        self, limit: timedelta | None, *, stock: bool = False
    ) -> Outcome:
        if limit is not None and limit <= timedelta(0):
            return Outcome.TIMEOUT
        arrived = await self._wait_for_person(
            lambda: (
                self._advance is not None
                or self._cancel is not None
                or (stock and self._stock_arrived)
            ),
            limit,
        )
        if not arrived:
            return Outcome.TIMEOUT
        if self._cancel is not None:
            return Outcome.CANCEL
        if self._advance is not None:
            return Outcome.ADVANCE
        return Outcome.STOCK

    def _hears_temporal_cancel(self) -> bool:
        return workflow.patched(TEMPORAL_CANCEL_COMPENSATES)

    def _on_temporal_cancel(self, reason: str) -> None:
        problem = self._why_not_cancel()
        if problem is None:
            self._accept(CancelRequest(actor="temporal", reason=reason or "cancelled in Temporal"))
        elif not self._state.status.terminal:
            self._record(
                self._state.status,
                actor="temporal",
                note=f"cancel from Temporal not acted on: {problem}",
            )

    def _take_advance(self) -> AdvanceRequest:
        advance = self._advance
        assert advance is not None
        self._advance = None
        return advance

    def _take_cancel(self) -> CancelRequest:
        cancel = self._cancel
        assert cancel is not None
        return cancel

    # -- messages ----------------------------------------------------------------------------

    @workflow.signal
    def request_advance(self, request: AdvanceRequest | None = None) -> None:
        request = request or AdvanceRequest()
        if self._is_repeat(request.request_id):
            return
        problem = self._why_not_advance(request)
        if problem:
            workflow.logger.info("advance ignored: %s", problem)
            return
        self._accept(request)

    @workflow.signal
    def request_cancel(self, request: CancelRequest | None = None) -> None:
        request = request or CancelRequest()
        if self._is_repeat(request.request_id):
            return
        problem = self._why_not_cancel()
        if problem:
            workflow.logger.info("cancel ignored: %s", problem)
            return
        self._accept(request)

    @workflow.signal
    def stock_available(self, sku: str) -> None:
        """A restock of ``sku``: an order waiting for stock tries again. Heard while still
        ALLOCATING too, since a restock can land between a short reservation and the wait."""
        if self._state.status in (OrderStatus.ALLOCATING, OrderStatus.AWAITING_STOCK):
            self._stock_arrived = True

    @workflow.update
    async def advance(self, request: AdvanceRequest) -> OrderState:
        if self._is_repeat(request.request_id):
            await self._until(lambda: self._advance is None and self._settled)
            return self._state
        self._accept(request)
        if not await self._until(lambda: self._advance is not request and self._settled):
            # The order ended first (a cancel accepted in the same moment, a step that
            # failed): this advance was never taken, and its sender hears so.
            self._advance = None
            raise ApplicationError(
                why_not_advance(self._state.status) or "the order ended first",
                type="ActionNotAllowed",
                non_retryable=True,
            )
        return self._state

    @advance.validator
    def _validate_advance(self, request: AdvanceRequest) -> None:
        if self._is_repeat(request.request_id):
            return
        problem = self._why_not_advance(request)
        if problem:
            raise ApplicationError(problem, type="ActionNotAllowed", non_retryable=True)

    @workflow.update
    async def cancel(self, request: CancelRequest) -> OrderState:
        if not self._is_repeat(request.request_id):
            self._accept(request)
        await self._until(lambda: False)  # answered once the order has ended
        return self._state

    @cancel.validator
    def _validate_cancel(self, request: CancelRequest) -> None:
        if self._is_repeat(request.request_id):
            return
        problem = self._why_not_cancel()
        if problem:
            raise ApplicationError(problem, type="ActionNotAllowed", non_retryable=True)

    @workflow.update
    async def priced(self) -> OrderState:
        """The state once the order's lines are priced (or it has ended without): what
        the API answered a new order with, after starting it, before ``submitted``; kept for
        an API of that release still running beside this worker during a rollout."""
        await self._until(lambda: bool(self._state.lines))
        return self._state

    @workflow.update
    async def submitted(self, intake: str) -> Submitted:
        """A submission of the order, sent with its start (update-with-start): a new order
        and a retry of it are both answered in that one call, once the lines are priced.
        ``intake`` is the submission's fingerprint; the validator refuses a different one."""
        await self._until(lambda: bool(self._state.lines))
        update = workflow.current_update_info()
        started_by = workflow.memo_value(STARTED_BY_MEMO, None, type_hint=str)
        created = update is not None and update.id == started_by
        return Submitted(state=self._state, created=created)

    @submitted.validator
    def _validate_submitted(self, intake: str) -> None:
        # Refused before it is accepted: the same id with other contents changes nothing.
        if workflow.memo_value(INTAKE_MEMO, None, type_hint=str) != intake:
            raise ApplicationError(
                f"order {self._request.order_id} already exists with different contents",
                type=INTAKE_CONFLICT,
                non_retryable=True,
            )

    @workflow.query
    def get_state(self) -> OrderState:
        return self._state

    def _why_not_advance(self, request: AdvanceRequest) -> str | None:
        if self._cancel is not None:
            return "the order is being cancelled"
        if self._advance is not None:
            return "the order is already being advanced"
        return why_not_advance(self._state.status, request.expected_status)

    def _why_not_cancel(self) -> str | None:
        if self._cancel is not None:
            return None  # a second cancel asks for what is already happening
        return why_not_cancel(self._state.status)

    def _accept(self, request: AdvanceRequest | CancelRequest) -> None:
        if request.request_id:
            self._seen_requests.append(request.request_id)
            del self._seen_requests[:-SEEN_REQUESTS_KEPT]
        if isinstance(request, CancelRequest):
            self._cancel = self._cancel or request
        else:
            self._advance = request

    def _is_repeat(self, request_id: str | None) -> bool:
        return request_id is not None and request_id in self._seen_requests

    # -- bookkeeping -------------------------------------------------------------------------

    def _key(self, step: str) -> str:
        """Idempotency key of a side effect: the workflow id (stable across runs) and step."""
        return f"{workflow.info().workflow_id}:{step}"

    async def _notify(
        self, template: str, *, to: str, ai_written: bool = False, **facts: Any
    ) -> None:
        """Start the notification as a child that outlives this workflow if it must.

        The start command leaves in this workflow task either way, durably next to the
        transition it reports. Waiting for the server to say the child has started would
        cost every action answered after it a round trip (about 100 ms on the dev server),
        so the lifecycle goes on at once and ``run`` collects the starts before it closes.
        """
        self._notices += 1
        key = child_key(workflow.info().workflow_id, "notify", self._notices, template)
        notification = self._notification(template, to, key, facts, ai_written)
        start = self._start_abandoned(
            NotificationWorkflow.run, notification, child_workflow_id(key)
        )
        if workflow.patched(NOTICES_WITHOUT_WAITING):
            self._in_background(start)
        else:
            await start

    def _notification(
        self, template: str, to: str, key: str, facts: dict[str, Any], ai_written: bool
    ) -> Notification:
        """The notice with the order's facts as they are now."""
        return Notification(
            key=key,
            template=f"orders/{template}",
            to=to,
            reference=workflow.info().workflow_id,
            ai_written=ai_written,
            facts={**order_facts(self._state), **facts},
        )

    def _transition(self, status: OrderStatus, *, actor: str = "system", note: str = "") -> None:
        self._state.status = status
        self._record(status, actor=actor, note=note)

    def _record(self, status: OrderStatus, *, actor: str, note: str) -> None:
        now = workflow.now()
        self._state.history.append(Transition(at=now, status=status, actor=actor, note=note))
        self._state.updated_at = now
        self._publish()

    def _publish(self) -> None:
        """Search attributes and memo: what lists, filters and counts read."""
        state = self._state
        updates: list[SearchAttributeUpdate[Any]] = [
            sa.ORDER_STATUS.value_set(state.status.value),
            sa.ORDER_CUSTOMER.value_set(state.customer.id),
            sa.ORDER_TOTAL.value_set(state.total_cents / 100),
            sa.ORDER_ESCALATED.value_set(state.escalated),
            sa.ORDER_CREATED.value_set(state.created_at),
            sa.ORDER_UPDATED.value_set(state.updated_at),
        ]
        if state.risk is not None:
            updates.append(sa.ORDER_RISK.value_set(state.risk.score))
        workflow.upsert_search_attributes(updates)
        workflow.upsert_memo({"row": state.row()})


def _declined(err: ActivityError) -> bool:
    """The processor declined the charge: a definite answer that nothing was taken."""
    cause = err.cause
    return isinstance(cause, ApplicationError) and cause.type == PaymentDeclined.__name__
