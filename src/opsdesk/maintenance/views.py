"""The Maintenance section of the ops dashboard: queues, the list of requests, one request's
page, and the routes its forms post to.

The pages are the orders dashboard's kind: server-rendered, every section also served alone
under ``/fragments/maintenance/…`` so that the page's script can refresh it, and every form a
plain post that answers 303 back to the page with a notice. A form that cannot act shows the
request's page again with the reason, the status that says why (404, 409, 422) and what was
typed, so a person never loses a note to a typo.

Lists and counts come from visibility (the workflows' memo rows); one request's page is one
query of its workflow. Reassigning and cancelling call the JSON API's routes; an answer goes
to ``service`` directly, with the channel ``dashboard``. Each is recorded as the signed-in
person's.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ValidationError
from starlette.convertors import Convertor, register_url_convertor
from starlette.datastructures import UploadFile

from opsdesk import clock
from opsdesk.ai.models import Priority
from opsdesk.comments import Comments, interleaved
from opsdesk.files.refs import FileRef
from opsdesk.maintenance import api, service
from opsdesk.maintenance.attachments import shown_files
from opsdesk.maintenance.comments import existing_request
from opsdesk.maintenance.directory import Directory, VendorSpec
from opsdesk.maintenance.ids import REQUEST_ID_PATTERN, request_workflow_id
from opsdesk.maintenance.inputs import ANSWER_MODELS
from opsdesk.maintenance.invoice import LINE_KINDS
from opsdesk.maintenance.invoice_form import (
    InvoiceProblem,
    invoice_answer,
    invoice_fields,
    line_rows,
    uploaded_document,
)
from opsdesk.maintenance.listing import (
    QUEUES,
    Queue,
    RequestFilter,
    RequestPage,
    list_requests,
    search_requests,
)
from opsdesk.maintenance.notices import QUESTIONS, estimate_words, invoice_rows, over_estimate
from opsdesk.maintenance.payouts import payout_report, unknown_property
from opsdesk.maintenance.phone import call_views_of
from opsdesk.maintenance.progress import (
    cancel_effects,
    cancel_title,
    channel_words,
    next_step,
    source_words,
    stage_words,
    status_words,
)
from opsdesk.maintenance.state import RequestRow, RequestState
from opsdesk.maintenance.status import CANCELLABLE, REASSIGNABLE, RequestStatus, Role, Stage
from opsdesk.maintenance.surveys import RATING_WORDS, Surveys
from opsdesk.notify.outbox import Outbox
from opsdesk.temporal.visibility import BadPageToken
from opsdesk.web.auth import VIEWER, Operator
from opsdesk.web.bulk import MOST_ROWS, read_bulk_form, report, row_key
from opsdesk.web.chips import chips, query_string
from opsdesk.web.comments import add_comment
from opsdesk.web.csv_export import EXPORT_LIMIT, csv_response, stamped
from opsdesk.web.deps import client_of, db_of, settings_of
from opsdesk.web.errors import ApiError, sentence
from opsdesk.web.files import files_of
from opsdesk.web.forms import read_form, read_form_with_files

# The dashboard's notices are one mechanism for both desks.
from opsdesk.web.navigation import (
    BACK_LIMIT,
    Notice,
    Pager,
    back_to,
    local_path,
    page_posted_from,
    pager,
    redirect_with,
)
from opsdesk.web.pages import dashboard_page, reader_zone, templates
from opsdesk.web.params import ROW_ID_MAX, whole_number
from opsdesk.web.saved_views import SavedViews

router = APIRouter(include_in_schema=False, dependencies=VIEWER)

QUEUE_SIZE = 6
PAGE_SIZE = 20
# How many time windows the tenant's availability form offers without the script.
WINDOW_ROWS = 3
KEY_MAX_LENGTH = 100  # what an answer id, and the API's Idempotency-Key, may be
CHANNEL = "dashboard"

# Pages of other parts of the desk live under /maintenance too; a request id never takes
# their place, whichever router the app happens to consult first.
RESERVED_PATHS = (
    "report",
    "intake",
    "properties",
    "vendors",
    "scorecards",
    "aging",
    "preventive",
    "payouts",
)


class _RequestIdConvertor(Convertor[str]):
    regex = rf"(?!(?:{'|'.join(RESERVED_PATHS)})(?:/|$))" + REQUEST_ID_PATTERN.removeprefix(
        "^"
    ).removesuffix("$")

    def convert(self, value: str) -> str:
        return value

    def to_string(self, value: str) -> str:
        return value


register_url_convertor("maintenance_request", _RequestIdConvertor())
REQUEST = "{request_id:maintenance_request}"

STATUSES = list(RequestStatus)
PRIORITIES: tuple[Priority, ...] = ("emergency", "urgent", "routine")
ROLES: tuple[Role, ...] = ("owner", "vendor", "tenant")

# What each form field is called on the page, for messages about it.
_LABELS = {
    "note": "Note",
    "reason": "Reason",
    "amount_cents": "Amount",
    "windows": "Times at home",
    "slot": "Visit",
    "vendor_id": "Vendor",
}


# -- formatting for the templates --------------------------------------------------------


def words(value: str) -> str:
    return value.replace("_", " ")


# -- reading what the page asks for --------------------------------------------------------


def _filter(request: Request) -> RequestFilter:
    """Filters from the query string; a value that makes no sense is ignored, not an error."""
    values: dict[str, Any] = {}
    for name in ("status", "priority", "waiting_on", "queue", "q"):
        raw = request.query_params.get(name)
        if not raw:
            continue
        try:
            values |= RequestFilter.model_validate({name: raw}).model_dump(include={name})
        except ValidationError:
            continue
    return RequestFilter(**values)


def _key(fields: Mapping[str, str]) -> str:
    """The form's idempotency key (a post repeated acts once); a fresh one when it has none
    the service would take."""
    key = fields.get("idempotency_key", "").strip()
    return key if 0 < len(key) <= KEY_MAX_LENGTH else uuid.uuid4().hex


# -- rendering -----------------------------------------------------------------------------


def _render(
    request: Request, template: str, status_code: int = 200, **context: Any
) -> HTMLResponse:
    return templates.TemplateResponse(
        request,
        template,
        {
            "section": "maintenance",
            "temporal_ui": settings_of(request).resolved_temporal_ui_url,
            **_WORDS,
            **context,
        },
        status_code=status_code,
    )


_WORDS: dict[str, Any] = {
    "statuses": STATUSES,
    "priorities": PRIORITIES,
    "roles": ROLES,
    "queue_names": QUEUES,
    "due": clock.due,
    "words": words,
}
"""What the desk's templates name besides a page's own facts."""


def _page(
    request: Request,
    template: str,
    status_code: int = 200,
    notice: Notice | None = None,
    **context: Any,
) -> HTMLResponse:
    """A whole page: it shows, and so uses up, the notice a form route left for it (or the
    one it is given)."""
    return dashboard_page(
        request,
        template,
        _WORDS | context,
        section="maintenance",
        status_code=status_code,
        notice=notice,
    )


# -- what each section shows ---------------------------------------------------------------


async def _metrics(request: Request) -> dict[str, Any]:
    return {"metrics": await api.cached_metrics(request)}


async def _queues(request: Request) -> dict[str, Any]:
    client, settings = client_of(request), settings_of(request)
    keys: list[Queue] = list(QUEUES)
    pages = await asyncio.gather(
        *(
            list_requests(client, settings, RequestFilter(queue=key), page_size=QUEUE_SIZE)
            for key in keys
        )
    )
    queues = [(QUEUES[key], key, page) for key, page in zip(keys, pages, strict=True)]
    return {"queues": queues, "quiet": [title for title, _, page in queues if not page.items]}


def _pager(query: dict[str, str], token: str | None, back: list[str], page: RequestPage) -> Pager:
    return pager("/maintenance", query, token, back, page.next_page_token)


async def _requests(request: Request) -> dict[str, Any]:
    where = _filter(request)
    token = request.query_params.get("page_token") or None
    back = request.query_params.getlist("back")[-BACK_LIMIT:] if token else []
    client, settings = client_of(request), settings_of(request)
    searched = None
    if where.q:
        # A search reads rows rather than paging visibility: its matches are one page.
        searched = await search_requests(client, settings, where)
        page = RequestPage(items=searched.items, next_page_token=None)
        token, back = None, []
    else:
        try:
            page = await list_requests(
                client, settings, where, page_size=PAGE_SIZE, page_token=token
            )
        except BadPageToken:
            page = await list_requests(client, settings, where, page_size=PAGE_SIZE)
            token, back = None, []
    query = {
        k: str(v) for k, v in where.model_dump(mode="json", exclude={"open_only"}).items() if v
    }
    who = getattr(request.state, "identity", None)
    return {
        "views": await SavedViews(db_of(request)).of(who, "maintenance"),
        "desk": "maintenance",
        "page": page,
        "where": where,
        "query": query,
        "searched": searched,
        "query_string": query_string(query),
        "chips": chips("/maintenance", query, _chip_label),
        "list_path": "/maintenance",
        "pager": _pager(query, token, back, page),
    }


def _chip_label(name: str, value: Any) -> str:
    if name == "status":
        return f"Status: {words(value).lower()}"
    if name == "queue":
        return QUEUES[value]
    if name == "waiting_on":
        return f"Waiting on: {value}"
    if name == "priority":
        return f"Priority: {value}"
    return f"Search: {value}"


def temporal_url(request: Request, request_id: str) -> str:
    base = settings_of(request).resolved_temporal_ui_url.rstrip("/")
    namespace = client_of(request).namespace
    return f"{base}/namespaces/{namespace}/workflows/{request_workflow_id(request_id)}"


async def _state(request: Request, request_id: str) -> RequestState:
    try:
        return await service.get_request(client_of(request), request_id)
    except service.RequestNotFound as exc:
        raise ApiError(404, "not_found", str(exc)) from None


def _vendor_choices(
    state: RequestState, vendors: list[VendorSpec]
) -> list[tuple[str, list[VendorSpec]]]:
    """Active vendors other than the one on the job: the request's trade first."""
    current = state.vendor.vendor_id if state.vendor else None
    trade = state.triage.trade if state.triage else None
    others = [v for v in vendors if v.id != current]
    of_trade = [v for v in others if trade in v.trades]
    rest = [v for v in others if trade not in v.trades]
    groups = []
    if of_trade:
        groups.append((f"{words(trade or '')}s".capitalize(), of_trade))
    if rest:
        groups.append(("Other trades", rest))
    return groups


