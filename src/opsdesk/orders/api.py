"""The Order Ops JSON API.

The five routes of the original dashboard keep their paths and verbs (create, advance,
cancel, list, metrics); the rest serve the live dashboard and other systems.
"""

from __future__ import annotations

import re
import time
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Header, Query, Request, Response
from fastapi.sse import EventSourceResponse, ServerSentEvent
from prometheus_client.core import GaugeMetricFamily, Metric
from pydantic import BaseModel, Field, ValidationError

from opsdesk.errors import InvalidOrder, UnknownProduct
from opsdesk.notify.models import OutboxEntry
from opsdesk.notify.outbox import Outbox
from opsdesk.orders import service as orders
from opsdesk.orders.claims import OrderIds
from opsdesk.orders.ids import ORDER_ID_PATTERN, TRACKING_NUMBER_PATTERN, order_workflow_id
from opsdesk.orders.inputs import (
    CUSTOMER_ID_PATTERN,
    REQUEST_ID_MAX_LENGTH,
    AdvanceRequest,
    CancelRequest,
    LineItem,
    OrderFields,
    OrderId,
    OrderRequest,
)
from opsdesk.orders.inventory import Inventory, ProductSpec
from opsdesk.orders.labels import Action, actions_for
from opsdesk.orders.listing import (
    OrderFilter,
    OrderMetrics,
    OrderPage,
    list_orders,
)
from opsdesk.orders.payloads import RestockResult
from opsdesk.orders.priorities import SHOP_PREFIX
from opsdesk.orders.state import OrderState, StuckOrder
from opsdesk.orders.status import OrderStatus
from opsdesk.security_events import record
from opsdesk.settings import Settings
from opsdesk.temporal.visibility import BadPageToken
from opsdesk.values import pattern
from opsdesk.web import signatures
from opsdesk.web.auth import VIEWER, Operator
from opsdesk.web.cache import Snapshot
from opsdesk.web.deps import (
    client_of,
    db_of,
    feed_of,
    settings_of,
)
from opsdesk.web.errors import ApiError
from opsdesk.web.events import Change
from opsdesk.web.limits import rate_limited
from opsdesk.web.metrics import gauge_by
from opsdesk.web.params import RowId

router = APIRouter(prefix="/api", tags=["orders"])

_ORDER_ID = re.compile(ORDER_ID_PATTERN)
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=REQUEST_ID_MAX_LENGTH,
        description="Repeating a request with the same key acts once and answers the same.",
    ),
]


# -- bodies and answers ------------------------------------------------------------------


class OrderCreate(OrderFields):
    order_id: OrderId | None = None
    """Your id for the order; when absent it gets the next order number (``"1043"``)."""
    """Your id for the order; generated when absent (or derived from Idempotency-Key)."""


class ShopOrder(OrderFields):
    """An order as a shop's webhook delivers it."""

    # Shorter than an order id by the "shop-" its order id gets.
    id: Annotated[
        str,
        Field(
            pattern=pattern(
                r"^[A-Za-z0-9][A-Za-z0-9_-]{0,57}$",
                "up to 58 letters, digits, dashes and underscores, starting with a letter or digit",
            )
        ),
    ]
    """The shop's order id: a second delivery of the same id starts nothing new."""


class AdvanceBody(BaseModel):
    tracking_number: Annotated[str, Field(pattern=TRACKING_NUMBER_PATTERN)] | None = None
    note: Annotated[str, Field(max_length=500)] = ""
    expected_status: OrderStatus | None = None
    """The status you saw; if the order has moved on, the advance is refused (409)."""


class CancelBody(BaseModel):
    reason: Annotated[str, Field(max_length=500)] = ""


class RestockBody(BaseModel):
    quantity: Annotated[int, Field(ge=1, le=100_000)]


class OrderOut(OrderState):
    """An order's full state, what may be done to it now, and where its history is."""

    actions: list[Action]
    temporal_url: str


class StuckOrderOut(StuckOrder):
    temporal_url: str


class ProductsOut(BaseModel):
    items: list[ProductSpec]


class OutboxPage(BaseModel):
    items: list[OutboxEntry]
    next_before: int | None


class WebhookAnswer(BaseModel):
    order_id: str
    created: bool
    status: OrderStatus


# -- helpers -------------------------------------------------------------------------------


