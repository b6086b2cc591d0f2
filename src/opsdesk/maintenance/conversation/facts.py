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

from opsdesk import clock
from opsdesk.maintenance.conversation.languages import (
    DEFAULT_LANGUAGE,
    Phrases,
    call_script_in,
    phrases,
)
from opsdesk.maintenance.invoice import LINE_KINDS
from opsdesk.maintenance.notices import CallScript, call_script, over_estimate, spoken_money
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

    @property
    def phrases(self) -> Phrases:
        """The engine's own sentences in the call's language."""
        return phrases(self.language)

    @property
    def amount_words(self) -> str:
        return spoken_money(self.amount_cents, self.currency)

    def money(self, cents: int | None) -> str:
        return spoken_money(cents, self.currency)

    def read_back(self, approve: bool) -> str:
        """The decision said back before it is recorded: what, for whom, how much."""
        words = self.phrases
        verb = words.approve if approve else words.decline
        return words.read_back.format(verb=verb, decision=self.script.decision)

    def recorded(self, approve: bool) -> str:
        """What the owner hears once their answer is recorded."""
        words = self.phrases
        verb = words.approve if approve else words.decline
        return words.recorded.format(verb=verb, decision=self.script.decision)

    def as_data(self) -> str:
        """The facts as a JSON document, for a model to read as data."""
        return json.dumps(self.facts, indent=1, ensure_ascii=False, sort_keys=True)


def call_facts(state: RequestState, stage: Stage, language: str = DEFAULT_LANGUAGE) -> CallFacts:
    """The facts of ``state`` the owner may ask about while deciding ``stage``, for a call
    in ``language`` (the owner's, a BCP-47 tag)."""
    premises = state.premises
    script = call_script_in(state, stage, language, call_script(state, stage))
    facts: dict[str, Any] = {
        "question": script.question,
        "request_number": state.request_id,
        "address": premises.address if premises else None,
        "unit": state.form.unit or None,
        "problem": state.triage.summary if state.triage else None,
        "tenant_description": state.form.description[:1000],
        "priority": state.triage.priority if state.triage else None,
        "photos": f"{len(state.photos)} photo(s) or video(s) sent by the tenant"
        if state.photos
        else "no photos",
        "vendor": state.vendor.name if state.vendor else None,
        "owner": premises.owner_name if premises else None,
        "approval_limit": spoken_money(premises.auto_approve_cents, state.currency)
        if premises
        else None,
        "currency": state.currency,
        "owner_language": language,
    }
    question = state.question
    if question is not None and question.stage is stage:
        zone = premises.time_zone if premises else None
        facts["deadline"] = f"{clock.spoken(question.deadline, zone)}, the property's time"
    amount: int | None = None
    if state.quote_cents is not None:
        facts["estimate"] = spoken_money(state.quote_cents, state.currency)
    if stage is Stage.ESTIMATE_APPROVAL:
        amount = state.quote_cents
    if stage is Stage.INVOICE_APPROVAL:
        amount = state.invoice_cents
        facts["invoice_total"] = spoken_money(state.invoice_cents, state.currency)
        invoice = state.invoice
        if invoice is not None:
            facts["invoice_lines"] = [
                {
                    "kind": LINE_KINDS[line.kind],
                    "description": line.description,
                    "amount": spoken_money(line.total_cents, state.currency),
                }
                for line in invoice.lines
            ]
            facts["invoice_tax"] = spoken_money(invoice.tax_cents, state.currency)
        over = over_estimate(state)
        if over:
            facts["over_estimate_by"] = spoken_money(over, state.currency)
    if amount is not None:
        facts["amount_to_decide"] = spoken_money(amount, state.currency)
    return CallFacts(
        stage=stage,
        script=script,
        owner=premises.owner_name if premises else "the owner",
        amount_cents=amount,
        currency=state.currency,
        facts={key: value for key, value in facts.items() if value is not None},
        language=language,
    )
