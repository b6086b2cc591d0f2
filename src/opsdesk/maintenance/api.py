"""The maintenance desk's JSON API under ``/api/maintenance``: create, list, read, answer on
someone's behalf, reassign, cancel, metrics. Errors, idempotency and pages work as the
orders API's do (docs/api.md)."""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Query, Request, Response
from prometheus_client.core import Metric
from pydantic import BaseModel, ValidationError

from opsdesk.ai.models import Priority
from opsdesk.errors import UnknownProperty
from opsdesk.files.media import KEPT_TYPES, MediaLimits, MediaRefused
from opsdesk.files.refs import FileRef
from opsdesk.files.store import BlobMissing
from opsdesk.files.uploads import UPLOAD_PREFIX, keep_uploads
from opsdesk.maintenance import service
from opsdesk.maintenance.directory import Directory, PropertyChoice, VendorSpec
from opsdesk.maintenance.ids import REQUEST_ID_PATTERN
from opsdesk.maintenance.inputs import (
    ANSWER_MODELS,
    Answer,
    CancelRequest,
    DirectoryId,
    InvoiceAnswer,
    Note,
    ReassignRequest,
    RequestForm,
    RequestId,
)
from opsdesk.maintenance.invoice_form import InvoiceProblem, api_document, invoice_answer
from opsdesk.maintenance.listing import (
    MaintenanceMetrics,
    Queue,
    RequestFilter,
    RequestPage,
    list_requests,
)
from opsdesk.maintenance.payouts import Month, PayoutReport, payout_report, unknown_property
from opsdesk.maintenance.state import RequestState
from opsdesk.maintenance.status import RequestStatus, Role, Stage
from opsdesk.temporal.visibility import BadPageToken
from opsdesk.web.auth import VIEWER, Operator
from opsdesk.web.cache import Snapshot
from opsdesk.web.deps import client_of, db_of, settings_of
from opsdesk.web.errors import ApiError, describe_validation_error
from opsdesk.web.files import files_of
from opsdesk.web.forms import read_form_with_files
from opsdesk.web.metrics import gauge_by

PREFIX = "/api/maintenance"
FILES_PATH = f"{PREFIX}/files"
router = APIRouter(prefix=PREFIX, tags=["maintenance"])

_REQUEST_ID = re.compile(REQUEST_ID_PATTERN)
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        max_length=100,
        description="Repeating a request with the same key acts once and answers the same.",
    ),
]


class RequestCreate(RequestForm):
    request_id: RequestId | None = None
    """Your id for the request; when absent it gets the next request number (``R-0007``)."""


class Created(BaseModel):
    request_id: str
    created: bool
    state: RequestState | None
    """None until a worker has picked the request up (a moment after it is created)."""


class OnBehalf(BaseModel):
    """Who answers for someone else, and why; the stage's own fields go alongside."""

    note: Note = ""


class ReassignBody(BaseModel):
    vendor_id: DirectoryId | None = None
    """Another vendor; absent: the next vendor of the trade."""
    note: Note = ""


class CancelBody(BaseModel):
    reason: Note = ""


class PropertiesOut(BaseModel):
    items: list[PropertyChoice]


class VendorsOut(BaseModel):
    items: list[VendorSpec]


def known_id(request_id: str) -> str:
    if not _REQUEST_ID.match(request_id):
        raise ApiError(404, "not_found", f"no maintenance request {request_id!r}")
    return request_id


def _refusals() -> dict[int | str, dict[str, Any]]:
    return {
        404: {"description": "No such request"},
        409: {"description": "Not now: someone answered first, or the request is elsewhere"},
        422: {"description": "The answer does not fit (a visit outside the tenant's times)"},
    }


def _acted(response: Response, outcome: tuple[RequestState, bool]) -> RequestState:
    state, settled = outcome
    if not settled:
        response.status_code = 202  # accepted; the request is still working on it
    return state


