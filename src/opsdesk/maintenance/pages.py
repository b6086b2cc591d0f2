"""The public pages: the tenant's report form and the pages behind signed email links.

Nobody signs in here. A link's page (GET) only shows the facts and the buttons, because
mail scanners open links; submitting it (POST) answers, with the link's unique id as the
answer's id, so a link acts once however often it is posted. Every refusal (a forged,
expired, used or outdated link, an answer that does not fit) is a readable page, never a
500.
"""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.datastructures import UploadFile
from starlette.requests import HTTPConnection
from temporalio.service import RPCError, RPCStatusCode

from opsdesk import clock
from opsdesk.ai.emergency import EmergencyPolicy, load_policy
from opsdesk.errors import UnknownProperty
from opsdesk.files.media import MediaLimits, MediaRefused, size_words
from opsdesk.files.refs import FileRef
from opsdesk.files.uploads import keep_uploads
from opsdesk.maintenance import attachments, notices, service
from opsdesk.maintenance import public_words as words
from opsdesk.maintenance.directory import Directory
from opsdesk.maintenance.follow import follow_view
from opsdesk.maintenance.inputs import (
    ANSWER_MODELS,
    LONGEST_WINDOW,
    Answer,
    RequestForm,
    Window,
)
from opsdesk.maintenance.invoice import LINE_KINDS
from opsdesk.maintenance.invoice_form import (
    InvoiceProblem,
    invoice_answer,
    invoice_fields,
    line_rows,
    uploaded_document,
)
from opsdesk.maintenance.link_uses import LinkUses
from opsdesk.maintenance.notices import FOLLOW, QUESTIONS, REPORT_CHECK_FOR_TENANT, SURVEY
from opsdesk.maintenance.rules import window_problem
from opsdesk.maintenance.state import Question, RequestState
from opsdesk.maintenance.status import Stage
from opsdesk.notify.links import LinkGrant
from opsdesk.notify.signing import LinkRefused, LinkSigner, link_key
from opsdesk.security_events import record
from opsdesk.settings import Settings
from opsdesk.web.deps import client_of, db_of, settings_of
from opsdesk.web.files import files_of
from opsdesk.web.forms import read_form_with_files
from opsdesk.web.limits import rate_limited
from opsdesk.web.pages import new_key, templates

# Public on purpose: anyone may open the form or a link, a bounded number of times.
router = APIRouter(include_in_schema=False, dependencies=[Depends(rate_limited("people"))])

RESUBMIT = "resubmit"
PHOTO_STAGES = frozenset({Stage.AVAILABILITY, Stage.COMPLETION})
"""The tenant's questions whose answer may bring photos and videos."""
CHOOSE_AGAIN = "Choose your photos and videos again: a form sent back does not keep them."
_AMOUNT = re.compile(r"^\s*([0-9]{1,9})(?:[.,]([0-9]{1,2}))?\s*$")


class BadAnswer(ValueError):
    """The form's fields do not make an answer; the message says what to fix."""


def signer_of(request: HTTPConnection) -> LinkSigner:
    signer: LinkSigner | None = getattr(request.app.state, "link_signer", None)
    if signer is None:
        settings = settings_of(request)
        signer = LinkSigner(link_key(settings), settings.resolved_public_url)
        request.app.state.link_signer = signer
    return signer


def policy_of(request: Request) -> EmergencyPolicy:
    """The written emergency criteria the desk runs on (read once per app)."""
    policy: EmergencyPolicy | None = getattr(request.app.state, "emergency_policy", None)
    if policy is None:
        policy = load_policy(settings_of(request).emergency_criteria)
        request.app.state.emergency_policy = policy
    return policy


