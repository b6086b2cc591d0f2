"""What the call may talk about and what it may record: the request's facts for one
question, read from the request's state as the phone call already reads it.

The facts are data. A model is given them as a JSON document, never as instructions, so
a tenant's description or an invoice line that reads like an order stays a quoted string;
and what may be recorded (``approve`` or ``decline``, and for an amount only the amount
on file) is fixed here, from the state, whatever the conversation said.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from opsdesk.maintenance.conversation.languages import (
    DEFAULT_LANGUAGE,
    Phrases,
    phrases,
    spoken_time,
)
from opsdesk.maintenance.ids import spoken_request_id
from opsdesk.maintenance.notices import CallScript, call_script, over_estimate
from opsdesk.maintenance.state import RequestState
from opsdesk.maintenance.status import Stage

DECISIONS = ("approve", "decline")
"""The answers a call may record: the question's yes or no."""


@dataclass(frozen=True)
class CallFacts:
    """One called question: what the desk says, what it knows, what it may record."""

    stage: Stage
    script: CallScript
    owner: str
    """The person the call is for: the property's owner."""
    amount_cents: int | None
    """The amount an approval approves (the estimate, the invoice); None for the repair
    itself, which has no amount yet."""
    currency: str
    facts: dict[str, Any] = field(default_factory=dict)
    """Everything the owner may ask about, by name."""
    language: str = DEFAULT_LANGUAGE
    """The owner's spoken language (a BCP-47 tag): the one the call speaks and hears."""
    photo_count: int = 0
    """The photos and videos the tenant sent, for an answer in the call's words."""
    photos_show: str = ""
    """What the photos show, in words (triage's, when a model saw them)."""

    @property
    def phrases(self) -> Phrases:
        """The engine's own sentences in the call's language."""
        return phrases(self.language)

    @property
    def asked(self) -> str:
        """The question, and how to answer it with the keys."""
        return f"{self.script.question} {self.phrases.keys}"

    @property
    def amount_words(self) -> str:
        """The amount to decide, said in the call's language."""
        return self.money(self.amount_cents)

    def money(self, cents: int | None) -> str:
        """An amount said in the call's language."""
        return self.phrases.script.money(cents, self.currency)

    def read_back(self, approve: bool) -> str:
        """The decision said back before it is recorded: what, for whom, how much."""
        words = self.phrases
        verb = words.approve if approve else words.decline
        return words.read_back.format(verb=verb, decision=self.script.decision)

    def as_data(self) -> str:
        """The facts as a JSON document, for a model to read as data."""
        return json.dumps(self.facts, indent=1, ensure_ascii=False, sort_keys=True)


def call_facts(state: RequestState, stage: Stage, language: str = DEFAULT_LANGUAGE) -> CallFacts:
    """The facts of ``state`` the owner may ask about while deciding ``stage``, for a call
    in ``language`` (the owner's, a BCP-47 tag): amounts and times as the call says them,
    so the offline rules can say them too."""
    premises = state.premises
    words = phrases(language).script
    script = call_script(state, stage, words)
    facts: dict[str, Any] = {
        "question": script.question,
        "request_number": spoken_request_id(state.request_id, words.number),
        "address": premises.address if premises else None,
        "unit": state.form.unit or None,
        "problem": state.triage.summary if state.triage else None,
        "tenant_description": state.form.description[:1000],
        "priority": state.triage.priority if state.triage else None,
        "photos": f"{len(state.photos)} photo(s) or video(s) sent by the tenant"
        if state.photos
        else "no photos",
        "photos_show": state.triage.photos_show or None if state.triage else None,
        "vendor": state.vendor.name if state.vendor else None,
        "owner": premises.owner_name if premises else None,
        "approval_limit": words.money(premises.auto_approve_cents, state.currency)
        if premises
        else None,
        "currency": state.currency,
        "owner_language": language,
    }
    question = state.question
    if question is not None and question.stage is stage:
        zone = premises.time_zone if premises else None
        facts["deadline"] = spoken_time(question.deadline, zone, language)
    if state.slot is not None:
        zone = premises.time_zone if premises else None
        facts["visit"] = spoken_time(state.slot.start, zone, language)
    amount: int | None = None
    if state.quote_cents is not None:
        facts["estimate"] = words.money(state.quote_cents, state.currency)
    if stage is Stage.ESTIMATE_APPROVAL:
        amount = state.quote_cents
    if stage is Stage.INVOICE_APPROVAL:
        amount = state.invoice_cents
        facts["invoice_total"] = words.money(state.invoice_cents, state.currency)
        invoice = state.invoice
        if invoice is not None:
            facts["invoice_lines"] = [
                {
                    "kind": words.line_kinds[line.kind],
                    "description": line.description,
                    "amount": words.money(line.total_cents, state.currency),
                }
                for line in invoice.lines
            ]
            facts["invoice_tax"] = words.money(invoice.tax_cents, state.currency)
        over = over_estimate(state)
        if over:
            facts["over_estimate_by"] = words.money(over, state.currency)
    if amount is not None:
        facts["amount_to_decide"] = words.money(amount, state.currency)
    return CallFacts(
        stage=stage,
        script=script,
        owner=premises.owner_name if premises else "the owner",
        amount_cents=amount,
        currency=state.currency,
        facts={key: value for key, value in facts.items() if value is not None},
        language=language,
        photo_count=len(state.photos),
        photos_show=state.triage.photos_show if state.triage else "",
    )