def _refused(exc: Exception) -> ApiError:
    if isinstance(exc, service.RequestNotFound):
        return ApiError(404, "not_found", str(exc))
    assert isinstance(exc, service.AnswerRefused)
    if exc.invalid:
        return ApiError(422, "invalid_input", exc.reason)
    code = "already_answered" if exc.already_answered else "not_allowed"
    return ApiError(409, code, exc.reason)


@router.post("/requests", status_code=201, responses={200: {"description": "Already submitted"}})
async def create_request(
    request: Request,
    _: Operator,
    response: Response,
    body: RequestCreate,
    idempotency_key: IdempotencyKey = None,
) -> Created:
    """Report a repair. Without a ``request_id`` of your own it gets the next request
    number (``R-0007``). With an ``Idempotency-Key`` (or your own ``request_id``) a repeat
    returns the same request (200) instead of starting another."""
    form = RequestForm(**body.model_dump(exclude={"request_id"}))
    try:
        premises = await Directory(db_of(request)).property_facts(form.property_id, form.unit)
    except UnknownProperty as exc:
        raise ApiError(422, "invalid_input", str(exc)) from None
    settings = settings_of(request)
    await _check_photos(request, form.photos)
    try:
        if body.request_id:
            request_id = body.request_id
            state, created = await service.submit_request(
                client_of(request),
                settings,
                service.submission_of(settings, request_id, form, source="api"),
                premises.owner_id,
            )
        else:
            request_id, state, created = await service.submit_numbered_request(
                client_of(request),
                settings,
                db_of(request),
                form,
                idempotency_key,
                source="api",
                owner_id=premises.owner_id,
            )
    except service.IntakeConflict as exc:
        raise ApiError(409, "conflict", str(exc)) from None
    if not created:
        response.status_code = 200
    return Created(request_id=request_id, created=created, state=state)


async def _check_photos(request: Request, photos: list[FileRef]) -> None:
    """Only files uploaded through ``POST /files`` and still kept, described as we kept
    them: a reference never makes us serve a blob as something else (HTML, say)."""
    limit = settings_of(request).max_files_per_report
    if len(photos) > limit:
        raise ApiError(422, "invalid_input", f"photos: at most {limit} files with one request")
    store = files_of(request)
    for i, ref in enumerate(photos):
        if (
            not ref.key.startswith(f"{UPLOAD_PREFIX}/")
            or KEPT_TYPES.get(ref.content_type) != ref.kind
        ):
            raise ApiError(
                422,
                "invalid_input",
                f"photos[{i}]: not a reference {FILES_PATH} gave; upload the file there first",
            )
        try:
            await store.get(ref.key)
        except BlobMissing:
            raise ApiError(
                422,
                "invalid_input",
                f"photos[{i}]: no file is kept under this key; upload it through {FILES_PATH}",
            ) from None


@router.post(
    "/files",
    status_code=201,
    responses={
        413: {"description": "Larger than the upload limit"},
        415: {"description": "Not multipart"},
        422: {"description": "Not a photo or video we take, too large, or more than one"},
    },
)
async def upload_file(request: Request, _: Operator) -> FileRef:
    """Upload one photo (JPEG, PNG, HEIC) or video (MP4) as the multipart field ``file``;
    the answer is the reference to put in a request's ``photos``. The type is read from the
    bytes; location metadata is removed (HEIC is kept as JPEG). Size limits:
    ``OPSDESK_MAX_PHOTO_BYTES``, ``OPSDESK_MAX_VIDEO_BYTES``."""
    form, _values, files = await read_form_with_files(request, "file")
    try:
        if len(files) != 1:
            raise ApiError(422, "invalid_input", "send exactly one file, in the field 'file'")
        refs = await keep_uploads(files_of(request), files, MediaLimits.of(settings_of(request)))
    except MediaRefused as exc:
        raise ApiError(422, "invalid_input", str(exc)) from None
    finally:
        await form.close()
    return refs[0]


