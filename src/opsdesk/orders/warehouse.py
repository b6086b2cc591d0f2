"""The warehouse's inbox: a fulfilment request per order, which can be cancelled."""

from __future__ import annotations

from datetime import UTC, datetime

from opsdesk.db import Database
from opsdesk.db.tables import FulfilmentRequest
from opsdesk.orders.models import FulfilmentInput


class Warehouse:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def request(self, request: FulfilmentInput) -> None:
        """Ask the warehouse to ship the order; once per order."""
        async with self.db.transaction() as session:
            if await session.get(FulfilmentRequest, request.order_id) is not None:
                return
            session.add(
                FulfilmentRequest(
                    order_id=request.order_id,
                    lines=[line.model_dump() for line in request.lines],
                    ship_to=request.ship_to.model_dump(),
                )
            )

    async def cancel(self, order_id: str) -> bool:
        """Withdraw the request; idempotent. False when there was none to withdraw."""
        async with self.db.transaction() as session:
            row = await session.get(FulfilmentRequest, order_id)
            if row is None:
                return False
            if row.status != "cancelled":
                row.status = "cancelled"
                row.cancelled_at = datetime.now(UTC)
            return True

    async def status(self, order_id: str) -> str | None:
        async with self.db.transaction() as session:
            row = await session.get(FulfilmentRequest, order_id)
            return row.status if row else None
