"""Order ids are used once: the first workflow chain to run an id claims it for good."""

from __future__ import annotations

from datetime import datetime

from opsdesk.db import Database
from opsdesk.db.tables import OrderIdClaim
from opsdesk.errors import OrderIdReused
from opsdesk.orders.payloads import OrderClaim


class OrderIds:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def claim(self, claim: OrderClaim) -> None:
        """Take the id for this chain; the same chain may claim it again (a retry, a reset).

        Raises ``OrderIdReused`` when another chain took it first: a new start under an old
        workflow id, after Temporal's retention or with ``temporal workflow start``.
        """
        async with self.db.transaction() as session:
            row = await session.get(OrderIdClaim, claim.order_id, with_for_update=True)
            if row is None:
                session.add(OrderIdClaim(order_id=claim.order_id, stamp=claim.stamp))
                return
            if row.stamp != claim.stamp:
                raise OrderIdReused(
                    f"order id {claim.order_id} was already used by an order placed "
                    f"{row.created_at:%Y-%m-%d %H:%M} UTC; send the order with a new id"
                )

    async def used_since(self, order_id: str) -> datetime | None:
        """When an order under this id was first run, or None if the id is free."""
        async with self.db.transaction() as session:
            row = await session.get(OrderIdClaim, order_id)
            return row.created_at if row else None
