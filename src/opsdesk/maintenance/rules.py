"""Which answers and actions a request takes in its current state, and why not otherwise.
Pure functions of the request's state: the workflow's validators and handlers call them,
and each refusal says, in a sentence, what the person can do instead."""

from __future__ import annotations

from datetime import datetime

from temporalio.exceptions import ApplicationError

from opsdesk import clock
from opsdesk.maintenance.inputs import (
    Answer,
    AvailabilityAnswer,
    SlotAnswer,
    Window,
    WorkDoneAnswer,
)
from opsdesk.maintenance.state import AnswerRecord, RequestState
from opsdesk.maintenance.status import CANCELLABLE, CHANNEL_WORDS, REASSIGNABLE, Stage

# Error types a refusal carries; the API turns them into 409 and 422.
ALREADY_ANSWERED = "AlreadyAnswered"
NOT_WAITING = "NotWaiting"
INVALID_ANSWER = "InvalidAnswer"


def refusal(message: str, kind: str) -> ApplicationError:
    return ApplicationError(message, type=kind, non_retryable=True)


def why_not_answer(
    state: RequestState,
    stage: Stage,
    answer: Answer,
    now: datetime,
    *,
    done_from: datetime | None,
    cancelling: bool,
    reassigning: bool,
) -> tuple[str, str] | None:
    """Why ``answer`` cannot count, and the error type that says so; None if it can.
    ``cancelling`` and ``reassigning``: a cancel or a reassignment was accepted and the
    request has not acted on it yet; an answer arriving now would be dropped by it."""
    question = state.question
    request = state.request_id
    zone = zone_of(state)
    if cancelling:
        return (f"request {request} is being cancelled; no answer is needed", NOT_WAITING)
    if reassigning and stage.status in REASSIGNABLE:
        return (f"request {request} is being passed to another vendor", NOT_WAITING)
    if (
        question is not None
        and question.stage is stage
        and answer.round in (None, question.round)
        and question.answer is None
    ):
        problem = answer_problem(state, answer, now, done_from)
        return None if problem is None else (problem, INVALID_ANSWER)
    earlier = state.latest(stage, answer.round)
    if earlier is not None and earlier.answer is not None:
        return (answered_by(earlier.answer, zone, now=now), ALREADY_ANSWERED)
    if earlier is not None and earlier.lapsed:
        return (
            "this question closed unanswered at its deadline, "
            f"{clock.moment(earlier.deadline, zone, now=now)}",
            NOT_WAITING,
        )
    if state.status.terminal:
        return (
            f"request {request} is {state.status.words}; nothing is left to answer",
            NOT_WAITING,
        )
    if earlier is not None and earlier.withdrawn:
        return (
            "this question was withdrawn before anyone answered it: the request changed course",
            NOT_WAITING,
        )
    return (
        f"request {request} is not waiting for {stage.words}; it is {state.status.words}",
        NOT_WAITING,
    )


def answered_by(
    answer: AnswerRecord,
    zone: str | None,
    *,
    outsider: bool = False,
    spoken: bool = False,
    now: datetime | None = None,
) -> str:
    """``already answered by Dana Lee by phone on Sun 6 Dec, 10:18 PM PST``: who, how and
    when, in the property's time (as a call says it when ``spoken``). An ``outsider`` (an
    owner, a vendor, a tenant) is told the office answered, never the name of its staff or
    of an API token."""
    # A workflow passes its own now: the year a time shows must not depend on the clock.
    when = clock.spoken(answer.at, zone) if spoken else clock.moment(answer.at, zone, now=now)
    if outsider and answer.channel in ("dashboard", "api"):
        return f"already answered by the property manager's office on {when}: {answer.what}"
    how = CHANNEL_WORDS.get(answer.channel, answer.channel)
    return f"already answered by {answer.actor} {how} on {when}: {answer.what}"


def answer_problem(
    state: RequestState, answer: Answer, now: datetime, done_from: datetime | None
) -> str | None:
    """What makes an answer to the open question unusable, if anything."""
    if isinstance(answer, AvailabilityAnswer):
        for window in answer.windows:
            problem = window_problem(window, now)
            if problem is not None:
                return problem
    if (
        isinstance(answer, SlotAnswer)
        and answer.slot is not None
        and not any(window.holds(answer.slot) for window in state.windows)
    ):
        return "the visit must fit inside one of the tenant's time windows"
    if isinstance(answer, WorkDoneAnswer) and done_from is not None and now < done_from:
        # Marking it done early would ask the tenant "is it fixed?" before anyone came,
        # and pay the vendor for a visit still to happen.
        return (
            "the booked visit has not started yet; mark the work done once it has "
            f"(the visit starts {clock.moment(done_from, zone_of(state), now=now)})"
        )
    return None


def zone_of(state: RequestState) -> str | None:
    """The property's zone, the clock the people of a request read."""
    return state.premises.time_zone if state.premises else None


def window_problem(window: Window, now: datetime) -> str | None:
    """Why the tenant cannot give ``window``, if they cannot: it is over already (a
    window under way still counts: they are at home until it ends)."""
    if window.end <= now:
        return "that time has already passed; give a time that is still to come"
    return None


def why_not_reassign(state: RequestState, reassigning: bool) -> str | None:
    if reassigning:
        return "a reassignment is already under way"
    if state.status not in REASSIGNABLE:
        return (
            f"the vendor can no longer be changed: request {state.request_id} is "
            f"{state.status.words}"
        )
    return None


def why_not_cancel(state: RequestState) -> str | None:
    if state.status not in CANCELLABLE:
        return f"request {state.request_id} can no longer be cancelled: it is {state.status.words}"
    return None
