"""Record the workflow histories the replay test guards.

    uv run python -m tests.histories.record

Run it when a workflow change is released, commit the new files next to the old ones, and
keep the old ones: they are what running orders' histories look like. (`order-unscored` is
the branch before `risk-rules-fallback`: an order whose risk step failed, recorded once on
the code before that patch, with the charges table renamed away.) It records only the
scenarios that have no file yet, so the old histories stay as the old code wrote them; add
a scenario (with a new order id) for each new path worth guarding.
"""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import SecretStr
from sqlalchemy import select
from temporalio.client import (
    WorkflowExecutionStatus,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowHistory,
)
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from opsdesk.app import create_app
from opsdesk.db import Database
from opsdesk.db.migrate import upgrade_async
from opsdesk.db.tables import OutboxMessage
from opsdesk.files.refs import FileRef
from opsdesk.maintenance.claims import IntakeClaims
from opsdesk.maintenance.compliance import VendorDocuments
from opsdesk.maintenance.directory import Directory, sample_directory
from opsdesk.maintenance.document_reminders import DocumentRemindersWorkflow
from opsdesk.maintenance.feed import FEED_PATH, DemoFeed
from opsdesk.maintenance.ids import external_request_id, poller_workflow_id, request_workflow_id
from opsdesk.maintenance.inputs import (
    CallEnded,
    CallTranscript,
    CompletionAnswer,
    Decision,
    InvoiceAnswer,
    PreventiveFacts,
    QuoteAnswer,
    ReassignRequest,
    RequestForm,
    SlotAnswer,
    TenantContact,
)
from opsdesk.maintenance.inputs import CancelRequest as StopRequest
from opsdesk.maintenance.invoice import InvoiceLine
from opsdesk.maintenance.owner_policy import OwnerPolicy
from opsdesk.maintenance.payloads import ReminderRequest
from opsdesk.maintenance.poller import PmsPollerWorkflow
from opsdesk.maintenance.polling import (
    ClaimRecords,
    CommitBatch,
    PollerInput,
    RecordClaim,
    batch_stamp,
)
from opsdesk.maintenance.preventive import Opened, PreventiveRunInput
from opsdesk.maintenance.preventive_workflow import PreventiveRunWorkflow
from opsdesk.maintenance.service import (
    RequestHandle,
    request_handle,
    submission_of,
    submit_request,
)
from opsdesk.maintenance.status import Stage
from opsdesk.maintenance.workflow import MaintenanceRequestWorkflow
from opsdesk.notify.links import LinkGrant
from opsdesk.notify.signing import LinkSigner, link_key
from opsdesk.orders.inputs import AdvanceRequest, CancelRequest
from opsdesk.orders.inventory import Inventory
from opsdesk.orders.service import (
    order_handle,
    restock,
    restock_workflow_id,
    start_order,
    submit_order,
)
from opsdesk.orders.state import OrderState
from opsdesk.orders.status import OrderStatus
from opsdesk.orders.workflow import OrderWorkflow
from opsdesk.settings import Settings
from opsdesk.temporal.client import register_search_attributes
from opsdesk.temporal.devserver import find_binary
from opsdesk.worker import build_workers, running
from tests.ai.fake_llm import FakeLLM, Reply, anthropic_tool, fake_llm, with_claude
from tests.http import served
from tests.maintenance.helpers import drive_to, waiting_for
from tests.orders.contention import write_lock_held
from tests.orders.factory import CATALOG, GREY_RISK, OUT_OF_STOCK, order_request
from tests.waiting import eventually

HERE = Path(__file__).parent
Handle = WorkflowHandle[OrderWorkflow, OrderState]


async def _until(handle: Handle, status: OrderStatus) -> None:
    for _ in range(600):
        if (await handle.query(OrderWorkflow.get_state)).status is status:
            return
        await asyncio.sleep(0.05)
    raise TimeoutError(f"{handle.id} never reached {status}")


async def delivered(env: WorkflowEnvironment, settings: Settings) -> Handle:
    handle = await start_order(env.client, settings, order_request(order_id="delivered"))
    await _until(handle, OrderStatus.CONFIRMED)
    await handle.signal(
        OrderWorkflow.request_advance, AdvanceRequest(request_id="s", tracking_number="1Z")
    )
    await _until(handle, OrderStatus.SHIPPED)
    await handle.signal(OrderWorkflow.request_advance, AdvanceRequest(request_id="d"))
    return handle


async def delivered_by_updates(env: WorkflowEnvironment, settings: Settings) -> Handle:
    """As the API does it; recorded after notices stopped waiting for their child's start."""
    handle = await start_order(env.client, settings, order_request(order_id="updated"))
    await _until(handle, OrderStatus.CONFIRMED)
    await handle.execute_update(
        OrderWorkflow.advance, AdvanceRequest(request_id="s", tracking_number="1Z"), id="s"
    )
    await handle.execute_update(OrderWorkflow.advance, AdvanceRequest(request_id="d"), id="d")
    return handle


async def submitted_and_retried(env: WorkflowEnvironment, settings: Settings) -> Handle:
    """As the API and the shop webhook do it since issue 28: update-with-start, whose
    ``submitted`` update answers, then a retry of it; then cancelled."""
    request = order_request(order_id="submitted")
    await submit_order(env.client, settings, request)
    await submit_order(env.client, settings, request)
    handle = order_handle(env.client, request.order_id)
    await _until(handle, OrderStatus.CONFIRMED)
    await handle.signal(OrderWorkflow.request_cancel, CancelRequest(reason="changed mind"))
    return handle


async def rejected_in_review(env: WorkflowEnvironment, settings: Settings) -> Handle:
    handle = await start_order(env.client, settings, order_request(GREY_RISK, order_id="rejected"))
    await _until(handle, OrderStatus.REVIEW)
    await handle.signal(OrderWorkflow.request_cancel, CancelRequest(reason="fraud"))
    return handle


