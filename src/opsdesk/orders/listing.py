"""The read side: lists, counts and metrics from Temporal visibility and the ledger.

A page of orders is one ``ListWorkflowExecutions`` call that reads each row from the
workflow's memo; metrics are one ``CountWorkflowExecutions`` call per status (visibility
groups counts by execution status only) plus one ledger query. Nothing here queries a
workflow, so the cost of a page does not grow with the number of orders.

SQL visibility (the dev server, PostgreSQL, MySQL) cannot ``ORDER BY``; its own order is
open workflows newest first, then finished ones most recently finished first. That is the
order of every list here.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, time
from typing import Annotated

from pydantic import BaseModel, StringConstraints
from sqlalchemy import func, select
from temporalio.client import Client, WorkflowExecution

from opsdesk.ai.pricing import prices
from opsdesk.ai.usage import AiTotals, UsageLog
from opsdesk.db import Database
from opsdesk.db.tables import ChargeRow, RefundRow
from opsdesk.orders.ids import ORDER_ID_PATTERN, order_workflow_id
from opsdesk.orders.state import OrderRow
from opsdesk.orders.status import OrderStatus
from opsdesk.orders.workflow import OrderWorkflow
from opsdesk.search import private_customer_id, query_keys
from opsdesk.settings import Settings
from opsdesk.temporal import search_attributes as sa
from opsdesk.temporal.visibility import count, fetch_page, page_token_key, quote

# Statuses in which the order waits for a decision only a person can make.
NEEDS_A_PERSON = (OrderStatus.REVIEW, OrderStatus.AWAITING_STOCK)


SEARCH_MAX_LENGTH = 200


class OrderFilter(BaseModel):
    status: OrderStatus | None = None
    customer: str | None = None
    escalated: bool | None = None
    q: Annotated[str, StringConstraints(strip_whitespace=True, max_length=SEARCH_MAX_LENGTH)] = ""
    """A search: an order id ("#1043", "shop-5521"), or the customer's name or address."""
    open_only: bool = False


def order_id_in(text: str) -> str | None:
    """The order id a search names, if it could name one: "#1043" and "1043" alike."""
    candidate = text.strip().removeprefix("#")
    return candidate if re.fullmatch(ORDER_ID_PATTERN, candidate) else None


def _search_clause(settings: Settings, text: str) -> str | None:
    either = []
    order_id = order_id_in(text)
    if order_id is not None:
        either.append(f"WorkflowId = {quote(order_workflow_id(order_id))}")
    keys = query_keys(settings, text)
    if keys:
        every = " AND ".join(f"{sa.SEARCH_KEYS.name} = {quote(k)}" for k in keys)
        either.append(f"({every})")
    return f"({' OR '.join(either)})" if either else None


class OrderPage(BaseModel):
    items: list[OrderRow]
    next_page_token: str | None
    """Pass back as ``page_token`` for the next page; absent on the last page."""


class OrderMetrics(BaseModel):
    counts: dict[OrderStatus, int]
    total: int
    created_today: int
    open_escalations: int
    waiting_for_a_person: int
    revenue_cents: dict[str, int]
    """Captured charges per currency, from the payments ledger."""
    refunds_cents: dict[str, int]
    ai: AiTotals
    """Model calls, failures and tokens, from the log of every call."""


def visibility_query(settings: Settings, where: OrderFilter | None = None) -> str:
    clauses = [
        f"WorkflowType = '{OrderWorkflow.__name__}'",
        f"TaskQueue = {quote(settings.orders_task_queue)}",
    ]
    if where is not None:
        if where.status is not None:
            clauses.append(f"OrderStatus = {quote(where.status.value)}")
        if where.customer is not None:
            customer = private_customer_id(settings, where.customer)
            clauses.append(f"OrderCustomer = {quote(customer)}")
        if where.escalated is not None:
            clauses.append(f"OrderEscalated = {'true' if where.escalated else 'false'}")
        if where.q:
            # A search of nothing searchable (only punctuation) finds nothing.
            clauses.append(_search_clause(settings, where.q) or "WorkflowId = ''")
        if where.open_only:
            clauses.append("ExecutionStatus = 'Running'")
    return " AND ".join(clauses)


async def row_of(execution: WorkflowExecution) -> OrderRow | None:
    """The list row an order keeps in its memo (None for one started but not yet run)."""
    memo = await execution.memo()
    if "row" not in memo:
        return None
    return OrderRow.model_validate(memo["row"])


async def list_orders(
    client: Client,
    settings: Settings,
    where: OrderFilter,
    *,
    page_size: int = 25,
    page_token: str | None = None,
) -> OrderPage:
    executions, next_token = await fetch_page(
        client,
        visibility_query(settings, where),
        page_size=page_size,
        page_token=page_token,
        key=page_token_key(settings),
    )
    rows = [row for row in [await row_of(e) for e in executions] if row]
    return OrderPage(items=rows, next_page_token=next_token)


async def _ledger_totals(db: Database) -> tuple[dict[str, int], dict[str, int]]:
    async with db.transaction() as session:
        charged = await session.execute(
            select(ChargeRow.currency, func.sum(ChargeRow.amount_cents)).group_by(
                ChargeRow.currency
            )
        )
        refunded = await session.execute(
            select(ChargeRow.currency, func.sum(RefundRow.amount_cents))
            .join(ChargeRow, RefundRow.charge_id == ChargeRow.id)
            .group_by(ChargeRow.currency)
        )
        return (
            {currency: int(total) for currency, total in charged},
            {currency: int(total) for currency, total in refunded},
        )


async def order_metrics(
    client: Client, settings: Settings, db: Database, *, now: datetime | None = None
) -> OrderMetrics:
    base = visibility_query(settings)
    midnight = datetime.combine((now or datetime.now(UTC)).date(), time.min, tzinfo=UTC)
    statuses = list(OrderStatus)
    per_status, created_today, open_escalations, (revenue, refunds), ai = await asyncio.gather(
        asyncio.gather(*(count(client, f"{base} AND OrderStatus = '{s}'") for s in statuses)),
        count(client, f"{base} AND OrderCreatedAt >= '{midnight.isoformat()}'"),
        count(client, f"{base} AND OrderEscalated = true AND ExecutionStatus = 'Running'"),
        _ledger_totals(db),
        UsageLog(db).totals(prices(settings.ai_prices)),
    )
    counts = dict(zip(statuses, per_status, strict=True))
    return OrderMetrics(
        counts=counts,
        total=sum(counts.values()),
        created_today=created_today,
        open_escalations=open_escalations,
        waiting_for_a_person=sum(counts[s] for s in NEEDS_A_PERSON),
        revenue_cents=revenue,
        refunds_cents=refunds,
        ai=ai,
    )