def _identity_name(request: Request) -> str:
    """Who the forms act as: the timeline records the signed-in person, not a typed name."""
    identity = getattr(request.state, "identity", None)
    return identity.name if identity else ""


def _label(request_id: str) -> str:
    return request_id


async def _detail(request: Request, state: RequestState) -> dict[str, Any]:
    reference = request_workflow_id(state.request_id)
    reassignable = state.status in REASSIGNABLE
    db = db_of(request)
    vendors = await Directory(db).vendors() if reassignable else []
    emails = await Outbox(db).recent(reference=reference, limit=50)
    comments = await Comments(db).of("request", state.request_id)
    # The survey is sent at close and answered after the workflow has ended: the database's.
    survey = await Surveys(db).of_request(state.request_id) if state.status.terminal else None
    zone = reader_zone(request)
    settings = settings_of(request)
    question = state.question
    asked = None
    if question is not None and question.asked:
        asked = question.asked[-1]

    def when(at: datetime) -> str:
        return clock.moment(at, zone, named=False)

    return {
        "state": state,
        "label": _label(state.request_id),
        "question": question,
        "asked": asked,
        "asking": QUESTIONS[question.stage][0] if question else "",
        "reader_zone": zone,
        "status_words": status_words,
        "stage_words": stage_words,
        "channel_words": channel_words,
        "source_words": source_words,
        "next_step": next_step(state, when, clock.due(question.deadline) if question else ""),
        "span_of": lambda start, end: clock.span(start, end, zone, named=False),
        "input_of": lambda at: clock.input_value(at, zone),
        "over": over_estimate(state),
        "estimate_words": estimate_words(state) if state.approved_cents is not None else "",
        "can_cancel": state.status in CANCELLABLE,
        "can_reassign": reassignable,
        "vendor_groups": _vendor_choices(state, vendors),
        "emails": emails,
        "call_views": call_views_of(state, emails),
        "timeline": interleaved(state.timeline, comments, at=lambda t: t.at),
        "temporal_url": temporal_url(request, state.request_id),
        "actor": _identity_name(request),
        "window_rows": range(WINDOW_ROWS),
        "survey": survey,
        "rating_words": RATING_WORDS,
        "line_rows_of": line_rows,
        "line_kinds": LINE_KINDS,
        "document_url": _document_url(request, state),
        "invoice_rows": invoice_rows(state) if state.invoice and state.invoice.lines else [],
        # Only the full page shows them (outside the polled section): each poll would make
        # new links and load every photo again.
        "files": shown_files(state, files_of(request), settings.file_link_lifetime, when),
        "files_lifetime": clock.duration(settings.file_link_lifetime),
    }


