"""Notification models. No I/O: workflows import this module."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel

COMPOSE_EMAIL = "compose_email"
RECORD_EMAIL = "record_email"
DELIVER_EMAIL = "deliver_email"
WRITE_ORDER_EMAIL = "write_order_email"


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


class EmailContent(BaseModel):
    subject: str
    text: str
    html: str
    author: str = "template"
    """Who wrote the prose: ``template``, or the AI provider and model."""


class OutboxRecord(BaseModel):
    notification: Notification
    content: EmailContent


DeliveryStatus = Literal["queued", "sent", "delivered_dev", "not_sent", "failed"]
"""``delivered_dev``: to ``opsdesk dev``'s mailbox, not to the recipient."""
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
