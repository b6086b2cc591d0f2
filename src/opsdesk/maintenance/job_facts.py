"""A vendor's job as the request's workflow saw it when the request ended: what the
vendor scorecards are computed from. Pure functions of the request's state: the workflow
calls them, and an activity keeps the result (``vendor_jobs``). No I/O."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from pydantic import BaseModel

from opsdesk.maintenance.inputs import Answer, CompletionAnswer
from opsdesk.maintenance.state import Question, RequestState
from opsdesk.maintenance.status import RequestStatus, Stage


class JobFacts(BaseModel):
    """One vendor's job on one request (the vendor the request had when it ended)."""

    request_id: str
    vendor_id: str
    property_id: str
    reported_at: datetime
    quote_asked_at: datetime | None = None
    first_answer_at: datetime | None = None
    """When the vendor answered the request for a quote (a quote or a "cannot take it")."""
    completed_at: datetime | None = None
    """When the work was confirmed fixed: the tenant's "fixed", or the end of the time
    they had to say otherwise."""
    not_fixed: bool = False
    quote_cents: int | None = None
    approved_cents: int | None = None
    invoice_cents: int | None = None
    currency: str = "USD"
    ending: RequestStatus
    ended_at: datetime


def job_facts(
    state: RequestState, answers: Mapping[str, Answer], ended_at: datetime
) -> JobFacts | None:
    """The job of the vendor ``state`` ended with; None when it ended without a vendor."""
    vendor, premises = state.vendor, state.premises
    if vendor is None or premises is None or not state.status.terminal:
        return None
    quote = _quote_question(state)
    completions = [q for q in state.questions if q.stage is Stage.COMPLETION]
    return JobFacts(
        request_id=state.request_id,
        vendor_id=vendor.vendor_id,
        property_id=premises.property_id,
        reported_at=state.created_at,
        quote_asked_at=quote.asked_at if quote else None,
        first_answer_at=quote.answer.at if quote and quote.answer else None,
        completed_at=_confirmed_at(completions[-1], answers) if completions else None,
        not_fixed=any(_said_not_fixed(q, answers) for q in completions),
        quote_cents=state.quote_cents,
        approved_cents=state.approved_cents,
        invoice_cents=state.invoice_cents,
        currency=state.currency,
        ending=state.status,
        ended_at=ended_at,
    )


def _quote_question(state: RequestState) -> Question | None:
    """The last request for a quote put to the job's vendor (an earlier vendor may have
    been asked before them)."""
    assert state.vendor is not None
    name = state.vendor.name
    for question in reversed(state.questions):
        if question.stage is Stage.VENDOR_QUOTE and any(a.name == name for a in question.asked):
            return question
    return None


def _completion_of(question: Question, answers: Mapping[str, Answer]) -> CompletionAnswer | None:
    if question.answer is None:
        return None
    answer = answers.get(question.answer.answer_id)
    return answer if isinstance(answer, CompletionAnswer) else None


def _said_not_fixed(question: Question, answers: Mapping[str, Answer]) -> bool:
    answer = _completion_of(question, answers)
    return answer is not None and not answer.fixed


def _confirmed_at(question: Question, answers: Mapping[str, Answer]) -> datetime | None:
    answer = _completion_of(question, answers)
    if answer is not None and answer.fixed:
        assert question.answer is not None
        return question.answer.at
    # Silence confirms the repair once the tenant's time to answer has passed.
    return question.deadline if question.lapsed else None
