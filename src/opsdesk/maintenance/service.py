"""What a Temporal client does with repair requests: start them, answer their questions,
reassign and cancel them, read one.

The API, the dashboard, the link pages and the tests all go through here, so each of these
is done one way only.
"""

from __future__ import annotations

import asyncio
import hashlib
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any

from temporalio.client import (
    Client,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
)
from temporalio.common import Priority as TaskPriority
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from opsdesk.ai.emergency import EmergencyPolicy, PolicyFileError, default_policy, load_policy
from opsdesk.ai.tasks import rules_triage
from opsdesk.db import Database
from opsdesk.db.numbers import Numbers
from opsdesk.db.tables import RequestNumber
from opsdesk.maintenance.ids import FIRST_REQUEST_NUMBER, numbered_request_id, request_workflow_id
from opsdesk.maintenance.inputs import (
    Answer,
    CallEnded,
    CallTranscript,
    CancelRequest,
    MaintenancePolicy,
    ReassignRequest,
    RequestForm,
    RequestSubmission,
)
from opsdesk.maintenance.priorities import task_priority
from opsdesk.maintenance.rules import ALREADY_ANSWERED, INVALID_ANSWER, why_not_answer
from opsdesk.maintenance.state import RequestState
from opsdesk.maintenance.status import RequestStatus, Stage
from opsdesk.maintenance.workflow import MaintenanceRequestWorkflow
from opsdesk.settings import Settings
from opsdesk.temporal import search_attributes as sa
from opsdesk.temporal.updates import start_update_when_ready

RequestHandle = WorkflowHandle[MaintenanceRequestWorkflow, RequestState]

QUERY_TIMEOUT = timedelta(seconds=5)

UPDATES: dict[Stage, Any] = {
    Stage.OWNER_APPROVAL: MaintenanceRequestWorkflow.answer_owner_approval,
    Stage.VENDOR_QUOTE: MaintenanceRequestWorkflow.answer_vendor_quote,
    Stage.ESTIMATE_APPROVAL: MaintenanceRequestWorkflow.answer_estimate_approval,
    Stage.AVAILABILITY: MaintenanceRequestWorkflow.answer_availability,
    Stage.SLOT: MaintenanceRequestWorkflow.answer_slot,
    Stage.WORK_DONE: MaintenanceRequestWorkflow.answer_work_done,
    Stage.COMPLETION: MaintenanceRequestWorkflow.answer_completion,
    Stage.INVOICE: MaintenanceRequestWorkflow.answer_invoice,
    Stage.INVOICE_APPROVAL: MaintenanceRequestWorkflow.answer_invoice_approval,
    Stage.REPORT_CHECK: MaintenanceRequestWorkflow.answer_report_check,
}
"""The update that answers each stage."""


class RequestNotFound(LookupError):
    pass


class AnswerRefused(Exception):
    """The request would not take the answer (or action). ``already_answered``: someone
    else's answer to the same question won; ``invalid``: the answer itself does not fit;
    ``kind``: the refusal's type (``rules.NOT_WAITING``...), empty when none was given."""

    def __init__(self, reason: str, kind: str = "") -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = kind
        self.already_answered = kind == ALREADY_ANSWERED
        self.invalid = kind == INVALID_ANSWER


class IntakeConflict(Exception):
    """A request id (or idempotency key) already names a different request."""


def maintenance_policy(settings: Settings) -> MaintenancePolicy:
    """Deadlines and contacts from settings, as a new request fixes them."""
    return MaintenancePolicy(
        owner_approval={
            # Emergencies never ask; the entry keeps every priority answerable.
            "emergency": settings.owner_approval_deadline_urgent,
            "urgent": settings.owner_approval_deadline_urgent,
            "routine": settings.owner_approval_deadline_routine,
        },
        vendor_quote={
            "emergency": settings.quote_deadline_emergency,
            "urgent": settings.quote_deadline_urgent,
            "routine": settings.quote_deadline_routine,
        },
        estimate_approval=settings.estimate_approval_deadline,
        availability=settings.availability_deadline,
        slot=settings.slot_deadline,
        work_grace=settings.work_grace,
        completion=settings.completion_autoconfirm,
        invoice=settings.invoice_deadline,
        invoice_approval=settings.invoice_approval_deadline,
        report_check={
            "emergency": settings.report_check_deadline_emergency,
            "urgent": settings.report_check_deadline,
            "routine": settings.report_check_deadline,
        },
        ops_email=settings.ops_email,
        office_hours=(settings.office_hours_start, settings.office_hours_end),
    )