@router.get("/requests", dependencies=VIEWER)
async def requests_page(
    request: Request,
    status: RequestStatus | None = None,
    priority: Priority | None = None,
    waiting_on: Role | None = None,
    queue: Queue | None = None,
    open_only: bool = False,
    page_size: Annotated[int, Query(ge=1, le=100)] = 25,
    page_token: Annotated[str | None, Query(max_length=2000)] = None,
) -> RequestPage:
    """Requests from Temporal visibility, one call per page: open ones newest first, then
    finished ones most recently finished first. ``queue`` is one of the dashboard's queues."""
    where = RequestFilter(
        status=status, priority=priority, waiting_on=waiting_on, queue=queue, open_only=open_only
    )
    try:
        return await list_requests(
            client_of(request),
            settings_of(request),
            where,
            page_size=page_size,
            page_token=page_token,
        )
    except BadPageToken as exc:
        raise ApiError(422, "invalid_input", str(exc)) from None


@router.get(
    "/requests/{request_id}",
    dependencies=VIEWER,
    responses={404: {"description": "No such request"}},
)
async def request_detail(request: Request, request_id: str) -> RequestState:
    """One request's full state: its questions (who was asked, how, when, and who answered),
    its money and its timeline."""
    try:
        return await service.get_request(client_of(request), known_id(request_id))
    except service.RequestNotFound as exc:
        raise ApiError(404, "not_found", str(exc)) from None


@router.post("/requests/{request_id}/answers/{stage}", responses=_refusals())
async def answer_on_behalf(
    request: Request,
    who: Operator,
    response: Response,
    request_id: str,
    stage: Stage,
    body: Annotated[dict[str, Any], Body()],
    idempotency_key: IdempotencyKey = None,
) -> RequestState:
    """Answer the request's open ``stage`` question on someone's behalf: the stage's fields
    (``approve``, also to accept a report someone not on file made (``report_check``);
    ``amount_cents`` or ``decline``; ``windows``; ``slot``; ``fixed``; the tenant's
    ``photos``, as ``POST /files`` gave them; for the invoice ``number``, ``lines`` of
    ``kind`` (labour or materials), ``description``, ``quantity`` and ``unit_price_cents``,
    ``tax_cents`` and the ``document`` as ``{"name", "content_base64"}`` (a PDF, JPEG or
    PNG), or ``amount_cents`` alone) and a ``note`` the timeline keeps beside your name. The
    first answer from any channel wins; a later one is refused (409) saying who answered,
    how and when."""
    data = {
        **body,
        "actor": who.name,
        "answer_id": idempotency_key or uuid.uuid4().hex,
        "channel": "api",
    }
    try:
        if stage is Stage.INVOICE:
            answer: Answer = await _invoice(request, known_id(request_id), data)
        else:
            answer = ANSWER_MODELS[stage].model_validate(data)
    except ValidationError as exc:
        errors = [describe_validation_error(e) for e in exc.errors()]
        raise ApiError(422, "invalid_input", "; ".join(errors), errors=errors) from None
    await _check_photos(request, getattr(answer, "photos", []))
    try:
        outcome = await service.answer_request(
            client_of(request),
            known_id(request_id),
            stage,
            answer,
            wait=settings_of(request).action_wait,
        )
    except (service.RequestNotFound, service.AnswerRefused) as exc:
        raise _refused(exc) from None
    return _acted(response, outcome)


async def _invoice(request: Request, request_id: str, data: dict[str, Any]) -> InvoiceAnswer:
    """The invoice, its document kept first (by its bytes' hash: a retry keeps one copy)."""
    try:
        data["document"] = await api_document(files_of(request), request_id, data.get("document"))
        return invoice_answer(data)
    except InvoiceProblem as exc:
        raise ApiError(422, "invalid_input", str(exc)) from None


