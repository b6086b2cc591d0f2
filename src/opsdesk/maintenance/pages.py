"""The public pages: the tenant's report form and the pages behind signed email links.

Nobody signs in here. A link's page (GET) only shows the facts and the buttons, because
mail scanners open links; submitting it (POST) answers, with the link's unique id as the
answer's id, so a link acts once however often it is posted. Every refusal (a forged,
expired, used or outdated link, an answer that does not fit) is a readable page, never a
500.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from temporalio.service import RPCError, RPCStatusCode

from opsdesk.errors import UnknownProperty
from opsdesk.maintenance import service
from opsdesk.maintenance.directory import Directory
from opsdesk.maintenance.inputs import (
    ANSWER_MODELS,
    Answer,
    RequestForm,
    TenantContact,
    Window,
)
from opsdesk.maintenance.link_uses import LinkUses
from opsdesk.maintenance.notices import QUESTIONS, over_estimate
from opsdesk.maintenance.rules import answered_by, zone_of
from opsdesk.maintenance.state import RequestState
from opsdesk.maintenance.status import Stage
from opsdesk.notify.links import LinkGrant
from opsdesk.notify.signing import LinkRefused, LinkSigner, link_key
from opsdesk.values import format_money
from opsdesk.web.deps import client_of, db_of, settings_of
from opsdesk.web.errors import describe_validation_error
from opsdesk.web.forms import read_form
from opsdesk.web.limits import rate_limited
from opsdesk.web.pages import new_key, templates

# Public on purpose: anyone may open the form or a link, a bounded number of times.
router = APIRouter(include_in_schema=False, dependencies=[Depends(rate_limited("people"))])

RESUBMIT = "resubmit"
_AMOUNT = re.compile(r"^\s*([0-9]{1,9})(?:[.,]([0-9]{1,2}))?\s*$")


class BadAnswer(ValueError):
    """The form's fields do not make an answer; the message says what to fix."""


def signer_of(request: Request) -> LinkSigner:
    signer: LinkSigner | None = getattr(request.app.state, "link_signer", None)
    if signer is None:
        settings = settings_of(request)
        signer = LinkSigner(link_key(settings), settings.resolved_public_url)
        request.app.state.link_signer = signer
    return signer


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
) -> HTMLResponse:
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
        except (LinkRefused, service.RequestNotFound):
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
        key=values.get("key") or new_key(),
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


_FORM_LABELS = {
    "property_id": "Building",
    "unit": "Unit",
    "tenant.name": "Your name",
    "tenant.email": "Email",
    "tenant.phone": "Phone",
    "description": "What is wrong",
}


@router.post("/report")
async def report(request: Request) -> Response:
    values = await read_form(request)
    try:
        form = RequestForm(
            property_id=values.get("property_id", ""),
            unit=values.get("unit", ""),
            tenant=TenantContact(
                name=values.get("name", ""),
                email=values.get("email", ""),
                phone=values.get("phone", ""),
            ),
            description=values.get("description", ""),
        )
    except ValidationError as exc:
        return await _form(request, values, errors=_form_errors(exc), status=422)
    try:
        await Directory(db_of(request)).property_facts(form.property_id, form.unit)
    except UnknownProperty as exc:
        return await _form(request, values, errors=[f"{exc}."], status=422)
    # The form's key makes a double click (or a resent POST) one request.
    key = values.get("key") or new_key()
    try:
        request_id, _, _ = await service.submit_numbered_request(
            client_of(request), settings_of(request), db_of(request), form, f"report:{key}"
        )
    except service.IntakeConflict:
        return await _form(
            request,
            {**values, "key": new_key()},
            errors=["This form was already sent with other details; please send it again."],
            status=409,
        )
    return RedirectResponse(f"/report/received/{request_id}", status_code=303)


def _form_errors(exc: ValidationError) -> list[str]:
    errors = []
    for error in exc.errors():
        where = ".".join(str(part) for part in error.get("loc", ()))
        label = _FORM_LABELS.get(where)
        message = describe_validation_error({**error, "loc": ()})
        if "email" in where and "pattern" in message:
            message = "is not an email address"
        errors.append(f"{label}: {message}" if label else message)
    return errors


@router.get("/report/received/{request_id}")
async def received(request: Request, request_id: str) -> HTMLResponse:
    # Thank the tenant only for a report we have: the address may be mistyped or made up.
    if re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", request_id):
        try:
            # Describe, not query: it needs no worker, so a report just sent is found.
            await service.request_handle(client_of(request), request_id).describe()
        except RPCError as exc:
            if exc.status is not RPCStatusCode.NOT_FOUND:
                raise
        else:
            return page(request, "received", request_id=request_id)
    return outcome(
        request,
        404,
        "unknown",
        "We have no report with this number",
        "Check the address in your email. If you have not sent the form yet, send it "
        "from the start: we show your request number as soon as you send it.",
    )