def _document_url(request: Request, state: RequestState) -> str:
    """A short-lived link to the invoice's document, or "" when there is none."""
    if state.invoice is None or state.invoice.document is None:
        return ""
    lifetime = settings_of(request).file_link_lifetime
    return files_of(request).url(state.invoice.document, lifetime)


async def _cancelling(request: Request, request_id: str) -> dict[str, Any]:
    """What the confirmation of a cancel shows: what it will do, or why it cannot."""
    state = await _state(request, request_id)
    zone = reader_zone(request)
    back = local_path(request.query_params.get("back")) or page_posted_from(request)
    return {
        "state": state,
        "label": _label(state.request_id),
        "title": cancel_title(_label(state.request_id)),
        "can_cancel": state.status in CANCELLABLE,
        "effects": cancel_effects(state, lambda at: clock.moment(at, zone, named=False)),
        "back": back if back and not back.endswith("/cancel") else _path(state.request_id),
        "status_words": status_words,
    }


# -- pages -----------------------------------------------------------------------------------


@router.get("/maintenance", response_class=HTMLResponse)
async def maintenance_page(request: Request) -> HTMLResponse:
    metrics, queues, requests = await asyncio.gather(
        _metrics(request), _queues(request), _requests(request)
    )
    return _page(request, "maintenance/dashboard.html", **metrics, **queues, **requests)


