"""What the pages behind the email links say to owners, tenants and vendors: the facts they
decide on, who answered a question and how, and what happens next. Each sentence is
written for the person reading it (the tenant reads "you", never "the tenant"); times are
in the property's zone with the zone named, from ``opsdesk.clock``.

Pure functions of a request's state: the pages module does the I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from opsdesk import clock
from opsdesk.maintenance import policy_notices
from opsdesk.maintenance.inputs import REPORT_REFUSED
from opsdesk.maintenance.notices import LAPSE, estimate_words, invoice_rows
from opsdesk.maintenance.state import AnswerRecord, RequestState
from opsdesk.maintenance.status import RequestStatus, Stage
from opsdesk.values import format_money

OFFICE = "the property manager's office"
"""Who answered, to an owner, tenant or vendor, when it was the office's system (an API
token): a token's name means nothing to them."""

_PRIORITY = {
    "emergency": "Emergency: as soon as possible",
    "urgent": "Urgent: within a day",
    "routine": "Routine",
}


@dataclass(frozen=True)
class Fact:
    """One row of what a person needs to decide."""

    label: str
    value: str


@dataclass(frozen=True)
class Figure:
    """The amount a person is deciding on, shown large, with a line that says what it
    means for them."""

    label: str
    value: str
    note: str = ""


def zone_of_request(state: RequestState) -> str:
    """The property's zone: what every time on these pages is in."""
    return state.premises.time_zone if state.premises else "UTC"


def money(state: RequestState, cents: int | None) -> str:
    return "\u2014" if cents is None else format_money(cents, state.currency)


def facts_of(state: RequestState, stage: Stage) -> list[Fact]:
    """What the person asked ``stage`` needs to decide, once each: no row repeats another
    or the figure above it."""
    zone = zone_of_request(state)
    # The tenant on file checking a report reads someone else's words.
    tenant = stage.role == "tenant" and stage is not Stage.REPORT_CHECK
    rows = [Fact("Request", state.request_id)]
    if state.premises:
        rows.append(Fact("Where", f"{state.premises.address}, unit {state.form.unit}"))
    description = state.form.description
    summary = state.triage.summary if state.triage else ""
    # The offline triage's summary is the description's first line: show it only when it
    # says something the description does not.
    if summary and not description.startswith(summary.removesuffix("...").rstrip(".")):
        rows.append(Fact("Problem", summary))
    if stage is Stage.REPORT_CHECK:
        rows.append(Fact("Reported by", state.form.tenant.name))
        rows.append(Fact("What they reported", description))
    else:
        rows.append(Fact("What you told us" if tenant else "What the tenant reported", description))
    if state.triage and not tenant:
        rows.append(Fact("Priority", _PRIORITY.get(state.triage.priority, "Routine")))
    if state.vendor and stage is not Stage.VENDOR_QUOTE:
        rows.append(Fact("Vendor", state.vendor.name))
    if state.slot and stage in (Stage.WORK_DONE, Stage.COMPLETION):
        rows.append(Fact("Visit", clock.span(state.slot.start, state.slot.end, zone)))
    if stage is Stage.INVOICE and state.approved_cents is not None:
        rows.append(Fact("Approved estimate", money(state, state.approved_cents)))
    if stage is Stage.INVOICE_APPROVAL and state.invoice and state.invoice.lines:
        # The total is the figure above; the lines and tax are what the owner checks.
        rows += [Fact(label, text) for label, text in invoice_rows(state)[:-1]]
    return rows


