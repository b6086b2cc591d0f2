"""The outbox: every message is recorded before anyone tries to deliver it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from opsdesk.db import Database
from opsdesk.db.tables import OutboxMessage
from opsdesk.notify.models import (
    CALL_ANSWERED,
    CALL_TEMPLATE,
    CallOutcome,
    DeliveryStatus,
    OutboxEntry,
    OutboxRecord,
    PhoneCall,
)


def _entry(row: OutboxMessage) -> OutboxEntry:
    return OutboxEntry(
        id=row.id,
        key=row.idempotency_key,
        reference=row.reference,
        channel="phone" if row.channel == "phone" else "email",
        template=row.template,
        to=row.to_address,
        subject=row.subject,
        text=row.body_text,
        html=row.body_html,
        status=row.status,
        attempts=row.attempts,
        last_error=row.last_error,
        created_at=row.created_at,
        sent_at=row.sent_at,
        provider_id=row.provider_id,
        callback_url=row.callback_url,
        call_outcome=None if row.call_outcome == CALL_ANSWERED else row.call_outcome,
        call_answered=row.call_outcome in (CALL_ANSWERED, "completed"),
        attempted_at=row.attempted_at,
    )


class Outbox:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def record(self, record: OutboxRecord) -> OutboxEntry:
        """Insert the message once; a repeat with the same key returns the first one."""
        n, content = record.notification, record.content
        return await self._insert_once(
            n.key,
            reference=n.reference,
            template=n.template,
            to_address=n.to,
            subject=content.subject,
            body_text=content.text,
            body_html=content.html,
        )

    async def record_call(self, call: PhoneCall) -> OutboxEntry:
        """Insert the call once, before anyone dials; a repeat returns the first."""
        return await self._insert_once(
            call.key,
            reference=call.reference,
            template=CALL_TEMPLATE,
            channel="phone",
            to_address=call.to,
            subject=call.title,
            body_text=call.script,
        )

    async def _insert_once(self, key: str, **fields: Any) -> OutboxEntry:
        try:
            async with self.db.transaction() as session:
                existing = await session.scalar(
                    select(OutboxMessage).where(OutboxMessage.idempotency_key == key)
                )
                if existing is not None:
                    return _entry(existing)
                row = OutboxMessage(idempotency_key=key, **fields)
                session.add(row)
                await session.flush()
                return _entry(row)
        except IntegrityError:
            # A retry on another connection inserted it between our look and our insert
            # (PostgreSQL lets both look at once): theirs is the one.
            async with self.db.transaction() as session:
                return _entry(await self._row(session, key))

    async def begin_attempt(self, key: str) -> None:
        """Note that a call is about to be placed: if this attempt dies before ``placed``,
        the next one knows a call may exist already."""
        async with self.db.transaction() as session:
            row = await self._row(session, key)
            row.attempts += 1
            if row.status != "placing" or row.attempted_at is None:
                # An earlier attempt that never said how it went keeps its time: the next
                # retry must still look for the call it may have placed.
                row.attempted_at = datetime.now(UTC)
            row.status = "placing"

    async def placed(
        self,
        key: str,
        status: DeliveryStatus,
        provider_id: str | None,
        detail: str | None,
        callback_url: str | None = None,
    ) -> None:
        """How the attempt ``begin_attempt`` noted ended, and the provider's id for it."""
        async with self.db.transaction() as session:
            row = await self._row(session, key)
            row.status = status
            row.provider_id = provider_id
            row.callback_url = callback_url
            row.last_error = detail
            if status in ("sent", "delivered_dev"):
                row.sent_at = datetime.now(UTC)

    async def call_ended(self, provider_id: str, outcome: CallOutcome) -> bool:
        """Keep how the call with this provider id ended; False for a call we never placed."""
        async with self.db.transaction() as session:
            row = await session.scalar(
                select(OutboxMessage).where(OutboxMessage.provider_id == provider_id)
            )
            if row is None:
                return False
            row.call_outcome = outcome
            return True

    async def call_answered(self, provider_id: str) -> bool:
        """Note that the callee picked up the call with this provider id. The column keeps
        the outcome once the call ends, which a late or repeated pick-up never replaces."""
        async with self.db.transaction() as session:
            row = await session.scalar(
                select(OutboxMessage).where(OutboxMessage.provider_id == provider_id)
            )
            if row is None:
                return False
            if row.call_outcome is None:
                row.call_outcome = CALL_ANSWERED
            return True

    async def by_provider_id(self, provider_id: str) -> OutboxEntry | None:
        async with self.db.transaction() as session:
            row = await session.scalar(
                select(OutboxMessage).where(OutboxMessage.provider_id == provider_id)
            )
            return _entry(row) if row else None

    @staticmethod
    async def _row(session: AsyncSession, key: str) -> OutboxMessage:
        row = await session.scalar(
            select(OutboxMessage).where(OutboxMessage.idempotency_key == key)
        )
        if row is None:
            raise LookupError(f"no outbox message with key {key!r}")
        return row

    async def by_id(self, entry_id: int) -> OutboxEntry | None:
        async with self.db.transaction() as session:
            row = await session.get(OutboxMessage, entry_id)
            return _entry(row) if row else None

    async def get(self, key: str) -> OutboxEntry | None:
        async with self.db.transaction() as session:
            row = await session.scalar(
                select(OutboxMessage).where(OutboxMessage.idempotency_key == key)
            )
            return _entry(row) if row else None

    async def mark(self, key: str, status: DeliveryStatus, error: str | None = None) -> None:
        async with self.db.transaction() as session:
            row = await self._row(session, key)
            row.attempts += 1
            row.status = status
            row.last_error = error
            if status in ("sent", "delivered_dev"):
                row.sent_at = datetime.now(UTC)

    async def recent(
        self,
        *,
        reference: str | None = None,
        channel: str | None = None,
        limit: int = 50,
        before_id: int | None = None,
    ) -> list[OutboxEntry]:
        query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
        if reference is not None:
            query = query.where(OutboxMessage.reference == reference)
        if channel is not None:
            query = query.where(OutboxMessage.channel == channel)
        if before_id is not None:
            query = query.where(OutboxMessage.id < before_id)
        async with self.db.transaction() as session:
            return [_entry(row) for row in await session.scalars(query)]