@router.get("/maintenance.csv")
async def requests_csv(request: Request) -> Response:
    """The list as the filters in the address have it (every page, up to
    ``EXPORT_LIMIT`` requests; a search's matches), from the same memo rows as the page."""
    where = _filter(request)
    client, settings = client_of(request), settings_of(request)
    rows: list[RequestRow] = []
    if where.q:
        rows = (await search_requests(client, settings, where, limit=EXPORT_LIMIT)).items
    else:
        token: str | None = None
        while len(rows) < EXPORT_LIMIT:
            page = await list_requests(client, settings, where, page_size=100, page_token=token)
            rows += page.items
            token = page.next_page_token
            if token is None:
                break
    header = (
        "Request", "Status", "Priority", "Problem", "Property", "Unit", "Address", "Tenant",
        "Waiting on", "Answer due (UTC)", "Vendor", "Amount", "Currency", "Created (UTC)",
        "Updated (UTC)",
    )  # fmt: skip
    return csv_response(
        stamped("repair-requests"),
        header,
        (
            (
                r.request_id,
                r.status.words,
                r.priority,
                r.summary,
                r.property_name,
                r.unit,
                r.address,
                r.tenant_name,
                r.waiting_on,
                r.deadline,
                r.vendor_name,
                f"{r.amount_cents / 100:.2f}" if r.amount_cents is not None else "",
                r.currency,
                r.created_at,
                r.updated_at,
            )
            for r in rows[:EXPORT_LIMIT]
        ),
    )


async def _payout_filters(request: Request) -> tuple[str | None, str | None, str]:
    """The month and property the address asks for, and what is wrong with them ("" when
    nothing is)."""
    month = request.query_params.get("month") or None
    property_id = request.query_params.get("property_id") or None
    try:
        api.PayoutFilter(month=month, property_id=property_id)
    except ValidationError:
        return (
            None,
            None,
            "Choose a month from the calendar (like 2026-12) and a property from the list.",
        )
    unknown = await unknown_property(db_of(request), property_id)
    if unknown:
        return month, None, unknown
    return month, property_id, ""


