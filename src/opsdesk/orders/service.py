"""What a Temporal client does with orders: start them, steer them, restock for them.

The API, the dashboard, the load generator and the tests all go through here, so each of
these is done one way only.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any, TypedDict

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import GetWorkflowExecutionHistoryReverseRequest
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowExecutionDescription,
    WorkflowExecutionStatus,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import (
    Priority,
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from opsdesk.db import Database
from opsdesk.db.numbers import Numbers
from opsdesk.db.tables import OrderNumber
from opsdesk.orders.claims import OrderIds
from opsdesk.orders.ids import FIRST_ORDER_NUMBER, numbered_order_id, order_workflow_id
from opsdesk.orders.inputs import (
    AdvanceRequest,
    CancelRequest,
    OrderFields,
    OrderInput,
    OrderPolicy,
    OrderRequest,
)
from opsdesk.orders.payloads import RestockInput, RestockResult
from opsdesk.orders.priorities import order_priority
from opsdesk.orders.restock import RestockWorkflow
from opsdesk.orders.state import (
    INTAKE_CONFLICT,
    INTAKE_MEMO,
    STARTED_BY_MEMO,
    OrderRow,
    OrderState,
    StuckOrder,
)
from opsdesk.orders.status import OrderStatus
from opsdesk.orders.workflow import OrderWorkflow
from opsdesk.search import keys_for, private_customer_id
from opsdesk.settings import Settings
from opsdesk.temporal import search_attributes as sa
from opsdesk.temporal.updates import start_update_when_ready

OrderHandle = WorkflowHandle[OrderWorkflow, OrderState]

QUERY_TIMEOUT = timedelta(seconds=5)
# A query not answered by then is looked into: a workflow whose task keeps failing never
# answers, and a person should hear so at once.
STUCK_CHECK_AFTER = 0.5


class OrderNotFound(LookupError):
    pass


class ActionRefused(Exception):
    """The order's status does not allow the action; ``reason`` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class IntakeConflict(Exception):
    """An order id (or idempotency key) already names a different order."""


def order_policy(settings: Settings) -> OrderPolicy:
    """Deadlines, thresholds and contacts from settings, as a new order fixes them."""
    return OrderPolicy(
        review_timeout=settings.review_timeout,
        stock_timeout=settings.stock_timeout,
        shipment_escalation=settings.shipment_escalation,
        review_from=settings.risk_review_from,
        reject_from=settings.risk_reject_from,
        ops_email=settings.ops_email,
        support_email=settings.support_email,
        ai_emails=settings.resolved_ai_provider != "rules",
    )


def fingerprint(request: OrderRequest) -> str:
    """What makes two submissions the same order, whatever id they carry."""
    body = request.model_dump_json(exclude={"order_id"})
    return hashlib.sha256(body.encode()).hexdigest()


def order_handle(client: Client, order_id: str) -> OrderHandle:
    return client.get_workflow_handle_for(OrderWorkflow.run, order_workflow_id(order_id))


def without_personal_ids(settings: Settings, request: OrderRequest) -> OrderRequest:
    """``request`` with a customer id that is an email address replaced by its keyed hash
    (``search.private_customer_id``): the id becomes a search attribute."""
    private = private_customer_id(settings, request.customer.id)
    if private == request.customer.id:
        return request
    customer = request.customer.model_copy(update={"id": private})
    return request.model_copy(update={"customer": customer})


class OrderStart(TypedDict):
    """How an order's workflow is started, whichever call starts it."""

    id: str
    task_queue: str
    id_reuse_policy: WorkflowIDReusePolicy
    memo: dict[str, Any]
    priority: Priority
    search_attributes: TypedSearchAttributes


def order_start(
    settings: Settings, request: OrderRequest, started_by: str | None = None
) -> OrderStart:
    """How the order ``request`` names (its personal ids already replaced) is started, by
    ``start_order`` or by the submission whose update id is ``started_by``: set here only."""
    memo = {STARTED_BY_MEMO: started_by} if started_by else {}
    return OrderStart(
        id=order_workflow_id(request.order_id),
        task_queue=settings.orders_task_queue,
        # An order id is used once: a finished order is not started again.
        id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        memo={INTAKE_MEMO: fingerprint(request), **memo},
        priority=order_priority(request),
        # Set at start too, so the order is listed before its first workflow task runs.
        search_attributes=TypedSearchAttributes(
            [
                SearchAttributePair(sa.ORDER_STATUS, OrderStatus.PENDING.value),
                SearchAttributePair(sa.ORDER_CUSTOMER, request.customer.id),
                SearchAttributePair(sa.ORDER_ESCALATED, False),
                # Fixed at start (a customer's name and address do not change in an order).
                SearchAttributePair(
                    sa.SEARCH_KEYS,
                    keys_for(settings, name=request.customer.name, email=request.customer.email),
                ),
            ]
        ),
    )


