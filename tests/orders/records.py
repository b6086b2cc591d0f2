"""Read what the activities wrote, straight from the database: the tests' ground truth."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from opsdesk.db import Database
from opsdesk.db.tables import (
    ChargeRow,
    FulfilmentRequest,
    OutboxMessage,
    PaymentAttempt,
    Product,
    RefundRow,
    Reservation,
    StockWait,
)
from opsdesk.orders.ids import order_workflow_id
from tests.waiting import eventually


@dataclass
class Records:
    db: Database

    async def charges(self, order_id: str) -> list[ChargeRow]:
        async with self.db.transaction() as s:
            return list(await s.scalars(select(ChargeRow).where(ChargeRow.order_id == order_id)))

    async def refunds(self, order_id: str) -> list[RefundRow]:
        async with self.db.transaction() as s:
            return list(
                await s.scalars(
                    select(RefundRow)
                    .join(ChargeRow, RefundRow.charge_id == ChargeRow.id)
                    .where(ChargeRow.order_id == order_id)
                )
            )

    async def payment_attempts(self, order_id: str) -> list[str]:
        async with self.db.transaction() as s:
            rows = await s.scalars(
                select(PaymentAttempt)
                .where(PaymentAttempt.idempotency_key == f"{order_workflow_id(order_id)}:charge")
                .order_by(PaymentAttempt.id)
            )
            return [row.outcome for row in rows]

    async def reservations(self, order_id: str) -> list[Reservation]:
        async with self.db.transaction() as s:
            return list(
                await s.scalars(select(Reservation).where(Reservation.order_id == order_id))
            )

    async def stock(self, sku: str) -> int:
        async with self.db.transaction() as s:
            product = await s.get(Product, sku)
            assert product is not None
            return product.stock

    async def waits(self, order_id: str) -> list[str]:
        async with self.db.transaction() as s:
            return list(
                await s.scalars(select(StockWait.sku).where(StockWait.order_id == order_id))
            )

    async def fulfilment(self, order_id: str) -> str | None:
        async with self.db.transaction() as s:
            row = await s.get(FulfilmentRequest, order_id)
            return row.status if row else None

    async def emails(self, order_id: str, template: str | None = None) -> list[OutboxMessage]:
        query = select(OutboxMessage).where(OutboxMessage.reference == order_workflow_id(order_id))
        if template is not None:
            query = query.where(OutboxMessage.template == f"orders/{template}")
        async with self.db.transaction() as s:
            return list(await s.scalars(query.order_by(OutboxMessage.id)))

    async def email_count(self) -> int:
        async with self.db.transaction() as s:
            return int(await s.scalar(select(func.count()).select_from(OutboxMessage)) or 0)

    async def wait_for_email(self, order_id: str, template: str) -> OutboxMessage:
        """Notifications run in child workflows that may finish after their parent."""
        found = await eventually(lambda: self.emails(order_id, template), bool, timeout=30)
        assert len(found) == 1, [m.template for m in found]
        return found[0]