# -- the pages behind signed links -------------------------------------------------------------


async def _answerable(request: Request, token: str) -> tuple[LinkGrant, RequestState] | Response:
    """The link's grant and the request, when the link may answer its question now; else
    the response that says why not (or leads a resubmit link to its form)."""
    grant, refused = _verify(request, token)
    if refused is not None:
        return refused
    assert grant is not None
    if grant.stage == RESUBMIT:
        return RedirectResponse(f"/report?again={token}", status_code=303)
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
    stage = Stage(grant.stage)
    fields = await read_form(request)
    try:
        answer = _answer_of(stage, grant, state, fields)
    except BadAnswer as exc:
        return _question_page(request, grant, state, error=str(exc), status=422)
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
            return _question_page(request, grant, state, error=f"{exc.reason}.", status=422)
        return outcome(request, 409, "refused", "Someone answered first", f"{exc.reason}.")
    except service.RequestNotFound:
        return _unknown(request)
    what = fields.get("answer", "")
    await LinkUses(db_of(request)).record(grant, what)
    question = after.latest(stage, grant.round)
    said = question.answer.what if question and question.answer else "answered"
    return outcome(
        request,
        200,
        "recorded",
        "Thank you: your answer is recorded",
        f"You {said}. Request {grant.request_id} is now {_words(after.status.value)}.",
        kind="done",
    )


def _verify(request: Request, token: str) -> tuple[LinkGrant | None, HTMLResponse | None]:
    try:
        grant = signer_of(request).verify(token)
        if grant.channel != "email":
            # A call's token answers through the call's webhook, never through a page.
            raise LinkRefused("forged", "not an email link")
    except LinkRefused as exc:
        if exc.kind == "expired" and exc.grant is not None:
            when = exc.grant.expires_at.strftime("%Y-%m-%d %H:%M UTC")
            return None, outcome(
                request,
                410,
                "expired",
                "This link has expired",
                f"It was for request {exc.grant.request_id} and could be used until {when}.",
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
    if grant.stage != RESUBMIT and (
        grant.stage not in Stage._value2member_map_ or Stage(grant.stage).role != grant.role
    ):
        return None, outcome(
            request,
            403,
            "wrong_role",
            "This link is not for this question",
            "It was made for someone else's part of the repair.",
        )
    return grant, None


async def _open_question(
    request: Request, grant: LinkGrant
) -> tuple[RequestState | None, HTMLResponse | None]:
    """The request, if the link's question is open and the link unused; else the page that
    says why not."""
    used = await LinkUses(db_of(request)).find(grant.link_id)
    try:
        state = await service.get_request(client_of(request), grant.request_id)
    except service.RequestNotFound:
        return None, _unknown(request)
    if used is not None:
        when = used.used_at.strftime("%Y-%m-%d %H:%M UTC")
        return None, outcome(
            request,
            409,
            "used",
            "This link was already used",
            f"It answered request {grant.request_id} at {when}. A link works once.",
        )
    stage = Stage(grant.stage)
    question = state.latest(stage, grant.round)
    open_now = state.question
    if (
        open_now is not None
        and question is not None
        and (open_now.stage, open_now.round) == (question.stage, question.round)
    ):
        return state, None
    if question is not None and question.answer is not None:
        already = answered_by(question.answer, zone_of(state), outsider=True)
        return None, outcome(
            request,
            409,
            "answered",
            "Someone answered first",
            f"{already[0].upper()}{already[1:]}.",
        )
    status = _words(state.status.value)
    return None, outcome(
        request,
        409,
        "closed",
        "This question is closed",
        f"Request {grant.request_id} is not waiting for this answer any more (it is {status}).",
    )


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
    status: int = 200,
) -> HTMLResponse:
    stage = Stage(grant.stage)
    zone = state.premises.time_zone if state.premises else "UTC"
    heading = QUESTIONS[stage][0]
    question = state.question
    deadline = _local(question.deadline, zone) if question else ""
    return page(
        request,
        "link",
        status,
        heading=heading,
        stage=stage.value,
        request_id=state.request_id,
        deadline=deadline,
        facts=facts_of(state, stage, zone),
        currency=state.currency,
        time_zone=zone,
        defaults=[None, None, None],
        error=error,
    )