@router.post("/requests/{request_id}/reassign", responses=_refusals())
async def reassign(
    request: Request,
    who: Operator,
    response: Response,
    request_id: str,
    body: Annotated[ReassignBody | None, Body()] = None,
    idempotency_key: IdempotencyKey = None,
) -> RequestState:
    """Give the job to another vendor (or the next of the trade), who quotes afresh."""
    body = body or ReassignBody()
    action = ReassignRequest(
        answer_id=idempotency_key or uuid.uuid4().hex,
        actor=who.name,
        vendor_id=body.vendor_id,
        note=body.note,
    )
    try:
        outcome = await service.reassign_request(
            client_of(request), known_id(request_id), action, wait=settings_of(request).action_wait
        )
    except (service.RequestNotFound, service.AnswerRefused) as exc:
        raise _refused(exc) from None
    return _acted(response, outcome)


@router.post("/requests/{request_id}/cancel", responses=_refusals())
async def cancel(
    request: Request,
    who: Operator,
    response: Response,
    request_id: str,
    body: Annotated[CancelBody | None, Body()] = None,
    idempotency_key: IdempotencyKey = None,
) -> RequestState:
    """Cancel the request at any stage before the vendor is paid; everyone already involved
    is told."""
    body = body or CancelBody()
    action = CancelRequest(
        answer_id=idempotency_key or uuid.uuid4().hex, actor=who.name, reason=body.reason
    )
    try:
        outcome = await service.cancel_request(
            client_of(request), known_id(request_id), action, wait=settings_of(request).action_wait
        )
    except (service.RequestNotFound, service.AnswerRefused) as exc:
        raise _refused(exc) from None
    return _acted(response, outcome)


def metrics_of(request: Request) -> Snapshot[MaintenanceMetrics]:
    """The process's one metrics computation, kept fresh while anyone reads it."""
    snapshot: Snapshot[MaintenanceMetrics] = request.app.state.maintenance_metrics
    return snapshot


async def status_gauges(snapshot: Snapshot[MaintenanceMetrics]) -> list[Metric]:
    """The dashboard's counts for Prometheus: the same numbers, from the same computation
    while a dashboard keeps it fresh (a scrape alone does not keep it running)."""
    counts = await snapshot.peek()
    requests = gauge_by(
        "opsdesk_maintenance_requests",
        "Maintenance requests by status, from Temporal visibility.",
        "status",
        {status.value: n for status, n in counts.counts.items()},
    )
    queues = gauge_by(
        "opsdesk_maintenance_queue",
        "Open requests in each of the dashboard's queues (some are in more than one).",
        "queue",
        {str(queue): n for queue, n in counts.queues.items()},
    )
    return [requests, queues]


async def cached_metrics(request: Request) -> MaintenanceMetrics:
    return await metrics_of(request).get()


@router.get("/metrics", dependencies=VIEWER)
async def metrics(request: Request) -> MaintenanceMetrics:
    """Counts per status, the dashboard's queues, and what has been paid to vendors."""
    return await cached_metrics(request)


class PayoutFilter(BaseModel):
    month: Month | None = None
    """``2026-12``: the month in each property's time zone."""
    property_id: DirectoryId | None = None


@router.get("/payouts", dependencies=VIEWER, responses={422: {"description": "A bad filter"}})
async def payouts(request: Request, where: Annotated[PayoutFilter, Query()]) -> PayoutReport:
    """Payouts to vendors, newest first (up to 5,000: narrow by ``month`` and
    ``property_id`` for more), with totals per month, property and currency. Each names
    the request, the vendor and the vendor's invoice number."""
    unknown = await unknown_property(db_of(request), where.property_id)
    if unknown:
        raise ApiError(422, "invalid_input", unknown)
    return await payout_report(db_of(request), where.month, where.property_id)


@router.get("/properties", dependencies=VIEWER)
async def properties(request: Request) -> PropertiesOut:
    """The properties a request may name, with their units."""
    return PropertiesOut(items=await Directory(db_of(request)).properties())


@router.get("/vendors", dependencies=VIEWER)
async def vendors(request: Request) -> VendorsOut:
    """Active vendors, by trade rank: who a request may be reassigned to."""
    return VendorsOut(items=await Directory(db_of(request)).vendors())