async def restocked_then_cancelled(env: WorkflowEnvironment, settings: Settings) -> Handle:
    handle = await start_order(
        env.client, settings, order_request(OUT_OF_STOCK, order_id="restocked")
    )
    await _until(handle, OrderStatus.AWAITING_STOCK)
    await restock(env.client, settings, "KETTLE-01", 1, request_id="history")
    await _until(handle, OrderStatus.CONFIRMED)
    await handle.signal(OrderWorkflow.request_cancel, CancelRequest(reason="changed mind"))
    return handle


async def escalated(env: WorkflowEnvironment, settings: Settings) -> Handle:
    handle = await start_order(env.client, settings, order_request(order_id="escalated"))
    await _until(handle, OrderStatus.CONFIRMED)
    await env.sleep(timedelta(days=8))
    await handle.signal(OrderWorkflow.request_advance, AdvanceRequest())
    await _until(handle, OrderStatus.SHIPPED)
    await handle.signal(OrderWorkflow.request_advance, AdvanceRequest())
    return handle


async def claude_approved(env: WorkflowEnvironment, settings: Settings) -> Handle:
    handle = await start_order(env.client, settings, order_request(order_id="claude-approved"))
    await _until(handle, OrderStatus.CONFIRMED)
    await handle.signal(OrderWorkflow.request_cancel, CancelRequest(reason="changed mind"))
    return handle


async def claude_unusable(env: WorkflowEnvironment, settings: Settings) -> Handle:
    handle = await start_order(env.client, settings, order_request(order_id="claude-unusable"))
    await _until(handle, OrderStatus.REVIEW)
    await handle.signal(OrderWorkflow.request_advance, AdvanceRequest(request_id="approve"))
    await _until(handle, OrderStatus.CONFIRMED)
    await handle.signal(OrderWorkflow.request_cancel, CancelRequest(reason="changed mind"))
    return handle


async def cancelled_while_allocating(
    env: WorkflowEnvironment, settings: Settings, db: Database, order_id: str
) -> Handle:
    """The cancel lands while the reservation waits on a busy database."""
    handle = await start_order(
        env.client, settings, order_request(order_id=order_id, token="tok_slow")
    )
    await _until(handle, OrderStatus.PAYMENT)
    async with write_lock_held(db):
        await _until(handle, OrderStatus.ALLOCATING)
        await handle.signal(OrderWorkflow.request_cancel, CancelRequest(reason="changed mind"))
    return handle


async def cancelled_in_temporal(
    env: WorkflowEnvironment, settings: Settings, db: Database, order_id: str
) -> Handle:
    """What `temporal workflow cancel` does to a confirmed order."""
    handle = await start_order(env.client, settings, order_request(order_id=order_id))
    await _until(handle, OrderStatus.CONFIRMED)
    await handle.cancel()
    return handle


async def restock_waking_an_order(
    env: WorkflowEnvironment, settings: Settings, db: Database, order_id: str
) -> WorkflowHandle[Any, Any]:
    """The restock workflow itself, waking an order that waits for the kettle."""
    order = await start_order(env.client, settings, order_request(OUT_OF_STOCK, order_id=order_id))
    await _until(order, OrderStatus.AWAITING_STOCK)
    await restock(env.client, settings, "KETTLE-01", 1, request_id=order_id)
    await _until(order, OrderStatus.CONFIRMED)
    return env.client.get_workflow_handle(restock_workflow_id("KETTLE-01", order_id))


_HISTORY_SOURCE = "history"
_CLAIMS_SOURCE = "history-claims"


def _feed_record(external_id: str, property_id: str) -> dict[str, Any]:
    return {
        "id": external_id,
        "property_id": property_id,
        "unit": "Main" if property_id == "elm-48" else "1A",
        "tenant_name": "Sam Rivera",
        "tenant_email": "sam.rivera@example.com",
        "description": "The kitchen tap leaks under the sink",
    }


@contextlib.asynccontextmanager
async def _feed_served(
    env: WorkflowEnvironment, settings: Settings, source: str
) -> AsyncIterator[Settings]:
    settings = settings.model_copy(
        update={"demo_pms": True, "pms_token": SecretStr("history"), "pms_source": source}
    )
    async with served(create_app(settings, env.client)) as url:
        yield settings.model_copy(update={"pms_url": f"{url}{FEED_PATH}"})


@contextlib.asynccontextmanager
async def pms_feed(
    env: WorkflowEnvironment, settings: Settings, db: Database
) -> AsyncIterator[Settings]:
    """The sample directory, and the demo feed on loopback with three records in it (the
    second names no property the directory has)."""
    await Directory(db).import_directory(sample_directory())
    feed = DemoFeed(db)
    for external_id, property_id in (("H-1", "harbor-12"), ("H-2", "nowhere-1"), ("H-3", "elm-48")):
        await feed.add(_feed_record(external_id, property_id))
    async with _feed_served(env, settings, _HISTORY_SOURCE) as ready:
        yield ready


@contextlib.asynccontextmanager
async def pms_feed_with_claims(
    env: WorkflowEnvironment, settings: Settings, db: Database
) -> AsyncIterator[Settings]:
    """The sample directory, and the demo feed after an earlier batch took H-1 (its claim,
    and the stored cursor after it); then H-1 sent again, a record naming no property the
    directory has, H-3 and H-4."""
    await Directory(db).import_directory(sample_directory())
    feed = DemoFeed(db)
    claims = IntakeClaims(db)
    earlier = batch_stamp(poller_workflow_id(_CLAIMS_SOURCE), 0)
    taken = await feed.add(_feed_record("H-1", "harbor-12"))
    await claims.claim(
        ClaimRecords(
            source=_CLAIMS_SOURCE,
            stamp=earlier,
            records=[
                RecordClaim(
                    external_id="H-1", request_id=external_request_id(_CLAIMS_SOURCE, "H-1")
                )
            ],
        )
    )
    await claims.commit(
        CommitBatch(
            source=_CLAIMS_SOURCE, number=0, cursor=str(taken), stamp=earlier, started=["H-1"]
        )
    )
    for external_id, property_id in (
        ("H-1", "harbor-12"),
        ("H-2", "nowhere-1"),
        ("H-3", "elm-48"),
        ("H-4", "harbor-12"),
    ):
        await feed.add(_feed_record(external_id, property_id))
    async with _feed_served(env, settings, _CLAIMS_SOURCE) as ready:
        yield ready


