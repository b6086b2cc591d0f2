"""The intake's web side: the records the poller set aside (JSON, and a dashboard page with
the poller's state), and a demo property-management feed for a laptop.

The demo feed speaks the adapter's protocol (``pms.py``) from the ``pms_feed`` table, behind
``OPSDESK_PMS_TOKEN`` when one is set: ``opsdesk maintenance demo-request`` (or a POST here)
drops a request into it and the poller takes it from there. It serves only while
``OPSDESK_DEMO_PMS`` is on (``opsdesk dev`` turns it on); off, its routes answer 404.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from jinja2 import ChoiceLoader, PackageLoader
from pydantic import BaseModel
from sqlalchemy import select
from temporalio.client import Client, WorkflowQueryFailedError
from temporalio.service import RPCError, RPCStatusCode

from opsdesk.db import Database
from opsdesk.db.tables import PmsFeedRecord
from opsdesk.maintenance.claims import IntakeClaims
from opsdesk.maintenance.ids import poller_workflow_id
from opsdesk.maintenance.intake import NOTHING_NEW, Reject, Rejects
from opsdesk.maintenance.poller import PmsPollerWorkflow
from opsdesk.maintenance.polling import FETCH_PMS_BATCH, PollerState
from opsdesk.web.auth import VIEWER
from opsdesk.web.deps import client_of, db_of, settings_of
from opsdesk.web.errors import ApiError
from opsdesk.web.limits import rate_limited
from opsdesk.web.pages import templates as dashboard_templates
from opsdesk.web.params import ROW_ID_MAX, RowId, whole_number

MAX_BATCH = 500
PAGE_SIZE = 100
QUERY_TIMEOUT = timedelta(seconds=5)
FEED_PATH = "/dev/pms/requests"

router = APIRouter()
# The demo feed stands in for another company's system, which the poller reads with that
# system's own token (OPSDESK_PMS_TOKEN), not one of ours.
MACHINES = [Depends(rate_limited("machines"))]

_dashboard_loader = dashboard_templates.env.loader
assert _dashboard_loader is not None
templates = Jinja2Templates(
    env=dashboard_templates.env.overlay(
        loader=ChoiceLoader([PackageLoader("opsdesk.maintenance", "templates"), _dashboard_loader])
    )
)


# -- the demo feed ---------------------------------------------------------------------------


class DemoFeed:
    """The demo system's requests, oldest first; the cursor is a record's sequence number."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def add(self, record: dict[str, Any]) -> int:
        async with self.db.transaction() as session:
            row = PmsFeedRecord(record=record)
            session.add(row)
            await session.flush()
            return row.seq

    async def after(self, seq: int | None, limit: int) -> list[tuple[int, dict[str, Any]]]:
        query = select(PmsFeedRecord).order_by(PmsFeedRecord.seq).limit(limit)
        if seq is not None:
            query = query.where(PmsFeedRecord.seq > seq)
        async with self.db.transaction() as session:
            return [(row.seq, row.record) for row in (await session.scalars(query)).all()]


def _demo_feed(request: Request) -> DemoFeed:
    settings = settings_of(request)
    if not settings.demo_pms:
        raise ApiError(404, "not_found", f"There is no page at {request.url.path}")
    token = settings.pms_token
    if token is not None:
        given = request.headers.get("authorization", "")
        scheme, _, value = given.partition(" ")
        if scheme.lower() != "bearer" or not secrets.compare_digest(
            value.strip().encode(), token.get_secret_value().encode()
        ):
            raise ApiError(401, "unauthorized", "a valid Bearer token is required")
    return DemoFeed(db_of(request))


class FeedPage(BaseModel):
    requests: list[dict[str, Any]]
    cursor: str | None


class Dropped(BaseModel):
    seq: int
    id: Any = None


@router.get(FEED_PATH, include_in_schema=False, dependencies=MACHINES)
async def demo_feed_requests(
    request: Request,
    after: Annotated[str | None, Query(max_length=20)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_BATCH)] = 50,
) -> FeedPage:
    feed = _demo_feed(request)
    seq = None
    if after is not None:
        seq = whole_number(after, ROW_ID_MAX)
        if seq is None:
            raise ApiError(422, "invalid_input", "after: a cursor this feed gave (digits)")
    rows = await feed.after(seq, limit)
    return FeedPage(
        requests=[record for _, record in rows], cursor=str(rows[-1][0]) if rows else after
    )


