"""Catalog and stock against a real SQLite database."""

from __future__ import annotations

import asyncio

import pytest

from opsdesk.db import Database
from opsdesk.errors import InvalidOrder, ProductUnavailable, UnknownProduct
from opsdesk.orders.inputs import LineItem
from opsdesk.orders.inventory import Inventory
from opsdesk.orders.payloads import RestockInput
from tests.conftest import BOTH_DATABASES
from tests.orders.records import Records

# Reservations and restocks, several connections at once among them: on SQLite and on
# PostgreSQL.
pytestmark = BOTH_DATABASES


async def test_prices_come_from_the_catalog(catalog: Inventory) -> None:
    validated = await catalog.price([LineItem(sku="MUG-01", quantity=3)])
    assert validated.total_cents == 5400
    assert validated.lines[0].name == "Enamel mug"


async def test_unknown_and_withdrawn_skus_make_an_order_invalid(catalog: Inventory) -> None:
    with pytest.raises(InvalidOrder, match="unknown sku: NOPE-1"):
        await catalog.price([LineItem(sku="NOPE-1", quantity=1)])
    await catalog.set_active("TEE-M", False)
    with pytest.raises(InvalidOrder, match="no longer sold: TEE-M"):
        await catalog.price([LineItem(sku="TEE-M", quantity=1)])


async def test_a_reservation_takes_every_line_or_none(catalog: Inventory, db: Database) -> None:
    records = Records(db)
    lines = [LineItem(sku="MUG-01", quantity=5), LineItem(sku="BIKE-CITY", quantity=6)]
    result = await catalog.reserve("o1", lines)
    assert not result.reserved
    assert [(s.sku, s.wanted, s.available) for s in result.shortfalls] == [("BIKE-CITY", 6, 5)]
    assert await records.stock("MUG-01") == 100  # untouched
    assert await records.waits("o1") == ["BIKE-CITY"]

    again = await catalog.reserve("o1", lines)
    assert not again.reserved
    assert await records.waits("o1") == ["BIKE-CITY"]  # written down once


async def test_reserving_twice_holds_stock_once(catalog: Inventory, db: Database) -> None:
    records = Records(db)
    lines = [LineItem(sku="MUG-01", quantity=5)]
    assert (await catalog.reserve("o2", lines)).reserved
    assert (await catalog.reserve("o2", lines)).reserved
    assert await records.stock("MUG-01") == 95
    assert len(await records.reservations("o2")) == 1


async def test_concurrent_orders_never_oversell(catalog: Inventory, db: Database) -> None:
    records = Records(db)
    # Two engines, as a worker and another worker would have.
    other = Inventory(Database(db.url.render_as_string(hide_password=False)))
    try:
        results = await asyncio.gather(
            *(
                (catalog if i % 2 else other).reserve(
                    f"race-{i}", [LineItem(sku="BIKE-CITY", quantity=1)]
                )
                for i in range(12)
            )
        )
    finally:
        await other.db.dispose()
    assert sum(r.reserved for r in results) == 5
    assert await records.stock("BIKE-CITY") == 0


async def test_release_returns_stock_once_and_forgets_waits(
    catalog: Inventory, db: Database
) -> None:
    records = Records(db)
    await catalog.reserve("o3", [LineItem(sku="TEE-M", quantity=10)])
    assert await catalog.release("o3") == 1
    assert await catalog.release("o3") == 0
    assert await records.stock("TEE-M") == 50

    await catalog.reserve("o4", [LineItem(sku="KETTLE-01", quantity=1)])
    assert await records.waits("o4") == ["KETTLE-01"]
    await catalog.release("o4")
    assert await records.waits("o4") == []


async def test_a_restock_adds_once_and_names_the_waiting_orders(
    catalog: Inventory, db: Database
) -> None:
    records = Records(db)
    for order in ("w1", "w2"):
        await catalog.reserve(order, [LineItem(sku="KETTLE-01", quantity=2)])
    request = RestockInput(idempotency_key="restock-1", sku="KETTLE-01", quantity=3)
    first = await catalog.restock(request)
    repeat = await catalog.restock(request)
    assert first.waiting_orders == ["w1", "w2"]
    assert repeat == first
    assert await records.stock("KETTLE-01") == 3
    assert await records.waits("w1") == []

    with pytest.raises(UnknownProduct):
        await catalog.restock(RestockInput(idempotency_key="restock-2", sku="NOPE-1", quantity=1))


async def test_a_withdrawn_product_cannot_be_reserved(catalog: Inventory) -> None:
    await catalog.set_active("MUG-01", False)
    with pytest.raises(ProductUnavailable, match="MUG-01"):
        await catalog.reserve("o5", [LineItem(sku="MUG-01", quantity=1)])
