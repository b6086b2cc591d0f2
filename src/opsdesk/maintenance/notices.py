"""What a request's messages say: the facts the one email template is filled from.
Pure functions of the request's state: the workflow calls them. Times travel as ISO
strings with the property's time zone, and the template shows them in local time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from opsdesk.files.refs import described
from opsdesk.maintenance.ids import spoken_request_id
from opsdesk.maintenance.inputs import NONE_FITS, Window
from opsdesk.maintenance.state import RequestState
from opsdesk.maintenance.status import Stage
from opsdesk.notify.links import LinkGrant
from opsdesk.values import format_money

TEMPLATE = "maintenance/message"

# What each stage asks, and the label of the button that opens its page.
QUESTIONS: dict[Stage, tuple[str, str]] = {
    Stage.OWNER_APPROVAL: ("May we go ahead with this repair?", "Approve or decline"),
    Stage.VENDOR_QUOTE: ("Can you take this job, and what will it cost?", "Send your quote"),
    Stage.ESTIMATE_APPROVAL: ("The vendor's estimate is above your limit.", "Review the estimate"),
    Stage.AVAILABILITY: ("When are you at home for the visit?", "Give your times"),
    Stage.SLOT: ("Choose when you will visit, from the tenant's times.", "Book a visit"),
    Stage.WORK_DONE: ("Tell us when the work is done.", "Mark the work done"),
    Stage.COMPLETION: ("Is it fixed?", "Confirm the repair"),
    Stage.INVOICE: ("Send your invoice for this job.", "Send the invoice"),
    Stage.INVOICE_APPROVAL: (
        "The vendor's invoice is ready for your approval.",
        "Review the invoice",
    ),
}

ANSWERS: dict[Stage, tuple[str, ...]] = {
    Stage.OWNER_APPROVAL: ("approve", "decline"),
    Stage.VENDOR_QUOTE: ("quote", "decline"),
    Stage.ESTIMATE_APPROVAL: ("approve", "decline"),
    Stage.AVAILABILITY: ("windows",),
    Stage.SLOT: ("slot",),
    Stage.WORK_DONE: ("done",),
    Stage.COMPLETION: ("fixed", "not_fixed"),
    Stage.INVOICE: ("invoice",),
    Stage.INVOICE_APPROVAL: ("approve", "decline"),
}


def at(when: datetime) -> dict[str, str]:
    return {"at": when.isoformat()}


def window_text(window: Window) -> dict[str, str]:
    return {"from": window.start.isoformat(), "to": window.end.isoformat()}


def money(state: RequestState, cents: int | None) -> str:
    return "" if cents is None else format_money(cents, state.currency)


def request_details(state: RequestState) -> list[dict[str, Any]]:
    """The lines every message about the request shows."""
    details: list[dict[str, Any]] = [{"label": "Request", "text": state.request_id}]
    if state.premises:
        details.append(
            {"label": "Where", "text": f"{state.premises.address}, unit {state.form.unit}"}
        )
    if state.triage:
        details.append({"label": "Problem", "text": state.triage.summary})
        details.append({"label": "Priority", "text": state.triage.priority})
    else:
        details.append({"label": "Problem", "text": state.form.description[:300]})
    if state.vendor:
        details.append({"label": "Vendor", "text": state.vendor.name})
    if state.slot:
        details.append({"label": "Visit", **window_text(state.slot)})
    return details


def message(
    state: RequestState,
    *,
    subject: str,
    greeting: str,
    paragraphs: list[str],
    details: list[dict[str, Any]] | None = None,
    link: LinkGrant | None = None,
    button: str = "",
    dashboard: bool = False,
) -> dict[str, Any]:
    """The facts of one message. ``link`` becomes a signed URL when the email is composed;
    ``dashboard`` adds a link to the request's dashboard page (for ops)."""
    return {
        "subject": subject,
        "greeting": greeting,
        "paragraphs": paragraphs,
        "details": request_details(state) + (details or []),
        "link": link.model_dump(mode="json") if link else None,
        "button": button,
        "dashboard_path": f"/maintenance/{state.request_id}" if dashboard else "",
        "time_zone": state.premises.time_zone if state.premises else "UTC",
    }


