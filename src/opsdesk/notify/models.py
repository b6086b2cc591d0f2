"""Notification models. No I/O: workflows import this module."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel

from opsdesk.notify.links import LinkGrant

COMPOSE_EMAIL = "compose_email"
RECORD_EMAIL = "record_email"
DELIVER_EMAIL = "deliver_email"
WRITE_ORDER_EMAIL = "write_order_email"
RECORD_CALL = "record_call"
PLACE_CALL = "place_call"
CALL_TEMPLATE = "voice/call"
"""The outbox's template for a phone call: its text is what the callee hears first."""


class Notification(BaseModel):
    """One message to one recipient. ``key`` makes it exactly-once in the outbox."""

    key: str
    template: str
    """``<desk>/<name>``, e.g. ``orders/confirmation``."""
    to: str
    reference: str
    """The workflow the message is about, e.g. ``order-1001``."""
    facts: dict[str, Any]
    """What the message may say, taken from data (never invented by a model)."""
    ai_written: bool = False
    """Ask a model for the prose around the facts, falling back to the plain template."""


class PhoneCall(BaseModel):
    """One call to one person, asking one question. ``key`` makes it exactly-once."""

    key: str
    to: str
    """The number to dial, in E.164 form."""
    reference: str
    title: str
    """What the outbox lists it as, e.g. ``Call: approve the invoice, request M-1001``."""
    script: str
    """What the callee hears first, as the call's webhook will say it."""
    grant: LinkGrant
    """The one answer the call may give; signed into its webhook addresses when placed."""


CallOutcome = Literal["completed", "busy", "no-answer", "failed", "canceled"]
"""How a call ended, in Twilio's words (its final ``CallStatus``)."""
CALL_OUTCOME_WORDS: dict[CallOutcome, str] = {
    "completed": "the call ended",
    "busy": "the line was busy",
    "no-answer": "nobody picked up",
    "failed": "the call could not be placed",
    "canceled": "the call was cancelled before it rang",
}
CALL_ANSWERED = "in-progress"
"""Twilio's word for a call the callee picked up: kept where the outcome will be, until
the call ends."""


class EmailContent(BaseModel):
    subject: str
    text: str
    html: str
    author: str = "template"
    """Who wrote the prose: ``template``, or the AI provider and model."""


class OutboxRecord(BaseModel):
    notification: Notification
    content: EmailContent


DeliveryStatus = Literal["queued", "placing", "sent", "delivered_dev", "not_sent", "failed"]
"""``delivered_dev``: to ``opsdesk dev``'s mailbox (or its phone), not to the recipient.
``placing``: a call's attempt began and has not said how it went."""
FINAL_STATUSES: tuple[DeliveryStatus, ...] = ("sent", "delivered_dev", "not_sent", "failed")
DELIVERED_DEV_DETAIL = "delivered to the dev mailbox"


class DeliveryOutcome(BaseModel):
    key: str
    status: DeliveryStatus
    detail: str = ""


class OutboxEntry(BaseModel):
    """A message as the outbox page shows it."""

    id: int
    key: str
    reference: str
    channel: Literal["email", "phone"] = "email"
    template: str
    to: str
    subject: str
    text: str
    html: str
    status: DeliveryStatus
    attempts: int
    last_error: str | None
    created_at: datetime
    sent_at: datetime | None
    provider_id: str | None = None
    """A call's Twilio SID."""
    callback_url: str | None = None
    """A dev-phone call's webhook address."""
    call_outcome: CallOutcome | None = None
    """How the call ended; None while it rings or goes on."""
    call_answered: bool = False
    """The callee picked up (the call's first webhook was fetched)."""
    attempted_at: datetime | None = None

    @property
    def call_ended(self) -> str:
        """How a call ended, in words ("Nobody picked up."); empty until it has."""
        if self.call_outcome is None:
            return ""
        return CALL_OUTCOME_WORDS[self.call_outcome].capitalize() + "."