async def _first_run_of_a_poller(
    env: WorkflowEnvironment, settings: Settings, started_before: str
) -> WorkflowHandle[Any, Any]:
    """Start ``started_before``'s request as an earlier poller did, then a poller of one poll
    a run; its first run, once it has continued as new (the poller is stopped there)."""
    source = settings.pms_source
    earlier = submission_of(
        settings,
        external_request_id(source, started_before),
        RequestForm(
            property_id="harbor-12",
            unit="1A",
            tenant=TenantContact(name="Sam Rivera", email="sam.rivera@example.com"),
            description="The kitchen tap leaks under the sink",
        ),
        source="pms",
        external_id=started_before,
    )
    await submit_request(env.client, settings, earlier)
    handle = await env.client.start_workflow(
        PmsPollerWorkflow.run,
        PollerInput(source=source, poll_interval=timedelta(seconds=1), max_polls=1),
        id=poller_workflow_id(source),
        task_queue=settings.maintenance_task_queue,
    )
    first = env.client.get_workflow_handle(handle.id, run_id=handle.result_run_id)
    for _ in range(600):
        if (await first.describe()).status is WorkflowExecutionStatus.CONTINUED_AS_NEW:
            break
        await asyncio.sleep(0.05)
    else:
        raise TimeoutError("the poller never continued as new")
    await env.client.get_workflow_handle(handle.id).terminate("recorded")
    return first


async def polled_from_a_feed(
    env: WorkflowEnvironment, settings: Settings, db: Database
) -> WorkflowHandle[Any, Any]:
    """The poller's first run: one record started before (by an earlier poller), one set
    aside, one started; then it continues as new (one poll a run), and is stopped there."""
    return await _first_run_of_a_poller(env, settings, "H-1")


async def claimed_from_a_feed(
    env: WorkflowEnvironment, settings: Settings, db: Database
) -> WorkflowHandle[Any, Any]:
    """The poller's first run with claims: after the stored cursor, H-1 claimed by an earlier
    batch (a duplicate), one set aside, H-3 started before claims, H-4 claimed and started;
    the batch committed; then it continues as new, and is stopped there."""
    return await _first_run_of_a_poller(env, settings, "H-3")


@contextlib.asynccontextmanager
async def maintenance_directory(
    env: WorkflowEnvironment, settings: Settings, db: Database
) -> AsyncIterator[Settings]:
    await Directory(db).import_directory(sample_directory())
    yield settings


_SAM = TenantContact(name="Sam Rivera", email="sam.rivera@example.com")


@contextlib.asynccontextmanager
async def lapsed_insurance(
    env: WorkflowEnvironment, settings: Settings, db: Database
) -> AsyncIterator[Settings]:
    """The sample directory, the first plumber's general liability insurance expired."""
    await Directory(db).import_directory(sample_directory())
    lapsed = datetime.now(UTC).date() - timedelta(days=5)
    await VendorDocuments(db).add("ven-flow", "general_liability", lapsed, uploaded_by="Ops")
    yield settings


@contextlib.asynccontextmanager
async def expiring_licence(
    env: WorkflowEnvironment, settings: Settings, db: Database
) -> AsyncIterator[Settings]:
    """The sample directory, the electrician's licence expiring in a week."""
    await Directory(db).import_directory(sample_directory())
    soon = datetime.now(UTC).date() + timedelta(days=7)
    await VendorDocuments(db).add("ven-volt", "licence", soon, uploaded_by="Ops")
    yield settings


async def document_reminders(
    env: WorkflowEnvironment, settings: Settings, _db: Database
) -> WorkflowHandle[Any, Any]:
    """A day's reminders run: the vendor and ops told of the licence, each once."""
    return await env.client.start_workflow(
        DocumentRemindersWorkflow.run,
        ReminderRequest(ops_email=settings.ops_email, zone="America/Los_Angeles"),
        id="vendor-document-reminders-history",
        task_queue=settings.maintenance_task_queue,
    )


async def _reported(
    env: WorkflowEnvironment,
    settings: Settings,
    request_id: str,
    tenant: TenantContact = _SAM,
    description: str = "The kitchen tap leaks under the sink and the cabinet is wet",
    unit: str = "1A",
    **policy: Any,
) -> RequestHandle:
    submission = submission_of(
        settings,
        request_id,
        RequestForm(
            property_id="harbor-12",
            unit=unit,
            tenant=tenant,
            description=description,
        ),
    )
    if policy:
        submission = submission.model_copy(
            update={"policy": submission.policy.model_copy(update=policy)}
        )
    await submit_request(env.client, settings, submission)
    return request_handle(env.client, request_id)


async def repaired_and_paid(
    env: WorkflowEnvironment, settings: Settings, _db: Database, request_id: str = "history-closed"
) -> RequestHandle:
    """Every stage answered, the estimate above the owner's limit, the repair not fixed the
    first time, the invoice over the estimate: CLOSED with a payout."""
    handle = await _reported(env, settings, request_id)
    await drive_to(handle, Stage.COMPLETION, quote=40000)
    await handle.execute_update(
        MaintenanceRequestWorkflow.answer_completion,
        CompletionAnswer(answer_id="not-fixed", actor="Sam", channel="email", fixed=False),
    )
    await drive_to(handle, Stage.INVOICE_APPROVAL, quote=40000)
    await handle.execute_update(
        MaintenanceRequestWorkflow.answer_invoice_approval,
        Decision(answer_id="pay", actor="Harbor Lane Holdings", channel="email", approve=True),
    )
    return handle


