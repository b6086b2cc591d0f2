"""The warehouse's inbox: a fulfilment request per order, which follows the order as it
ships and is delivered, or is withdrawn."""

from __future__ import annotations

from datetime import UTC, datetime

from opsdesk.db import Database
from opsdesk.db.tables import FulfilmentRequest
from opsdesk.errors import EffectUndone
from opsdesk.orders.payloads import FulfilmentInput, FulfilmentUpdate


class Warehouse:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def request(self, request: FulfilmentInput) -> None:
        """Ask the warehouse to ship the order; once per order. A request that was
        withdrawn stays withdrawn (``EffectUndone``)."""
        async with self.db.transaction() as session:
            existing = await session.get(FulfilmentRequest, request.order_id)
            if existing is not None:
                if existing.status == "cancelled":
                    raise EffectUndone(
                        f"the warehouse request for order {request.order_id} was withdrawn"
                    )
                return
            session.add(
                FulfilmentRequest(
                    order_id=request.order_id,
                    lines=[line.model_dump() for line in request.lines],
                    ship_to=request.ship_to.model_dump(),
                )
            )

    async def update(self, update: FulfilmentUpdate) -> None:
        """Record that the order shipped or was delivered; idempotent."""
        async with self.db.transaction() as session:
            row = await session.get(FulfilmentRequest, update.order_id)
            if row is None or row.status in ("cancelled", update.status):
                return
            row.status = update.status
            row.tracking_number = update.tracking_number or row.tracking_number
            row.updated_at = datetime.now(UTC)

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
