"""After the drill: what the database and the SMTP server say each order and repair
request did.

Money and stock are judged by the final status, so the checks hold whatever a model
provider decided: a delivered order was charged once and not refunded, any other ended
order got back exactly what it paid; a delivered order holds one reservation per product,
any other holds none; a closed repair paid its vendor once, any other paid nothing.

Every message (one order or request, kind, subject and recipient) was recorded once, the
messages each final status must have sent are there, and every email reached the SMTP
server."""

from __future__ import annotations

import asyncio
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select

from opsdesk.db import Database
from opsdesk.db.tables import ChargeRow, OutboxMessage, PayoutRow, RefundRow, Reservation
from opsdesk.maintenance.ids import request_workflow_id
from opsdesk.maintenance.status import RequestStatus
from opsdesk.notify.devmail import DevMailbox
from opsdesk.notify.email import message_id
from opsdesk.notify.models import FINAL_STATUSES
from opsdesk.orders.ids import order_workflow_id
from opsdesk.orders.status import OrderStatus

OUTBOX_PATIENCE = 60.0
"""Seconds to wait for the last notices: a workflow's closing messages are children that
may still be running when it ends."""

Wanted = tuple[str, str, int]
"""A message an ended item must have sent: its template, the start of its subject, how
many (one per recipient)."""


def wanted_for_order(status: OrderStatus) -> list[Wanted]:
    """A delivered order told its customer it was confirmed and shipped; any other ended
    order that it was cancelled (one email, whatever ended it)."""
    if status is OrderStatus.DELIVERED:
        return [("orders/confirmation", "", 1), ("orders/shipped", "", 1)]
    return [("orders/cancelled", "", 1)]


def wanted_for_request(request_id: str, status: RequestStatus) -> list[Wanted]:
    """A closed repair told the tenant and the owner it is closed, and the vendor that the
    payment went out (the subjects ``MaintenanceRequestWorkflow`` writes at the close)."""
    if status is not RequestStatus.CLOSED:
        return []
    return [
        ("maintenance/message", f"Request {request_id} is closed", 2),
        ("maintenance/message", f"Payment sent for request {request_id}", 1),
    ]


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
    calls: int = 0
    """Phone calls recorded for them (owners asked by phone as well as by email)."""
    received: int = 0
    """Messages the SMTP server received for them, copies included."""
    copies: int = 0
    """Receipts beyond the first of one message (one Message-ID): a crash between sending
    and recording it as sent sends it again, and the receiver drops the copy."""
    problems: list[str] = field(default_factory=list)
    """Every way an order or request broke the rules above, one sentence each."""


@dataclass(frozen=True)
class _Sent:
    key: str
    reference: str
    template: str
    subject: str
    to: str
    channel: str
    status: str


def _missing(rows: Sequence[_Sent], wanted: dict[str, list[Wanted]]) -> list[str]:
    by_reference: defaultdict[str, list[_Sent]] = defaultdict(list)
    for row in rows:
        by_reference[row.reference].append(row)
    missing = []
    for reference, messages in wanted.items():
        for template, subject, count in messages:
            have = sum(
                1
                for m in by_reference[reference]
                if m.template == template and m.subject.startswith(subject)
            )
            if have < count:
                what = f"{template} {subject!r}" if subject else template
                missing.append(f"{reference} sent {have} of {count} {what} message(s)")
    return missing


async def _outbox(db: Database, references: list[str]) -> list[_Sent]:
    async with db.transaction() as session:
        rows = await session.execute(
            select(
                OutboxMessage.idempotency_key,
                OutboxMessage.reference,
                OutboxMessage.template,
                OutboxMessage.subject,
                OutboxMessage.to_address,
                OutboxMessage.channel,
                OutboxMessage.status,
            ).where(OutboxMessage.reference.in_(references))
        )
        return [_Sent(*row) for row in rows.all()]


async def settled_outbox(db: Database, wanted: dict[str, list[Wanted]]) -> list[_Sent]:
    """The messages for ``wanted``'s references, once every wanted one is recorded and
    nothing is waiting to be delivered (or after ``OUTBOX_PATIENCE``)."""
    deadline = time.monotonic() + OUTBOX_PATIENCE
    while True:
        rows = await _outbox(db, list(wanted))
        settled = all(r.status in FINAL_STATUSES for r in rows) and not _missing(rows, wanted)
        if settled or time.monotonic() > deadline:
            return rows
        await asyncio.sleep(1.0)