def page(request: Request, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(
        request, f"maintenance/public/{name}.html", context, status_code=status
    )


def outcome(
    request: Request,
    status: int,
    outcome: str,
    title: str,
    *lines: str,
    kind: str = "refused",
    facts: list[dict[str, str]] | None = None,
    action: dict[str, str] | None = None,
    next_step: str = "",
) -> HTMLResponse:
    """A page that tells the person how their visit ended; ``next_step`` (what happens
    now) gets its own heading."""
    return page(
        request,
        "outcome",
        status,
        outcome=outcome,
        title=title,
        lines=lines,
        kind=kind,
        facts=facts or [],
        action=action,
        next_step=next_step,
    )


# -- the tenant's form -------------------------------------------------------------------------


@router.get("/report")
async def report_form(request: Request, again: str | None = None) -> HTMLResponse:
    """The report form; ``again`` (a signed resubmit link) fills it in from an old request."""
    values: dict[str, str] = {}
    notice = None
    if again:
        try:
            grant = signer_of(request).verify(again)
            if grant.stage != RESUBMIT:
                raise LinkRefused("forged", "not a resubmit link")
            old = await service.get_request(client_of(request), grant.request_id)
            values = _values_of(old.form)
            notice = {
                "kind": "ok",
                "text": f"Filled in from request {old.request_id}: check it and send it again.",
            }
        except (LinkRefused, service.RequestNotFound) as exc:
            reason = exc.kind if isinstance(exc, LinkRefused) else "request gone"
            record("link_refused", "refused", request=request, reason=reason, link="resubmit")
            notice = {
                "kind": "error",
                "text": "That link cannot fill in the form any more; please fill it in again.",
            }
    return await _form(request, values, notice=notice)


async def _form(
    request: Request,
    values: dict[str, str],
    *,
    errors: list[str] | None = None,
    notice: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    properties = await Directory(db_of(request)).properties()
    blank = {k: "" for k in ("property_id", "unit", "name", "email", "phone", "description")}
    return page(
        request,
        "report",
        status,
        properties=properties,
        values=blank | values,
        errors=errors or [],
        notice=notice,
        call_first=notices.call_first(policy_of(request).emergency_number, reported=False),
        key=values.get("key") or new_key(),
        limits=limits_words(settings_of(request)),
    )


def limits_words(settings: Settings) -> str:
    """What a person may attach, said before they choose."""
    return (
        f"JPEG, PNG or HEIC photos up to {size_words(settings.max_photo_bytes)} each and MP4 "
        f"videos up to {size_words(settings.max_video_bytes)}; at most "
        f"{settings.max_files_per_report} files."
    )


def _values_of(form: RequestForm) -> dict[str, str]:
    return {
        "property_id": form.property_id,
        "unit": form.unit,
        "name": form.tenant.name,
        "email": form.tenant.email,
        "phone": form.tenant.phone,
        "description": form.description,
    }


# What each field needs, said for the person filling in the form: never a pattern.
_FORM_PROBLEMS = {
    "property_id": "Building: choose your building from the list.",
    "unit": "Unit: give your unit (up to 50 characters).",
    "tenant.name": "Your name: give your name (up to 200 characters).",
    "tenant.email": "Email: give an email address, like sam@example.com.",
    "tenant.phone": (
        "Phone: use digits, spaces, brackets and dashes, with + in front for another "
        "country (up to 32 characters)."
    ),
    "description": ("What is wrong: describe the problem in at least 10 characters (up to 4,000)."),
}


@router.post("/report")
async def report(request: Request) -> Response:
    upload, values, files = await read_form_with_files(request)
    try:
        return await _report(request, values, files)
    finally:
        await upload.close()


async def _report(request: Request, values: dict[str, str], files: list[UploadFile]) -> Response:
    again = [CHOOSE_AGAIN] if files else []
    try:
        # One validation of the whole form, so every problem is listed at once.
        form = RequestForm.model_validate(
            {
                "property_id": values.get("property_id", ""),
                "unit": values.get("unit", ""),
                "tenant": {
                    "name": values.get("name", ""),
                    "email": values.get("email", ""),
                    "phone": values.get("phone", ""),
                },
                "description": values.get("description", ""),
            }
        )
    except ValidationError as exc:
        return await _form(request, values, errors=_form_errors(exc) + again, status=422)
    try:
        premises = await Directory(db_of(request)).property_facts(form.property_id, form.unit)
    except UnknownProperty as exc:
        return await _form(request, values, errors=[f"{exc}.", *again], status=422)
    settings = settings_of(request)
    try:
        photos = await keep_uploads(files_of(request), files, MediaLimits.of(settings))
    except MediaRefused as exc:
        return await _form(request, values, errors=[str(exc), CHOOSE_AGAIN], status=422)
    form.photos = photos
    # The form's key makes a double click (or a resent POST) one request.
    key = values.get("key") or new_key()
    try:
        request_id, _, _ = await service.submit_numbered_request(
            client_of(request),
            settings_of(request),
            db_of(request),
            form,
            f"report:{key}",
            owner_id=premises.owner_id,
        )
    except service.IntakeConflict:
        return await _form(
            request,
            {**values, "key": new_key()},
            errors=["This form was already sent with other details; please send it again."],
            status=409,
        )
    # The follow link goes only to the address typed, in the acknowledgement: whoever typed
    # someone else's address must not get a link to that tenant's visits here.
    query: dict[str, str] = {}
    if premises.tenant_with(form.tenant.email) is None:
        # Who checks the report first; a word for the page, no one's name.
        query["check"] = "tenant" if premises.tenants else "office"
    met = policy_of(request).match(form.description)
    if met is not None and met.call_first:
        # Gas, smoke or carbon monoxide: the page says to call the emergency services first.
        query["call"] = met.criterion
    received = f"/report/received/{request_id}"
    if query:
        received += f"?{urlencode(query)}"
    return RedirectResponse(received, status_code=303)


def _form_errors(exc: ValidationError) -> list[str]:
    problems: list[str] = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error.get("loc", ()))
        problem = _FORM_PROBLEMS.get(where, "Please check the form and send it again.")
        if problem not in problems:
            problems.append(problem)
    return problems


@router.get("/report/received/{request_id}")
async def received(
    request: Request, request_id: str, call: str = "", check: str = ""
) -> HTMLResponse:
    # Thank the tenant only for a report we have: the address may be mistyped or made up.
    if re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", request_id):
        try:
            # Describe, not query: it needs no worker, so a report just sent is found.
            await service.request_handle(client_of(request), request_id).describe()
        except RPCError as exc:
            if exc.status is not RPCStatusCode.NOT_FOUND:
                raise
        else:
            number = policy_of(request).call_first(call[:40])
            return page(
                request,
                "received",
                request_id=request_id,
                check=check if check in ("tenant", "office") else "",
                call_first=notices.call_first(number) if number else "",
            )
    return outcome(
        request,
        404,
        "unknown",
        "We have no report with this number",
        "Check the address in your email. If you have not sent the form yet, send it "
        "from the start: we show your request number as soon as you send it.",
    )


@router.get("/follow/{token}")
async def follow_page(request: Request, token: str) -> Response:
    """The reporter's read-only view of their request's progress."""
    grant, refused = await _verify(request, token)
    if refused is not None:
        return refused
    assert grant is not None
    if grant.stage == SURVEY:
        # The survey's link opened here: its own page asks the question.
        return RedirectResponse(f"/survey/{token}", status_code=303)
    if grant.stage != FOLLOW:
        return outcome(
            request,
            403,
            "wrong_role",
            "This link does not show a request's progress",
            "It answers a question about a repair: open it from the email it came in.",
        )
    try:
        state = await service.get_request(client_of(request), grant.request_id)
    except service.RequestNotFound:
        return _unknown(request)
    return page(request, "follow", view=follow_view(state, datetime.now(UTC)))


# -- the pages behind signed links -------------------------------------------------------------


async def _answerable(request: Request, token: str) -> tuple[LinkGrant, RequestState] | Response:
    """The link's grant and the request, when the link may answer its question now; else
    the response that says why not (or leads a resubmit link to its form)."""
    grant, refused = await _verify(request, token)
    if refused is not None:
        return refused
    assert grant is not None
    if grant.stage == RESUBMIT:
        return RedirectResponse(f"/report?again={token}", status_code=303)
    if grant.stage == SURVEY:
        return RedirectResponse(f"/survey/{token}", status_code=303)
    if grant.stage == FOLLOW:
        # The acknowledgement's button: a link to look, not to answer.
        return RedirectResponse(f"/follow/{token}", status_code=303)
    state, closed = await _open_question(request, grant)
    if closed is not None:
        return closed
    assert state is not None
    return grant, state


@router.get("/links/{token}")
async def link_page(request: Request, token: str) -> Response:
    found = await _answerable(request, token)
    if isinstance(found, Response):
        return found
    grant, state = found
    return _question_page(request, grant, state)


@router.post("/links/{token}")
async def answer_link(request: Request, token: str) -> Response:
    found = await _answerable(request, token)
    if isinstance(found, Response):
        return found
    grant, state = found
    field = "document" if grant.stage == Stage.INVOICE else "photos"
    upload, fields, files = await read_form_with_files(request, field)
    try:
        return await _answer_link(request, grant, state, fields, files)
    finally:
        await upload.close()


async def _answer_link(
    request: Request,
    grant: LinkGrant,
    state: RequestState,
    fields: dict[str, str],
    files: list[UploadFile],
) -> Response:
    stage = Stage(grant.stage)
    try:
        document = None
        if stage is Stage.INVOICE:
            document = await uploaded_document(
                files_of(request), grant.request_id, files[0] if files else None
            )
        elif files and stage not in PHOTO_STAGES:
            raise BadAnswer("This answer takes no files.")
        answer = _answer_of(stage, grant, state, fields, datetime.now(UTC), document)
    except InvoiceProblem as exc:
        return _question_page(request, grant, state, error=str(exc), fields=fields, status=422)
    except BadAnswer as exc:
        error = f"{exc} {CHOOSE_AGAIN}" if files and stage in PHOTO_STAGES else str(exc)
        return _question_page(request, grant, state, error=error, fields=fields, status=422)
    if files and stage in PHOTO_STAGES:
        try:
            photos = await keep_uploads(
                files_of(request), files, MediaLimits.of(settings_of(request))
            )
        except MediaRefused as exc:
            error = f"{exc} {CHOOSE_AGAIN}"
            return _question_page(request, grant, state, error=error, fields=fields, status=422)
        answer = answer.model_copy(update={"photos": photos})
    try:
        after, _ = await service.answer_request(
            client_of(request),
            grant.request_id,
            stage,
            answer,
            wait=settings_of(request).action_wait,
        )
    except service.AnswerRefused as exc:
        if exc.invalid:
            error = words.refused_answer(exc.reason)
            return _question_page(request, grant, state, error=error, fields=fields, status=422)
        # Someone else's answer won, or the question closed: say which, as a later visit
        # to the link would.
        _, closed = await _open_question(request, grant)
        if closed is not None:
            return closed
        return outcome(
            request, 409, "refused", "This question is closed", words.refused_answer(exc.reason)
        )
    except service.RequestNotFound:
        return _unknown(request)
    await LinkUses(db_of(request)).record(grant, fields.get("answer", ""))
    question = after.latest(stage, grant.round)
    said = (
        words.who_answered(question.answer, stage, after, link_id=grant.link_id, role=grant.role)
        if question and question.answer
        else "Your answer is recorded."
    )
    return outcome(
        request,
        200,
        "recorded",
        "Thank you: your answer is recorded",
        said,
        kind="done",
        next_step=words.next_step(after, grant.role),
    )


async def _verify(request: Request, token: str) -> tuple[LinkGrant | None, HTMLResponse | None]:
    try:
        grant = signer_of(request).verify(token)
        if grant.channel != "email":
            # A call's token answers through the call's webhook, never through a page.
            raise LinkRefused("forged", "not an email link")
    except LinkRefused as exc:
        record("link_refused", "refused", **_about(exc.grant), request=request, reason=exc.kind)
        if exc.kind == "expired" and exc.grant is not None:
            zone = await _zone_for(request, exc.grant.request_id)
            return None, outcome(
                request,
                410,
                "expired",
                "This link has expired",
                f"It was for request {exc.grant.request_id} and could be used until "
                f"{clock.moment(exc.grant.expires_at, zone)}.",
                "If this still matters, reply to the email and we will help.",
            )
        return None, outcome(
            request,
            400,
            "forged",
            "This link is not valid",
            "It is not one of ours, or it was changed on the way (a line break in the "
            "address can do that). Open the link from the email again.",
        )
    if grant.stage not in (RESUBMIT, SURVEY, FOLLOW) and (
        grant.stage not in Stage._value2member_map_ or Stage(grant.stage).role != grant.role
    ):
        record("link_refused", "refused", **_about(grant), request=request, reason="wrong_role")
        return None, outcome(
            request,
            403,
            "wrong_role",
            "This link is not for this question",
            "It was made for someone else's part of the repair.",
        )
    return grant, None


def _about(grant: LinkGrant | None) -> dict[str, str]:
    """A security event's target and the link's role (owner, vendor, tenant), when known."""
    if grant is None:
        return {}
    return {"target": f"request:{grant.request_id}", "link": grant.role}


async def _zone_for(request: Request, request_id: str) -> str:
    """The property's zone of a request, for a page that has only its id; UTC when the
    request is gone."""
    try:
        return words.zone_of_request(await service.get_request(client_of(request), request_id))
    except service.RequestNotFound:
        return "UTC"


async def _open_question(
    request: Request, grant: LinkGrant
) -> tuple[RequestState | None, HTMLResponse | None]:
    """The request, if the link's question is open and the link unused; else the page that
    says what was answered, by whom and when, and what happens next."""
    # The link's use and the request's state are asked for at once: neither needs the
    # other, and the query is what a person waits for (docs/benchmarks.md, Answer latency).
    used, state = await asyncio.gather(
        LinkUses(db_of(request)).find(grant.link_id),
        service.get_request(client_of(request), grant.request_id),
        return_exceptions=True,
    )
    if isinstance(used, BaseException):
        raise used
    if isinstance(state, service.RequestNotFound):
        return None, _unknown(request)
    if isinstance(state, BaseException):
        raise state
    stage = Stage(grant.stage)
    question = state.latest(stage, grant.round)
    answer = question.answer if question else None
    zone = words.zone_of_request(state)
    if used is not None:
        record("link_refused", "refused", **_about(grant), request=request, reason="used")
        if answer is not None and answer.answer_id == grant.link_id:
            said = words.who_answered(answer, stage, state, link_id=grant.link_id, role=grant.role)
        else:
            said = f"It was used on {clock.moment(_aware(used.used_at), zone)}."
        return None, outcome(
            request,
            409,
            "used",
            "This link was already used",
            said,
            "A link works once, so nothing changed this time.",
            kind="info",
            next_step=words.next_step(state, grant.role),
        )
    open_now = state.question
    if (
        open_now is not None
        and question is not None
        and (open_now.stage, open_now.round) == (question.stage, question.round)
    ):
        return state, None
    if question is not None and answer is not None:
        return None, outcome(
            request,
            409,
            "answered",
            "This was already answered",
            words.who_answered(answer, stage, state, link_id=grant.link_id, role=grant.role),
            kind="info",
            next_step=words.next_step(state, grant.role),
        )
    return None, outcome(
        request,
        409,
        "closed",
        "This question is closed",
        _closed_because(state, question),
        kind="info",
        next_step=words.next_step(state, grant.role),
    )


def _closed_because(state: RequestState, question: Question | None) -> str:
    if question is not None and question.lapsed:
        return "Its time to answer has passed."
    if state.status.terminal:
        return f"Request {state.request_id} has ended."
    return "We do not need this answer any more."


def _aware(at: datetime) -> datetime:
    # SQLite hands back naive times; they were stored in UTC.
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _unknown(request: Request) -> HTMLResponse:
    return outcome(
        request,
        404,
        "unknown",
        "We cannot find this request",
        "It may be too old to answer now. Reply to the email and we will help.",
    )


def _question_page(
    request: Request,
    grant: LinkGrant,
    state: RequestState,
    *,
    error: str = "",
    fields: dict[str, str] | None = None,
    status: int = 200,
) -> HTMLResponse:
    stage = Stage(grant.stage)
    zone = words.zone_of_request(state)
    now = datetime.now(UTC)
    question = state.question
    settings = settings_of(request)
    invoice = state.invoice
    document_url = ""
    if stage is Stage.INVOICE_APPROVAL and invoice is not None and invoice.document:
        document_url = files_of(request).url(invoice.document, settings.file_link_lifetime)
    files: list[attachments.ShownFile] = []
    if grant.role in ("owner", "vendor"):
        files = attachments.shown_files(
            state,
            files_of(request),
            settings.file_link_lifetime,
            lambda at: clock.moment(at, zone),
        )
    return page(
        request,
        "link",
        status,
        heading=REPORT_CHECK_FOR_TENANT if stage is Stage.REPORT_CHECK else QUESTIONS[stage][0],
        stage=stage.value,
        request_id=state.request_id,
        deadline=clock.moment(question.deadline, zone) if question else "",
        due=clock.due(question.deadline, now) if question else "",
        after_deadline=words.after_deadline(state, stage),
        figure=words.figure_of(state, stage),
        facts=words.facts_of(state, stage),
        currency=state.currency,
        zone_label=clock.zone_label(zone, now),
        windows=words.windows_of(state, now),
        today=clock.input_value(now, zone)[:10],
        values=fields or {},
        error=error,
        line_rows=line_rows(fields or {}),
        line_kinds=LINE_KINDS,
        document_url=document_url,
        files=files,
        files_lifetime=clock.duration(settings.file_link_lifetime),
        limits=limits_words(settings) if stage in PHOTO_STAGES else "",
    )


def _answer_of(
    stage: Stage,
    grant: LinkGrant,
    state: RequestState,
    fields: dict[str, str],
    now: datetime,
    document: FileRef | None = None,
) -> Answer:
    """The answer the form's fields make, from the person the link was made for
    (``document``: the invoice's, kept already)."""
    choice = fields.get("answer", "")
    if choice not in grant.answers:
        raise BadAnswer("Choose one of the buttons.")
    data: dict[str, Any] = {
        "answer_id": grant.link_id,
        "actor": _person(state, grant.role, stage),
        "channel": "email",
        "round": grant.round,
        "note": fields.get("note", "").strip()[:1000],
    }
    zone = words.zone_of_request(state)
    if stage in (Stage.OWNER_APPROVAL, Stage.ESTIMATE_APPROVAL, Stage.INVOICE_APPROVAL):
        data["approve"] = choice == "approve"
    elif stage is Stage.REPORT_CHECK:
        data["approve"] = choice == "confirm"
    elif stage is Stage.VENDOR_QUOTE:
        if choice == "decline":
            data["decline"] = True
        else:
            data["amount_cents"] = _cents(fields.get("amount", ""))
    elif stage is Stage.INVOICE:
        return invoice_answer({**data, **invoice_fields(fields), "document": document})
    elif stage is Stage.AVAILABILITY:
        data["windows"] = _windows(fields, zone, now)
    elif stage is Stage.SLOT:
        data.update(_slot(fields, state, zone, now))
    elif stage is Stage.COMPLETION:
        data["fixed"] = choice == "fixed"
    elif stage is Stage.WORK_DONE and state.slot is not None and now < state.slot.start:
        # The workflow refuses it too, but in UTC: the vendor reads the property's time.
        raise BadAnswer(
            f"The visit starts {clock.moment(state.slot.start, zone)}: mark the work done "
            "once it has started."
        )
    try:
        return ANSWER_MODELS[stage].model_validate(data)
    except ValidationError:
        # Every field a person fills in was checked above; what is left is ours to fix.
        raise BadAnswer(
            "We could not use this answer. Please check it and send it again, or reply to "
            "the email and we will help."
        ) from None


def _person(state: RequestState, role: str, stage: Stage) -> str:
    tenant = state.tenant_on_file
    if stage is Stage.REPORT_CHECK and tenant is not None:
        # The link went to the tenant on file, not to whoever reported.
        return tenant.name
    if role == "owner" and state.premises:
        return state.premises.owner_name
    if role == "vendor" and state.vendor:
        return state.vendor.name
    return state.form.tenant.name


_MAX_CENTS = 100_000_000


def _cents(text: str) -> int:
    match = _AMOUNT.match(text)
    if not match:
        raise BadAnswer("Give the amount as a number, like 250 or 250.00.")
    try:
        amount = Decimal(f"{match.group(1)}.{match.group(2) or '0'}")
    except InvalidOperation:
        raise BadAnswer("Give the amount as a number, like 250 or 250.00.") from None
    cents = int(amount * 100)
    if cents <= 0:
        raise BadAnswer("The amount must be more than zero.")
    if cents > _MAX_CENTS:
        raise BadAnswer("The amount is too large: at most 1,000,000.00.")
    return cents


def _windows(fields: dict[str, str], zone: str, now: datetime) -> list[Window]:
    """The tenant's times: the first required, the other two optional."""
    windows = []
    for i in range(3):
        day, start, end = (fields.get(f"{k}{i}", "").strip() for k in ("day", "from", "to"))
        if not (day or start or end) and i:
            continue
        what = f"Time {i + 1}"
        window = _window(day, start, end, zone, what)
        problem = window_problem(window, now)
        if problem is not None:
            raise BadAnswer(f"{what}: {problem}.")
        windows.append(window)
    return windows


def _window(day: str, start: str, end: str, zone: str, what: str) -> Window:
    try:
        on = date.fromisoformat(day)
        begins = datetime.combine(on, time.fromisoformat(start), clock.zone_of(zone))
        ends = datetime.combine(on, time.fromisoformat(end), clock.zone_of(zone))
    except ValueError:
        raise BadAnswer(f"{what}: give a day, a start and an end time.") from None
    if ends <= begins:
        raise BadAnswer(f"{what}: the end must be later than the start.")
    if ends - begins > LONGEST_WINDOW:
        raise BadAnswer(f"{what}: give at most 12 hours at a time.")
    return Window(start=begins.astimezone(UTC), end=ends.astimezone(UTC))


def _slot(fields: dict[str, str], state: RequestState, zone: str, now: datetime) -> dict[str, Any]:
    """The visit the vendor chose: one of the tenant's windows, from its start or from a
    later time within it; or that none of them works."""
    chosen = fields.get("window", "")
    if chosen == "none":
        return {"none_fits": True}
    if not chosen.isdigit() or int(chosen) >= len(state.windows):
        raise BadAnswer("Choose one of the tenant's times, or say that none of them works.")
    window = state.windows[int(chosen)]
    if window.end <= now:
        raise BadAnswer("That time has already passed; choose another.")
    arrive = fields.get("arrive", "").strip()
    if not arrive:
        return {"slot": window}
    try:
        at = time.fromisoformat(arrive)
    except ValueError:
        raise BadAnswer("Give the arrival time as hours and minutes, like 10:30.") from None
    local = window.start.astimezone(clock.zone_of(zone))
    start = datetime.combine(local.date(), at, local.tzinfo)
    if start < window.start:
        # A window may run past midnight: an earlier clock time is on the next day.
        start += timedelta(days=1)
    if not window.start <= start < window.end:
        raise BadAnswer(
            "The arrival time must be within the time you chose: "
            f"{clock.span(window.start, window.end, zone)}."
        )
    return {"slot": Window(start=start.astimezone(UTC), end=window.end)}