def stage_details(state: RequestState, stage: Stage) -> list[dict[str, Any]]:
    """The extra facts a person needs to answer ``stage``."""
    if stage is Stage.ESTIMATE_APPROVAL:
        limit = state.premises.auto_approve_cents if state.premises else 0
        return [
            {"label": "Estimate", "text": money(state, state.quote_cents)},
            {"label": "Your auto-approve limit", "text": money(state, limit)},
        ]
    if stage is Stage.SLOT:
        return [{"label": "Tenant at home", **window_text(w)} for w in state.windows]
    if stage is Stage.INVOICE_APPROVAL:
        lines = [
            {"label": "Invoice", "text": money(state, state.invoice_cents)},
            {"label": "Approved estimate", "text": money(state, state.approved_cents)},
        ]
        over = over_estimate(state)
        if over:
            lines.append({"label": "Over the estimate by", "text": money(state, over)})
        return lines
    if stage is Stage.INVOICE and state.approved_cents is not None:
        return [{"label": "Approved estimate", "text": money(state, state.approved_cents)}]
    return []


def files_details(state: RequestState, stage: Stage) -> list[dict[str, Any]]:
    """For the owner's and the vendor's questions: how many photos and videos the tenant
    sent (the email says how many; its link's page shows them)."""
    if not state.photos or stage.role == "tenant":
        return []
    sent = described([shared.file for shared in state.photos])
    return [{"label": "From the tenant", "text": f"{sent}; the link shows them"}]


def over_estimate(state: RequestState) -> int:
    """Cents by which the invoice exceeds the approved estimate (0 when it does not)."""
    if state.invoice_cents is None or state.approved_cents is None:
        return 0
    return max(0, state.invoice_cents - state.approved_cents)


# -- phone calls ------------------------------------------------------------------------------

CALLED_STAGES = (Stage.OWNER_APPROVAL, Stage.ESTIMATE_APPROVAL, Stage.INVOICE_APPROVAL)
"""The owner's yes-or-no questions: asked by phone as well as by email."""
KEYS = "Press 1 to approve, 2 to decline, or 9 to hear this again. Or just say your answer."

_CURRENCY_WORDS = {"USD": "dollars", "CAD": "dollars", "AUD": "dollars", "EUR": "euros"}


@dataclass(frozen=True)
class CallScript:
    """What a call says: who is calling and why, then the question."""

    intro: str
    question: str
    decision: str
    """The answer in a few words, for "I have recorded that you approve ...": e.g. ``the
    invoice of 412 dollars and 50 cents from Ace Plumbing``."""

    @property
    def full(self) -> str:
        return f"{self.intro} {self.question} {KEYS}"


def spoken_money(cents: int | None, currency: str) -> str:
    """An amount as a voice reads it well: ``412 dollars and 50 cents``."""
    if cents is None:
        return "an amount not yet known"
    word = _CURRENCY_WORDS.get(currency)
    if word is None:
        return format_money(cents, currency)
    whole, part = divmod(cents, 100)
    if whole == 1:
        word = word.removesuffix("s")
    cents_words = f" and {part} cent{'s' if part != 1 else ''}" if part else ""
    return f"{whole:,} {word}{cents_words}"