def facts_of(state: RequestState, stage: Stage, zone: str) -> list[dict[str, str]]:
    """What the person needs to decide, in words."""
    rows = [{"label": "Request", "value": state.request_id}]
    if state.premises:
        rows.append(
            {"label": "Where", "value": f"{state.premises.address}, unit {state.form.unit}"}
        )
    rows.append({"label": "Problem", "value": state.triage.summary if state.triage else "—"})
    if stage in (Stage.OWNER_APPROVAL, Stage.VENDOR_QUOTE, Stage.AVAILABILITY):
        rows.append({"label": "Tenant's words", "value": state.form.description})
    if state.triage:
        rows.append({"label": "Priority", "value": state.triage.priority})
    if state.vendor and stage is not Stage.VENDOR_QUOTE:
        rows.append({"label": "Vendor", "value": state.vendor.name})

    def money(cents: int | None) -> str:
        return "—" if cents is None else format_money(cents, state.currency)

    if stage is Stage.ESTIMATE_APPROVAL and state.premises:
        rows.append({"label": "Estimate", "value": money(state.quote_cents)})
        rows.append(
            {"label": "Your auto-approve limit", "value": money(state.premises.auto_approve_cents)}
        )
    if stage is Stage.SLOT:
        for window in state.windows:
            rows.append({"label": "Tenant at home", "value": _span(window, zone)})
    if state.slot and stage in (Stage.WORK_DONE, Stage.COMPLETION):
        rows.append({"label": "Visit", "value": _span(state.slot, zone)})
    if stage in (Stage.INVOICE, Stage.INVOICE_APPROVAL):
        rows.append({"label": "Approved estimate", "value": money(state.approved_cents)})
    if stage is Stage.INVOICE_APPROVAL:
        rows.append({"label": "Invoice", "value": money(state.invoice_cents)})
        over = over_estimate(state)
        if over:
            rows.append({"label": "Over the estimate by", "value": money(over)})
    return rows


def _answer_of(
    stage: Stage, grant: LinkGrant, state: RequestState, fields: dict[str, str]
) -> Answer:
    """The answer the form's fields make, from the person the link was made for."""
    choice = fields.get("answer", "")
    if choice not in grant.answers:
        raise BadAnswer("Choose one of the buttons.")
    data: dict[str, Any] = {
        "answer_id": grant.link_id,
        "actor": _person(state, grant.role),
        "channel": "email",
        "round": grant.round,
        "note": fields.get("note", "")[:1000],
    }
    zone = ZoneInfo(state.premises.time_zone if state.premises else "UTC")
    if stage in (Stage.OWNER_APPROVAL, Stage.ESTIMATE_APPROVAL, Stage.INVOICE_APPROVAL):
        data["approve"] = choice == "approve"
    elif stage is Stage.VENDOR_QUOTE:
        if choice == "decline":
            data["decline"] = True
        else:
            data["amount_cents"] = _cents(fields.get("amount", ""))
    elif stage is Stage.INVOICE:
        data["amount_cents"] = _cents(fields.get("amount", ""))
    elif stage is Stage.AVAILABILITY:
        windows = []
        for i in range(3):
            day, start, end = (fields.get(f"{k}{i}", "").strip() for k in ("day", "from", "to"))
            if not (day or start or end) and i:
                continue
            windows.append(_window(day, start, end, zone, f"Time {i + 1}"))
        data["windows"] = windows
    elif stage is Stage.SLOT:
        data["slot"] = _window(
            fields.get("day", ""), fields.get("from", ""), fields.get("to", ""), zone, "The visit"
        )
    elif stage is Stage.COMPLETION:
        data["fixed"] = choice == "fixed"
    try:
        return ANSWER_MODELS[stage].model_validate(data)
    except ValidationError as exc:
        raise BadAnswer(
            "; ".join(describe_validation_error(e) for e in exc.errors()) + "."
        ) from None


def _person(state: RequestState, role: str) -> str:
    if role == "owner" and state.premises:
        return state.premises.owner_name
    if role == "vendor" and state.vendor:
        return state.vendor.name
    return state.form.tenant.name


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
    return cents


def _window(day: str, start: str, end: str, zone: ZoneInfo, what: str) -> Window:
    try:
        on = date.fromisoformat(day)
        begins = datetime.combine(on, time.fromisoformat(start), zone)
        ends = datetime.combine(on, time.fromisoformat(end), zone)
    except ValueError:
        raise BadAnswer(f"{what}: give a day, a start and an end time.") from None
    try:
        return Window(start=begins.astimezone(UTC), end=ends.astimezone(UTC))
    except ValidationError as exc:
        problem = describe_validation_error({**exc.errors()[0], "loc": ()})
        raise BadAnswer(f"{what}: {problem}.") from None


def _local(moment: datetime, zone: str) -> str:
    return moment.astimezone(ZoneInfo(zone)).strftime("%a %d %b, %H:%M %Z")


def _span(window: Window, zone: str) -> str:
    first = window.start.astimezone(ZoneInfo(zone))
    last = window.end.astimezone(ZoneInfo(zone))
    return f"{first:%a %d %b, %H:%M}\u2013{last:%H:%M %Z}"


def _words(status: str) -> str:
    return status.replace("_", " ").lower()