def fingerprint(form: RequestForm) -> str:
    """What makes two submissions the same request, whatever id they carry."""
    return hashlib.sha256(form.model_dump_json().encode()).hexdigest()


def request_handle(client: Client, request_id: str) -> RequestHandle:
    return client.get_workflow_handle_for(
        MaintenanceRequestWorkflow.run, request_workflow_id(request_id)
    )


def submission_of(
    settings: Settings, request_id: str, form: RequestForm, source: str = "form", **extra: Any
) -> RequestSubmission:
    return RequestSubmission.model_validate(
        {
            "request_id": request_id,
            "form": form,
            "source": source,
            "policy": maintenance_policy(settings),
            **extra,
        }
    )


@cache
def _criteria(path: Path | None) -> EmergencyPolicy:
    try:
        return load_policy(path)
    except PolicyFileError:
        # The worker refuses to start on such a file and says why; a start only guesses.
        return default_policy()


def start_priority(
    settings: Settings, submission: RequestSubmission, owner_id: str | None
) -> TaskPriority:
    """The task priority a request starts with, from what is known before its triage: the
    priority the written emergency criteria and keyword rules give its description (a
    preventive job's is routine), and its owner's fairness key when the caller looked the
    property up (``priorities``)."""
    if submission.preventive is not None:
        return task_priority("routine", owner_id)
    triage = rules_triage(submission.form.description, _criteria(settings.emergency_criteria))
    return task_priority(triage.priority, owner_id)


def start_options(
    settings: Settings, submission: RequestSubmission, owner_id: str | None = None
) -> dict[str, Any]:
    """How every request's workflow is started, by a client or by the poller: an id is
    used once, the request is listed before its first workflow task runs, and an evident
    emergency's tasks go first from the start (``start_priority``)."""
    return {
        "id": request_workflow_id(submission.request_id),
        "task_queue": settings.maintenance_task_queue,
        "id_reuse_policy": WorkflowIDReusePolicy.REJECT_DUPLICATE,
        "memo": {"intake": fingerprint(submission.form)},
        "search_attributes": TypedSearchAttributes(
            [SearchAttributePair(sa.STATUS, RequestStatus.SUBMITTED.value)]
        ),
        "priority": start_priority(settings, submission, owner_id),
    }


async def submit_request(
    client: Client,
    settings: Settings,
    submission: RequestSubmission,
    owner_id: str | None = None,
) -> tuple[RequestState | None, bool]:
    """Start the request, or find it if this very request was submitted before.

    ``owner_id``: the property's owner, when the caller looked the property up (their
    requests share one fairness key). Returns the state (None while no worker has run it
    yet) and whether this call created it. The same id with a different form raises
    ``IntakeConflict``."""
    try:
        handle = await client.start_workflow(
            MaintenanceRequestWorkflow.run,
            submission,
            **start_options(settings, submission, owner_id),
        )
        created = True
    except WorkflowAlreadyStartedError:
        handle = request_handle(client, submission.request_id)
        description = await handle.describe()
        if (await description.memo()).get("intake") != fingerprint(submission.form):
            raise IntakeConflict(
                f"request {submission.request_id} already exists with different contents"
            ) from None
        created = False
    try:
        state = await handle.query(MaintenanceRequestWorkflow.get_state, rpc_timeout=QUERY_TIMEOUT)
    except (RPCError, WorkflowQueryFailedError):
        state = None
    return state, created


def request_numbers(db: Database) -> Numbers:
    """The desk's request numbers: ``R-0001`` on."""
    return Numbers(db, RequestNumber, FIRST_REQUEST_NUMBER)


async def submit_numbered_request(
    client: Client,
    settings: Settings,
    db: Database,
    form: RequestForm,
    idempotency_key: str | None = None,
    source: str = "form",
    owner_id: str | None = None,
) -> tuple[str, RequestState | None, bool]:
    """Start a request that came without an id of its own under the next request number,
    or, for a retry with the same ``idempotency_key``, find the request its first try
    started. A number a client already used as its own request id is passed over.

    Returns the request's id, then what ``submit_request`` does; a retry's key with a
    different form raises ``IntakeConflict``."""
    numbers = request_numbers(db)
    drawn = await numbers.draw(idempotency_key)
    while True:
        request_id = numbered_request_id(drawn.number)
        submission = submission_of(settings, request_id, form, source=source)
        try:
            state, created = await submit_request(client, settings, submission, owner_id)
        except IntakeConflict:
            if not drawn.fresh:
                raise
        else:
            if created or not drawn.fresh:
                return request_id, state, created
        # A client's own request holds this id: it stays theirs.
        drawn = await numbers.pass_over(drawn, idempotency_key)


