"""After the drill: what the database and the SMTP server say each order and repair
request did. Money and stock are judged by the final status, so the checks hold whatever a
model provider decided: a delivered order was charged once and not refunded, any other
ended order got back whatever it paid; a delivered order holds one reservation per line,
any other holds none; a closed repair paid its vendor once, any other paid nothing. Every
email was recorded once per order (or request), kind, subject and recipient, and reached
the SMTP server."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.parser import BytesHeaderParser
from mailbox import Maildir
from pathlib import Path
from typing import Any

from sqlalchemy import select

from opsdesk.db import Database
from opsdesk.db.tables import ChargeRow, OutboxMessage, PayoutRow, RefundRow, Reservation
from opsdesk.maintenance.ids import request_workflow_id
from opsdesk.maintenance.status import RequestStatus
from opsdesk.notify.email import message_id
from opsdesk.notify.models import FINAL_STATUSES
from opsdesk.orders.ids import order_workflow_id
from opsdesk.orders.status import OrderStatus

OUTBOX_PATIENCE = 60.0


@dataclass(frozen=True)
class EndedOrder:
    order_id: str
    status: OrderStatus
    lines: int
    """Distinct products ordered."""


@dataclass
class Audit:
    charges: Counter[int] = field(default_factory=Counter)
    """Ended orders by how many charges each has."""
    reservations_held: int = 0
    """Delivered orders holding one reservation per line."""
    payouts: Counter[int] = field(default_factory=Counter)
    """Ended repair requests by how many payouts each has."""
    emails: int = 0
    """Email messages recorded for the drill's orders and requests."""
    email_kinds: Counter[str] = field(default_factory=Counter)
    received: int = 0
    """Messages the SMTP server received for them, copies included."""
    calls: int = 0
    """Phone calls recorded for them (owners asked by phone as well as by email)."""
    copies: int = 0
    """Receipts beyond the first of one message (one Message-ID): a crash between sending
    and recording it as sent sends it again, and the receiver drops the copy."""
    problems: list[str] = field(default_factory=list)
    """Every way an order or request broke the rules above, one sentence each."""


async def settle_outbox(db: Database, references: list[str], quiet: float = 2.0) -> None:
    """Return once nothing for ``references`` is waiting to be delivered and no message has
    been added for ``quiet`` seconds (or after ``OUTBOX_PATIENCE``): a workflow's last
    notices are children that may still be running when it ends."""
    deadline = time.monotonic() + OUTBOX_PATIENCE
    seen = -1
    while time.monotonic() < deadline:
        async with db.transaction() as session:
            rows = (
                await session.execute(
                    select(OutboxMessage.status).where(OutboxMessage.reference.in_(references))
                )
            ).all()
        if len(rows) == seen and all(status in FINAL_STATUSES for (status,) in rows):
            return
        seen = len(rows)
        await asyncio.sleep(quiet)


async def audit(
    db: Database,
    mailbox: Path,
    orders: Iterable[EndedOrder],
    requests: dict[str, RequestStatus],
) -> Audit:
    found = Audit()
    orders = list(orders)
    references = [order_workflow_id(o.order_id) for o in orders] + [
        request_workflow_id(i) for i in requests
    ]
    await settle_outbox(db, references)
    async with db.transaction() as session:
        ids = [o.order_id for o in orders]
        charge_rows = (
            await session.execute(
                select(ChargeRow.order_id, ChargeRow.id).where(ChargeRow.order_id.in_(ids))
            )
        ).all()
        refunded = Counter(
            order_id
            for (order_id,) in (
                await session.execute(
                    select(ChargeRow.order_id)
                    .join(RefundRow, RefundRow.charge_id == ChargeRow.id)
                    .where(ChargeRow.order_id.in_(ids))
                )
            ).all()
        )
        held_rows = (
            await session.execute(
                select(Reservation.order_id, Reservation.released_at).where(
                    Reservation.order_id.in_(ids)
                )
            )
        ).all()
        payout_rows = Counter(
            request_id
            for (request_id,) in (
                await session.execute(
                    select(PayoutRow.request_id).where(PayoutRow.request_id.in_(list(requests)))
                )
            ).all()
        )
        outbox_rows = (
            await session.execute(
                select(
                    OutboxMessage.idempotency_key,
                    OutboxMessage.reference,
                    OutboxMessage.template,
                    OutboxMessage.subject,
                    OutboxMessage.to_address,
                    OutboxMessage.channel,
                ).where(OutboxMessage.reference.in_(references))
            )
        ).all()
    charged = Counter(order_id for order_id, _ in charge_rows)
    held = Counter(order_id for order_id, released in held_rows if released is None)
    for order in orders:
        charges, refunds = charged[order.order_id], refunded[order.order_id]
        holds = held[order.order_id]
        found.charges[charges] += 1
        if order.status is OrderStatus.DELIVERED:
            if (charges, refunds) != (1, 0):
                found.problems.append(
                    f"order {order.order_id} was delivered with {charges} charge(s) and "
                    f"{refunds} refund(s)"
                )
            if holds != order.lines:
                found.problems.append(
                    f"order {order.order_id} was delivered holding {holds} reservation(s) "
                    f"for {order.lines} product(s)"
                )
            else:
                found.reservations_held += 1
        else:
            if charges > 1 or refunds != charges:
                found.problems.append(
                    f"order {order.order_id} ended {order.status} with {charges} charge(s) "
                    f"and {refunds} refund(s)"
                )
            if holds:
                found.problems.append(
                    f"order {order.order_id} ended {order.status} still holding {holds} "
                    "reservation(s)"
                )
    for request_id, status in requests.items():
        paid = payout_rows[request_id]
        found.payouts[paid] += 1
        if paid != (1 if status is RequestStatus.CLOSED else 0):
            found.problems.append(f"request {request_id} ended {status} with {paid} payout(s)")
    _audit_emails(found, outbox_rows, mailbox)
    return found


def _audit_emails(found: Audit, rows: Iterable[Any], mailbox: Path) -> None:
    receipts = _receipts(mailbox)
    # One message is one subject of one kind to one person about one order or request.
    per_kind: Counter[tuple[str, str, str, str]] = Counter()
    for key, reference, template, subject, to, channel in rows:
        if channel == "phone":
            # Recorded, not placed: the drill configures no Twilio.
            found.calls += 1
            per_kind[(reference, template, subject, to)] += 1
            continue
        found.emails += 1
        found.email_kinds[template] += 1
        per_kind[(reference, template, subject, to)] += 1
        got = receipts[message_id(key)]
        found.received += got
        found.copies += max(0, got - 1)
        if not got:
            found.problems.append(f"the {template} email for {reference} never reached SMTP")
    for (reference, template, subject, to), n in per_kind.items():
        if n > 1:
            found.problems.append(f"{reference} recorded {n} {template} {subject!r} to {to}")


def _receipts(mailbox: Path) -> Counter[str]:
    """How many times the SMTP server received each Message-ID."""
    box = Maildir(mailbox, create=True)
    parser = BytesHeaderParser()
    return Counter(
        parser.parsebytes(box.get_bytes(key), headersonly=True).get("Message-ID", "").strip()
        for key in box.iterkeys()
    )
