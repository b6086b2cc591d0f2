"""What the reporter's follow page says: where the request is, what happens next, the
visit and the recent steps, in plain words and the property's time.

Read-only and public (anyone holding the link sees it), so it shows nothing staff-only:
no amounts, no notes, no names of the office's staff or of the owner, no one else's email
or phone. Pure functions of a request's state: the pages module does the I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from opsdesk import clock
from opsdesk.maintenance.public_words import OFFICE, Fact, deed, next_step, zone_of_request
from opsdesk.maintenance.state import Question, RequestState
from opsdesk.maintenance.status import RequestStatus, Stage

RECENT_STEPS = 8
"""How many steps the page lists, newest first."""

_ENDED = {
    RequestStatus.CLOSED: "The repair is done and your request is closed",
    RequestStatus.CANCELLED: "Your request was cancelled",
    RequestStatus.DECLINED: "Your request will not go ahead",
    RequestStatus.EXPIRED: "Your request has stopped: an answer we needed did not come in time",
    RequestStatus.FAILED: "Your request is with our team, who will contact you",
}


@dataclass(frozen=True)
class Step:
    """One thing that happened, at its time in the property's zone."""

    when: str
    text: str


@dataclass(frozen=True)
class FollowView:
    request_id: str
    where: str
    """Where the request is, as a sentence."""
    next: str
    visit: str
    """The booked visit in the property's time; empty when none is booked."""
    facts: list[Fact]
    steps: list[Step]
    ended: bool


def follow_view(state: RequestState, now: datetime) -> FollowView:
    """The follow page of ``state`` for the person who reported it."""
    zone = zone_of_request(state)
    facts = [Fact("Request", state.request_id)]
    if state.premises:
        facts.append(Fact("Where", f"{state.premises.address}, unit {state.form.unit}"))
    facts.append(Fact("What you told us", state.form.description))
    visit = ""
    if state.slot is not None and not state.status.terminal:
        visit = clock.span(state.slot.start, state.slot.end, zone)
    return FollowView(
        request_id=state.request_id,
        where=where_now(state),
        next=next_step(state, "tenant"),
        visit=visit,
        facts=facts,
        steps=recent_steps(state, now)[:RECENT_STEPS],
        ended=state.status.terminal,
    )


def where_now(state: RequestState) -> str:
    """Where the request is, in a sentence: what it waits for, or how it ended."""
    if state.status in _ENDED:
        return f"{_ENDED[state.status]}."
    if state.office_checks:
        return "We are waiting for our office to check the report."
    if state.question is not None:
        return f"We are waiting for {state.question.stage.words}."
    if state.status is RequestStatus.PAYMENT:
        return "The repair is done and the vendor is being paid."
    return f"Your request is {state.status.words}."


def recent_steps(state: RequestState, now: datetime) -> list[Step]:
    """What happened so far, newest first: the report, each question asked and how it
    was answered (or that nobody answered in time), and the end."""
    zone = zone_of_request(state)
    dated: list[tuple[datetime, str]] = [(state.created_at, "We received your report.")]
    for question in state.questions:
        dated.append((question.asked_at, f"We asked {_asked(question)}."))
        if question.answer is not None:
            answer = question.answer
            who = _who(question, answer.channel)
            dated.append((answer.at, f"{who} {deed(question.stage, answer, state)}."))
        elif question.lapsed:
            dated.append((question.deadline, "No answer came in time."))
    if state.status in _ENDED:
        dated.append((state.updated_at, f"{_ENDED[state.status]}."))
    # Oldest first (steps of one moment keep their order), then the newest on top.
    dated.sort(key=lambda item: item[0])
    return [Step(clock.moment(at, zone, now=now), _capital(text)) for at, text in reversed(dated)]


_ASKED = {
    Stage.OWNER_APPROVAL: "the owner to approve the repair",
    Stage.VENDOR_QUOTE: "a vendor to take the job",
    Stage.ESTIMATE_APPROVAL: "the owner to approve the vendor's estimate",
    Stage.AVAILABILITY: "you when you are at home for the visit",
    Stage.SLOT: "the vendor to book a visit at one of your times",
    Stage.WORK_DONE: "the vendor to tell us when the work is done",
    Stage.COMPLETION: "you whether it is fixed",
    Stage.INVOICE: "the vendor for the invoice",
    Stage.INVOICE_APPROVAL: "the owner to approve the invoice",
    Stage.REPORT_CHECK: "the tenant on file for this home to confirm the report",
}


def _asked(question: Question) -> str:
    if question.stage is Stage.REPORT_CHECK and not question.asked:
        return "our office to confirm the report"
    return _ASKED[question.stage]


def _who(question: Question, channel: str) -> str:
    """Who answered, as the reporter may read it: never a name of the office's staff."""
    if channel in ("dashboard", "api"):
        return OFFICE
    stage = question.stage
    if stage is Stage.REPORT_CHECK:
        return "the tenant on file"
    return {"owner": "the owner", "vendor": "the vendor", "tenant": "you"}[stage.role]


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]