async def get_request(client: Client, request_id: str) -> RequestState:
    handle = request_handle(client, request_id)
    try:
        return await handle.query(MaintenanceRequestWorkflow.get_state, rpc_timeout=QUERY_TIMEOUT)
    except RPCError as exc:
        if exc.status is RPCStatusCode.NOT_FOUND:
            raise RequestNotFound(f"no maintenance request {request_id}") from None
        raise


async def answer_request(
    client: Client, request_id: str, stage: Stage, answer: Answer, *, wait: timedelta
) -> tuple[RequestState, bool]:
    """Send ``answer`` to the request's open ``stage`` question: ``(state, settled)``.
    Raises ``AnswerRefused`` (someone answered first, the request is elsewhere, the answer
    does not fit) and ``RequestNotFound``."""
    return await _act(
        client, request_id, UPDATES[stage], answer, answer.answer_id, wait, stage=stage
    )


async def reassign_request(
    client: Client, request_id: str, request: ReassignRequest, *, wait: timedelta
) -> tuple[RequestState, bool]:
    return await _act(
        client, request_id, MaintenanceRequestWorkflow.reassign, request, request.answer_id, wait
    )


async def cancel_request(
    client: Client, request_id: str, request: CancelRequest, *, wait: timedelta
) -> tuple[RequestState, bool]:
    return await _act(
        client, request_id, MaintenanceRequestWorkflow.cancel, request, request.answer_id, wait
    )


async def call_ended(client: Client, request_id: str, event: CallEnded) -> bool:
    """Tell the request how one of its calls ended. False when the request has already
    ended (or never existed): nothing is left to tell."""
    try:
        await request_handle(client, request_id).signal(
            MaintenanceRequestWorkflow.call_ended, event
        )
    except RPCError as exc:
        if exc.status is RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True


async def call_transcript(client: Client, request_id: str, event: CallTranscript) -> bool:
    """Keep a conversation that recorded nothing on the request's timeline. False when the
    request has ended (or never existed)."""
    try:
        await request_handle(client, request_id).signal(
            MaintenanceRequestWorkflow.call_transcript, event
        )
    except RPCError as exc:
        if exc.status is RPCStatusCode.NOT_FOUND:
            return False
        raise
    return True


async def _act(
    client: Client,
    request_id: str,
    update: Any,
    arg: Any,
    update_id: str,
    wait: timedelta,
    *,
    stage: Stage | None = None,
) -> tuple[RequestState, bool]:
    """The answer's id doubles as the update id, so Temporal itself answers a repeat with
    the first answer. ``settled`` is False when the request took the update but had not
    finished what it set off within ``wait``; the state is then the current one."""
    handle = request_handle(client, request_id)
    try:
        pending = await start_update_when_ready(handle, update, [arg], update_id)
        state: RequestState = await asyncio.wait_for(pending.result(), wait.total_seconds())
    except WorkflowUpdateFailedError as exc:
        cause = exc.cause
        if isinstance(cause, ApplicationError):
            raise AnswerRefused(cause.message, cause.type or "") from None
        raise AnswerRefused(str(cause or exc)) from None
    except RPCError as exc:
        if exc.status is not RPCStatusCode.NOT_FOUND:
            raise
        raise await _why_closed(handle, request_id, stage, arg) from None
    except TimeoutError:
        return await get_request(client, request_id), False
    return state, True


async def _why_closed(
    handle: RequestHandle, request_id: str, stage: Stage | None, arg: Any
) -> Exception:
    """An update found no running workflow: the request never existed, or it has ended.
    For an answer, the ended request's own state says why it is refused (who answered
    first, by which channel and when), as it would have while running."""
    try:
        description = await handle.describe()
    except RPCError as exc:
        if exc.status is RPCStatusCode.NOT_FOUND:
            return RequestNotFound(f"no maintenance request {request_id}")
        return exc
    if stage is not None and isinstance(arg, Answer):
        try:
            state = await handle.query(
                MaintenanceRequestWorkflow.get_state, rpc_timeout=QUERY_TIMEOUT
            )
        except (RPCError, WorkflowQueryFailedError):
            state = None
        if state is not None:
            why = why_not_answer(
                state,
                stage,
                arg,
                datetime.now(UTC),
                done_from=None,
                cancelling=False,
                reassigning=False,
            )
            if why is not None:
                return AnswerRefused(*why)
    row = (await description.memo()).get("row")
    raw = row.get("status") if isinstance(row, dict) else None
    try:
        status = RequestStatus(str(raw)).words
    except ValueError:
        status = "ended"
    return AnswerRefused(f"request {request_id} is {status}; nothing is left to answer")