async def audit(
    db: Database,
    mailbox: Path,
    orders: Iterable[EndedOrder],
    requests: dict[str, RequestStatus],
) -> Audit:
    found = Audit()
    orders = list(orders)
    wanted = {order_workflow_id(o.order_id): wanted_for_order(o.status) for o in orders} | {
        request_workflow_id(i): wanted_for_request(i, s) for i, s in requests.items()
    }
    rows = await settled_outbox(db, wanted)
    async with db.transaction() as session:
        ids = [o.order_id for o in orders]
        charged = {
            order_id: (n, cents)
            for order_id, n, cents in await session.execute(
                select(ChargeRow.order_id, func.count(), func.sum(ChargeRow.amount_cents))
                .where(ChargeRow.order_id.in_(ids))
                .group_by(ChargeRow.order_id)
            )
        }
        refunded = {
            order_id: (n, cents)
            for order_id, n, cents in await session.execute(
                select(ChargeRow.order_id, func.count(), func.sum(RefundRow.amount_cents))
                .join(RefundRow, RefundRow.charge_id == ChargeRow.id)
                .where(ChargeRow.order_id.in_(ids))
                .group_by(ChargeRow.order_id)
            )
        }
        held = Counter(
            order_id
            for (order_id,) in await session.execute(
                select(Reservation.order_id).where(
                    Reservation.order_id.in_(ids), Reservation.released_at.is_(None)
                )
            )
        )
        paid = Counter(
            request_id
            for (request_id,) in await session.execute(
                select(PayoutRow.request_id).where(PayoutRow.request_id.in_(list(requests)))
            )
        )
    for order in orders:
        _audit_order(found, order, charged.get(order.order_id), refunded.get(order.order_id))
        holds = held[order.order_id]
        delivered = order.status is OrderStatus.DELIVERED
        if holds != (order.lines if delivered else 0):
            found.problems.append(
                f"order {order.order_id} ended {order.status} holding {holds} reservation(s) "
                f"for {order.lines} product(s)"
            )
        elif delivered:
            found.reservations_held += 1
    for request_id, status in requests.items():
        payouts = paid[request_id]
        found.payouts[payouts] += 1
        if payouts != (1 if status is RequestStatus.CLOSED else 0):
            found.problems.append(f"request {request_id} ended {status} with {payouts} payout(s)")
    _audit_messages(found, rows, wanted, DevMailbox(mailbox).receipts())
    return found


def _audit_order(
    found: Audit,
    order: EndedOrder,
    charged: tuple[int, int] | None,
    refunded: tuple[int, int] | None,
) -> None:
    """``charged`` and ``refunded``: how many, and how many cents, if any."""
    charges, charged_cents = charged or (0, 0)
    refunds, refunded_cents = refunded or (0, 0)
    found.charges[charges] += 1
    if order.status is OrderStatus.DELIVERED:
        if (charges, refunds) != (1, 0):
            found.problems.append(
                f"order {order.order_id} was delivered with {charges} charge(s) and "
                f"{refunds} refund(s)"
            )
    elif charges > 1 or refunds != charges or refunded_cents != charged_cents:
        found.problems.append(
            f"order {order.order_id} ended {order.status} with {charges} charge(s) of "
            f"{charged_cents} cents and {refunds} refund(s) of {refunded_cents} cents"
        )


def _audit_messages(
    found: Audit, rows: Sequence[_Sent], wanted: dict[str, list[Wanted]], receipts: Counter[str]
) -> None:
    # One message is one subject of one kind to one person about one order or request.
    per_kind = Counter((r.reference, r.template, r.subject, r.to) for r in rows)
    for (reference, template, subject, to), n in per_kind.items():
        if n > 1:
            found.problems.append(f"{reference} recorded {n} {template} {subject!r} to {to}")
    found.problems += _missing(rows, wanted)
    for row in rows:
        if row.channel == "phone":
            # Recorded, not placed: the drill configures no Twilio.
            found.calls += 1
            continue
        found.emails += 1
        found.email_kinds[row.template] += 1
        got = receipts[message_id(row.key)]
        found.received += got
        found.copies += max(0, got - 1)
        if not got:
            found.problems.append(
                f"the {row.template} email for {row.reference} never reached SMTP"
            )