def temporal_url(settings: Settings, namespace: str, order_id: str) -> str:
    base = settings.resolved_temporal_ui_url.rstrip("/")
    return f"{base}/namespaces/{namespace}/workflows/{order_workflow_id(order_id)}"


def order_out(request: Request, state: OrderState) -> OrderOut:
    return OrderOut(
        **state.model_dump(),
        actions=actions_for(state.status),
        temporal_url=temporal_url(
            settings_of(request), client_of(request).namespace, state.order_id
        ),
    )


def metrics_of(request: Request) -> Snapshot[OrderMetrics]:
    """The process's one metrics computation, kept fresh while anyone reads it."""
    snapshot: Snapshot[OrderMetrics] = request.app.state.metrics
    return snapshot


async def status_gauges(snapshot: Snapshot[OrderMetrics]) -> list[Metric]:
    """The dashboard's counts for Prometheus: the same numbers, from the same computation
    while a dashboard keeps it fresh (a scrape alone does not keep it running)."""
    counts = await snapshot.peek()
    orders = gauge_by(
        "opsdesk_orders",
        "Orders by status, from Temporal visibility.",
        "status",
        {status.value: n for status, n in counts.counts.items()},
    )
    return [
        orders,
        GaugeMetricFamily(
            "opsdesk_orders_waiting_for_a_person",
            "Orders held for a person: in review or waiting for stock.",
            value=counts.waiting_for_a_person,
        ),
        GaugeMetricFamily(
            "opsdesk_orders_open_escalations",
            "Open orders escalated for a person's attention.",
            value=counts.open_escalations,
        ),
    ]


async def cached_metrics(request: Request) -> OrderMetrics:
    """Metrics as of at most ``OPSDESK_METRICS_TTL`` plus one computation ago, computed once
    for every viewer."""
    return await metrics_of(request).get()


def known_id(order_id: str) -> str:
    if not _ORDER_ID.match(order_id):
        raise ApiError(404, "not_found", f"no order {order_id!r}")
    return order_id


async def _check_catalog(request: Request, lines: list[LineItem]) -> None:
    """Refuse an order for what cannot be sold before anything is started."""
    try:
        await Inventory(db_of(request)).price(lines)
    except InvalidOrder as exc:
        raise ApiError(422, "invalid_input", str(exc)) from None


async def _check_id_is_free(request: Request, order_id: str) -> None:
    """Refuse an id an earlier order used, once Temporal has forgotten that order (its
    retention passed): the new order's workflow would fail at its first step."""
    used = await OrderIds(db_of(request)).used_since(order_id)
    if used is not None and not await orders.order_exists(client_of(request), order_id):
        raise ApiError(
            409,
            "conflict",
            f"order id {order_id} was already used by an order placed {used:%Y-%m-%d} "
            "that has since been archived; send the order with a new id",
        )


async def _submit(request: Request, order: OrderRequest) -> tuple[OrderState, bool]:
    await _check_catalog(request, order.lines)
    await _check_id_is_free(request, order.order_id)
    try:
        state, created = await orders.submit_order(client_of(request), settings_of(request), order)
    except orders.IntakeConflict as exc:
        raise ApiError(409, "conflict", str(exc)) from None
    feed_of(request).publish(Change(kind="orders", ids=[order.order_id]))
    return state, created


async def _submit_numbered(
    request: Request, body: OrderCreate, idempotency_key: str | None
) -> tuple[OrderState, bool]:
    fields = OrderFields(**body.model_dump(exclude={"order_id"}))
    await _check_catalog(request, fields.lines)
    try:
        state, created = await orders.submit_numbered_order(
            client_of(request), settings_of(request), db_of(request), fields, idempotency_key
        )
    except orders.IntakeConflict as exc:
        raise ApiError(409, "conflict", str(exc)) from None
    feed_of(request).publish(Change(kind="orders", ids=[state.order_id]))
    return state, created


async def _act_answer(
    request: Request, response: Response, order_id: str, outcome: tuple[OrderState, bool]
) -> OrderOut:
    state, settled = outcome
    if not settled:
        response.status_code = 202  # accepted; the order is still working on it
    feed_of(request).publish(Change(kind="orders", ids=[order_id]))
    return order_out(request, state)


def _refusals() -> dict[int | str, dict[str, Any]]:
    return {
        404: {"description": "No such order"},
        409: {"description": "The order's status does not allow this; the message says why"},
    }