async def no_window_fits_then_paid(
    env: WorkflowEnvironment, settings: Settings, _db: Database
) -> RequestHandle:
    """The vendor says none of the tenant's times works: the tenant is asked again, then
    the repair goes on to a paid invoice."""
    handle = await _reported(env, settings, "history-no-window-fits")
    await drive_to(handle, Stage.SLOT, quote=40000)
    await handle.execute_update(
        MaintenanceRequestWorkflow.answer_slot,
        SlotAnswer(answer_id="none-fits", actor="FlowRight", channel="email", none_fits=True),
    )
    await waiting_for(handle, Stage.AVAILABILITY, round=2)
    await drive_to(handle, Stage.INVOICE_APPROVAL, quote=40000)
    await handle.execute_update(
        MaintenanceRequestWorkflow.answer_invoice_approval,
        Decision(answer_id="pay", actor="Harbor Lane Holdings", channel="email", approve=True),
    )
    return handle


async def confirmed_by_the_tenant_on_file(
    env: WorkflowEnvironment, settings: Settings, _db: Database
) -> RequestHandle:
    """Someone not on file reports on the web form (patch ``report-check``): the tenant on
    file confirms by email, the owner is asked, and ops cancel."""
    stranger = TenantContact(name="Alex Stone", email="alex.stone@example.com")
    handle = await _reported(env, settings, "history-report-checked", stranger)
    await waiting_for(handle, Stage.REPORT_CHECK)
    await handle.execute_update(
        MaintenanceRequestWorkflow.answer_report_check,
        Decision(answer_id="confirm", actor="Sam Rivera", channel="email", approve=True),
    )
    await waiting_for(handle, Stage.OWNER_APPROVAL)
    await handle.execute_update(
        MaintenanceRequestWorkflow.cancel,
        StopRequest(answer_id="stop", actor="Dana (ops)", reason="reported twice"),
    )
    return handle


async def emergency_unchecked_went_ahead(
    env: WorkflowEnvironment, settings: Settings, _db: Database
) -> RequestHandle:
    """Someone not on file reports an emergency for a unit with nobody on file (patch
    ``report-check-by-office``): it waits in ops' queue, nobody answers in time, and it goes
    ahead as if accepted; then ops cancel it."""
    stranger = TenantContact(name="Alex Stone", email="alex.stone@example.com")
    # A deadline of seconds, as for the expired request (temporalio/sdk-java#2392).
    seconds = dict.fromkeys(("emergency", "urgent", "routine"), timedelta(seconds=2))
    handle = await _reported(
        env,
        settings,
        "history-report-unchecked",
        stranger,
        "A pipe burst in the bathroom and water is flooding the hallway",
        unit="3C",
        report_check=seconds,
    )
    await waiting_for(handle, Stage.VENDOR_QUOTE)
    await handle.execute_update(
        MaintenanceRequestWorkflow.cancel,
        StopRequest(answer_id="stop", actor="Dana (ops)", reason="a plumber is already there"),
    )
    return handle


async def preventive_job_paid(
    env: WorkflowEnvironment, settings: Settings, _db: Database
) -> RequestHandle:
    """A preventive job's request: triaged as the job says, the repair not put to the
    owner, a quote within the owner's limit, then on to a paid invoice."""
    request_id = "history-preventive"
    submission = submission_of(
        settings,
        request_id,
        RequestForm(
            property_id="harbor-12",
            unit="1A",
            tenant=TenantContact(name="Sam Rivera", email="sam.rivera@example.com"),
            description="Preventive maintenance: Replace the HVAC filters, due Mon 1 Mar 2027.",
        ),
        source="preventive",
        preventive=PreventiveFacts(
            job_id="harbor-12-hvac-filters",
            title="Replace the HVAC filters",
            trade="hvac",
            due=date(2027, 3, 1),
            due_words="Mon 1 Mar 2027",
        ),
    )
    await submit_request(env.client, settings, submission)
    handle = request_handle(env.client, request_id)
    await drive_to(handle, Stage.INVOICE_APPROVAL, quote=20000)
    await handle.execute_update(
        MaintenanceRequestWorkflow.answer_invoice_approval,
        Decision(answer_id="pay", actor="Harbor Lane Holdings", channel="email", approve=True),
    )
    return handle


async def photos_then_paid(
    env: WorkflowEnvironment, settings: Settings, _db: Database
) -> RequestHandle:
    """The tenant reports with a photo and a video and confirms the repair with another
    photo (references only): the repair goes on to a paid invoice."""
    photo = FileRef(key="uploads/" + "a" * 64, content_type="image/jpeg", size=1000, name="a.jpg")
    video = FileRef(
        key="uploads/" + "b" * 64, content_type="video/mp4", size=9000, name="b.mp4", kind="video"
    )
    request_id = "history-photos"
    form = RequestForm(
        property_id="harbor-12",
        unit="1A",
        tenant=TenantContact(name="Sam Rivera", email="sam.rivera@example.com"),
        description="The kitchen tap leaks under the sink and the cabinet is wet",
        photos=[photo, video],
    )
    await submit_request(env.client, settings, submission_of(settings, request_id, form))
    handle = request_handle(env.client, request_id)
    await drive_to(handle, Stage.COMPLETION, quote=20000)
    after = photo.model_copy(update={"key": "uploads/" + "c" * 64, "name": "c.jpg"})
    await handle.execute_update(
        MaintenanceRequestWorkflow.answer_completion,
        CompletionAnswer(
            answer_id="fixed", actor="Sam Rivera", channel="email", fixed=True, photos=[after]
        ),
    )
    await drive_to(handle, Stage.INVOICE_APPROVAL, quote=20000)
    await handle.execute_update(
        MaintenanceRequestWorkflow.answer_invoice_approval,
        Decision(answer_id="pay", actor="Harbor Lane Holdings", channel="email", approve=True),
    )
    return handle


