"""The outbox: every message is recorded before anyone tries to deliver it."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from opsdesk.db import Database
from opsdesk.db.tables import OutboxMessage
from opsdesk.notify.models import DeliveryStatus, OutboxEntry, OutboxRecord


def _entry(row: OutboxMessage) -> OutboxEntry:
    return OutboxEntry(
        id=row.id,
        key=row.idempotency_key,
        reference=row.reference,
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
    )


class Outbox:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def record(self, record: OutboxRecord) -> OutboxEntry:
        """Insert the message once; a repeat with the same key returns the first one."""
        n, content = record.notification, record.content
        async with self.db.transaction() as session:
            existing = await session.scalar(
                select(OutboxMessage).where(OutboxMessage.idempotency_key == n.key)
            )
            if existing is not None:
                return _entry(existing)
            row = OutboxMessage(
                idempotency_key=n.key,
                reference=n.reference,
                template=n.template,
                to_address=n.to,
                subject=content.subject,
                body_text=content.text,
                body_html=content.html,
            )
            session.add(row)
            await session.flush()
            return _entry(row)

    async def get(self, key: str) -> OutboxEntry | None:
        async with self.db.transaction() as session:
            row = await session.scalar(
                select(OutboxMessage).where(OutboxMessage.idempotency_key == key)
            )
            return _entry(row) if row else None

    async def mark(self, key: str, status: DeliveryStatus, error: str | None = None) -> None:
        async with self.db.transaction() as session:
            row = await session.scalar(
                select(OutboxMessage).where(OutboxMessage.idempotency_key == key)
            )
            if row is None:
                raise LookupError(f"no outbox message with key {key!r}")
            row.attempts += 1
            row.status = status
            row.last_error = error
            if status in ("sent", "delivered_dev"):
                row.sent_at = datetime.now(UTC)

    async def recent(
        self, *, reference: str | None = None, limit: int = 50, before_id: int | None = None
    ) -> list[OutboxEntry]:
        query = select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(limit)
        if reference is not None:
            query = query.where(OutboxMessage.reference == reference)
        if before_id is not None:
            query = query.where(OutboxMessage.id < before_id)
        async with self.db.transaction() as session:
            return [_entry(row) for row in await session.scalars(query)]