async def start_order(client: Client, settings: Settings, request: OrderRequest) -> OrderHandle:
    """Start the order's workflow. Raises ``WorkflowAlreadyStartedError`` if an order
    with this id exists, running or finished: an order id is used once."""
    request = without_personal_ids(settings, request)
    return await client.start_workflow(
        OrderWorkflow.run,
        OrderInput(request=request, policy=order_policy(settings)),
        **order_start(settings, request),
    )


async def submit_order(
    client: Client, settings: Settings, request: OrderRequest
) -> tuple[OrderState, bool]:
    """Start the order, or find it if this very order was submitted before.

    Returns the state once priced and whether this call created it. One call to Temporal
    (update-with-start) does both: it starts the order unless it runs already, and its
    ``submitted`` update answers. The same id with a different body raises
    ``IntakeConflict``: nothing is started and nothing is changed.
    """
    request = without_personal_ids(settings, request)
    call = uuid.uuid4().hex
    start = WithStartWorkflowOperation(
        OrderWorkflow.run,
        OrderInput(request=request, policy=order_policy(settings)),
        # A running order takes the submission as it is (a retry); a finished one refuses.
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        **order_start(settings, request, started_by=call),
    )
    try:
        submitted = await asyncio.wait_for(
            client.execute_update_with_start_workflow(
                OrderWorkflow.submitted,
                fingerprint(request),
                id=call,
                start_workflow_operation=start,
            ),
            QUERY_TIMEOUT.total_seconds(),
        )
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        if isinstance(cause, ApplicationError) and cause.type == INTAKE_CONFLICT:
            raise IntakeConflict(cause.message) from None
        # Not answered (the order cannot take updates now): read it as found.
    except RPCError as exc:
        # ALREADY_EXISTS: the order has finished, and its id is not used again.
        # FAILED_PRECONDITION: the update met a workflow task the server threw away.
        if exc.status not in (RPCStatusCode.ALREADY_EXISTS, RPCStatusCode.FAILED_PRECONDITION):
            raise
    except (WorkflowAlreadyStartedError, WorkflowUpdateRPCTimeoutOrCancelledError, TimeoutError):
        # Finished (the dev server's way of saying so), or no worker answered in time.
        pass
    else:
        return submitted.state, submitted.created
    await _read_start_error(start)
    return await _found(client, request, call)


async def _read_start_error(start: WithStartWorkflowOperation[Any, Any]) -> None:
    """Take the start's outcome off the operation once the call has failed: the call has
    raised its error already, and asyncio reports one never read."""
    with contextlib.suppress(Exception, asyncio.CancelledError):
        await start.workflow_handle()


async def _found(client: Client, request: OrderRequest, call: str) -> tuple[OrderState, bool]:
    """The order's state when its submission was not answered: it has finished, or no
    worker has priced it yet (none is polling, or the one that picked it up died)."""
    handle = order_handle(client, request.order_id)
    try:
        memo = await (await handle.describe()).memo()
    except RPCError as exc:
        if exc.status is not RPCStatusCode.NOT_FOUND:
            raise
        # The call gave up before the server had started the order: retrying is safe.
        raise WorkflowUpdateRPCTimeoutOrCancelledError() from None
    if memo.get(INTAKE_MEMO) != fingerprint(request):
        raise IntakeConflict(f"order {request.order_id} already exists with different contents")
    created = memo.get(STARTED_BY_MEMO) == call
    if not created:
        with contextlib.suppress(RPCError, WorkflowQueryFailedError):
            return (
                await handle.query(OrderWorkflow.get_state, rpc_timeout=QUERY_TIMEOUT),
                False,
            )
    # Started, but no step has run: it is exactly as it arrived.
    return OrderState.received(request, datetime.now(UTC)), created


