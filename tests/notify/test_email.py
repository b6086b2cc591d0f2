"""The outbox and SMTP delivery against a real SMTP server on loopback (aiosmtpd)."""

from __future__ import annotations

import asyncio
import email
from collections.abc import Iterator
from email.message import Message
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from opsdesk.db import Database
from opsdesk.db.tables import OutboxMessage
from opsdesk.errors import EmailRejected
from opsdesk.notify.activities import NotifyActivities
from opsdesk.notify.compose import render_template
from opsdesk.notify.email import message_id
from opsdesk.notify.models import Notification, OutboxRecord
from opsdesk.notify.outbox import Outbox
from opsdesk.settings import Settings
from opsdesk.worker import notify_activities
from tests.conftest import BOTH_DATABASES, free_port


class Mailbox:
    """An SMTP server's handler: keeps what it receives, refuses one address."""

    def __init__(self) -> None:
        self.received: list[Message] = []

    async def handle_RCPT(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address.startswith("nobody@"):
            return "550 5.1.1 no such user"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
        self, server: Any, session: Any, envelope: Any
    ) -> str:
        self.received.append(email.message_from_bytes(envelope.content))
        return "250 Message accepted"


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, int]]:
    mailbox = Mailbox()
    port = free_port()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield mailbox, port
    finally:
        controller.stop()


def notification(
    to: str = "ada@example.com", key: str = "order-1:notify:1:shipped"
) -> Notification:
    return Notification(
        key=key,
        template="orders/shipped",
        to=to,
        reference="order-1",
        facts={"order_id": "1", "customer_name": "Ada <script>", "tracking_number": "1Z&2"},
    )


async def queue(db: Database, activities: NotifyActivities, n: Notification) -> None:
    content = await activities.compose_email(n)
    await activities.record_email(OutboxRecord(notification=n, content=content))


def activities_for(db: Database, tmp_path: Path, **smtp: Any) -> NotifyActivities:
    settings = Settings(data_dir=tmp_path, public_url="http://desk.test/", **smtp)
    return notify_activities(db, settings, provider=None)


@BOTH_DATABASES  # the outbox on SQLite and on PostgreSQL
async def test_a_message_is_recorded_once_and_delivered_over_smtp(
    db: Database, tmp_path: Path, smtp: tuple[Mailbox, int]
) -> None:
    mailbox, port = smtp
    activities = activities_for(db, tmp_path, smtp_host="127.0.0.1", smtp_port=port)
    n = notification()
    await queue(db, activities, n)
    await queue(db, activities, n)  # a retried step
    outcome = await activities.deliver_email(n.key)
    again = await activities.deliver_email(n.key)

    assert outcome.status == again.status == "sent"
    [received] = mailbox.received
    assert received["To"] == "ada@example.com"
    assert received["Subject"] == "Your order 1 has shipped"
    assert received["Message-ID"] == message_id(n.key)
    [entry] = await Outbox(db).recent()
    assert entry.status == "sent"
    assert entry.sent_at is not None
    assert entry.attempts == 1


@BOTH_DATABASES  # the outbox on SQLite and on PostgreSQL
async def test_a_refused_recipient_fails_for_good(
    db: Database, tmp_path: Path, smtp: tuple[Mailbox, int]
) -> None:
    _, port = smtp
    activities = activities_for(db, tmp_path, smtp_host="127.0.0.1", smtp_port=port)
    n = notification(to="nobody@example.com")
    await queue(db, activities, n)
    with pytest.raises(EmailRejected, match="no such user"):
        await activities.deliver_email(n.key)
    entry = await Outbox(db).get(n.key)
    assert entry is not None
    assert entry.status == "failed"


@BOTH_DATABASES  # the outbox on SQLite and on PostgreSQL
async def test_an_unreachable_server_is_retried_later(db: Database, tmp_path: Path) -> None:
    activities = activities_for(
        db, tmp_path, smtp_host="127.0.0.1", smtp_port=free_port(), smtp_timeout=2
    )
    n = notification()
    await queue(db, activities, n)
    with pytest.raises(aiosmtplib.SMTPConnectError):
        await activities.deliver_email(n.key)
    entry = await Outbox(db).get(n.key)
    assert entry is not None
    assert entry.status == "queued"
    assert entry.last_error


@BOTH_DATABASES  # the outbox on SQLite and on PostgreSQL
async def test_without_smtp_the_message_stays_in_the_outbox(db: Database, tmp_path: Path) -> None:
    activities = activities_for(db, tmp_path)
    n = notification()
    await queue(db, activities, n)
    outcome = await activities.deliver_email(n.key)
    assert outcome.status == "not_sent"
    assert "OPSDESK_SMTP_HOST" in outcome.detail


def test_html_is_escaped_and_text_is_not() -> None:
    content = render_template(
        "orders/shipped",
        {"order_id": "1", "customer_name": "Ada <script>", "tracking_number": "1Z&2"},
        "http://desk.test",
    )
    assert "Ada <script>" in content.text
    assert "1Z&2" in content.text
    assert "Ada &lt;script&gt;" in content.html
    assert "<script>" not in content.html
    assert "1Z&amp;2" in content.html


@BOTH_DATABASES
async def test_retries_recording_one_message_at_once_keep_one_row(
    db: Database, tmp_path: Path
) -> None:
    """Retries of one record step on several connections at once, as on several workers:
    one row, and every retry answers with it."""
    n = notification()
    content = await activities_for(db, tmp_path).compose_email(n)
    record = OutboxRecord(notification=n, content=content)
    others = [Database(db.url.render_as_string(hide_password=False)) for _ in range(6)]
    try:
        entries = await asyncio.gather(*(Outbox(other).record(record) for other in others))
    finally:
        await asyncio.gather(*(other.dispose() for other in others))
    assert len({entry.id for entry in entries}) == 1
    async with db.transaction() as session:
        rows = await session.scalar(select(func.count()).select_from(OutboxMessage))
    assert rows == 1