async def itemised_invoice_paid(
    env: WorkflowEnvironment, settings: Settings, _db: Database
) -> RequestHandle:
    """The vendor's itemised invoice (a number, labour and materials, tax and a document)
    over the estimate: approved and paid, the payout recording the invoice."""
    handle = await _reported(env, settings, "history-invoiced")
    await drive_to(handle, Stage.INVOICE, quote=40000)
    await handle.execute_update(
        MaintenanceRequestWorkflow.answer_invoice,
        InvoiceAnswer(
            answer_id="invoice",
            actor="FlowRight",
            channel="email",
            number="INV-1042",
            lines=[
                InvoiceLine(
                    kind="labour",
                    description="Replace the valve",
                    quantity=Decimal("1.5"),
                    unit_price_cents=8500,
                ),
                InvoiceLine(
                    kind="materials",
                    description="Shut-off valve",
                    quantity=Decimal(2),
                    unit_price_cents=15000,
                ),
            ],
            tax_cents=3500,
            document=FileRef(
                key="invoices/history-invoiced/" + "0" * 64,
                content_type="application/pdf",
                size=1024,
                name="INV-1042.pdf",
                kind="document",
            ),
        ),
    )
    await waiting_for(handle, Stage.INVOICE_APPROVAL)
    await handle.execute_update(
        MaintenanceRequestWorkflow.answer_invoice_approval,
        Decision(answer_id="pay", actor="Harbor Lane Holdings", channel="email", approve=True),
    )
    return handle


async def preventive_run(
    env: WorkflowEnvironment, settings: Settings, _db: Database
) -> WorkflowHandle[PreventiveRunWorkflow, Opened]:
    """A preventive job's run, as its schedule starts it: it opens the job's request."""
    return await env.client.start_workflow(
        PreventiveRunWorkflow.run,
        PreventiveRunInput(job_id="harbor-12-hvac-filters"),
        id="preventive-run-history",
        task_queue=settings.maintenance_task_queue,
    )


async def lapsed_reassigned_cancelled(
    env: WorkflowEnvironment, settings: Settings, _db: Database
) -> RequestHandle:
    """The first vendor lets the quote lapse, ops reassign to another, then cancel."""
    seconds = dict.fromkeys(("emergency", "urgent", "routine"), timedelta(seconds=2))
    handle = await _reported(env, settings, "history-cancelled", vendor_quote=seconds)
    await drive_to(handle, Stage.VENDOR_QUOTE)
    await waiting_for(handle, Stage.VENDOR_QUOTE, round=2)
    await handle.execute_update(
        MaintenanceRequestWorkflow.reassign,
        ReassignRequest(answer_id="to-fixit", actor="Dana (ops)", vendor_id="ven-fix"),
    )
    await handle.execute_update(
        MaintenanceRequestWorkflow.cancel,
        StopRequest(answer_id="stop", actor="Dana (ops)", reason="tenant moved out"),
    )
    return handle


async def expired_waiting_for_the_owner(
    env: WorkflowEnvironment, settings: Settings, _db: Database
) -> RequestHandle:
    # A deadline of seconds: after a lapse has started children while time was being
    # skipped, the time-skipping server returns no result (temporalio/sdk-java#2392).
    seconds = dict.fromkeys(("emergency", "urgent", "routine"), timedelta(seconds=2))
    handle = await _reported(env, settings, "history-expired", owner_approval=seconds)
    await eventually(
        lambda: handle.query(MaintenanceRequestWorkflow.get_state),
        lambda state: state.status.terminal,
    )
    return handle


async def gas_raised_to_an_emergency(
    env: WorkflowEnvironment, settings: Settings, _db: Database
) -> RequestHandle:
    """Claude calls a gas smell routine; the written criteria make it an emergency (the
    timeline says which), the tenant is told to call 911 first; then ops cancel it."""
    handle = await _reported(
        env,
        settings,
        "history-gas",
        description="There is a strong smell of gas in the kitchen",
    )
    await waiting_for(handle, Stage.VENDOR_QUOTE)
    await handle.execute_update(
        MaintenanceRequestWorkflow.cancel,
        StopRequest(answer_id="stop", actor="Dana (ops)", reason="the gas company came"),
    )
    return handle


async def phoned_owner(env: WorkflowEnvironment, settings: Settings, db: Database) -> RequestHandle:
    """The owner is phoned as well as emailed (patch ``owner-phone-calls``): nobody picks
    up the first call and the repair is approved by email; the invoice is approved on the
    phone."""
    handle = await _reported(env, settings, "history-phoned")
    await waiting_for(handle, Stage.OWNER_APPROVAL)
    repair_call = await _call_grant(db, "history-phoned", Stage.OWNER_APPROVAL, settings)
    await handle.signal(
        MaintenanceRequestWorkflow.call_ended,
        CallEnded(
            call_id=repair_call.link_id,
            stage=Stage.OWNER_APPROVAL,
            round=1,
            outcome="no-answer",
            provider_id="CA" + "1" * 32,
        ),
    )
    await handle.execute_update(
        MaintenanceRequestWorkflow.answer_owner_approval,
        Decision(answer_id="by-email", actor="Harbor Lane Holdings", channel="email", approve=True),
    )
    await drive_to(handle, Stage.INVOICE_APPROVAL, quote=20000)
    invoice_call = await _call_grant(db, "history-phoned", Stage.INVOICE_APPROVAL, settings)
    await handle.execute_update(
        MaintenanceRequestWorkflow.answer_invoice_approval,
        Decision(
            answer_id=invoice_call.link_id,
            actor="Harbor Lane Holdings",
            channel="phone",
            round=1,
            note="On the phone: pressed 1",
            approve=True,
        ),
    )
    return handle