def figure_of(state: RequestState, stage: Stage) -> Figure | None:
    """The amount an owner is approving (or the limit that decides what comes back to
    them); none for a question about anything else."""
    limit = state.premises.auto_approve_cents if state.premises else None
    if stage is Stage.OWNER_APPROVAL and limit is not None:
        return Figure(
            "Your approval limit",
            money(state, limit),
            "If you approve, we ask a vendor for a quote. A quote up to this amount goes "
            "ahead without asking you again; above it, we ask you first.",
        )
    if stage is Stage.ESTIMATE_APPROVAL:
        return Figure(
            "The vendor's estimate",
            money(state, state.quote_cents),
            f"This is above your approval limit of {money(state, limit)}, so it needs "
            "your answer before the vendor books a visit.",
        )
    if stage is Stage.INVOICE_APPROVAL:
        note = estimate_words(state) if state.approved_cents is not None else ""
        return Figure("The vendor's invoice", money(state, state.invoice_cents), note)
    return None


def after_deadline(state: RequestState, stage: Stage) -> str:
    """What happens if nobody answers in time, as the page says it: what the owner's policy
    lets silence do, where the open question says so."""
    question = state.question
    if question is not None and question.stage is stage:
        return f"After that, {policy_notices.lapse(state, question)}."
    return f"After that, {LAPSE[stage]}."


def windows_of(state: RequestState, now: datetime) -> list[dict[str, str | bool]]:
    """The tenant's windows as a vendor chooses from them: each in the property's time,
    and whether it has already passed (it cannot be chosen then)."""
    zone = zone_of_request(state)
    return [
        {
            "index": str(i),
            "text": clock.span(w.start, w.end, zone),
            "passed": w.end <= now,
        }
        for i, w in enumerate(state.windows)
    ]


def times(count: int) -> str:
    """``1 time`` or ``2 times``."""
    return f"{count} time{'' if count == 1 else 's'}"


# -- who answered, and what ------------------------------------------------------------------

# The object of each stage's yes or no, for "approved the repair".
_DECIDED = {
    Stage.OWNER_APPROVAL: "the repair",
    Stage.ESTIMATE_APPROVAL: "the estimate",
    Stage.INVOICE_APPROVAL: "the invoice",
}


def deed(stage: Stage, answer: AnswerRecord, state: RequestState) -> str:
    """What the answer did, as a verb phrase: ``approved the repair``."""
    what = answer.what
    if what in ("approved", "declined"):
        return f"{what} {_DECIDED.get(stage, 'it')}"
    if stage is Stage.VENDOR_QUOTE:
        return "turned the job down" if what == "cannot take the job" else "sent a quote"
    if stage is Stage.AVAILABILITY:
        latest = state.latest(Stage.AVAILABILITY)
        if latest is not None and latest.answer == answer and state.windows:
            return f"gave {times(len(state.windows))} to be at home for the visit"
        return "gave the times to be at home for the visit"
    if stage is Stage.SLOT:
        if what.startswith("said none"):
            return "said none of the times given works for the visit"
        latest = state.latest(Stage.SLOT)
        if latest is not None and latest.answer == answer and state.slot is not None:
            zone = zone_of_request(state)
            return f"booked the visit for {clock.span(state.slot.start, state.slot.end, zone)}"
        return "booked the visit"
    if stage is Stage.WORK_DONE:
        return "said the work is done"
    if stage is Stage.COMPLETION:
        return "confirmed the repair is fixed" if what.startswith("confirmed") else what
    if stage is Stage.INVOICE:
        return "sent the invoice"
    return what


def who_answered(
    answer: AnswerRecord, stage: Stage, state: RequestState, *, link_id: str, role: str
) -> str:
    """The sentence that says who answered, what, by which channel and when, for the
    person whose link this is."""
    # The time first: the answer itself may name another (the visit it booked).
    when = f"On {clock.moment(answer.at, zone_of_request(state))}"
    did = deed(stage, answer, state)
    if answer.answer_id == link_id:
        return f"{when}, you {did} with this link."
    if answer.channel == "api":
        return f"{when}, {OFFICE} {did}."
    if answer.channel == "dashboard":
        return f"{when}, {answer.actor} at {OFFICE} {did}."
    how = "by phone" if answer.channel == "phone" else "from another email"
    if stage.role == role:
        return f"{when}, you {did} {how}."
    return f"{when}, {answer.actor} {did} {how}."