# -- the original routes -------------------------------------------------------------------


@router.post("/orders", status_code=201, responses={200: {"description": "Already submitted"}})
async def create_order(
    request: Request,
    _: Operator,
    response: Response,
    body: OrderCreate,
    idempotency_key: IdempotencyKey = None,
) -> OrderOut:
    """Start an order. Without an ``order_id`` of your own it gets the next order number
    (``"1043"``, shown as #1043). With an ``Idempotency-Key`` (or your own ``order_id``) a
    repeat returns the same order (200) instead of starting another."""
    if body.order_id:
        order = OrderRequest(**body.model_dump(exclude={"order_id"}), order_id=body.order_id)
        state, created = await _submit(request, order)
    else:
        state, created = await _submit_numbered(request, body, idempotency_key)
    if not created:
        response.status_code = 200
    return order_out(request, state)


@router.post("/orders/{order_id}/advance", responses=_refusals())
async def advance(
    request: Request,
    who: Operator,
    response: Response,
    order_id: str,
    body: Annotated[AdvanceBody | None, Body()] = None,
    idempotency_key: IdempotencyKey = None,
) -> OrderOut:
    """Take the next step: approve a review, retry allocation, mark shipped (with a
    tracking number), mark delivered. Returns the state once the order has settled
    (202 if it is still working after ``OPSDESK_ACTION_WAIT``)."""
    body = body or AdvanceBody()
    advance = AdvanceRequest(
        request_id=idempotency_key,
        expected_status=body.expected_status,
        actor=who.name,
        tracking_number=body.tracking_number,
        note=body.note,
    )
    try:
        outcome = await orders.advance_order(
            client_of(request), known_id(order_id), advance, wait=settings_of(request).action_wait
        )
    except orders.OrderNotFound as exc:
        raise ApiError(404, "not_found", str(exc)) from None
    except orders.ActionRefused as exc:
        raise ApiError(409, "not_allowed", exc.reason) from None
    return await _act_answer(request, response, order_id, outcome)


@router.post("/orders/{order_id}/cancel", responses=_refusals())
async def cancel(
    request: Request,
    who: Operator,
    response: Response,
    order_id: str,
    body: Annotated[CancelBody | None, Body()] = None,
    idempotency_key: IdempotencyKey = None,
) -> OrderOut:
    """Cancel the order (reject it, in review). Refunds, releases stock and withdraws the
    warehouse request as needed, then returns the final state."""
    body = body or CancelBody()
    cancel = CancelRequest(request_id=idempotency_key, actor=who.name, reason=body.reason)
    try:
        outcome = await orders.cancel_order(
            client_of(request), known_id(order_id), cancel, wait=settings_of(request).action_wait
        )
    except orders.OrderNotFound as exc:
        raise ApiError(404, "not_found", str(exc)) from None
    except orders.ActionRefused as exc:
        raise ApiError(409, "not_allowed", exc.reason) from None
    return await _act_answer(request, response, order_id, outcome)


@router.get("/orders", dependencies=VIEWER)
async def orders_page(
    request: Request,
    status: OrderStatus | None = None,
    customer: Annotated[str | None, Query(pattern=CUSTOMER_ID_PATTERN)] = None,
    escalated: bool | None = None,
    page_size: Annotated[int, Query(ge=1, le=100)] = 25,
    page_token: Annotated[str | None, Query(max_length=2000)] = None,
) -> OrderPage:
    """Orders from Temporal visibility, one call per page: open orders newest first, then
    finished ones most recently finished first."""
    try:
        return await list_orders(
            client_of(request),
            settings_of(request),
            OrderFilter(status=status, customer=customer, escalated=escalated),
            page_size=page_size,
            page_token=page_token,
        )
    except BadPageToken as exc:
        raise ApiError(422, "invalid_input", str(exc)) from None


@router.get("/metrics", dependencies=VIEWER)
async def metrics(request: Request) -> OrderMetrics:
    """Counts per status, orders created today (UTC), open escalations, orders waiting for
    a person, and revenue and refunds from the payments ledger."""
    return await cached_metrics(request)


# -- more ------------------------------------------------------------------------------------


