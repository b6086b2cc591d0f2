"""Notification activities: compose, record in the outbox, deliver."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from temporalio import activity

from opsdesk.errors import EmailRejected
from opsdesk.notify.compose import AiEmailWriter
from opsdesk.notify.email import Mailer
from opsdesk.notify.models import (
    COMPOSE_EMAIL,
    DELIVER_EMAIL,
    DELIVERED_DEV_DETAIL,
    FINAL_STATUSES,
    RECORD_EMAIL,
    WRITE_ORDER_EMAIL,
    DeliveryOutcome,
    EmailContent,
    Notification,
    OutboxRecord,
)
from opsdesk.notify.outbox import Outbox


class Composer(Protocol):
    async def compose(self, notification: Notification) -> EmailContent: ...


class NotifyActivities:
    def __init__(
        self, outbox: Outbox, mailer: Mailer, composer: Composer, writer: AiEmailWriter
    ) -> None:
        self.outbox = outbox
        self.mailer = mailer
        self.composer = composer
        self.writer = writer

    @activity.defn(name=WRITE_ORDER_EMAIL)
    async def write_order_email(self, notification: Notification) -> EmailContent:
        return await self.writer.write(notification)

    @activity.defn(name=COMPOSE_EMAIL)
    async def compose_email(self, notification: Notification) -> EmailContent:
        return await self.composer.compose(notification)

    @activity.defn(name=RECORD_EMAIL)
    async def record_email(self, record: OutboxRecord) -> None:
        await self.outbox.record(record)

    @activity.defn(name=DELIVER_EMAIL)
    async def deliver_email(self, key: str) -> DeliveryOutcome:
        entry = await self.outbox.get(key)
        if entry is None:
            raise LookupError(f"no outbox message with key {key!r}")
        if entry.status in FINAL_STATUSES:
            return DeliveryOutcome(key=key, status=entry.status, detail=entry.last_error or "")
        if not self.mailer.configured:
            detail = "SMTP is not configured (set OPSDESK_SMTP_HOST); kept in the outbox"
            await self.outbox.mark(key, "not_sent", detail)
            return DeliveryOutcome(key=key, status="not_sent", detail=detail)
        try:
            await self.mailer.send(entry)
        except EmailRejected as exc:
            await self.outbox.mark(key, "failed", str(exc))
            raise
        except Exception as exc:
            # Recorded so the outbox shows why it is late; the retry policy tries again.
            await self.outbox.mark(key, "queued", f"{type(exc).__name__}: {exc}")
            raise
        if self.mailer.to_dev_mailbox:
            await self.outbox.mark(key, "delivered_dev", DELIVERED_DEV_DETAIL)
            return DeliveryOutcome(key=key, status="delivered_dev", detail=DELIVERED_DEV_DETAIL)
        await self.outbox.mark(key, "sent")
        return DeliveryOutcome(key=key, status="sent")

    def all(self) -> list[Callable[..., Any]]:
        return [self.write_order_email, self.compose_email, self.record_email, self.deliver_email]
