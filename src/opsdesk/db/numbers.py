"""Readable numbers the database hands out: ``#1043`` for an order, ``R-0007`` for a request.

The database is the one counter every API replica shares and every restart keeps. Each number
is drawn as the table's largest plus one, inside the insert, so no two callers can take the
same one: on SQLite the insert holds the write lock, and on PostgreSQL two inserts that read
the same largest number meet at the primary key, and the loser draws again.

A client's idempotency key is stored beside its number, so a retried create gets the number
of its first try (and finds the order or request that number already started).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from sqlalchemy import String, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from opsdesk.db.engine import Database
from opsdesk.db.tables import OrderNumber, RequestNumber, utcnow

NumberTable = type[OrderNumber] | type[RequestNumber]

_ATTEMPTS = 20
"""Draws lost to another replica's insert of the same number before giving up; each loss
means another replica drew, so the table moved on and the next draw is new."""


class NumbersExhausted(RuntimeError):
    """Every draw lost a race with another replica: the database is too busy to answer."""


@dataclass(frozen=True)
class Drawn:
    """A number, and whether this call drew it (``fresh``) or found it under the key, drawn
    by an earlier try of the same create."""

    number: int
    fresh: bool


class Numbers:
    """One sequence of numbers (orders' or requests'), starting at ``first``."""

    def __init__(self, db: Database, table: NumberTable, first: int) -> None:
        self.db = db
        self.table = table
        self.first = first

    async def draw(self, key: str | None = None) -> Drawn:
        """The next number; with a ``key``, the number that key got before, if it got one."""
        return await self._draw(key, passed=None)

    async def pass_over(self, drawn: Drawn, key: str | None = None) -> Drawn:
        """A new number in place of ``drawn``, which turned out to be taken (a client used it
        as its own id). The key moves to the new number, so a retry finds that one."""
        return await self._draw(key, passed=drawn.number)

    async def _draw(self, key: str | None, passed: int | None) -> Drawn:
        table = self.table
        column = table.__table__.c.idempotency_key.type
        key = _stored(key, column.length if isinstance(column, String) else None)
        for _ in range(_ATTEMPTS):
            try:
                async with self.db.transaction() as session:
                    if key is not None:
                        if passed is not None:
                            await session.execute(
                                update(table)
                                .where(table.number == passed, table.idempotency_key == key)
                                .values(idempotency_key=None)
                            )
                        found = await session.scalar(
                            select(table.number).where(table.idempotency_key == key)
                        )
                        if found is not None:
                            # Another try of the same create drew (or passed) first.
                            return Drawn(found, fresh=False)
                    largest = select(func.coalesce(func.max(table.number), self.first - 1))
                    number = await session.scalar(
                        insert(table)
                        .values(
                            number=largest.scalar_subquery() + 1,
                            idempotency_key=key,
                            created_at=utcnow(),
                        )
                        .returning(table.number)
                    )
                    assert number is not None
                    return Drawn(number, fresh=True)
            except IntegrityError:
                # Another replica inserted the same number, or the same key, between our
                # look and our insert; look again.
                continue
        raise NumbersExhausted(f"no {table.__tablename__} number after {_ATTEMPTS} tries")


def _stored(key: str | None, room: int | None) -> str | None:
    """The key as the table keeps it: as it is when it fits, else its digest. A browser's
    form may send a key of any length."""
    if key is None or room is None or len(key) <= room:
        return key
    return "sha256:" + hashlib.sha256(key.encode()).hexdigest()