@router.get("/maintenance/payouts", response_class=HTMLResponse)
async def payouts_page(request: Request) -> HTMLResponse:
    """Payouts to vendors, by property and month, with their totals."""
    month, property_id, problem = await _payout_filters(request)
    report = await payout_report(db_of(request), month, property_id, limit=EXPORT_LIMIT)
    zone = reader_zone(request)
    query = query_string({"month": month or "", "property_id": property_id or ""})
    return _page(
        request,
        "maintenance/payouts.html",
        422 if problem else 200,
        notice=Notice("error", problem) if problem else None,
        report=report,
        month=month,
        property_id=property_id,
        properties=await Directory(db_of(request)).properties(),
        query=query,
        month_words=clock.month,
        when_of=lambda at: clock.moment(at, zone),
    )


@router.get("/maintenance/payouts.csv")
async def payouts_csv(request: Request) -> Response:
    """The payouts the page shows (its filters), one row each, for the accountant."""
    month, property_id, problem = await _payout_filters(request)
    if problem:
        raise ApiError(422, "invalid_input", problem)
    report = await payout_report(db_of(request), month, property_id, limit=EXPORT_LIMIT)
    header = (
        "Month", "Paid (UTC)", "Property", "Property id", "Request", "Vendor", "Vendor id",
        "Invoice number", "Amount", "Currency", "Payout",
    )  # fmt: skip
    return csv_response(
        stamped("payouts"),
        header,
        (
            (
                p.month,
                p.paid_at,
                p.property_name,
                p.property_id,
                p.request_id,
                p.vendor_name,
                p.vendor_id,
                p.invoice_number,
                f"{p.amount_cents / 100:.2f}",
                p.currency,
                p.payout_id,
            )
            for p in report.items
        ),
    )


@router.get(f"/maintenance/{REQUEST}", response_class=HTMLResponse)
async def request_page(request: Request, request_id: str) -> HTMLResponse:
    state = await _state(request, request_id)
    return _page(request, "maintenance/detail.html", **await _detail(request, state))


async def _shown_again(
    request: Request, request_id: str, error: ApiError, sent: Mapping[str, str]
) -> HTMLResponse:
    """The request's page again, with why the form could not act and what it held."""
    state = await _state(request, request_id)
    return _page(
        request,
        "maintenance/detail.html",
        error.status,
        notice=Notice("error", sentence(error.message)),
        sent=dict(sent),
        **await _detail(request, state),
    )


# -- what the forms post ------------------------------------------------------------------------


@router.post(f"/maintenance/{REQUEST}/answer", response_model=None)
async def answer_form(request: Request, who: Operator, request_id: str) -> Response:
    """Answer the open question on its person's behalf. Not through the JSON API's route:
    that one records the channel ``api``."""
    upload, fields, files = await read_form_with_files(request, "document")
    try:
        return await _answer_on_behalf(request, who, request_id, fields, files)
    finally:
        await upload.close()


async def _answer_on_behalf(
    request: Request,
    who: Operator,
    request_id: str,
    fields: dict[str, str],
    files: list[UploadFile],
) -> Response:
    state = await _state(request, request_id)
    try:
        document = None
        if fields.get("stage") == Stage.INVOICE and files:
            document = await _document(request, request_id, files[0])
        stage, answer = _answer_of(state, fields, who.name, reader_zone(request), document)
        try:
            answered, settled = await service.answer_request(
                client_of(request),
                request_id,
                stage,
                answer,
                wait=settings_of(request).action_wait,
            )
        except (service.RequestNotFound, service.AnswerRefused) as exc:
            raise api._refused(exc) from None
    except ApiError as exc:
        return await _shown_again(request, request_id, exc, fields)
    record = answered.latest(stage)
    what = record.answer.what if record and record.answer else "answered"
    text = f"Answered for the {stage.role}: {what}. {_where_now(answered, settled)}"
    return back_to(request, _path(request_id), Notice("ok", text))


@router.post(f"/maintenance/{REQUEST}/reassign", response_model=None)
async def reassign_form(request: Request, who: Operator, request_id: str) -> Response:
    fields = await read_form(request)
    try:
        body = _validated(
            api.ReassignBody,
            {
                "vendor_id": fields.get("vendor_id", "").strip() or None,
                "note": fields.get("note", ""),
            },
        )
        response = Response()
        state = await api.reassign(request, who, response, request_id, body, _key(fields))
    except ApiError as exc:
        return await _shown_again(request, request_id, exc, fields)
    vendor = state.vendor.name if state.vendor else "the next vendor of the trade"
    text = f"Reassigned to {vendor}. {_where_now(state, response.status_code != 202)}"
    return back_to(request, _path(request_id), Notice("ok", text))


@router.get(f"/maintenance/{REQUEST}/cancel", response_class=HTMLResponse)
async def cancel_page(request: Request, request_id: str) -> HTMLResponse:
    """The confirmation a cancel asks for without the script: who is told and what happens
    to the vendor, and the button that cancels. Opening it changes nothing."""
    return _page(request, "maintenance/cancel.html", **await _cancelling(request, request_id))


@router.post(f"/maintenance/{REQUEST}/comments", response_model=None)
async def comment_form(request: Request, who: Operator, request_id: str) -> Response:
    """Add a comment from the request's page; a refusal shows the page again with the
    words as they were typed."""
    fields = await read_form(request)
    found = await existing_request(request, request_id)
    try:
        await add_comment(request, "request", found, who, fields.get("body", ""), _key(fields))
    except ApiError as exc:
        return await _shown_again(request, found, exc, fields)
    return redirect_with(f"{_path(found)}#comments", Notice("ok", "Comment added."))


@router.post(f"/maintenance/{REQUEST}/cancel", response_model=None)
async def cancel_form(request: Request, who: Operator, request_id: str) -> Response:
    """The confirmed cancel: back to where the person came from, saying what happened."""
    fields = await read_form(request)
    try:
        reason = fields.get("reason", "").strip()
        if not reason:
            # The API lets a program cancel without one; a person says why.
            raise ApiError(422, "invalid_input", "Reason: say why the request is cancelled")
        body = _validated(api.CancelBody, {"reason": reason})
        response = Response()
        state = await api.cancel(request, who, response, request_id, body, _key(fields))
    except ApiError as exc:
        # The confirmation again, with why and the reason as typed.
        context = await _cancelling(request, request_id)
        context["back"] = local_path(fields.get("back")) or context["back"]
        return _page(
            request,
            "maintenance/cancel.html",
            exc.status,
            notice=Notice("error", sentence(exc.message)),
            sent=dict(fields),
            **context,
        )
    text = _where_now(state, response.status_code != 202)
    back = local_path(fields.get("back")) or page_posted_from(request) or _path(request_id)
    return redirect_with(back, Notice("ok", text))


CANCEL_CONSEQUENCES = (
    "Each request stops where it is, and everyone already involved (the tenant, the owner, a "
    "vendor on the job) is told it was cancelled, with your reason. A request whose vendor "
    "has already been paid cannot be cancelled and is left as it is."
)


@router.post("/maintenance/bulk", response_model=None)
async def bulk_form(request: Request, who: Operator) -> Response:
    """Cancel every ticked request, each through the same route as its own form, after a
    page that says what will happen and asks why; then report each request's outcome."""
    try:
        form = await read_bulk_form(request, "/maintenance")
    except ApiError as exc:
        return back_to(request, "/maintenance", Notice("error", sentence(exc.message)))
    problem = None
    if form.action != "cancel":
        problem = "Pick what to do with the selected requests."
    elif not form.rows:
        problem = "Select at least one request first: tick the box at the start of its row."
    elif len(form.rows) > MOST_ROWS:
        problem = f"Select at most {MOST_ROWS} requests at once."
    if problem:
        return redirect_with(form.back, Notice("error", problem))
    if not form.confirmed or not form.reason:
        count = len(form.rows)
        plural = "s" if count != 1 else ""
        return _page(
            request,
            "orders/bulk_confirm.html",
            422 if form.confirmed else 200,
            notice=Notice("error", "Say why the requests are cancelled.")
            if form.confirmed
            else None,
            form=form,
            labels=form.rows,
            title=f"Cancel {count} request{plural}?",
            consequences=CANCEL_CONSEQUENCES,
            confirm_label=f"Cancel {count} request{plural}",
            keep_label="Keep them" if count != 1 else "Keep it",
            post_to="/maintenance/bulk",
            reason_label="Why (everyone involved is told)",
            reason_required=True,
        )

    async def one(request_id: str) -> tuple[bool, str]:
        response = Response()
        key = row_key(form.key, form.action, request_id) or _key({})
        try:
            body = _validated(api.CancelBody, {"reason": form.reason})
            await api.cancel(request, who, response, request_id, body, key)
        except ApiError as exc:
            return False, f"{request_id} could not be cancelled: {exc.message.rstrip('.')}"
        still = " (still finishing)" if response.status_code == 202 else ""
        return True, f"{request_id} cancelled{still}"

    outcomes = await asyncio.gather(*(one(request_id) for request_id in form.rows))
    kind: Literal["ok", "error"] = "ok" if all(ok for ok, _ in outcomes) else "error"
    return redirect_with(form.back, Notice(kind, report([text for _, text in outcomes])))


async def _document(request: Request, request_id: str, upload: UploadFile) -> FileRef:
    try:
        return await uploaded_document(files_of(request), request_id, upload)
    except InvoiceProblem as exc:
        raise ApiError(422, "invalid_input", str(exc)) from None


def _path(request_id: str) -> str:
    return f"/maintenance/{request_id}"


def _where_now(state: RequestState, settled: bool) -> str:
    label = _label(state.request_id)
    if not settled:
        return f"Request {label} took it and is still working on it."
    return f"Request {label} is {status_words(state.status)} now."


# -- reading the answer forms ---------------------------------------------------------------


def _answer_of(
    state: RequestState,
    fields: Mapping[str, str],
    actor: str,
    zone: str | None = None,
    document: FileRef | None = None,
) -> tuple[Stage, Any]:
    """The stage the form answers and the answer, as that stage's update takes it. Times
    are typed in ``zone``, the reader's (the property's when none is given); ``document``
    is the invoice's, kept already."""
    try:
        stage = Stage(fields.get("stage", ""))
    except ValueError:
        raise ApiError(
            422, "invalid_input", "the form does not say which question it answers"
        ) from None
    if zone is None:
        zone = state.premises.time_zone if state.premises else "UTC"
    data: dict[str, Any] = {
        "answer_id": _key(fields),
        "actor": actor,
        "channel": CHANNEL,
        "note": fields.get("note", ""),
    }
    asked = whole_number(fields.get("round", ""), ROW_ID_MAX)
    if asked is not None:
        # The asking the page showed: a newer one is not answered by mistake.
        data["round"] = asked
    if stage in (
        Stage.OWNER_APPROVAL,
        Stage.ESTIMATE_APPROVAL,
        Stage.INVOICE_APPROVAL,
        Stage.REPORT_CHECK,
    ):
        data["approve"] = _yes_no(fields, "approve")
    elif stage is Stage.VENDOR_QUOTE:
        if fields.get("decline") == "true":
            data["decline"] = True
        else:
            data["amount_cents"] = _cents(fields.get("amount", ""))
    elif stage is Stage.INVOICE:
        try:
            return stage, invoice_answer({**data, **invoice_fields(fields), "document": document})
        except InvoiceProblem as exc:
            raise ApiError(422, "invalid_input", str(exc)) from None
    elif stage is Stage.COMPLETION:
        data["fixed"] = _yes_no(fields, "fixed")
    elif stage is Stage.AVAILABILITY:
        data["windows"] = _windows(fields, zone)
    elif stage is Stage.SLOT:
        data["slot"] = _window(fields, "start", "end", zone, "Visit")
    return stage, _validated(ANSWER_MODELS[stage], data)


def _yes_no(fields: Mapping[str, str], name: str) -> bool:
    value = fields.get(name, "")
    if value not in ("true", "false"):
        raise ApiError(422, "invalid_input", "press one of the form's buttons")
    return value == "true"


def _cents(raw: str) -> int:
    """``"1,204.50"`` → ``120450``: people type amounts, not cents."""
    text = raw.strip().replace(",", "").replace(" ", "")
    try:
        amount = Decimal(text)
        # Whole cents only; quantizing a vast number fails, and says so the same way.
        usable = amount.is_finite() and amount > 0 and amount == amount.quantize(Decimal("0.01"))
    except InvalidOperation:
        usable = False
    if not usable:
        raise ApiError(
            422, "invalid_input", f"Amount: give an amount like 320.00, not {raw.strip()!r}"
        )
    return int(amount * 100)


def _moment(raw: str, zone: str, label: str) -> datetime:
    """A ``datetime-local`` value, which has no zone: it is ``zone``'s local time."""
    try:
        moment = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise ApiError(
            422, "invalid_input", f"{label}: give a date and time, like 2030-05-14T09:00"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=clock.zone_of(zone))
    return moment


def _window(
    fields: Mapping[str, str], start: str, end: str, zone: str, label: str
) -> dict[str, datetime]:
    return {
        "start": _moment(fields.get(start, ""), zone, f"{label} from"),
        "end": _moment(fields.get(end, ""), zone, f"{label} to"),
    }


def _windows(fields: Mapping[str, str], zone: str) -> list[dict[str, datetime]]:
    windows = []
    for row in range(WINDOW_ROWS):
        start, end = f"start.{row}", f"end.{row}"
        if fields.get(start, "").strip() or fields.get(end, "").strip():
            windows.append(_window(fields, start, end, zone, f"Window {row + 1}"))
    if not windows:
        raise ApiError(422, "invalid_input", "Times at home: give at least one window")
    return windows


def _validated(model: type[BaseModel], data: Mapping[str, Any]) -> Any:
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        problems = dict.fromkeys(_describe(e["loc"], e["msg"], e["type"]) for e in exc.errors())
        raise ApiError(422, "invalid_input", "; ".join(problems)) from None


def _describe(loc: tuple[int | str, ...], msg: str, kind: str) -> str:
    message = msg.removeprefix("Value error, ")
    if kind == "missing":
        message = "required"
    if not loc:
        return message
    field = str(loc[0])
    label = _LABELS.get(field, words(field).capitalize())
    if field == "windows" and len(loc) > 1 and isinstance(loc[1], int):
        label = f"Window {loc[1] + 1}"
    return f"{label}: {message}"


# -- fragments -------------------------------------------------------------------------------


@router.get("/fragments/maintenance/metrics", response_class=HTMLResponse)
async def metrics_fragment(request: Request) -> HTMLResponse:
    return _render(request, "maintenance/_metrics.html", **await _metrics(request))


@router.get("/fragments/maintenance/queues", response_class=HTMLResponse)
async def queues_fragment(request: Request) -> HTMLResponse:
    return _render(request, "maintenance/_queues.html", **await _queues(request))


@router.get("/fragments/maintenance/requests", response_class=HTMLResponse)
async def requests_fragment(request: Request) -> HTMLResponse:
    return _render(request, "maintenance/_requests.html", **await _requests(request))


@router.get(f"/fragments/maintenance/requests/{REQUEST}/cancel", response_class=HTMLResponse)
async def cancel_fragment(request: Request, request_id: str) -> HTMLResponse:
    """The confirmation, for the dialog the script shows over the page."""
    return _render(request, "maintenance/_cancel.html", **await _cancelling(request, request_id))


@router.get(f"/fragments/maintenance/requests/{REQUEST}", response_class=HTMLResponse)
async def request_fragment(request: Request, request_id: str) -> HTMLResponse:
    """The request's page without its photos: ``part`` "head" (the facts), "rest" (the
    questions, timeline, actions and messages) or, without it, both."""
    state = await _state(request, request_id)
    part = request.query_params.get("part")
    return _render(
        request,
        "maintenance/_request.html",
        part=part if part in ("head", "rest") else None,
        **await _detail(request, state),
    )