def call_script(state: RequestState, stage: Stage) -> CallScript:
    """What the owner hears for ``stage``: the address, the problem, the vendor and the
    amount, whatever they need to decide without the email in front of them."""
    premises = state.premises
    where = f"{premises.address}, unit {state.form.unit}" if premises else "your property"
    name = premises.owner_name if premises else "the owner"
    problem = state.triage.summary if state.triage else state.form.description[:200]
    vendor = state.vendor.name if state.vendor else "the vendor"
    intro = (
        f"Hello {name}, this is Ops Desk calling about request "
        f"{spoken_request_id(state.request_id)} "
        f"at {where}. The problem: {problem.rstrip('.')}."
    )
    if stage is Stage.ESTIMATE_APPROVAL:
        amount = spoken_money(state.quote_cents, state.currency)
        limit = spoken_money(premises.auto_approve_cents if premises else 0, state.currency)
        intro += f" {vendor} estimates {amount}, above your limit of {limit}."
        return CallScript(intro, "Do you approve the estimate?", f"the estimate of {amount}")
    if stage is Stage.INVOICE_APPROVAL:
        amount = spoken_money(state.invoice_cents, state.currency)
        intro += f" {vendor} has done the work and invoices {amount}."
        over = over_estimate(state)
        if over:
            intro += f" That is {spoken_money(over, state.currency)} over the estimate."
        return CallScript(
            intro,
            "Do you approve paying the invoice?",
            f"the invoice of {amount} from {vendor}",
        )
    priority = state.triage.priority if state.triage else "routine"
    intro += f" We rate it {priority}."
    return CallScript(intro, "May we go ahead with this repair?", "the repair")


# -- what the request tells people as it goes ------------------------------------------------
# Each function is one message's words (its subject and paragraphs); the workflow decides
# who receives it and when.


class Words(NamedTuple):
    subject: str
    paragraphs: list[str]


SOURCES = {"form": "web form", "api": "API", "pms": "property-management system"}
"""How a request came in, as its timeline's first line says it."""

LAPSE: dict[Stage, str] = {
    Stage.OWNER_APPROVAL: "the request expires",
    Stage.VENDOR_QUOTE: "the job goes to another vendor",
    Stage.ESTIMATE_APPROVAL: "the request expires",
    Stage.AVAILABILITY: "the request expires",
    Stage.SLOT: "the request expires",
    Stage.WORK_DONE: "the request expires",
    Stage.COMPLETION: "the repair counts as done",
    Stage.INVOICE: "the request expires",
    Stage.INVOICE_APPROVAL: "the request expires",
}
"""What happens when each stage's deadline passes unanswered."""


def duration_words(delta: timedelta) -> str:
    """``3 days`` or ``24 hours``."""
    hours = delta.total_seconds() / 3600
    if hours >= 48 and hours % 24 == 0:
        return f"{int(hours // 24)} days"
    return f"{hours:g} hours"


def not_taken(state: RequestState, why: str) -> Words:
    return Words(
        f"We could not take request {state.request_id}",
        [f"We could not take your request: {why}."],
    )


def acknowledged(state: RequestState) -> Words:
    return Words(
        f"We have your repair request {state.request_id}",
        [
            "Thank you for reporting this. We will keep you posted at every step that "
            "concerns you, and ask you for the times you are at home once a vendor is "
            "ready to visit."
        ],
    )


def emergency_for_owner(state: RequestState) -> Words:
    assert state.premises is not None
    assert state.triage is not None
    return Words(
        f"Emergency at {state.premises.name}: {state.triage.summary}", _EMERGENCY_PARAGRAPHS
    )


def emergency_for_ops(state: RequestState) -> Words:
    assert state.triage is not None
    return Words(f"EMERGENCY {state.request_id}: {state.triage.summary}", _EMERGENCY_PARAGRAPHS)


_EMERGENCY_PARAGRAPHS = [
    "A tenant reported an emergency. We are asking a vendor to come at once; "
    "there is no need to approve this repair first."
]


def question(state: RequestState, stage: Stage) -> Words:
    """The email that asks ``stage``; its button's label is ``QUESTIONS[stage][1]``."""
    text, button = QUESTIONS[stage]
    paragraphs = [text, f"Please answer by the time below; after that, {LAPSE[stage]}."]
    if stage is Stage.AVAILABILITY and _no_window_fitted(state):
        paragraphs.insert(0, f"{state.vendor_name} cannot come at any of the times you gave.")
    return Words(f"{button}: request {state.request_id}", paragraphs)


