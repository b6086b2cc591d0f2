"""The Order Ops dashboard: server-rendered pages and the fragments they refresh live.

Every section of a page is also served alone under ``/fragments/…``; the page's script
re-fetches a section when the change feed says orders changed. The data comes from the same
read side as the JSON API (visibility, the ledger, the outbox), never from a query per order.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from opsdesk.ai.usage import UsageLog
from opsdesk.notify.outbox import Outbox
from opsdesk.orders import client as orders
from opsdesk.orders import models as m
from opsdesk.orders.api import cached_metrics, known_id, temporal_url
from opsdesk.orders.inventory import Inventory
from opsdesk.orders.payments import TEST_TOKENS
from opsdesk.orders.queries import BadPageToken, OrderFilter, list_orders
from opsdesk.web.deps import client_of, db_of, settings_of
from opsdesk.web.errors import ApiError
from opsdesk.web.pages import templates

router = APIRouter(include_in_schema=False)

QUEUE_SIZE = 8
PAGE_SIZE = 20


def _filter(request: Request) -> OrderFilter:
    """Filters from the query string; a value that makes no sense is ignored, not an error."""
    params = request.query_params
    values: dict[str, Any] = {}
    for name in ("status", "customer", "escalated"):
        if params.get(name):
            try:
                values |= OrderFilter.model_validate({name: params[name]}).model_dump(
                    include={name}
                )
            except ValidationError:
                continue
    return OrderFilter(**values)


def _render(request: Request, template: str, **context: Any) -> HTMLResponse:
    settings = settings_of(request)
    return templates.TemplateResponse(
        request,
        template,
        {
            "temporal_ui": settings.resolved_temporal_ui_url,
            "statuses": list(m.OrderStatus),
            "actions_of": m.actions_for,
            **context,
        },
    )


# -- what each section shows ---------------------------------------------------------------


async def _metrics(request: Request) -> dict[str, Any]:
    return {
        "metrics": await cached_metrics(request),
        "needs_a_person": [m.OrderStatus.REVIEW, m.OrderStatus.AWAITING_STOCK],
    }


async def _queues(request: Request) -> dict[str, Any]:
    client, settings = client_of(request), settings_of(request)
    review, stock, escalated = await asyncio.gather(
        list_orders(
            client, settings, OrderFilter(status=m.OrderStatus.REVIEW), page_size=QUEUE_SIZE
        ),
        list_orders(
            client, settings, OrderFilter(status=m.OrderStatus.AWAITING_STOCK), page_size=QUEUE_SIZE
        ),
        list_orders(
            client, settings, OrderFilter(escalated=True, open_only=True), page_size=QUEUE_SIZE
        ),
    )
    return {
        "queues": [
            ("Needs review", "review", review, "?status=REVIEW"),
            ("Waiting for stock", "stock", stock, "?status=AWAITING_STOCK"),
            ("Escalated", "escalated", escalated, "?escalated=true"),
        ]
    }


async def _orders(request: Request) -> dict[str, Any]:
    where = _filter(request)
    token = request.query_params.get("page_token") or None
    try:
        page = await list_orders(
            client_of(request), settings_of(request), where, page_size=PAGE_SIZE, page_token=token
        )
    except BadPageToken:
        page = await list_orders(
            client_of(request), settings_of(request), where, page_size=PAGE_SIZE
        )
        token = None
    query = {k: v for k, v in where.model_dump(exclude={"open_only"}).items() if v is not None}
    return {"page": page, "where": where, "query": query, "paged": token is not None}


async def _products(request: Request) -> dict[str, Any]:
    return {"products": await Inventory(db_of(request)).products()}


async def _outbox(request: Request, limit: int = QUEUE_SIZE) -> dict[str, Any]:
    return {"messages": await Outbox(db_of(request)).recent(limit=limit)}


async def _order(request: Request, order_id: str) -> dict[str, Any]:
    try:
        state = await orders.get_order(client_of(request), known_id(order_id))
    except orders.OrderNotFound as exc:
        raise ApiError(404, "not_found", str(exc)) from None
    reference = m.order_workflow_id(state.order_id)
    return {
        "order": state,
        "actions": m.actions_for(state.status),
        "temporal_url": temporal_url(
            settings_of(request), client_of(request).namespace, state.order_id
        ),
        "emails": await Outbox(db_of(request)).recent(reference=reference, limit=50),
        "ai_calls": await UsageLog(db_of(request)).for_reference(reference),
    }


# -- pages -------------------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
async def dashboard(request: Request) -> HTMLResponse:
    metrics, queues, orders_, products, outbox = await asyncio.gather(
        _metrics(request), _queues(request), _orders(request), _products(request), _outbox(request)
    )
    return _render(
        request,
        "orders/dashboard.html",
        section="orders",
        tokens=sorted(TEST_TOKENS),
        **metrics,
        **queues,
        **orders_,
        **products,
        **outbox,
    )


@router.get("/orders/{order_id}", response_class=HTMLResponse)
async def order_page(request: Request, order_id: str) -> HTMLResponse:
    return _render(
        request, "orders/detail.html", section="orders", **await _order(request, order_id)
    )


@router.get("/outbox", response_class=HTMLResponse)
async def outbox_page(request: Request) -> HTMLResponse:
    return _render(
        request, "orders/outbox.html", section="outbox", **await _outbox(request, limit=200)
    )


# -- fragments ---------------------------------------------------------------------------------


@router.get("/fragments/metrics", response_class=HTMLResponse)
async def metrics_fragment(request: Request) -> HTMLResponse:
    return _render(request, "orders/_metrics.html", **await _metrics(request))


@router.get("/fragments/queues", response_class=HTMLResponse)
async def queues_fragment(request: Request) -> HTMLResponse:
    return _render(request, "orders/_queues.html", **await _queues(request))


@router.get("/fragments/orders", response_class=HTMLResponse)
async def orders_fragment(request: Request) -> HTMLResponse:
    return _render(request, "orders/_orders.html", **await _orders(request))


@router.get("/fragments/products", response_class=HTMLResponse)
async def products_fragment(request: Request) -> HTMLResponse:
    return _render(request, "orders/_products.html", **await _products(request))


@router.get("/fragments/outbox", response_class=HTMLResponse)
async def outbox_fragment(request: Request) -> HTMLResponse:
    return _render(request, "orders/_outbox.html", **await _outbox(request))


@router.get("/fragments/orders/{order_id}", response_class=HTMLResponse)
async def order_fragment(request: Request, order_id: str) -> HTMLResponse:
    return _render(request, "orders/_order.html", **await _order(request, order_id))