def order_numbers(db: Database) -> Numbers:
    """The desk's order numbers: ``#1001`` on."""
    return Numbers(db, OrderNumber, FIRST_ORDER_NUMBER)


async def submit_numbered_order(
    client: Client,
    settings: Settings,
    db: Database,
    fields: OrderFields,
    idempotency_key: str | None = None,
) -> tuple[OrderState, bool]:
    """Start an order that came without an id of its own under the next order number, or,
    for a retry with the same ``idempotency_key``, find the order its first try started.

    A number a client already used as its own order id is passed over for the next one.
    Returns what ``submit_order`` does; a retry's key with a different body raises
    ``IntakeConflict``.
    """
    numbers = order_numbers(db)
    drawn = await numbers.draw(idempotency_key)
    while True:
        request = OrderRequest(**fields.model_dump(), order_id=numbered_order_id(drawn.number))
        used = await OrderIds(db).used_since(request.order_id)
        if used is not None and drawn.fresh:
            drawn = await numbers.pass_over(drawn, idempotency_key)
            continue
        if used is not None and not await order_exists(client, request.order_id):
            # This key's own order, archived since: starting it again would reuse its id.
            raise IntakeConflict(
                f"order {request.order_id} was placed {used:%Y-%m-%d} with this key and has "
                "since been archived; send the order with a new key"
            )
        try:
            state, created = await submit_order(client, settings, request)
        except IntakeConflict:
            if not drawn.fresh:
                raise
        else:
            if created or not drawn.fresh:
                return state, created
        # A client's own order holds this id: it stays theirs.
        drawn = await numbers.pass_over(drawn, idempotency_key)


async def order_exists(client: Client, order_id: str) -> bool:
    """Whether Temporal knows the order's workflow (running, or closed within retention)."""
    try:
        await order_handle(client, order_id).describe()
    except RPCError as exc:
        if exc.status is RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True


class OrderStuck(Exception):
    """The order's workflow cannot make progress; ``order`` says what is known and why."""

    def __init__(self, order: StuckOrder) -> None:
        super().__init__(order.reason)
        self.order = order


async def get_order(client: Client, order_id: str) -> OrderState:
    """The order's state from its workflow. Raises ``OrderNotFound``, or ``OrderStuck``
    within ``STUCK_CHECK_AFTER`` (rather than after a query's timeout) when its workflow
    task keeps failing. A query that answers promptly costs no other call."""
    handle = order_handle(client, order_id)
    query = asyncio.ensure_future(handle.query(OrderWorkflow.get_state, rpc_timeout=QUERY_TIMEOUT))
    try:
        await asyncio.wait_for(asyncio.shield(query), STUCK_CHECK_AFTER)
    except TimeoutError:
        description = await handle.describe()
        if _failing_attempts(description) > 1:
            query.cancel()
            raise OrderStuck(await _stuck(client, order_id, description)) from None
    except (RPCError, WorkflowQueryFailedError):
        pass  # read below from the finished query
    try:
        return await query
    except (RPCError, WorkflowQueryFailedError) as exc:
        if isinstance(exc, RPCError) and exc.status is RPCStatusCode.NOT_FOUND:
            raise OrderNotFound(f"no order {order_id}") from None
        # Its first attempt may have failed meanwhile: say so if it did.
        description = await handle.describe()
        if _failing_attempts(description) > 0:
            raise OrderStuck(await _stuck(client, order_id, description)) from None
        raise


def _failing_attempts(description: WorkflowExecutionDescription) -> int:
    """Attempts of the pending workflow task, when it has failed at least once (0 if not)."""
    raw = description.raw_description
    if description.status is not WorkflowExecutionStatus.RUNNING:
        return 0
    if not raw.HasField("pending_workflow_task"):
        return 0
    attempt: int = raw.pending_workflow_task.attempt
    return attempt if attempt > 1 else 0