# -- what happens next -----------------------------------------------------------------------


def next_step(state: RequestState, role: str) -> str:
    """What happens next with the request, for the person reading: the owner, the tenant
    or the vendor. Never a status's name."""
    status = state.status
    if status.terminal:
        return _ended(state, role)
    question = state.question
    if question is None:
        if status is RequestStatus.PAYMENT:
            return "The vendor is being paid; nothing more is needed from you."
        return "We are arranging the next step and will email you if we need you."
    asked = question.stage
    if asked is Stage.REPORT_CHECK:
        # Asked of the tenant on file, who may not be the person reading; with nobody on
        # file, of the office.
        who = "our office" if state.tenant_on_file is None else "the tenant on file for this home"
        return (
            f"We are checking the report with {who} before anyone is sent; we will email "
            "you once it goes ahead."
        )
    if asked.role == role:
        return (
            "We have emailed you the next question; please answer it by "
            f"{clock.moment(question.deadline, zone_of_request(state))}."
        )
    vendor = state.vendor_name
    you = role == "tenant"
    waiting = {
        Stage.OWNER_APPROVAL: "We are waiting for the owner to approve the repair.",
        Stage.VENDOR_QUOTE: (
            "We are asking a vendor to quote for the repair."
            if role != "vendor"
            else "We are asking a vendor for a quote."
        ),
        Stage.ESTIMATE_APPROVAL: "The owner is reviewing the vendor's estimate.",
        Stage.AVAILABILITY: "We have asked the tenant when they are at home for the visit.",
        Stage.SLOT: (
            f"{vendor} is choosing a visit from the times you gave; we will email you "
            "when it is booked."
            if you
            else f"{vendor} is choosing a visit from the tenant's times."
        ),
        Stage.WORK_DONE: _visit_sentence(state, you),
        Stage.COMPLETION: "We have asked the tenant to confirm the repair.",
        Stage.INVOICE: f"We are waiting for {vendor}'s invoice.",
        Stage.INVOICE_APPROVAL: "The owner is reviewing the vendor's invoice.",
    }[asked]
    if role == "owner" or asked.role == "tenant":
        return waiting
    return f"{waiting} We will email you when we need you."


def _visit_sentence(state: RequestState, you: bool) -> str:
    if state.slot is None:
        return f"{state.vendor_name} is doing the work."
    visit = clock.span(state.slot.start, state.slot.end, zone_of_request(state))
    return f"{state.vendor_name} visits {'you ' if you else ''}{visit}."


def _ended(state: RequestState, role: str) -> str:
    status = state.status
    if status is RequestStatus.CLOSED:
        return "The repair is done and the request is closed. Nothing more is needed from you."
    if status is RequestStatus.CANCELLED:
        return "This request was cancelled. Nothing more is needed from you."
    if status is RequestStatus.DECLINED:
        check = state.latest(Stage.REPORT_CHECK)
        if check is not None and check.answer is not None and check.answer.what == REPORT_REFUSED:
            return (
                "The report was not confirmed by the tenant on file for this home, so no "
                "repair goes ahead under it. If you live there, contact the property "
                "manager's office."
            )
        if role == "owner":
            return "No repair goes ahead under this request."
        if role == "tenant":
            return (
                "The owner decided not to go ahead with this repair. If you have "
                "questions, reply to our email."
            )
        return "The job will not go ahead. Nothing more is needed from you."
    if status is RequestStatus.FAILED:
        return "Our team is looking into this request and will contact you."
    # EXPIRED: a question went unanswered in time.
    if role == "tenant":
        return (
            "This request has closed. If the problem is still there, report it again "
            "and we will start afresh."
        )
    return "This request has closed without the repair. Nothing more is needed from you."


def refused_answer(reason: str) -> str:
    """The workflow's refusal of an answer that does not fit, as a sentence."""
    text = reason.strip().rstrip(".")
    return f"{text[:1].upper()}{text[1:]}." if text else "That answer cannot be used."