@router.get(
    "/orders/{order_id}", dependencies=VIEWER, responses={404: {"description": "No such order"}}
)
async def order_detail(request: Request, order_id: str) -> OrderOut | StuckOrderOut:
    """One order's full state and timeline; or, when its workflow cannot make progress,
    what is known of it (``stuck: true``), why, and where to look in the Temporal UI."""
    try:
        state = await orders.get_order(client_of(request), known_id(order_id))
    except orders.OrderNotFound as exc:
        raise ApiError(404, "not_found", str(exc)) from None
    except orders.OrderStuck as exc:
        return StuckOrderOut(
            **exc.order.model_dump(),
            temporal_url=temporal_url(settings_of(request), client_of(request).namespace, order_id),
        )
    return order_out(request, state)


@router.get("/products", dependencies=VIEWER)
async def products(request: Request) -> ProductsOut:
    return ProductsOut(items=await Inventory(db_of(request)).products())


@router.post("/inventory/{sku}/restock", responses={404: {"description": "No such sku"}})
async def restock(
    request: Request,
    _: Operator,
    sku: str,
    body: RestockBody,
    idempotency_key: IdempotencyKey = None,
) -> RestockResult:
    """Add stock and wake every order waiting for it."""
    if await Inventory(db_of(request)).product(sku) is None:
        raise ApiError(404, "not_found", f"no product {sku!r}")
    try:
        result = await orders.restock(
            client_of(request), settings_of(request), sku, body.quantity, idempotency_key
        )
    except UnknownProduct as exc:  # removed between the check and the restock
        raise ApiError(404, "not_found", str(exc)) from None
    feed_of(request).publish(Change(kind="orders", ids=result.waiting_orders))
    return result


@router.get("/outbox", dependencies=VIEWER)
async def outbox(
    request: Request,
    reference: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    before: Annotated[RowId | None, Query()] = None,
) -> OutboxPage:
    """Messages recorded for sending, newest first, with their delivery status."""
    items = await Outbox(db_of(request)).recent(reference=reference, limit=limit, before_id=before)
    return OutboxPage(items=items, next_before=items[-1].id if len(items) == limit else None)


@router.get("/events", response_class=EventSourceResponse, dependencies=VIEWER)
async def events(request: Request) -> AsyncIterator[ServerSentEvent]:
    """Server-sent events: ``orders`` with the ids that changed, whenever orders change;
    ``metrics`` whenever the dashboard's numbers move."""
    async with feed_of(request).listen() as changes:
        yield ServerSentEvent(event="ready", data={})
        while True:
            change = await changes.get()
            yield ServerSentEvent(event=change.kind, data=change.model_dump())


@router.post(
    "/webhooks/orders",
    status_code=201,
    dependencies=[Depends(rate_limited("machines"))],
    responses={
        200: {"description": "A repeated delivery: nothing new started"},
        401: {"description": "Missing or wrong signature"},
    },
)
async def shop_webhook(
    request: Request,
    response: Response,
    signature: Annotated[
        str | None,
        Header(
            alias=signatures.HEADER,
            description='t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>." + body>',
        ),
    ] = None,
) -> WebhookAnswer:
    """A shop's order webhook, signed with a shared secret (``OPSDESK_WEBHOOK_SECRET``, and
    during a rotation ``OPSDESK_WEBHOOK_SECRET_PREVIOUS``) and a timestamp."""
    settings = settings_of(request)
    active = [s.get_secret_value() for s in settings.webhook_secrets]
    if not active:
        raise ApiError(
            503, "unavailable", "the order webhook is not configured (OPSDESK_WEBHOOK_SECRET)"
        )
    raw = await request.body()
    try:
        signatures.verify(
            active, raw, signature, now=time.time(), tolerance=settings.webhook_tolerance
        )
    except signatures.SignatureRefused as exc:
        record("webhook_refused", "refused", target="shop_orders", request=request, reason=str(exc))
        raise ApiError(401, "unauthorized", str(exc)) from None
    try:
        shop = ShopOrder.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ApiError(
            422, "invalid_input", f"{where}: {first['msg']}" if where else first["msg"]
        ) from None
    order = OrderRequest(**shop.model_dump(exclude={"id"}), order_id=f"{SHOP_PREFIX}{shop.id}")
    state, created = await _submit(request, order)
    if not created:
        response.status_code = 200
    return WebhookAnswer(order_id=order.order_id, created=created, status=state.status)