async def _stuck(
    client: Client, order_id: str, description: WorkflowExecutionDescription
) -> StuckOrder:
    """What visibility and the history's last workflow-task failure say of a stuck order."""
    reason, since = "its workflow task keeps failing", None
    history = await client.workflow_service.get_workflow_execution_history_reverse(
        GetWorkflowExecutionHistoryReverseRequest(
            namespace=client.namespace,
            execution=WorkflowExecution(workflow_id=order_workflow_id(order_id)),
            maximum_page_size=50,
        )
    )
    for event in history.history.events:
        if event.HasField("workflow_task_failed_event_attributes"):
            failure = event.workflow_task_failed_event_attributes.failure
            # The outer message is the SDK's summary ("Failed decoding arguments"); its
            # causes say what was wrong.
            said = []
            while True:
                if failure.message.strip():
                    said.append(failure.message.strip().splitlines()[0])
                if not failure.HasField("cause"):
                    break
                failure = failure.cause
            reason = ": ".join(said) or reason
            since = event.event_time.ToDatetime(tzinfo=UTC)
            break
    status = description.typed_search_attributes.get(sa.ORDER_STATUS)
    row = (await description.memo()).get("row")
    return StuckOrder(
        order_id=order_id,
        status=OrderStatus(status) if status and status in OrderStatus.__members__ else None,
        reason=reason,
        attempts=_failing_attempts(description),
        since=since,
        row=OrderRow.model_validate(row) if isinstance(row, dict) else None,
    )


async def advance_order(
    client: Client, order_id: str, request: AdvanceRequest, *, wait: timedelta
) -> tuple[OrderState, bool]:
    return await _act(client, order_id, OrderWorkflow.advance, request, wait)


async def cancel_order(
    client: Client, order_id: str, request: CancelRequest, *, wait: timedelta
) -> tuple[OrderState, bool]:
    return await _act(client, order_id, OrderWorkflow.cancel, request, wait)


async def _act(
    client: Client,
    order_id: str,
    update: Any,
    request: AdvanceRequest | CancelRequest,
    wait: timedelta,
) -> tuple[OrderState, bool]:
    """Send the update and return ``(state, settled)``.

    ``settled`` is False when the order accepted the action but had not finished what it
    set off within ``wait`` (a payment still retrying, say); the state is then the
    current one. The request id doubles as the update id, so Temporal itself answers a
    repeat with the first answer.
    """
    handle = order_handle(client, order_id)
    update_id = request.request_id or uuid.uuid4().hex
    try:
        pending = await start_update_when_ready(handle, update, [request], update_id)
        state: OrderState = await asyncio.wait_for(pending.result(), wait.total_seconds())
    except WorkflowUpdateFailedError as exc:
        raise ActionRefused(_reason(exc)) from None
    except RPCError as exc:
        if exc.status is not RPCStatusCode.NOT_FOUND:
            raise
        raise await _why_closed(handle, order_id) from None
    except TimeoutError:
        return await handle.query(OrderWorkflow.get_state, rpc_timeout=QUERY_TIMEOUT), False
    return state, True


def _reason(exc: WorkflowUpdateFailedError) -> str:
    cause = exc.cause
    return cause.message if isinstance(cause, ApplicationError) else str(cause or exc)


async def _why_closed(handle: OrderHandle, order_id: str) -> Exception:
    """An update found no running workflow: the order never existed, or it has finished."""
    try:
        description = await handle.describe()
    except RPCError as exc:
        if exc.status is RPCStatusCode.NOT_FOUND:
            return OrderNotFound(f"no order {order_id}")
        return exc
    row = (await description.memo()).get("row")
    raw = row.get("status") if isinstance(row, dict) else None
    try:
        status = OrderStatus(str(raw)).words
    except ValueError:
        status = "finished"
    return ActionRefused(f"the order is already {status}")


def restock_workflow_id(sku: str, request_id: str | None = None) -> str:
    """A restock's workflow id: the same request id, the same restock."""
    suffix = (
        hashlib.sha256(request_id.encode()).hexdigest()[:20] if request_id else uuid.uuid4().hex
    )
    return f"restock-{sku}-{suffix}"


async def restock(
    client: Client, settings: Settings, sku: str, quantity: int, request_id: str | None = None
) -> RestockResult:
    """Add stock and wake the orders waiting for it; a repeated ``request_id`` adds once."""
    workflow_id = restock_workflow_id(sku, request_id)
    return await client.execute_workflow(
        RestockWorkflow.run,
        RestockInput(idempotency_key=workflow_id, sku=sku, quantity=quantity),
        id=workflow_id,
        task_queue=settings.orders_task_queue,
        # A repeat while the first still runs joins it; after it, the activity's
        # idempotency key makes the stock go up once and only the wake-ups run again.
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )
