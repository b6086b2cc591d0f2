"""Catalog and stock: prices, reservations that never oversell, and restocks.

A reservation takes every line of an order or none of them, in one transaction that holds
the product rows (``SELECT … FOR UPDATE`` on PostgreSQL; SQLite's ``BEGIN IMMEDIATE`` holds
the whole database). An order that comes up short is written down as waiting for the
sku in that same transaction, so a restock that commits after it always sees it, and one
that commits before it has already raised the stock the reservation reads.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from pydantic import BaseModel
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from opsdesk.db import Database
from opsdesk.db.tables import Product, Reservation, Restock, StockWait
from opsdesk.errors import EffectUndone, InvalidOrder, ProductUnavailable, UnknownProduct
from opsdesk.orders.inputs import LineItem, Sku
from opsdesk.orders.payloads import (
    PricedLine,
    ReserveResult,
    RestockInput,
    RestockResult,
    Shortfall,
    ValidatedOrder,
)


class ProductSpec(BaseModel):
    """A catalog entry as imported or shown."""

    sku: Sku
    name: str
    description: str = ""
    price_cents: int
    currency: str = "USD"
    stock: int = 0
    active: bool = True


def _spec(row: Product) -> ProductSpec:
    return ProductSpec(
        sku=row.sku,
        name=row.name,
        description=row.description,
        price_cents=row.price_cents,
        currency=row.currency,
        stock=row.stock,
        active=row.active,
    )


async def _lock_products(session: AsyncSession, skus: Sequence[str]) -> dict[str, Product]:
    rows = await session.scalars(
        select(Product).where(Product.sku.in_(skus)).order_by(Product.sku).with_for_update()
    )
    return {row.sku: row for row in rows}


class Inventory:
    def __init__(self, db: Database) -> None:
        self.db = db

    # -- catalog -------------------------------------------------------------------------

    async def products(self) -> list[ProductSpec]:
        async with self.db.transaction() as session:
            return [
                _spec(row) for row in await session.scalars(select(Product).order_by(Product.sku))
            ]

    async def product(self, sku: str) -> ProductSpec | None:
        async with self.db.transaction() as session:
            row = await session.get(Product, sku)
            return _spec(row) if row else None

    async def import_catalog(self, specs: Sequence[ProductSpec], *, set_stock: bool) -> int:
        """Create or update products; stock is only overwritten when ``set_stock``."""
        async with self.db.transaction() as session:
            existing = await _lock_products(session, [s.sku for s in specs])
            for spec in specs:
                row = existing.get(spec.sku)
                if row is None:
                    session.add(Product(**spec.model_dump()))
                    continue
                row.name, row.description = spec.name, spec.description
                row.price_cents, row.currency, row.active = (
                    spec.price_cents,
                    spec.currency,
                    spec.active,
                )
                if set_stock:
                    row.stock = spec.stock
        return len(specs)

    async def set_active(self, sku: str, active: bool) -> None:
        async with self.db.transaction() as session:
            row = await session.get(Product, sku)
            if row is None:
                raise UnknownProduct(f"unknown sku {sku}")
            row.active = active

    async def price(self, lines: Sequence[LineItem]) -> ValidatedOrder:
        """Price each line from the catalog; unknown or withdrawn skus make the order invalid."""
        async with self.db.transaction() as session:
            rows = {
                row.sku: row
                for row in await session.scalars(
                    select(Product).where(Product.sku.in_([line.sku for line in lines]))
                )
            }
        unknown = [line.sku for line in lines if line.sku not in rows]
        if unknown:
            raise InvalidOrder(f"unknown sku: {', '.join(unknown)}")
        withdrawn = [line.sku for line in lines if not rows[line.sku].active]
        if withdrawn:
            raise InvalidOrder(f"no longer sold: {', '.join(withdrawn)}")
        currencies = {rows[line.sku].currency for line in lines}
        if len(currencies) > 1:
            raise InvalidOrder(f"lines are priced in different currencies: {sorted(currencies)}")
        priced = [
            PricedLine(
                sku=line.sku,
                name=rows[line.sku].name,
                quantity=line.quantity,
                unit_price_cents=rows[line.sku].price_cents,
            )
            for line in lines
        ]
        return ValidatedOrder(
            lines=priced,
            currency=currencies.pop(),
            total_cents=sum(line.total_cents for line in priced),
        )

    # -- stock ---------------------------------------------------------------------------

    async def reserve(self, order_id: str, lines: Sequence[LineItem]) -> ReserveResult:
        """Hold stock for every line, or for none and record the order as waiting.

        Idempotent: an order that already holds its reservations gets them back. Stock the
        order held and released stays released (``EffectUndone``): only a reset of a
        finished order asks again, and it must not run on stock it no longer holds.
        """
        async with self.db.transaction() as session:
            held = (
                await session.scalars(select(Reservation).where(Reservation.order_id == order_id))
            ).all()
            if held and all(r.released_at is not None for r in held):
                raise EffectUndone(f"the stock held for order {order_id} was released")
            if held:
                return ReserveResult(reserved=True)
            products = await _lock_products(session, [line.sku for line in lines])
            gone = [
                line.sku
                for line in lines
                if line.sku not in products or not products[line.sku].active
            ]
            if gone:
                raise ProductUnavailable(f"withdrawn from sale: {', '.join(gone)}")
            shortfalls = [
                Shortfall(sku=line.sku, wanted=line.quantity, available=products[line.sku].stock)
                for line in lines
                if products[line.sku].stock < line.quantity
            ]
            if shortfalls:
                waiting = set(
                    await session.scalars(
                        select(StockWait.sku).where(StockWait.order_id == order_id)
                    )
                )
                session.add_all(
                    StockWait(order_id=order_id, sku=s.sku)
                    for s in shortfalls
                    if s.sku not in waiting
                )
                return ReserveResult(reserved=False, shortfalls=shortfalls)
            for line in lines:
                products[line.sku].stock -= line.quantity
                session.add(Reservation(order_id=order_id, sku=line.sku, quantity=line.quantity))
            await session.execute(delete(StockWait).where(StockWait.order_id == order_id))
            return ReserveResult(reserved=True)

    async def release(self, order_id: str) -> int:
        """Return held stock and forget any wait; idempotent. Returns the lines released."""
        async with self.db.transaction() as session:
            await session.execute(delete(StockWait).where(StockWait.order_id == order_id))
            held = (
                await session.scalars(
                    select(Reservation).where(
                        Reservation.order_id == order_id, Reservation.released_at.is_(None)
                    )
                )
            ).all()
            if not held:
                return 0
            products = await _lock_products(session, [r.sku for r in held])
            now = datetime.now(UTC)
            for reservation in held:
                products[reservation.sku].stock += reservation.quantity
                reservation.released_at = now
            return len(held)

    async def restock(self, request: RestockInput) -> RestockResult:
        """Add stock once per idempotency key and hand back the orders waiting for the sku."""
        async with self.db.transaction() as session:
            done = await session.scalar(
                select(Restock).where(Restock.idempotency_key == request.idempotency_key)
            )
            if done is not None:
                return RestockResult(
                    sku=done.sku, stock=done.stock_after, waiting_orders=done.woken
                )
            products = await _lock_products(session, [request.sku])
            product = products.get(request.sku)
            if product is None:
                raise UnknownProduct(f"unknown sku {request.sku}")
            product.stock += request.quantity
            woken = sorted(
                set(
                    await session.scalars(
                        select(StockWait.order_id).where(StockWait.sku == request.sku)
                    )
                )
            )
            # The woken orders try again; one still short writes its wait down anew.
            await session.execute(delete(StockWait).where(StockWait.sku == request.sku))
            session.add(
                Restock(
                    idempotency_key=request.idempotency_key,
                    sku=request.sku,
                    quantity=request.quantity,
                    stock_after=product.stock,
                    woken=woken,
                )
            )
            return RestockResult(sku=request.sku, stock=product.stock, waiting_orders=woken)
