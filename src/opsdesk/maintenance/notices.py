"""What a request's messages say: the facts the one email template is filled from.
Pure functions of the request's state: the workflow calls them. Times travel as ISO
strings with the property's time zone, and the template shows them in local time."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from opsdesk.ai.models import TriageResult
from opsdesk.files.refs import described
from opsdesk.maintenance.ids import spoken_request_id
from opsdesk.maintenance.inputs import NONE_FITS, Window
from opsdesk.maintenance.invoice import LINE_KINDS, Invoice, LineKind
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
    Stage.REPORT_CHECK: (
        "Is this report genuine? Someone who is not a tenant on file for the unit made it.",
        "Confirm or refuse the report",
    ),
}

REPORT_CHECK_FOR_TENANT = (
    "Someone reported a repair in your home: did you, or someone you know, report it?"
)
"""What the tenant on file's email and link page ask; ``QUESTIONS`` words it for the
timeline and ops, who read it about someone else's home."""

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
    Stage.REPORT_CHECK: ("confirm", "refuse"),
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
        lines = [{"label": label, "text": text} for label, text in invoice_rows(state)]
        lines.append({"label": "Approved estimate", "text": money(state, state.approved_cents)})
        if state.approved_cents is not None:
            lines.append({"label": "Against the estimate", "text": estimate_words(state)})
        return lines
    if stage is Stage.INVOICE and state.approved_cents is not None:
        return [{"label": "Approved estimate", "text": money(state, state.approved_cents)}]
    if stage is Stage.REPORT_CHECK:
        # Their name only: the reporter's address and phone are not the tenant's to see.
        return [{"label": "Reported by", "text": state.form.tenant.name}]
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


