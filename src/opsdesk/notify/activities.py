"""Notification activities: compose, record in the outbox, deliver."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from temporalio import activity
from twilio.base.exceptions import TwilioRestException

from opsdesk.errors import CallRejected, EmailRejected
from opsdesk.notify.compose import AiEmailWriter
from opsdesk.notify.email import Mailer
from opsdesk.notify.models import (
    COMPOSE_EMAIL,
    DELIVER_EMAIL,
    DELIVERED_DEV_DETAIL,
    FINAL_STATUSES,
    PLACE_CALL,
    RECORD_CALL,
    RECORD_EMAIL,
    WRITE_ORDER_EMAIL,
    DeliveryOutcome,
    DeliveryStatus,
    EmailContent,
    Notification,
    OutboxRecord,
    PhoneCall,
)
from opsdesk.notify.outbox import Outbox
from opsdesk.notify.signing import LinkSigner
from opsdesk.notify.voice import VoiceProvider, call_sid, call_urls

DEV_PHONE_DETAIL = "to the dev phone on the Mailbox page"


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


class CallActivities:
    """Phone calls: recorded in the outbox, then placed once."""

    def __init__(
        self,
        outbox: Outbox,
        voice: VoiceProvider | None,
        signer: LinkSigner,
        dev_phone: bool,
    ) -> None:
        self.outbox = outbox
        self.voice = voice
        self.signer = signer
        self.dev_phone = dev_phone
        """No Twilio, and ``opsdesk dev`` runs: the Mailbox page's phone takes the call."""

    @activity.defn(name=RECORD_CALL)
    async def record_call(self, call: PhoneCall) -> None:
        await self.outbox.record_call(call)

    @activity.defn(name=PLACE_CALL)
    async def place_call(self, call: PhoneCall) -> DeliveryOutcome:
        """Place the call unless it was placed already. Twilio takes no idempotency key, so
        the outbox row notes each attempt before it dials; a retry after an attempt that
        died mid-way first adopts a call Twilio took since then."""
        key = call.key
        entry = await self.outbox.get(key)
        if entry is None:
            raise LookupError(f"no outbox message with key {key!r}")
        if entry.status in FINAL_STATUSES:
            return DeliveryOutcome(key=key, status=entry.status, detail=entry.last_error or "")
        urls = call_urls(self.signer.public_url, self.signer.token(call.grant))
        if self.voice is None:
            # Kept with its webhook address, as Twilio would hold it: the dev phone (or a
            # test) can take the call.
            status: DeliveryStatus = "delivered_dev" if self.dev_phone else "not_sent"
            detail = (
                DEV_PHONE_DETAIL
                if self.dev_phone
                else "Twilio is not configured (set OPSDESK_TWILIO_*); kept in the outbox"
            )
            # The dev phone's requests carry a made-up SID, kept as Twilio's would be.
            dev_sid = call_sid(key) if self.dev_phone else None
            await self.outbox.placed(key, status, dev_sid, detail, callback_url=urls.voice)
            return DeliveryOutcome(key=key, status=status, detail=detail)
        if entry.status == "placing" and entry.attempted_at is not None:
            for sid in await self.voice.placed_since(call.to, entry.attempted_at):
                if await self.outbox.by_provider_id(sid) is None:
                    detail = "placed by an attempt that was interrupted"
                    await self.outbox.placed(key, "sent", sid, detail)
                    return DeliveryOutcome(key=key, status="sent", detail=detail)
        await self.outbox.begin_attempt(key)
        try:
            sid = await self.voice.place(call.to, urls)
        except CallRejected as exc:
            await self.outbox.placed(key, "failed", None, str(exc))
            raise
        except TwilioRestException as exc:
            # A 429 means Twilio took no call, so the retry dials afresh; after a timeout
            # (408) or a 5xx it may have, so the retry looks first.
            status = "queued" if exc.status < 500 and exc.status != 408 else "placing"
            await self.outbox.placed(key, status, None, f"Twilio {exc.status}: {exc.msg}")
            raise
        except Exception as exc:
            # No answer from Twilio: the call may exist. The row stays "placing", so the
            # retry looks before it dials.
            await self.outbox.placed(key, "placing", None, f"{type(exc).__name__}: {exc}")
            raise
        await self.outbox.placed(key, "sent", sid, None)
        return DeliveryOutcome(key=key, status="sent")

    def all(self) -> list[Callable[..., Any]]:
        return [self.record_call, self.place_call]
