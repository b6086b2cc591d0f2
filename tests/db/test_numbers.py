"""Readable numbers come from the database: in order from the first, never twice however
many processes draw at once, the same one again for a retried key, and on after a restart."""

from __future__ import annotations

import asyncio

from sqlalchemy import delete, select

from opsdesk.db import Database
from opsdesk.db.numbers import Drawn, Numbers
from opsdesk.db.tables import OrderNumber, RequestNumber
from tests.conftest import BOTH_DATABASES

pytestmark = BOTH_DATABASES


def url_of(db: Database) -> str:
    return db.url.render_as_string(hide_password=False)


async def from_the_start(db: Database) -> None:
    """Forget the number the test fixture starts each database at: as a new desk is."""
    async with db.transaction() as session:
        await session.execute(delete(OrderNumber))
        await session.execute(delete(RequestNumber))


async def test_numbers_count_up_from_the_first(db: Database) -> None:
    await from_the_start(db)
    orders = Numbers(db, OrderNumber, 1001)
    requests = Numbers(db, RequestNumber, 1)

    assert [await orders.draw() for _ in range(3)] == [
        Drawn(1001, fresh=True),
        Drawn(1002, fresh=True),
        Drawn(1003, fresh=True),
    ]
    assert (await requests.draw()).number == 1  # each desk has its own sequence


async def test_a_retried_key_gets_its_first_number(db: Database) -> None:
    await from_the_start(db)
    numbers = Numbers(db, OrderNumber, 1001)

    first = await numbers.draw("checkout-1")
    other = await numbers.draw("checkout-2")
    again = await numbers.draw("checkout-1")

    assert first == Drawn(1001, fresh=True)
    assert other == Drawn(1002, fresh=True)
    assert again == Drawn(1001, fresh=False)


async def test_a_passed_over_number_gives_its_key_the_next(db: Database) -> None:
    await from_the_start(db)
    numbers = Numbers(db, RequestNumber, 1)

    taken = await numbers.draw("form-1")
    instead = await numbers.pass_over(taken, "form-1")

    assert instead == Drawn(2, fresh=True)
    assert await numbers.draw("form-1") == Drawn(2, fresh=False)
    assert await numbers.draw() == Drawn(3, fresh=True)  # the passed number is not reused


async def test_processes_drawing_at_once_never_share_a_number(db: Database) -> None:
    """Four engines on one database, as four API replicas are, each drawing at once."""
    await from_the_start(db)
    replicas = [Database(url_of(db)) for _ in range(4)]
    try:
        drawn = await asyncio.gather(
            *(
                Numbers(replica, OrderNumber, 1001).draw(f"key-{n}-{i}")
                for n, replica in enumerate(replicas)
                for i in range(10)
            )
        )
        retried = await asyncio.gather(
            *(
                Numbers(replica, OrderNumber, 1001).draw(f"key-{n}-0")
                for n, replica in enumerate(replicas)
            )
        )
    finally:
        for replica in replicas:
            await replica.dispose()

    assert sorted(d.number for d in drawn) == list(range(1001, 1041))
    assert all(d.fresh for d in drawn)
    first_tries = {d.number for d in drawn}
    assert {d.number for d in retried} <= first_tries
    assert not any(d.fresh for d in retried)


async def test_numbers_go_on_after_a_restart(db: Database) -> None:
    await from_the_start(db)
    before = Database(url_of(db))
    try:
        await Numbers(before, RequestNumber, 1).draw("a")
        await Numbers(before, RequestNumber, 1).draw()
    finally:
        await before.dispose()

    after = Database(url_of(db))
    try:
        numbers = Numbers(after, RequestNumber, 1)
        assert await numbers.draw() == Drawn(3, fresh=True)
        assert await numbers.draw("a") == Drawn(1, fresh=False)
        async with after.transaction() as session:
            keys = (
                await session.execute(select(RequestNumber.number, RequestNumber.idempotency_key))
            ).all()
    finally:
        await after.dispose()
    assert sorted(keys) == [(1, "a"), (2, None), (3, None)]


async def test_a_key_longer_than_the_column_still_finds_its_number(db: Database) -> None:
    """A browser's form may send a key of any length: PostgreSQL would refuse to store it."""
    await from_the_start(db)
    numbers = Numbers(db, RequestNumber, 1)
    long_key = "report:" + "k" * 500

    assert await numbers.draw(long_key) == Drawn(1, fresh=True)
    assert await numbers.draw(long_key) == Drawn(1, fresh=False)
    assert await numbers.draw(long_key[:-1]) == Drawn(2, fresh=True)