def estimate_words(state: RequestState) -> str:
    """``62.50 USD (15 %) over the estimate of 412.50 USD you approved``, or that the
    invoice is within it."""
    approved = money(state, state.approved_cents)
    over = over_estimate(state)
    if not over or not state.approved_cents:
        return f"Within the estimate of {approved} you approved."
    share = (over * 100 + state.approved_cents // 2) // state.approved_cents
    return f"{money(state, over)} ({share} %) over the estimate of {approved} you approved."


def invoice_rows(state: RequestState) -> list[tuple[str, str]]:
    """The invoice as an owner reads it: its number, each line (``Labour: Replace the
    valve: 1.5 at 85.00 USD each, 127.50 USD``), the tax and the total."""
    invoice = state.invoice
    if invoice is None or not invoice.lines:
        return [("Invoice", money(state, state.invoice_cents))]
    rows = [("Invoice number", invoice.number or "")]
    for line in invoice.lines:
        rows.append(
            (
                LINE_KINDS[line.kind],
                f"{line.description}: {line.quantity.normalize():f} at "
                f"{money(state, line.unit_price_cents)} each, {money(state, line.total_cents)}",
            )
        )
    rows.append(("Tax", money(state, invoice.tax_cents)))
    rows.append(("Total", money(state, invoice.total_cents)))
    return rows


def _by_kind(invoice: Invoice) -> dict[LineKind, int]:
    totals: dict[LineKind, int] = {}
    for line in invoice.lines:
        totals[line.kind] = totals.get(line.kind, 0) + line.total_cents
    return totals


# -- phone calls ------------------------------------------------------------------------------

CALLED_STAGES = (Stage.OWNER_APPROVAL, Stage.ESTIMATE_APPROVAL, Stage.INVOICE_APPROVAL)
"""The owner's yes-or-no questions: asked by phone as well as by email."""
KEYS = "Press 1 to approve, 2 to decline, or 9 to hear this again. Or just say your answer."


@dataclass(frozen=True)
class CallScript:
    """What a call says: who is calling and why, then the question."""

    intro: str
    question: str
    decision: str
    """The answer in a few words, for "I have recorded that you approve ...": e.g. ``the
    invoice of 412 dollars and 50 cents from Ace Plumbing``."""
    keys: str = KEYS
    """How to answer with the keypad, in the script's language."""

    @property
    def full(self) -> str:
        return f"{self.intro} {self.question} {self.keys}"


# Compared as the one table it is (its dicts cannot be hashed).
@dataclass(frozen=True, eq=False)
class MoneyWords:
    """How a voice says amounts in one language: ``412 dollars and 50 cents``. A currency
    without words is said as written (``12.50 GBP``)."""

    units: dict[str, tuple[str, str]]
    """Each currency's word for one and for more: ``("dollar", "dollars")``."""
    small: dict[str, tuple[str, str]]
    """The hundredth's word, by currency (``""``: any other)."""
    joiner: str
    """Between the whole and the hundredths: `` and ``."""
    unknown: str
    """An amount not known yet."""
    thousands: str = ","
    zero_is_one: bool = False
    """Whether none takes the word for one ("0 dollar", as French says it)."""

    def __call__(self, cents: int | None, currency: str) -> str:
        if cents is None:
            return self.unknown
        unit = self.units.get(currency)
        if unit is None:
            return format_money(cents, currency)
        whole, part = divmod(cents, 100)
        said = f"{whole:,}".replace(",", self.thousands) + " " + unit[self._many(whole)]
        if part:
            small = self.small.get(currency, self.small[""])
            said += f"{self.joiner}{part} {small[self._many(part)]}"
        return said

    def _many(self, count: int) -> int:
        return 0 if count == 1 or (count == 0 and self.zero_is_one) else 1


ENGLISH_MONEY = MoneyWords(
    units={
        "USD": ("dollar", "dollars"),
        "CAD": ("dollar", "dollars"),
        "AUD": ("dollar", "dollars"),
        "EUR": ("euro", "euros"),
    },
    small={"": ("cent", "cents")},
    joiner=" and ",
    unknown="an amount not yet known",
)


def spoken_money(cents: int | None, currency: str) -> str:
    """An amount as a voice reads it well: ``412 dollars and 50 cents``."""
    return ENGLISH_MONEY(cents, currency)


# Compared as the one table it is (its dicts cannot be hashed).
@dataclass(frozen=True, eq=False)
class ScriptWords:
    """A call script's sentences in one language: each ``{name}`` is filled from the
    request, its amounts said by ``money``."""

    money: Callable[[int | None, str], str]
    number: str
    """How a request number is said: ``number 7``."""
    hello: str
    """``{name}``, ``{request}``, ``{where}``, ``{problem}``."""
    where: str
    your_property: str
    the_owner: str
    the_vendor: str
    estimate: str
    estimate_question: str
    estimate_decision: str
    invoice: str
    invoice_line: str
    invoice_tax: str
    and_: str
    over: str
    invoice_question: str
    invoice_decision: str
    rated: str
    repair_question: str
    repair_decision: str
    keys: str
    line_kinds: dict[LineKind, str]
    priorities: dict[str, str]


ENGLISH_SCRIPT = ScriptWords(
    money=spoken_money,
    number="number",
    hello="Hello {name}, this is Ops Desk calling about request {request} at {where}. "
    "The problem: {problem}.",
    where="{address}, unit {unit}",
    your_property="your property",
    the_owner="the owner",
    the_vendor="the vendor",
    estimate=" {vendor} estimates {amount}, above your limit of {limit}.",
    estimate_question="Do you approve the estimate?",
    estimate_decision="the estimate of {amount}",
    invoice=" {vendor} has done the work and invoices {amount}",
    invoice_line="{amount} for {kind}",
    invoice_tax="{amount} of tax",
    and_="and",
    over=" That is {amount} over the estimate.",
    invoice_question="Do you approve paying the invoice?",
    invoice_decision="the invoice of {amount} from {vendor}",
    rated=" We rate it {priority}.",
    repair_question="May we go ahead with this repair?",
    repair_decision="the repair",
    keys=KEYS,
    line_kinds={kind: label.lower() for kind, label in LINE_KINDS.items()},
    priorities={},
)
"""The desk's own language: what the key-press call has always said."""


def call_script(
    state: RequestState, stage: Stage, words: ScriptWords = ENGLISH_SCRIPT
) -> CallScript:
    """What the owner hears for ``stage``: the address, the problem, the vendor and the
    amount, whatever they need to decide without the email in front of them, in
    ``words``' language (the problem and the names stay as written: they are data)."""
    premises = state.premises
    money = words.money
    where = (
        words.where.format(address=premises.address, unit=state.form.unit)
        if premises
        else words.your_property
    )
    problem = state.triage.summary if state.triage else state.form.description[:200]
    vendor = state.vendor.name if state.vendor else words.the_vendor
    intro = words.hello.format(
        name=premises.owner_name if premises else words.the_owner,
        request=spoken_request_id(state.request_id, words.number),
        where=where,
        problem=problem.rstrip("."),
    )
    if stage is Stage.ESTIMATE_APPROVAL:
        amount = money(state.quote_cents, state.currency)
        limit = money(premises.auto_approve_cents if premises else 0, state.currency)
        intro += words.estimate.format(vendor=vendor, amount=amount, limit=limit)
        return CallScript(
            intro,
            words.estimate_question,
            words.estimate_decision.format(amount=amount),
            words.keys,
        )
    if stage is Stage.INVOICE_APPROVAL:
        amount = money(state.invoice_cents, state.currency)
        intro += words.invoice.format(vendor=vendor, amount=amount)
        invoice = state.invoice
        if invoice is not None and invoice.lines:
            # Said as the owner would add it up: labour, materials, then the tax.
            parts = [
                words.invoice_line.format(
                    amount=money(cents, state.currency), kind=words.line_kinds[kind]
                )
                for kind, cents in _by_kind(invoice).items()
            ]
            parts.append(words.invoice_tax.format(amount=money(invoice.tax_cents, state.currency)))
            intro += f": {', '.join(parts[:-1])} {words.and_} {parts[-1]}"
        intro += "."
        over = over_estimate(state)
        if over:
            intro += words.over.format(amount=money(over, state.currency))
        return CallScript(
            intro,
            words.invoice_question,
            words.invoice_decision.format(amount=amount, vendor=vendor),
            words.keys,
        )
    priority = state.triage.priority if state.triage else "routine"
    intro += words.rated.format(priority=words.priorities.get(priority, priority))
    return CallScript(intro, words.repair_question, words.repair_decision, words.keys)


# -- what the request tells people as it goes ------------------------------------------------
# Each function is one message's words (its subject and paragraphs); the workflow decides
# who receives it and when.


class Words(NamedTuple):
    subject: str
    paragraphs: list[str]


SOURCES = {
    "form": "web form",
    "api": "API",
    "pms": "property-management system",
    "preventive": "preventive maintenance schedule",
}
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
    Stage.REPORT_CHECK: "the request expires",
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


FOLLOW = "follow"
"""The stage a follow link names: it shows the request, and answers nothing."""
FOLLOW_LINK_LIFETIME = timedelta(days=90)
"""Long enough to follow a repair to its end, short enough that a forwarded email does not
show the tenant's visits for long."""
FOLLOW_BUTTON = "Follow your request"


def follow_grant(request_id: str, now: datetime) -> LinkGrant:
    """A read-only link to the request's progress page, for the person who reported it.
    Its id is fixed: it answers nothing, so it needs no single use (and a workflow makes
    it without drawing a random id)."""
    return LinkGrant(
        link_id=f"{FOLLOW}-{request_id}",
        request_id=request_id,
        stage=FOLLOW,
        round=1,
        role="tenant",
        answers=(),
        expires_at=now + FOLLOW_LINK_LIFETIME,
    )


def acknowledged(state: RequestState) -> Words:
    if state.report_to_check:
        paragraphs = [f"Thank you for reporting this. {report_check_ahead(state)}"]
    else:
        paragraphs = [
            "Thank you for reporting this. We will keep you posted at every step that "
            "concerns you, and ask you for the times you are at home once a vendor is "
            "ready to visit."
        ]
    met = state.emergency_criterion
    if met is not None and met.call_first:
        paragraphs.insert(0, call_first(met.call_first))
    return Words(f"We have your repair request {state.request_id}", paragraphs)


def call_first(number: str, reported: bool = True) -> str:
    """What a tenant reporting gas, smoke or carbon monoxide must do before anything else;
    ``reported``: said once their report is in (else: on the form, before it)."""
    then = (
        "We are sending someone as well, but the emergency services come first."
        if reported
        else "Then report it here."
    )
    return (
        f"If you smell gas, see smoke or fire, or a carbon monoxide alarm is sounding: leave "
        f"the home now and call {number} from outside. Do not switch anything on or off. " + then
    )


def emergency_because(result: TriageResult) -> str:
    """What the triage's timeline line adds when a written emergency criterion was met."""
    met = result.emergency
    if met is None:
        return ""
    why = f'; an emergency by the written criteria: {met.words} ("{met.heard}")'
    if result.raised:
        why += f"; {result.provider} had not called it one"
    return why


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


def report_check_ahead(state: RequestState) -> str:
    """For the person who reported, not on file: who checks the report before anything is
    done, and when it goes ahead."""
    unit = f"unit {state.form.unit}"
    if state.tenant_on_file is None:
        ahead = (
            f"Nobody is on file for {unit}, so our office checks your report first; we go "
            "ahead as soon as they accept it."
        )
    else:
        ahead = (
            f"The tenant on file for {unit} is asked to confirm your report; we go ahead "
            "once they or our office do."
        )
    if state.triage is not None and state.triage.emergency:
        ahead += " As it is an emergency, our office has been told at once."
    return ahead + " We will email you at each step that concerns you."


def report_to_check(state: RequestState) -> Words:
    """For ops: a web-form report someone made who is not the unit's tenant on file, and
    the unit has no tenant on file to confirm it; or it is an emergency, which must not
    wait for the tenant's answer alone."""
    assert state.premises is not None
    emergency = bool(state.triage and state.triage.emergency)
    summary = state.triage.summary if state.triage else state.form.description[:140]
    unit = f"unit {state.form.unit}"
    who = f"{state.form.tenant.name} ({state.form.tenant.email})"
    first = f"{who} reported this on the web form and is not a tenant on file for {unit}."
    if emergency:
        subject = (
            f"Emergency reported by someone not on file: accept it so a vendor is sent "
            f"({state.request_id}: {summary})"
        )
    else:
        subject = (
            f"Accept or refuse a report by someone not on file ({state.request_id}: {summary})"
        )
    if state.tenant_on_file is None:
        after = f"Nobody is on file for {unit}, so only you can accept or refuse the report."
    else:
        after = (
            "We have asked the tenant on file to confirm it; as it is an emergency, accept "
            "it yourself now rather than wait for them."
        )
    then = (
        "Nobody is asked or sent until the report is accepted: accept or refuse it on the "
        "request's page."
    )
    if emergency:
        then = (
            "No vendor is sent until the report is accepted: accept or refuse it on the "
            "request's page. If nobody answers by the check's deadline, it goes ahead as "
            "if accepted, as it is an emergency."
        )
    return Words(subject, [first, after, then])


def emergency_check_lapsed(state: RequestState) -> Words:
    """For ops: nobody accepted or refused an emergency's report in time, so it went ahead."""
    summary = state.triage.summary if state.triage else state.form.description[:140]
    return Words(
        f"Emergency {state.request_id} goes ahead unchecked: {summary}",
        [
            f"Nobody accepted or refused the report {state.form.tenant.name} made, who is not "
            f"a tenant on file for unit {state.form.unit}, before its deadline.",
            "As it is an emergency, it goes ahead as if accepted: a vendor is being sent. "
            "If the report is not genuine, cancel the request on its page.",
        ],
    )


EMERGENCY_CHECK_LAPSED = (
    "Nobody accepted or refused the report in time: as it is an emergency, it goes ahead "
    "as if accepted"
)
"""The timeline's line when an emergency's report check lapses."""


def report_refused(state: RequestState, note: str) -> Words:
    """For the person who reported: the report was not confirmed, so nothing goes ahead.
    ``note``: ops' reason, when they gave one."""
    paragraphs = [
        "We could not confirm this report with the tenant on file for this home, so no "
        "repair goes ahead under it.",
        "If you live there, please contact the property manager's office.",
    ]
    if note:
        paragraphs.insert(1, f"The office's note: {note}")
    return Words(f"Request {state.request_id} will not go ahead", paragraphs)


def question(state: RequestState, stage: Stage) -> Words:
    """The email that asks ``stage``; its button's label is ``QUESTIONS[stage][1]``."""
    text, button = QUESTIONS[stage]
    lapse = LAPSE[stage]
    if stage is Stage.REPORT_CHECK:
        text = REPORT_CHECK_FOR_TENANT
        if state.triage is not None and state.triage.emergency:
            lapse = "as it is an emergency, the repair goes ahead without your answer"
    paragraphs = [text, f"Please answer by the time below; after that, {lapse}."]
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
    Stage.REPORT_CHECK: "the tenant on file for this home did not confirm the report in time",
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


# -- after the job: the tenant's satisfaction survey --------------------------------------------

SURVEY = "survey"
"""The stage a survey link names: no stage of the workflow, it asks after the end."""
RATINGS = ("1", "2", "3", "4", "5")
SURVEY_LINK_LIFETIME = timedelta(days=30)
SURVEY_BUTTON = "Rate the repair"


def survey_for_tenant(state: RequestState) -> Words:
    return Words(
        f"How did the repair go? (request {state.request_id})",
        [
            f"Your repair is finished. How happy are you with how {state.vendor_name} "
            "and our team handled it?",
            "It is one question, from 1 to 5, and a comment if you like. Your answer helps "
            "us choose who we send next time.",
        ],
    )
