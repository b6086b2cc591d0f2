"""What people are told when an owner's policy decides for them: make-safe work in an
emergency the owner did not answer, a routine quote approved by the owner's silence, and
the estimate email that says which of the two will happen. Pure functions of the request's
state, like ``notices``: the workflow calls them."""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

from opsdesk.maintenance.notices import LAPSE, QUESTIONS, Words, duration_words, money
from opsdesk.maintenance.state import Question, RequestState
from opsdesk.maintenance.status import Stage

Silence = Literal["make_safe", "approve"]
"""What the owner's silence on an estimate lets happen: make-safe work only (an emergency),
or the whole quote (a routine request, where the property's policy says so)."""


def make_safe_cap(state: RequestState) -> int:
    """The most make-safe work may cost without the owner, under the policy fixed at intake."""
    premises = state.premises
    assert premises is not None
    assert premises.policy is not None
    return premises.policy.make_safe_cap(premises.auto_approve_cents)


def lapse(state: RequestState, question: Question) -> str:
    """What happens if nobody answers ``question`` by its deadline, as a clause (``the
    request expires``): what the owner's policy lets silence do, where it does, as the
    question's email says it."""
    if question.on_silence == "make_safe":
        return (
            "only work that stops further damage goes ahead, up to "
            f"{money(state, make_safe_cap(state))}; the full repair waits for the owner's "
            "approval"
        )
    if question.on_silence == "approve":
        return "the quote counts as approved, as this property's policy says"
    if question.on_silence == "go_ahead":
        return "the report goes ahead as if accepted, as it is an emergency"
    return LAPSE[question.stage]


def estimate_question(state: RequestState, silence: Silence, wait: timedelta) -> list[str]:
    """The estimate email's paragraphs when the owner's silence does not end the request."""
    within = duration_words(wait)
    if silence == "make_safe":
        then = (
            f"This is an emergency. If we have no answer within {within}, only work that stops "
            f"further damage goes ahead, up to {money(state, make_safe_cap(state))}; the full "
            "repair waits for your approval."
        )
    else:
        then = (
            f"If we have no answer within {within}, the estimate counts as approved, as this "
            "property's policy says, and the repair goes ahead."
        )
    return [QUESTIONS[Stage.ESTIMATE_APPROVAL][0], f"Please answer by the time below. {then}"]


def made_safe_note(state: RequestState, wait: timedelta) -> str:
    """The timeline's line when make-safe work goes ahead without the owner."""
    return (
        f"The owner did not answer within {duration_words(wait)}: only work that stops further "
        f"damage goes ahead, up to {money(state, state.approved_cents)}. The full repair "
        f"({money(state, state.quote_cents)}) still needs the owner's approval"
    )


def made_safe_for_vendor(state: RequestState, wait: timedelta) -> Words:
    return Words(
        f"Make-safe work only: request {state.request_id}",
        [
            f"The owner has not answered about your estimate of "
            f"{money(state, state.quote_cents)} within {duration_words(wait)}.",
            "To stop further damage, we approve make-safe work only, up to "
            f"{money(state, state.approved_cents)}. Please do only what stops the damage now: "
            "the full repair needs the owner's approval before you start it.",
            "We will ask you for a time to visit next.",
        ],
    )


def made_safe_for_owner(state: RequestState, wait: timedelta) -> Words:
    return Words(
        f"Emergency at {_where(state)}: make-safe work approved",
        [
            f"We {_how_asked(state)} you about this emergency and had no answer within "
            f"{duration_words(wait)}.",
            f"To stop further damage, {state.vendor_name} will do make-safe work only, up to "
            f"{money(state, state.approved_cents)}, as this property's policy allows.",
            f"The full repair ({money(state, state.quote_cents)}) still needs your approval: "
            "our team will contact you about it.",
        ],
    )


def made_safe_for_ops(state: RequestState, wait: timedelta) -> Words:
    """Ops' email after make-safe work: the owner was promised a call about the full
    repair, and only ops can make it."""
    premises = state.premises
    assert premises is not None
    reach = (
        f" at {premises.owner_phone} or {premises.owner_email}"
        if premises.owner_phone
        else (f" at {premises.owner_email}")
    )
    return Words(
        f"Contact the owner: make-safe only at {_where(state)}, request {state.request_id}",
        [
            f"{premises.owner_name} (owner) did not answer about the emergency estimate within "
            f"{duration_words(wait)}, so {state.vendor_name} does make-safe work only, up to "
            f"{money(state, state.approved_cents)}, as the property's policy allows.",
            f"The full repair ({money(state, state.quote_cents)}) still needs the owner's "
            "approval, and the owner was told our team will contact them about it. Please "
            f"contact {premises.owner_name}{reach} and agree the full repair with them: the "
            "vendor does not start it until the owner approves.",
        ],
    )


def _how_asked(state: RequestState) -> str:
    """How the estimate's question reached the owner: ``phoned and emailed``, ``emailed``."""
    question = state.latest(Stage.ESTIMATE_APPROVAL)
    channels = {asked.channel for asked in question.asked} if question else set()
    if {"phone", "email"} <= channels:
        return "phoned and emailed"
    return "phoned" if "phone" in channels else "emailed"


def approved_by_silence_note(wait: timedelta) -> str:
    """The timeline's line when the owner's silence approves a routine estimate."""
    return (
        f"Estimate approved without an answer: the owner had not answered within "
        f"{duration_words(wait)}, and this property's policy approves a routine quote then"
    )


def approved_by_silence_for_owner(state: RequestState, wait: timedelta) -> Words:
    return Words(
        f"Estimate approved: request {state.request_id}",
        [
            f"We had no answer from you about the estimate of {money(state, state.quote_cents)} "
            f"within {duration_words(wait)}.",
            "This property's policy approves a routine quote when the owner has not answered "
            f"by then, so {state.vendor_name} goes ahead with the repair.",
            "If that is not what you want, contact us before the visit.",
        ],
    )


def _where(state: RequestState) -> str:
    return state.premises.name if state.premises else state.form.property_id
