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
import base64
import binascii
from datetime import UTC, datetime, time

from pydantic import BaseModel
from sqlalchemy import func, select
from temporalio.client import Client, WorkflowExecution
from temporalio.service import RPCError, RPCStatusCode

from opsdesk.ai.usage import AiTotals, UsageLog
from opsdesk.db import Database
from opsdesk.db.tables import ChargeRow, RefundRow
from opsdesk.orders.state import OrderRow
from opsdesk.orders.status import OrderStatus
from opsdesk.orders.workflow import OrderWorkflow
from opsdesk.settings import Settings

# Statuses in which the order waits for a decision only a person can make.
NEEDS_A_PERSON = (OrderStatus.REVIEW, OrderStatus.AWAITING_STOCK)


class OrderFilter(BaseModel):
    status: OrderStatus | None = None
    customer: str | None = None
    escalated: bool | None = None
    open_only: bool = False


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


class BadPageToken(ValueError):
    pass


_BAD_TOKEN_ANSWERS = (RPCStatusCode.INVALID_ARGUMENT, RPCStatusCode.UNKNOWN, RPCStatusCode.INTERNAL)


def _quote(value: str) -> str:
    # Filter values are validated to a plain alphabet before they get here; escaping is a
    # second line of defence for the visibility query language.
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def visibility_query(settings: Settings, where: OrderFilter | None = None) -> str:
    clauses = [
        f"WorkflowType = '{OrderWorkflow.__name__}'",
        f"TaskQueue = {_quote(settings.orders_task_queue)}",
    ]
    if where is not None:
        if where.status is not None:
            clauses.append(f"OrderStatus = {_quote(where.status.value)}")
        if where.customer is not None:
            clauses.append(f"OrderCustomer = {_quote(where.customer)}")
        if where.escalated is not None:
            clauses.append(f"OrderEscalated = {'true' if where.escalated else 'false'}")
        if where.open_only:
            clauses.append("ExecutionStatus = 'Running'")
    return " AND ".join(clauses)


async def row_of(execution: WorkflowExecution) -> OrderRow | None:
    """The list row an order keeps in its memo (None for one started but not yet run)."""
    memo = await execution.memo()
    if "row" not in memo:
        return None
    return OrderRow.model_validate(memo["row"])


def _encode_token(token: bytes | None) -> str | None:
    return base64.urlsafe_b64encode(token).decode() if token else None


def _decode_token(token: str | None) -> bytes | None:
    if not token:
        return None
    try:
        return base64.b64decode(token.encode(), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadPageToken("page_token is not one this API handed out") from exc


async def list_orders(
    client: Client,
    settings: Settings,
    where: OrderFilter,
    *,
    page_size: int = 25,
    page_token: str | None = None,
) -> OrderPage:
    iterator = client.list_workflows(
        visibility_query(settings, where),
        page_size=page_size,
        next_page_token=_decode_token(page_token),
    )
    try:
        await iterator.fetch_next_page()
    except RPCError as exc:
        # Visibility cannot read a forged or stale token: some stores say so, others fail.
        if page_token and exc.status in _BAD_TOKEN_ANSWERS:
            raise BadPageToken("page_token is not one this API handed out") from exc
        raise
    rows = [row for row in [await row_of(e) for e in iterator.current_page or []] if row]
    return OrderPage(items=rows, next_page_token=_encode_token(iterator.next_page_token))


async def _count(client: Client, query: str) -> int:
    return (await client.count_workflows(query)).count


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
        asyncio.gather(*(_count(client, f"{base} AND OrderStatus = '{s}'") for s in statuses)),
        _count(client, f"{base} AND OrderCreatedAt >= '{midnight.isoformat()}'"),
        _count(client, f"{base} AND OrderEscalated = true AND ExecutionStatus = 'Running'"),
        _ledger_totals(db),
        UsageLog(db).totals(),
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