def _no_window_fitted(state: RequestState) -> bool:
    """Whether the vendor's last answer about a visit was that none of the times works."""
    slot = state.latest(Stage.SLOT)
    return slot is not None and slot.answer is not None and slot.answer.what == NONE_FITS


def visit_booked(state: RequestState) -> Words:
    return Words(
        f"Your repair visit is booked: request {state.request_id}",
        [f"{state.vendor_name} will come at the time below."],
    )


def released(state: RequestState) -> Words:
    return Words(
        f"Request {state.request_id} no longer needs you",
        ["This job has passed to another vendor. Thank you all the same."],
    )


def closed_for_tenant(state: RequestState) -> Words:
    return Words(
        f"Request {state.request_id} is closed",
        ["The repair is done and the vendor has been paid. Thank you for your patience."],
    )


def paid_for_vendor(state: RequestState, amount: str) -> Words:
    return Words(
        f"Payment sent for request {state.request_id}", [f"We have paid your invoice of {amount}."]
    )


def closed_for_owner(state: RequestState, amount: str) -> Words:
    return Words(
        f"Request {state.request_id} is closed: {amount} paid",
        [f"The repair is done and {state.vendor_name} has been paid {amount}."],
    )


def cancelled(state: RequestState, reason: str) -> Words:
    return Words(
        f"Request {state.request_id} was cancelled",
        [f"Request {state.request_id} was cancelled: {reason}."],
    )


def declined(state: RequestState, what: str, note: str) -> Words:
    paragraphs = [f"{what}, so no repair will go ahead under this request."]
    if note:
        paragraphs.append(f"Their note: {note}")
    return Words(f"Request {state.request_id} was declined", paragraphs)


def expired(state: RequestState, why: str) -> Words:
    return Words(
        f"Request {state.request_id} has expired",
        [
            f"Request {state.request_id} has expired: {why}.",
            "Nothing more happens under this request.",
        ],
    )


_STUCK_FOR_TENANT: dict[Stage, str] = {
    Stage.OWNER_APPROVAL: "the approval we need for this repair did not come in time",
    Stage.VENDOR_QUOTE: "we could not find a vendor to take the job",
    Stage.ESTIMATE_APPROVAL: "the vendor's estimate was not approved in time",
    Stage.AVAILABILITY: "we did not hear from you about the times you are at home",
    Stage.SLOT: "the vendor did not book a visit in time",
    Stage.WORK_DONE: "the vendor did not tell us the work was done in time",
    Stage.INVOICE: "the vendor did not send their invoice in time",
    Stage.INVOICE_APPROVAL: "the vendor's invoice was not approved in time",
    Stage.COMPLETION: "we did not hear whether the repair worked",
}


def expired_for_tenant(state: RequestState, stage: Stage) -> Words:
    """The tenant's copy of an expiry: what it means for them and what they can do."""
    return Words(
        f"Your repair request {state.request_id} has stopped",
        [
            f"We have stopped working on your request {state.request_id}: "
            f"{_STUCK_FOR_TENANT[stage]}. We are sorry."
        ],
    )


RESUBMIT = (
    "If the problem is still there, report it again: the form is filled in with this request."
)
"""Added to the tenant's copy of a message that ends the request and invites a new one."""


def stopped_for_ops(state: RequestState, error: str) -> Words:
    return Words(
        f"Request {state.request_id} needs a person",
        [
            f"Request {state.request_id} stopped because a step failed: {error}.",
            "Nothing more happens on its own. Please contact the people involved "
            "and report it again if the repair is still needed.",
        ],
    )


def stopped(state: RequestState) -> Words:
    return Words(
        f"Request {state.request_id} is with our team",
        [
            "Something went wrong on our side while handling this request, and it "
            "has stopped. Our team has been told and will contact you about what "
            "happens next."
        ],
    )