@router.post(FEED_PATH, status_code=201, include_in_schema=False, dependencies=MACHINES)
async def demo_feed_drop(request: Request, record: Annotated[dict[str, Any], Body()]) -> Dropped:
    """Drop one record into the demo feed, as the system's own users would (a bad one too)."""
    feed = _demo_feed(request)
    return Dropped(seq=await feed.add(record), id=record.get("id"))


# -- what the poller set aside, and the poller ---------------------------------------------------


class RejectPage(BaseModel):
    rejects: list[Reject]
    next_before: int | None
    """Pass as ``before`` for the next (older) page; None on the last."""


@router.get("/api/maintenance/intake/rejects", tags=["maintenance"], dependencies=VIEWER)
async def list_rejects(
    request: Request,
    source: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_BATCH)] = PAGE_SIZE,
    before: Annotated[RowId | None, Query()] = None,
) -> RejectPage:
    """Records polled from a property-management system that did not validate, newest
    first, each with the reason it was set aside."""
    rejects = await Rejects(db_of(request)).list(source, limit, before)
    return RejectPage(
        rejects=rejects, next_before=rejects[-1].id if len(rejects) == limit else None
    )


@dataclass(frozen=True)
class PollerStatus:
    """The poller as the intake page shows it."""

    source: str
    workflow_id: str
    status: str
    """RUNNING, FAILED, …, or NOT_STARTED when there is none."""
    state: PollerState | None = None
    last_poll_at: datetime | None = None
    """When the fetch last asked the system (its latest attempt)."""
    attempts: int = 0
    last_error: str | None = None
    """Why the latest attempt failed, unless it was only that nothing was new."""
    problem: str | None = None
    """What kept us from reading the poller."""


async def poller_status(client: Client, source: str) -> PollerStatus:
    workflow_id = poller_workflow_id(source)
    handle = client.get_workflow_handle_for(PmsPollerWorkflow.run, workflow_id)
    try:
        description = await handle.describe(rpc_timeout=QUERY_TIMEOUT)
    except RPCError as exc:
        if exc.status is RPCStatusCode.NOT_FOUND:
            return PollerStatus(source, workflow_id, "NOT_STARTED")
        return PollerStatus(source, workflow_id, "UNKNOWN", problem=f"Temporal: {exc.message}")
    status = description.status.name if description.status else "UNKNOWN"
    last_poll_at, attempts, last_error = None, 0, None
    # The fetch's retries never reach the history; the pending activity shows the latest.
    for pending in description.raw_description.pending_activities:
        if pending.activity_type.name != FETCH_PMS_BATCH:
            continue
        attempts = pending.attempt
        # Between attempts only the last one's end is set; during one, its start.
        times = [
            getattr(pending, name).ToDatetime(tzinfo=UTC)
            for name in ("last_started_time", "last_attempt_complete_time")
            if pending.HasField(name)
        ]
        last_poll_at = max(times, default=None)
        failure = pending.last_failure
        if failure.message and failure.application_failure_info.type != NOTHING_NEW:
            last_error = failure.message
    state, problem = None, None
    if status == "RUNNING":
        try:
            state = await handle.query(PmsPollerWorkflow.get_state, rpc_timeout=QUERY_TIMEOUT)
        except (RPCError, WorkflowQueryFailedError) as exc:
            problem = f"the poller did not answer (is a worker running?): {exc}"
    return PollerStatus(
        source, workflow_id, status, state, last_poll_at, attempts, last_error, problem
    )


@router.get(
    "/maintenance/intake",
    response_class=HTMLResponse,
    include_in_schema=False,
    dependencies=VIEWER,
)
async def intake_page(request: Request) -> HTMLResponse:
    settings = settings_of(request)
    client = client_of(request)
    poller = await poller_status(client, settings.pms_source)
    # The stored cursor is where the next batch begins, whatever poller (if any) runs now.
    stored = await IntakeClaims(db_of(request)).cursor(settings.pms_source)
    cursor = stored.cursor if stored else (poller.state.cursor if poller.state else None)
    rejects = await Rejects(db_of(request)).list(limit=PAGE_SIZE)
    base = settings.resolved_temporal_ui_url.rstrip("/")
    return templates.TemplateResponse(
        request,
        "maintenance/intake.html",
        {
            "section": "maintenance",
            "temporal_ui": settings.resolved_temporal_ui_url,
            "configured": settings.pms_url is not None,
            "poller": poller,
            "cursor": cursor,
            "poller_url": f"{base}/namespaces/{client.namespace}/workflows/{poller.workflow_id}",
            "rejects": rejects,
            "page_size": PAGE_SIZE,
        },
    )
