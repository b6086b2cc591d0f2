"""The read side: pages, queues and counts of repair requests from Temporal visibility.

A page is one ``ListWorkflowExecutions`` call reading each row from the workflow's memo;
metrics are one ``CountWorkflowExecutions`` call per status and per queue. Nothing here
queries a workflow, so a page costs the same however many requests there are.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, StringConstraints
from sqlalchemy import func, select
from temporalio.client import Client, WorkflowExecution

from opsdesk.ai.models import Priority
from opsdesk.db import Database
from opsdesk.db.tables import PayoutRow
from opsdesk.maintenance.ids import REQUEST_ID_PATTERN, request_workflow_id
from opsdesk.maintenance.state import RequestRow
from opsdesk.maintenance.status import RequestStatus, Role
from opsdesk.maintenance.workflow import NOBODY, MaintenanceRequestWorkflow
from opsdesk.search import normal, words
from opsdesk.settings import Settings
from opsdesk.temporal import search_attributes as sa
from opsdesk.temporal.visibility import count, fetch_page, page_token_key, quote

EXPIRING_WITHIN = timedelta(days=1)

Queue = Literal["ops", "owner", "vendor", "tenant", "emergency", "expiring"]
QUEUES: dict[Queue, str] = {
    # Reports from someone not on file, for a unit with nobody on file to confirm them.
    "ops": "Reports for ops to check",
    "owner": "Waiting on an owner",
    "vendor": "Waiting on a vendor",
    "tenant": "Waiting on a tenant",
    "emergency": "Open emergencies",
    "expiring": "Expiring within a day",
}


SEARCH_MAX_LENGTH = 200
SEARCH_SCAN = 500
"""How many of the newest requests (with the other filters) a search reads."""


class RequestFilter(BaseModel):
    status: RequestStatus | None = None
    priority: Priority | None = None
    waiting_on: Role | None = None
    queue: Queue | None = None
    q: Annotated[str, StringConstraints(strip_whitespace=True, max_length=SEARCH_MAX_LENGTH)] = ""
    """A search: a request id, or words of the address, the tenant's name or the problem."""
    open_only: bool = False


class SearchResult(BaseModel):
    items: list[RequestRow]
    read: int
    """How many requests were read to find these."""
    more: bool
    """Whether there were older requests than the search read."""


class RequestPage(BaseModel):
    items: list[RequestRow]
    next_page_token: str | None
    """Pass back as ``page_token`` for the next page; absent on the last page."""


class MaintenanceMetrics(BaseModel):
    counts: dict[RequestStatus, int]
    total: int
    open: int
    queues: dict[Queue, int]
    paid_cents: dict[str, int]
    """Paid out to vendors per currency, from the payments ledger."""


def base_query(settings: Settings) -> str:
    return (
        f"WorkflowType = '{MaintenanceRequestWorkflow.__name__}' "
        f"AND TaskQueue = {quote(settings.maintenance_task_queue)}"
    )


def _queue_clause(queue: Queue, now: datetime) -> str:
    running = "ExecutionStatus = 'Running'"
    if queue == "emergency":
        return f"{sa.REQUEST_PRIORITY.name} = 'emergency' AND {running}"
    if queue == "expiring":
        soon = (now + EXPIRING_WITHIN).isoformat()
        return (
            f"{sa.STAGE_DEADLINE.name} <= '{soon}' "
            f"AND {sa.REQUEST_WAITING_ON.name} != '{NOBODY}' AND {running}"
        )
    return f"{sa.REQUEST_WAITING_ON.name} = {quote(queue)} AND {running}"


def visibility_query(
    settings: Settings, where: RequestFilter | None = None, now: datetime | None = None
) -> str:
    clauses = [base_query(settings)]
    if where is not None:
        if where.status is not None:
            clauses.append(f"{sa.STATUS.name} = {quote(where.status.value)}")
        if where.priority is not None:
            clauses.append(f"{sa.REQUEST_PRIORITY.name} = {quote(where.priority)}")
        if where.waiting_on is not None:
            clauses.append(f"{sa.REQUEST_WAITING_ON.name} = {quote(where.waiting_on)}")
        if where.queue is not None:
            clauses.append(_queue_clause(where.queue, now or datetime.now(UTC)))
        if where.open_only:
            clauses.append("ExecutionStatus = 'Running'")
    return " AND ".join(clauses)


