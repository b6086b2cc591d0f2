"""A request's page in plain words: where it stands, what happens next and by when, how
each answer came in, and what cancelling it would do (the confirmation says so first)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from opsdesk.maintenance import policy_notices
from opsdesk.maintenance.notices import LAPSE
from opsdesk.maintenance.state import RequestState
from opsdesk.maintenance.status import CHANNEL_WORDS, Channel, RequestStatus, Stage
from opsdesk.values import format_money

_ASKED_TO = {
    Stage.OWNER_APPROVAL: "approve the repair",
    Stage.VENDOR_QUOTE: "take the job and quote for it",
    Stage.ESTIMATE_APPROVAL: "approve the vendor's estimate",
    Stage.AVAILABILITY: "say when they are at home",
    Stage.SLOT: "book a visit inside the tenant's times",
    Stage.WORK_DONE: "say when the work is done",
    Stage.COMPLETION: "confirm the repair is fixed",
    Stage.INVOICE: "send the invoice",
    Stage.INVOICE_APPROVAL: "approve the invoice",
    Stage.REPORT_CHECK: "accept or refuse a report by someone not on file",
}

_ENDED = {
    RequestStatus.CLOSED: "Repaired and the vendor paid. Nothing more happens.",
    RequestStatus.CANCELLED: "Cancelled. Nothing more happens.",
    RequestStatus.DECLINED: "Declined. Nothing more happens.",
    RequestStatus.EXPIRED: "Expired unanswered. Nothing more happens.",
    RequestStatus.FAILED: "A step gave up: ops take it from here.",
}


def status_words(status: RequestStatus) -> str:
    """The status in a few words: ``waiting for a quote``."""
    return status.words


def stage_words(stage: Stage) -> str:
    """A question in a few words: ``Approve the repair``."""
    return _ASKED_TO[stage][0].upper() + _ASKED_TO[stage][1:]


def channel_words(channel: Channel | str | None) -> str:
    """How an answer came in: ``by email``, ``by phone``, ``on the dashboard``."""
    return CHANNEL_WORDS.get(channel or "", "")


def source_words(source: str) -> str:
    """Where a request came from: ``on the tenant's form``, ``from the property system``."""
    known = {
        "form": "on the tenant's form",
        "api": "through the API",
        "pms": "from the property system",
        "preventive": "by a preventive maintenance schedule",
    }
    return known.get(source, f"from {source.replace('_', ' ')}")


def next_step(state: RequestState, when: Callable[[datetime], str], due: str = "") -> str:
    """What happens next and by when, as one or two sentences; ``when`` writes a time in
    the reader's zone, ``due`` says how long is left."""
    question = state.question
    if question is not None:
        if question.stage is Stage.REPORT_CHECK:
            return _report_check_step(state, when(question.deadline), due)
        asked = question.asked[-1].name if question.asked else question.stage.role
        left = f" ({due})" if due else ""
        return (
            f"Waiting for {asked} ({question.stage.role}) to {_ASKED_TO[question.stage]}, "
            f"by {when(question.deadline)}{left}. If nobody answers by then, "
            f"{policy_notices.lapse(state, question)}."
        )
    if state.status in _ENDED:
        return _ENDED[state.status]
    if state.status is RequestStatus.PAYMENT:
        return f"Paying {state.vendor_name}; the request closes once the payout is made."
    if state.status is RequestStatus.SUBMITTED:
        return "Being triaged: the owner or a vendor is asked next."
    return "Working on the next step; this page updates by itself."


def _report_check_step(state: RequestState, by: str, due: str) -> str:
    """What a report's check waits for: the tenant on file, or the office alone when
    nobody is on file; and what its lapse does (an emergency goes ahead)."""
    left = f" ({due})" if due else ""
    unit = f"unit {state.form.unit}"
    question = state.question
    lapse = (
        policy_notices.lapse(state, question) if question is not None else LAPSE[Stage.REPORT_CHECK]
    )
    tenant = state.tenant_on_file
    if state.office_checks or tenant is None:
        waiting = (
            f"Waiting for the office to accept or refuse the report: nobody is on file for "
            f"{unit}. Accept or refuse it below by {by}{left}."
        )
    else:
        waiting = (
            f"Waiting for {tenant.name}, the tenant on file for {unit}, to confirm the report "
            f"{state.form.tenant.name} made, by {by}{left}. You may accept or refuse it below "
            "yourself."
        )
    return f"{waiting} If nobody answers by then, {lapse}."


def cancel_title(request_label: str) -> str:
    return f"Cancel request {request_label}?"


def cancel_effects(state: RequestState, when: Callable[[datetime], str]) -> list[str]:
    """What cancelling the request does now, one sentence each: who is told, what happens
    to the booked visit and to the vendor's pay."""
    told = [f"{state.form.tenant.name} (tenant)"]
    owner_asked = any(q.stage.role == "owner" for q in state.questions)
    emergency = bool(state.triage and state.triage.emergency)
    if state.premises and (owner_asked or emergency):
        told.append(f"{state.premises.owner_name} (owner)")
    if state.vendor:
        told.append(f"{state.vendor.name} (vendor)")
    effects = [f"Emailed that the request is cancelled, with your reason: {_joined(told)}."]
    question = state.question
    if question is not None:
        effects.append(
            f"The open question ({_ASKED_TO[question.stage]}) is withdrawn: its links and "
            "calls stop working."
        )
    if state.slot is not None and state.vendor is not None:
        effects.append(
            f"The visit {state.vendor.name} booked for {when(state.slot.start)} is called off."
        )
    if state.vendor is not None:
        money = state.currency
        owed = state.invoice_cents or state.approved_cents
        if owed is not None:
            effects.append(
                f"No payout is made: {state.vendor.name} is not paid the "
                f"{format_money(owed, money)} "
                f"{'invoiced' if state.invoice_cents else 'approved'}."
            )
        else:
            effects.append(f"No payout is made: {state.vendor.name} has not been paid.")
    effects.append("This cannot be undone; the tenant can report the problem again.")
    return effects


def _joined(parts: list[str]) -> str:
    if len(parts) == 1:
        return parts[0]
    return ", ".join(parts[:-1]) + " and " + parts[-1]
