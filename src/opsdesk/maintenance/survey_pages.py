"""The tenant's satisfaction survey, behind the signed link emailed when a request closes.

A GET shows the question (mail scanners open links, so it never records anything); a POST
records the answer in the database, once per request: a second answer, from the same link
or another, is shown the first. A forged or expired link gets a readable page.
"""

from __future__ import annotations

import textwrap

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from temporalio.client import WorkflowQueryFailedError
from temporalio.service import RPCError

from opsdesk import clock
from opsdesk.db.tables import Property, SurveyAnswer
from opsdesk.maintenance import service
from opsdesk.maintenance.notices import FOLLOW, RATINGS, SURVEY
from opsdesk.maintenance.pages import outcome, page, signer_of
from opsdesk.maintenance.state import RequestState
from opsdesk.maintenance.surveys import COMMENT_MAX_LENGTH, RATING_WORDS, Surveys
from opsdesk.maintenance.vendor_jobs import VendorJobs
from opsdesk.notify.links import LinkGrant
from opsdesk.notify.signing import LinkRefused
from opsdesk.security_events import record
from opsdesk.web.deps import client_of, db_of
from opsdesk.web.forms import read_form
from opsdesk.web.limits import rate_limited

router = APIRouter(include_in_schema=False, dependencies=[Depends(rate_limited("people"))])


def survey_path(token: str) -> str:
    return f"/survey/{token}"


async def _zone(request: Request, request_id: str) -> str:
    """The property's zone (tenants read their building's time); UTC if it is not known."""
    job = await VendorJobs(db_of(request)).of_request(request_id)
    if job is None:
        return "UTC"
    async with db_of(request).transaction() as session:
        found = await session.get(Property, job.property_id)
    return found.time_zone if found else "UTC"


PROBLEM_LENGTH = 160
"""How much of the tenant's description the survey shows: enough to recognise the repair."""


def problem_words(description: str) -> str:
    """The tenant's description on one line, cut at a word with an ellipsis when long."""
    return textwrap.shorten(" ".join(description.split()), PROBLEM_LENGTH, placeholder=" …")


async def _request_state(request: Request, request_id: str) -> RequestState | None:
    """The closed request as its workflow kept it; None when Temporal cannot say (the
    survey still asks, with the request's number only)."""
    try:
        return await service.get_request(client_of(request), request_id)
    except (service.RequestNotFound, RPCError, WorkflowQueryFailedError):
        return None


async def _refused(request: Request, exc: LinkRefused) -> HTMLResponse:
    target = f"request:{exc.grant.request_id}" if exc.grant else None
    record(
        "link_refused", "refused", target=target, request=request, reason=exc.kind, link="survey"
    )
    if exc.kind == "expired" and exc.grant is not None:
        zone = await _zone(request, exc.grant.request_id)
        return outcome(
            request,
            410,
            "expired",
            "This survey has closed",
            f"It was about request {exc.grant.request_id} and could be answered until "
            f"{clock.day(exc.grant.expires_at, zone)}.",
            "If you would still like to tell us how the repair went, reply to the email.",
        )
    return outcome(
        request,
        400,
        "forged",
        "This link is not valid",
        "It is not one of ours, or it was changed on the way (a line break in the address "
        "can do that). Open the link from the email again.",
    )


async def _grant(request: Request, token: str) -> LinkGrant | Response:
    try:
        grant = signer_of(request).verify(token)
    except LinkRefused as exc:
        return await _refused(request, exc)
    if grant.stage == FOLLOW:
        # The reporter's follow link opened here: its own page shows the request.
        return RedirectResponse(f"/follow/{token}", status_code=303)
    if grant.stage != SURVEY or grant.role != "tenant" or grant.channel != "email":
        return await _refused(request, LinkRefused("forged", "not a survey link"))
    return grant


async def _answered(request: Request, first: SurveyAnswer, status: int, title: str) -> HTMLResponse:
    zone = await _zone(request, first.request_id)
    facts = [
        {"label": "Your rating", "value": f"{first.rating} of 5: {RATING_WORDS[first.rating]}"}
    ]
    if first.comment:
        facts.append({"label": "Your comment", "value": first.comment})
    facts.append({"label": "Answered", "value": clock.moment(first.answered_at, zone)})
    return outcome(
        request,
        status,
        "answered",
        title,
        f"We have your answer about request {first.request_id}.",
        "A request takes one answer, so nothing changed this time.",
        kind="info",
        facts=facts,
    )


async def _question(
    request: Request, grant: LinkGrant, *, error: str = "", rating: str = "", comment: str = ""
) -> HTMLResponse:
    job = await VendorJobs(db_of(request)).of_request(grant.request_id)
    facts = [{"label": "Request", "value": grant.request_id}]
    state = await _request_state(request, grant.request_id)
    if state is not None:
        # Which repair this is, in the tenant's own words: they may have had several.
        facts.append({"label": "Problem", "value": problem_words(state.form.description)})
        if state.premises is not None:
            where = f"{state.premises.address}, unit {state.form.unit}"
            facts.append({"label": "Where", "value": where})
    if job is not None and job.completed_at is not None:
        zone = await _zone(request, grant.request_id)
        facts.append({"label": "Repaired", "value": clock.day(job.completed_at, zone)})
    return page(
        request,
        "survey",
        422 if error else 200,
        request_id=grant.request_id,
        facts=facts,
        ratings=[(int(r), RATING_WORDS[int(r)]) for r in RATINGS],
        error=error,
        rating=rating,
        comment=comment,
        comment_max=COMMENT_MAX_LENGTH,
    )


@router.get("/survey/{token}")
async def survey_page(request: Request, token: str) -> Response:
    grant = await _grant(request, token)
    if isinstance(grant, Response):
        return grant
    first = await Surveys(db_of(request)).of_request(grant.request_id)
    if first is not None:
        return await _answered(request, first, 200, "You have already answered")
    return await _question(request, grant)


@router.post("/survey/{token}")
async def answer_survey(request: Request, token: str) -> Response:
    grant = await _grant(request, token)
    if isinstance(grant, Response):
        return grant
    fields = await read_form(request)
    rating, comment = fields.get("rating", "").strip(), fields.get("comment", "").strip()
    if rating not in RATINGS:
        error = "Choose how happy you are, from 1 (very poor) to 5 (very good)."
        return await _question(request, grant, error=error, comment=comment)
    if len(comment) > COMMENT_MAX_LENGTH:
        error = f"Your comment is too long: keep it under {COMMENT_MAX_LENGTH} characters."
        return await _question(request, grant, error=error, rating=rating, comment=comment)
    answer, first = await Surveys(db_of(request)).record(
        grant.request_id, grant.link_id, int(rating), comment
    )
    if not first:
        return await _answered(request, answer, 409, "You have already answered")
    return outcome(
        request,
        200,
        "recorded",
        "Thank you: your answer is recorded",
        f"You rated the repair {answer.rating} of 5: {RATING_WORDS[answer.rating].lower()}.",
        kind="done",
        next_step="Nothing more is needed from you. We read every answer when we choose "
        "who to send for the next repair.",
    )