async def conversation_transcribed(
    env: WorkflowEnvironment, settings: Settings, db: Database
) -> RequestHandle:
    """A call's conversation that recorded nothing keeps its transcript on the timeline
    (patch ``call-transcripts``); the owner then declines the repair by email."""
    handle = await _reported(env, settings, "history-conversation")
    await waiting_for(handle, Stage.OWNER_APPROVAL)
    call = await _call_grant(db, "history-conversation", Stage.OWNER_APPROVAL, settings)
    await handle.signal(
        MaintenanceRequestWorkflow.call_transcript,
        CallTranscript(
            call_id=call.link_id,
            stage=Stage.OWNER_APPROVAL,
            round=1,
            transcript="Call transcript:\nDesk: (the call's opening)\nOwner: Who is the plumber?",
        ),
    )
    await handle.execute_update(
        MaintenanceRequestWorkflow.answer_owner_approval,
        Decision(
            answer_id="by-email", actor="Harbor Lane Holdings", channel="email", approve=False
        ),
    )
    return handle


@contextlib.asynccontextmanager
async def policy_directory(
    env: WorkflowEnvironment, settings: Settings, db: Database
) -> AsyncIterator[Settings]:
    """The sample directory, 12 Harbor Lane with the default owner policy (quiet hours from
    9 PM to 8 AM, make-safe work after two hours up to the approval limit)."""
    spec = sample_directory()
    for prop in spec.properties:
        if prop.id == "harbor-12":
            prop.policy = OwnerPolicy()
    await Directory(db).import_directory(spec)
    yield settings


async def _saturday_night(env: WorkflowEnvironment) -> None:
    """Skip the test server's clock to the next Saturday, 10:15 PM at 12 Harbor Lane."""
    zone = ZoneInfo("America/Los_Angeles")
    now = (await env.get_current_time()).astimezone(zone)
    days = (5 - now.weekday()) % 7 or 7
    target = datetime.combine(now.date() + timedelta(days=days), time(22, 15), zone)
    await env.sleep(target - now)


async def _reported_saying(
    env: WorkflowEnvironment, settings: Settings, request_id: str, description: str
) -> RequestHandle:
    form = RequestForm(
        property_id="harbor-12",
        unit="1A",
        tenant=TenantContact(name="Sam Rivera", email="sam.rivera@example.com"),
        description=description,
    )
    await submit_request(env.client, settings, submission_of(settings, request_id, form))
    return request_handle(env.client, request_id)


async def made_safe_unanswered(
    env: WorkflowEnvironment, settings: Settings, _db: Database
) -> RequestHandle:
    """An emergency on a Saturday night (patch ``owner-policies``): the estimate above the
    limit phones and emails the owner at once, nobody answers in two hours, make-safe work
    goes ahead; then ops cancel."""
    await _saturday_night(env)
    handle = await _reported_saying(
        env, settings, "history-made-safe", "A pipe burst in the bathroom and water is flooding"
    )
    await waiting_for(handle, Stage.VENDOR_QUOTE)
    await handle.execute_update(
        MaintenanceRequestWorkflow.answer_vendor_quote,
        QuoteAnswer(answer_id="quote", actor="FlowRight", channel="email", amount_cents=180000),
    )
    await waiting_for(handle, Stage.ESTIMATE_APPROVAL)
    await env.sleep(timedelta(hours=2, minutes=5))
    await waiting_for(handle, Stage.AVAILABILITY)
    await handle.execute_update(
        MaintenanceRequestWorkflow.cancel,
        StopRequest(answer_id="stop", actor="Dana (ops)", reason="the owner called us"),
    )
    return handle


async def called_after_quiet_hours(
    env: WorkflowEnvironment, settings: Settings, _db: Database
) -> RequestHandle:
    """A routine request on a Saturday night (patch ``owner-policies``): emailed at once,
    the owner phoned at 8 AM as the question is still open, approved by email; then ops
    cancel."""
    await _saturday_night(env)
    handle = await _reported_saying(
        env,
        settings,
        "history-quiet-hours",
        "The bathroom tap drips slowly at night, it is a small drip",
    )
    await waiting_for(handle, Stage.OWNER_APPROVAL)
    await env.sleep(timedelta(hours=10))
    await eventually(
        lambda: handle.query(MaintenanceRequestWorkflow.get_state),
        lambda state: state.question is not None and len(state.question.asked) == 2,
    )
    await handle.execute_update(
        MaintenanceRequestWorkflow.answer_owner_approval,
        Decision(answer_id="yes", actor="Harbor Lane Holdings", channel="email", approve=True),
    )
    await waiting_for(handle, Stage.VENDOR_QUOTE)
    await handle.execute_update(
        MaintenanceRequestWorkflow.cancel,
        StopRequest(answer_id="stop", actor="Dana (ops)", reason="fixed by the tenant"),
    )
    return handle


async def _call_grant(db: Database, request_id: str, stage: Stage, settings: Settings) -> LinkGrant:
    """The grant of the call about ``stage``, read from its webhook address in the outbox."""

    async def address() -> str | None:
        async with db.transaction() as session:
            return await session.scalar(
                select(OutboxMessage.callback_url).where(
                    OutboxMessage.reference == request_workflow_id(request_id),
                    OutboxMessage.idempotency_key.contains(f":call:{stage.value}:"),
                    OutboxMessage.callback_url.is_not(None),
                )
            )

    url = await eventually(address, lambda found: found is not None)
    assert url is not None
    signer = LinkSigner(link_key(settings), settings.resolved_public_url)
    return signer.verify(url.rsplit("/", 1)[1])


def _by_id(
    run: Callable[[WorkflowEnvironment, Settings, Database, str], Awaitable[Any]], order_id: str
) -> Callable[[WorkflowEnvironment, Settings, Database], Awaitable[Any]]:
    return lambda env, settings, db: run(env, settings, db, order_id)


