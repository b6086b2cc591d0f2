"""Running and answering maintenance requests in tests: the real worker assembly, the
sample directory, and answers as each channel sends them."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import jwt
from sqlalchemy import func, select
from temporalio.client import Client, WorkflowHandle
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from opsdesk.app import create_app
from opsdesk.db import Database
from opsdesk.db.tables import OutboxMessage
from opsdesk.maintenance.directory import Directory
from opsdesk.maintenance.ids import request_workflow_id
from opsdesk.maintenance.inputs import (
    Answer,
    AvailabilityAnswer,
    CompletionAnswer,
    Decision,
    InvoiceAnswer,
    MaintenancePolicy,
    QuoteAnswer,
    RequestForm,
    RequestSubmission,
    SlotAnswer,
    TenantContact,
    WorkDoneAnswer,
)
from opsdesk.maintenance.notices import FOLLOW
from opsdesk.maintenance.state import RequestState
from opsdesk.maintenance.status import RequestStatus, Stage
from opsdesk.maintenance.workflow import MaintenanceRequestWorkflow
from opsdesk.notify.signing import LinkSigner, link_key
from opsdesk.notify.workflows import NotificationWorkflow, PhoneCallWorkflow
from opsdesk.settings import Settings
from opsdesk.temporal.interceptors import UnversionedInterceptor
from opsdesk.worker import (
    ai_activities,
    build_workers,
    call_activities,
    maintenance_activities,
    notify_activities,
    running,
    workflow_runner,
)
from tests.http import serve
from tests.waiting import eventually

RequestHandle = WorkflowHandle[MaintenanceRequestWorkflow, RequestState]

LEAK = "The kitchen tap leaks under the sink and the cabinet is getting wet"
BURST = "A pipe burst in the bathroom and water is flooding the hallway"


@asynccontextmanager
async def maintenance_worker(
    env: WorkflowEnvironment, db: Database, settings: Settings
) -> AsyncIterator[None]:
    async with running(build_workers(env.client, db, settings)):
        yield


SAM = TenantContact(name="Sam Rivera", email="sam.rivera@example.com")
JORDAN = TenantContact(name="Jordan Blake", email="jordan.blake@example.com")
"""The tenant on file for 48 Elm Street's main unit."""
"""The tenant on file of 12 Harbor Lane, unit 1A."""


def form(
    description: str = LEAK,
    property_id: str = "harbor-12",
    unit: str = "1A",
    tenant: TenantContact = SAM,
) -> RequestForm:
    return RequestForm(property_id=property_id, unit=unit, tenant=tenant, description=description)


OPENED = datetime(2030, 5, 1, tzinfo=UTC)


def request_state(
    status: RequestStatus = RequestStatus.OWNER_APPROVAL, **fields: Any
) -> RequestState:
    """A request's state as its workflow would hold it, opened at ``OPENED`` from ``form()``,
    with ``fields`` set: for code that reads a state, without a workflow."""
    return RequestState(
        request_id="MR-1",
        status=status,
        source="form",
        form=form(),
        created_at=OPENED,
        updated_at=OPENED,
        **fields,
    )


async def start(
    client: Client,
    settings: Settings,
    description: str = LEAK,
    policy: MaintenancePolicy | None = None,
    **where: Any,
) -> RequestHandle:
    request_id = f"MR-{uuid.uuid4().hex[:8]}"
    return await client.start_workflow(
        MaintenanceRequestWorkflow.run,
        RequestSubmission(
            request_id=request_id,
            form=form(description, **where),
            policy=policy or MaintenancePolicy(),
        ),
        id=request_workflow_id(request_id),
        task_queue=settings.maintenance_task_queue,
    )


async def waiting_for(
    handle: RequestHandle, stage: Stage, timeout: float = 60.0, round: int | None = None
) -> RequestState:
    """The state once the request asks ``stage`` (of ``round``, when given)."""
    return await eventually(
        lambda: handle.query(MaintenanceRequestWorkflow.get_state),
        lambda s: (
            s.question is not None
            and s.question.stage is stage
            and round in (None, s.question.round)
        ),
        timeout=timeout,
    )


async def ended(handle: RequestHandle, timeout: float = 60.0) -> RequestState:
    return await eventually(
        lambda: handle.query(MaintenanceRequestWorkflow.get_state),
        lambda s: s.status.terminal,
        timeout=timeout,
    )


def answer(actor: str = "someone", channel: str = "api", **fields: Any) -> dict[str, Any]:
    return {"answer_id": uuid.uuid4().hex, "actor": actor, "channel": channel, **fields}


def quick_policy(**deadlines: timedelta) -> MaintenancePolicy:
    return MaintenancePolicy(**deadlines)


TERMINAL = {RequestStatus.CLOSED, RequestStatus.EXPIRED, RequestStatus.DECLINED}


@asynccontextmanager
async def served_desk(
    env: WorkflowEnvironment, db: Database, settings: Settings
) -> AsyncIterator[httpx.AsyncClient]:
    """The app in-process with a worker behind it, as `opsdesk dev` runs them."""
    async with (
        maintenance_worker(env, db, settings),
        serve(create_app(settings, env.client)) as http,
    ):
        yield http


async def link_for(db: Database, request_id: str, to: str, after: int = 0) -> str:
    """The path of the newest signed link that answers a question emailed to ``to`` about
    the request (from the outbox, as it was sent), waiting for the email to be recorded."""

    async def newest() -> str | None:
        async with db.transaction() as session:
            rows = (
                await session.scalars(
                    select(OutboxMessage)
                    .where(
                        OutboxMessage.reference == request_workflow_id(request_id),
                        OutboxMessage.to_address == to,
                        OutboxMessage.id > after,
                    )
                    .order_by(OutboxMessage.id.desc())
                )
            ).all()
        for row in rows:
            found = LINK.search(row.body_text)
            # A receipt's follow link answers nothing: not the link a test is after.
            if found and not _follows(found.group(1)):
                return found.group(1)
        return None

    path = await eventually(newest, lambda found: found is not None)
    assert path is not None
    return path