async def row_of(execution: WorkflowExecution) -> RequestRow | None:
    """The list row a request keeps in its memo (None for one started but not yet run)."""
    memo = await execution.memo()
    if "row" not in memo:
        return None
    return RequestRow.model_validate(memo["row"])


async def list_requests(
    client: Client,
    settings: Settings,
    where: RequestFilter,
    *,
    page_size: int = 25,
    page_token: str | None = None,
) -> RequestPage:
    executions, next_token = await fetch_page(
        client,
        visibility_query(settings, where),
        page_size=page_size,
        page_token=page_token,
        key=page_token_key(settings),
    )
    rows = [row for row in [await row_of(e) for e in executions] if row]
    return RequestPage(items=rows, next_page_token=next_token)


def _haystack(row: RequestRow) -> str:
    parts = (row.request_id, row.summary, row.property_name, row.unit, row.address)
    return normal(" ".join((*parts, row.tenant_name, row.vendor_name)))


async def search_requests(
    client: Client, settings: Settings, where: RequestFilter, *, limit: int = 100
) -> SearchResult:
    """Requests whose id, address, unit, tenant, vendor or problem hold every word searched.

    Names and addresses are personal data and stay out of search attributes, so this reads
    the rows (each request's memo) of the newest ``SEARCH_SCAN`` requests that pass the other
    filters, a few visibility pages, and never queries a workflow. A request id is also
    looked up directly, however old."""
    wanted = words(where.q)
    found: list[RequestRow] = []
    exact = where.q.strip()
    if re.fullmatch(REQUEST_ID_PATTERN, exact):
        named = RequestFilter(**where.model_dump(exclude={"q"}))
        workflow_id = quote(request_workflow_id(exact))
        query = f"{visibility_query(settings, named)} AND WorkflowId = {workflow_id}"
        executions, _ = await fetch_page(
            client, query, page_size=1, page_token=None, key=page_token_key(settings)
        )
        found += [row for row in [await row_of(e) for e in executions] if row]
    rest = RequestFilter(**where.model_dump(exclude={"q"}))
    read, token = 0, None
    while read < SEARCH_SCAN:
        page = await list_requests(client, settings, rest, page_size=100, page_token=token)
        read += len(page.items)
        haystacks = ((row, _haystack(row)) for row in page.items)
        found += [row for row, text in haystacks if all(w in text for w in wanted)]
        token = page.next_page_token
        if token is None:
            break
    unique = list({row.request_id: row for row in found}.values())
    return SearchResult(items=unique[:limit], read=read, more=token is not None)


async def _paid(db: Database) -> dict[str, int]:
    async with db.transaction() as session:
        paid = await session.execute(
            select(PayoutRow.currency, func.sum(PayoutRow.amount_cents)).group_by(
                PayoutRow.currency
            )
        )
        return {currency: int(total) for currency, total in paid}


async def maintenance_metrics(
    client: Client, settings: Settings, db: Database, *, now: datetime | None = None
) -> MaintenanceMetrics:
    base = base_query(settings)
    moment = now or datetime.now(UTC)
    statuses = list(RequestStatus)
    queues = list(QUEUES)
    per_status, per_queue, open_now, paid = await asyncio.gather(
        asyncio.gather(*(count(client, f"{base} AND {sa.STATUS.name} = '{s}'") for s in statuses)),
        asyncio.gather(*(count(client, f"{base} AND {_queue_clause(q, moment)}") for q in queues)),
        count(client, f"{base} AND ExecutionStatus = 'Running'"),
        _paid(db),
    )
    counts = dict(zip(statuses, per_status, strict=True))
    return MaintenanceMetrics(
        counts=counts,
        total=sum(counts.values()),
        open=open_now,
        queues=dict(zip(queues, per_queue, strict=True)),
        paid_cents=paid,
    )