def _plain(
    run: Callable[[WorkflowEnvironment, Settings], Awaitable[Handle]],
) -> Callable[[WorkflowEnvironment, Settings, Database], Awaitable[Any]]:
    return lambda env, settings, _db: run(env, settings)


@dataclass(frozen=True)
class Scenario:
    run: Callable[[WorkflowEnvironment, Settings, Database], Awaitable[Any]]
    workflow_id: str
    claude_answers: tuple[Reply, ...] | None = None
    """With answers, Claude (a fake on loopback giving these answers) is the provider."""
    setup: (
        Callable[[WorkflowEnvironment, Settings, Database], AbstractAsyncContextManager[Settings]]
        | None
    ) = None
    """What the scenario needs beyond the catalog; it gives the settings to run with."""


_LOW = {"risk_score": 12, "reason": "Ordinary basket.", "recommended_action": "approve"}
_PROSE = {
    "subject": "Thank you for your order",
    "opening": "Hi Ada, thank you for shopping with us.",
    "closing": "Your parcel will be on its way shortly.",
}
_UNUSABLE = {"risk_score": "low", "reason": "?", "recommended_action": "ship it"}

SCENARIOS = {
    "delivered": Scenario(_plain(delivered), "order-delivered"),
    "delivered by updates": Scenario(_plain(delivered_by_updates), "order-updated"),
    "rejected in review": Scenario(_plain(rejected_in_review), "order-rejected"),
    "restocked then cancelled": Scenario(_plain(restocked_then_cancelled), "order-restocked"),
    "escalated": Scenario(_plain(escalated), "order-escalated"),
    # Recorded with issue 28, item 3: a submission answered by update-with-start, and a retry.
    "submitted and retried": Scenario(_plain(submitted_and_retried), "order-submitted"),
    "scored and written by Claude": Scenario(
        _plain(claude_approved),
        "order-claude-approved",
        (
            anthropic_tool("record_risk_assessment", _LOW),
            anthropic_tool("write_email_prose", _PROSE),
        ),
    ),
    "Claude unusable, the rules and a person decide": Scenario(
        _plain(claude_unusable),
        "order-claude-unusable",
        # Four unusable scores, then the email's prose is unusable too: the template writes it.
        (anthropic_tool("record_risk_assessment", _UNUSABLE),) * 4
        + (anthropic_tool("write_email_prose", {"subject": "Hi"}),) * 4,
    ),
    # Recorded before and after the patches of 2026-11-22: each path on both sides.
    "cancelled while allocating (confirmed first, as before)": Scenario(
        _by_id(cancelled_while_allocating, "cancelled-allocating"), "order-cancelled-allocating"
    ),
    "cancelled while allocating": Scenario(
        _by_id(cancelled_while_allocating, "cancelled-allocating-2"),
        "order-cancelled-allocating-2",
    ),
    "cancelled in Temporal (no compensation, as before)": Scenario(
        _by_id(cancelled_in_temporal, "cancelled-in-temporal"), "order-cancelled-in-temporal"
    ),
    "cancelled in Temporal": Scenario(
        _by_id(cancelled_in_temporal, "cancelled-in-temporal-2"),
        "order-cancelled-in-temporal-2",
    ),
    "a restock waking an order": Scenario(
        _by_id(restock_waking_an_order, "woken"), restock_workflow_id("KETTLE-01", "woken")
    ),
    "a repair from report to paid invoice": Scenario(
        repaired_and_paid, request_workflow_id("history-closed"), setup=maintenance_directory
    ),
    # Recorded after the shared workflow core (issue 25): the refund by the charge's key,
    # children under their key, and the visit that must start before the work is done.
    "cancelled in Temporal, refunded by the charge's key": Scenario(
        _by_id(cancelled_in_temporal, "cancelled-in-temporal-3"),
        "order-cancelled-in-temporal-3",
    ),
    "a repair from report to paid invoice, the visit begun before the work was done": Scenario(
        lambda env, settings, db: repaired_and_paid(env, settings, db, "history-closed-2"),
        request_workflow_id("history-closed-2"),
        setup=maintenance_directory,
    ),
    "a quote lapsed, the vendor reassigned, the request cancelled": Scenario(
        lapsed_reassigned_cancelled,
        request_workflow_id("history-cancelled"),
        setup=maintenance_directory,
    ),
    "a request expired waiting for the owner": Scenario(
        expired_waiting_for_the_owner,
        request_workflow_id("history-expired"),
        setup=maintenance_directory,
    ),
    "an owner phoned: a call unanswered, the invoice approved on the phone": Scenario(
        phoned_owner, request_workflow_id("history-phoned"), setup=maintenance_directory
    ),
    # Recorded with issue 26: a vendor for whom none of the tenant's windows works.
    "a vendor for whom no window fits, the tenant asked again, then paid": Scenario(
        no_window_fits_then_paid,
        request_workflow_id("history-no-window-fits"),
        setup=maintenance_directory,
    ),
    # Recorded with issue 27: the owner's policy for the property.
    "an emergency estimate unanswered on a Saturday night: make-safe work, then cancelled": (
        Scenario(
            made_safe_unanswered, request_workflow_id("history-made-safe"), setup=policy_directory
        )
    ),
    "a routine question on a Saturday night: the call waits for 8 AM, then cancelled": Scenario(
        called_after_quiet_hours,
        request_workflow_id("history-quiet-hours"),
        setup=policy_directory,
    ),
    # Recorded with issue 27: the tenant's survey at close, the vendor's job kept.
    "a repair paid and closed, the tenant asked for a rating, the vendor's job kept": Scenario(
        lambda env, settings, db: repaired_and_paid(env, settings, db, "history-closed-surveyed"),
        request_workflow_id("history-closed-surveyed"),
        setup=maintenance_directory,
    ),
    # Recorded with issue 27: a report from someone not on file, confirmed by the tenant.
    "a stranger's report confirmed by the tenant on file, then cancelled": Scenario(
        confirmed_by_the_tenant_on_file,
        request_workflow_id("history-report-checked"),
        setup=maintenance_directory,
    ),
    # Recorded with issue 27: a preventive job's run, and the request it opens.
    "a preventive job's request, not put to the owner, paid": Scenario(
        preventive_job_paid,
        request_workflow_id("history-preventive"),
        setup=maintenance_directory,
    ),
    "a preventive job's run, as its schedule starts it": Scenario(
        preventive_run, "preventive-run-history", setup=maintenance_directory
    ),
    # Recorded with issue 27: the written emergency criteria raise a model's triage.
    "a gas smell Claude called routine, an emergency by the written criteria": Scenario(
        gas_raised_to_an_emergency,
        request_workflow_id("history-gas"),
        (
            anthropic_tool(
                "record_triage",
                {
                    "category": "appliance",
                    "priority": "routine",
                    "emergency": False,
                    "summary": "Odd smell in the kitchen",
                    "trade": "appliance_repair",
                },
            ),
        ),
        setup=maintenance_directory,
    ),
    # Recorded with issue 27: a vendor passed over for an expired insurance certificate.
    "the first plumber's insurance expired: the next one repairs and is paid": Scenario(
        lambda env, settings, db: repaired_and_paid(env, settings, db, "history-documents"),
        request_workflow_id("history-documents"),
        setup=lapsed_insurance,
    ),
    "a day's reminders of a vendor's document about to expire": Scenario(
        document_reminders, "vendor-document-reminders-history", setup=expiring_licence
    ),
    # Recorded with issue 27: an itemised invoice, paid with its number and document.
    "an itemised invoice over the estimate, approved and paid": Scenario(
        itemised_invoice_paid,
        request_workflow_id("history-invoiced"),
        setup=maintenance_directory,
    ),
    # Recorded with issue 27: photos and a video with the report, a photo with an answer.
    "photos with the report and with the tenant's answer, then paid": Scenario(
        photos_then_paid, request_workflow_id("history-photos"), setup=maintenance_directory
    ),
    # Recorded with issue 27's review: an emergency's report check nobody answered.
    "an emergency by someone not on file, unchecked in time, goes ahead; then cancelled": (
        Scenario(
            emergency_unchecked_went_ahead,
            request_workflow_id("history-report-unchecked"),
            setup=maintenance_directory,
        )
    ),
    "a poller's batch: started before, set aside, started; then continued as new": Scenario(
        polled_from_a_feed, poller_workflow_id(_HISTORY_SOURCE), setup=pms_feed
    ),
    "a poller's claimed batch: a duplicate, set aside, started before, started; committed": (
        Scenario(
            claimed_from_a_feed, poller_workflow_id(_CLAIMS_SOURCE), setup=pms_feed_with_claims
        )
    ),
    # Recorded with issue 29: a call's conversation that recorded nothing.
    "a conversation that recorded nothing, then the repair declined by email": Scenario(
        conversation_transcribed,
        request_workflow_id("history-conversation"),
        setup=maintenance_directory,
    ),
}