def _follows(path: str) -> bool:
    """Whether a link's path is a follow link (read without its key: only its stage)."""
    claims = jwt.decode(path.rsplit("/", 1)[1], options={"verify_signature": False})
    return bool(claims.get("stg") == FOLLOW)


async def link_for_stage(
    db: Database, settings: Settings, request_id: str, to: str, stage: str
) -> str:
    """The path of the signed link for ``stage`` emailed to ``to`` about the request, read
    from the sent email (whatever else was sent to them around it)."""
    signer = LinkSigner(link_key(settings), settings.resolved_public_url)

    async def find() -> str | None:
        async with db.transaction() as session:
            texts = (
                await session.scalars(
                    select(OutboxMessage.body_text).where(
                        OutboxMessage.reference == request_workflow_id(request_id),
                        OutboxMessage.to_address == to,
                    )
                )
            ).all()
        for text in texts:
            for found in LINK.finditer(text):
                path = found.group(1)
                if signer.verify(path.rsplit("/", 1)[1]).stage == stage:
                    return path
        return None

    found = await eventually(find, lambda path: path is not None)
    assert found is not None
    return found


async def newest_message(db: Database) -> int:
    """The outbox's newest message id: a link sent later is in a message after it."""
    async with db.transaction() as session:
        return int(await session.scalar(select(func.max(OutboxMessage.id))) or 0)


LINK = re.compile(r"https?://[^/\s]+(/links/[A-Za-z0-9_.-]+)")


# How a test answers each stage to get past it: a quote under nobody's limit but the
# owner's, a visit that has begun (work is marked done only once it has), the work done,
# confirmed, invoiced at the quote.
_VISIT_START = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)


def _window() -> dict[str, datetime]:
    # The same window whenever it is asked for, so a visit booked in it always fits.
    return {"start": _VISIT_START, "end": _VISIT_START + timedelta(hours=4)}


PASSING: dict[Stage, tuple[Any, Callable[[], Answer]]] = {
    Stage.OWNER_APPROVAL: (
        MaintenanceRequestWorkflow.answer_owner_approval,
        lambda: Decision(**answer("owner"), approve=True),
    ),
    Stage.VENDOR_QUOTE: (
        MaintenanceRequestWorkflow.answer_vendor_quote,
        lambda: QuoteAnswer(**answer("vendor"), amount_cents=30000),
    ),
    Stage.ESTIMATE_APPROVAL: (
        MaintenanceRequestWorkflow.answer_estimate_approval,
        lambda: Decision(**answer("owner"), approve=True),
    ),
    Stage.AVAILABILITY: (
        MaintenanceRequestWorkflow.answer_availability,
        lambda: AvailabilityAnswer(**answer("tenant"), windows=[_window()]),
    ),
    Stage.SLOT: (
        MaintenanceRequestWorkflow.answer_slot,
        lambda: SlotAnswer(**answer("vendor"), slot=_window()),
    ),
    Stage.WORK_DONE: (
        MaintenanceRequestWorkflow.answer_work_done,
        lambda: WorkDoneAnswer(**answer("vendor")),
    ),
    Stage.COMPLETION: (
        MaintenanceRequestWorkflow.answer_completion,
        lambda: CompletionAnswer(**answer("tenant"), fixed=True),
    ),
    Stage.INVOICE: (
        MaintenanceRequestWorkflow.answer_invoice,
        lambda: InvoiceAnswer(**answer("vendor"), amount_cents=30000),
    ),
    Stage.REPORT_CHECK: (
        MaintenanceRequestWorkflow.answer_report_check,
        lambda: Decision(**answer("tenant"), approve=True),
    ),
}


async def drive_to(handle: RequestHandle, target: Stage, quote: int = 30000) -> RequestState:
    """Answer every question the request asks until it asks ``target``; vendors quote
    ``quote`` cents (the sample property approves up to 25000 without asking)."""
    while True:
        state = await eventually(
            lambda: handle.query(MaintenanceRequestWorkflow.get_state),
            lambda s: s.question is not None or s.status.terminal,
        )
        if state.question is None:
            # Asked and already lapsed (a deadline of seconds on a busy machine) counts.
            assert state.latest(target) is not None, f"the request ended: {state.status}"
            return state
        if state.question.stage is target:
            return state
        update, make = PASSING[state.question.stage]
        answer_now = make()
        if isinstance(answer_now, QuoteAnswer):
            answer_now.amount_cents = quote
        await handle.execute_update(update, answer_now)


@asynccontextmanager
async def maintenance_worker_with(
    env: WorkflowEnvironment, db: Database, settings: Settings, *, directory: Directory
) -> AsyncIterator[None]:
    """The maintenance queue's worker as ``opsdesk worker`` builds it, with the directory
    replaced: how a test makes a step give up."""
    activities = maintenance_activities(db)
    activities.directory = directory
    worker = Worker(
        env.client,
        task_queue=settings.maintenance_task_queue,
        workflows=[MaintenanceRequestWorkflow, NotificationWorkflow, PhoneCallWorkflow],
        activities=[
            *activities.all(),
            *ai_activities(db, None).all(),
            *notify_activities(db, settings, None).all(),
            *call_activities(db, settings).all(),
        ],
        workflow_runner=workflow_runner(),
        # As `build_workers` makes an unversioned worker (the workflows declare how they
        # are versioned, which the server refuses from a worker outside a deployment).
        interceptors=[UnversionedInterceptor()],
    )
    async with worker:
        yield