def _children(history: WorkflowHistory) -> list[str]:
    return [
        event.start_child_workflow_execution_initiated_event_attributes.workflow_id
        for event in history.events
        if event.HasField("start_child_workflow_execution_initiated_event_attributes")
    ]


@contextlib.asynccontextmanager
async def prepared(
    scenario: Scenario, env: WorkflowEnvironment, settings: Settings, db: Database
) -> AsyncIterator[Settings]:
    if scenario.setup is None:
        yield settings
        return
    async with scenario.setup(env, settings, db) as ready:
        yield ready


@contextlib.asynccontextmanager
async def provider_for(scenario: Scenario, settings: Settings) -> AsyncIterator[Settings]:
    if scenario.claude_answers is None:
        yield settings
        return
    llm: FakeLLM
    async with fake_llm() as llm:
        llm.queue(*scenario.claude_answers)
        yield with_claude(settings, llm)


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/opsdesk.db"
        await upgrade_async(url)
        db = Database(url)
        await Inventory(db).import_catalog(CATALOG, set_stock=True)
        settings = Settings(
            data_dir=Path(tmp),
            database_url=url,
            orders_task_queue=f"h-{uuid.uuid4().hex[:6]}",
            maintenance_task_queue=f"hm-{uuid.uuid4().hex[:6]}",
        )
        try:
            for name, scenario in SCENARIOS.items():
                target = HERE / f"{scenario.workflow_id}.json"
                if target.exists():
                    continue
                # A server per scenario: one scenario's timers never move another's clock.
                env = await WorkflowEnvironment.start_time_skipping(
                    data_converter=pydantic_data_converter,
                    test_server_existing_path=str(find_binary("temporal-test-server")),
                )
                await register_search_attributes(env.client)
                try:
                    async with (
                        prepared(scenario, env, settings, db) as ready,
                        provider_for(scenario, ready) as with_provider,
                        running(build_workers(env.client, db, with_provider)),
                    ):
                        handle = await scenario.run(env, with_provider, db)
                        with contextlib.suppress(WorkflowFailureError):  # cancelled ones
                            await handle.result()
                        history = await handle.fetch_history()
                        # The emails' own workflows hold the model's part of an AI email.
                        children = (
                            [
                                await env.client.get_workflow_handle(child_id).fetch_history()
                                for child_id in _children(history)
                            ]
                            if scenario.claude_answers
                            else []
                        )
                finally:
                    await env.shutdown()
                # Named by workflow id: replay needs it (child ids and keys derive from it).
                assert handle.id == scenario.workflow_id
                target.write_text(history.to_json())
                for child in children:
                    await asyncio.to_thread(
                        (HERE / f"{child.workflow_id}.json").write_text, child.to_json()
                    )
                print(f"recorded {name}: {len(history.events)} events, {len(children)} children")
        finally:
            await db.dispose()


if __name__ == "__main__":
    asyncio.run(main())
