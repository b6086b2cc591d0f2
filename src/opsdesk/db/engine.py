"""The async engine and its transactions.

SQLite gets the same pragmas as the Temporal dev server (WAL, synchronous=NORMAL) and every
transaction starts with ``BEGIN IMMEDIATE``: a transaction that reads stock and then writes
it must hold the write lock from its first statement, or two processes that both read
first fail with "database is locked" instead of queueing behind each other.

Within one process, SQLite transactions also take turns on an asyncio lock before they ask
SQLite for its lock. SQLite's busy handler is not a queue: a waiting connection sleeps and
polls, up to 100 ms between polls, so with a worker's worth of activities waiting some of
them keep missing the moment the lock is free until ``busy_timeout`` runs out. Waiting in
line in the event loop costs nothing and is first come, first served; the busy handler is
left with the rare wait on another process.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

_in_sqlite_transaction: ContextVar[bool] = ContextVar("in_sqlite_transaction", default=False)


class NestedTransactionError(RuntimeError):
    """A transaction opened inside another on SQLite, which would wait for itself forever."""


class Database:
    def __init__(self, url: str, **engine_kwargs: Any) -> None:
        self.url = make_url(url)
        if self.is_sqlite and self.url.database not in (None, "", ":memory:"):
            Path(self.url.database).parent.mkdir(parents=True, exist_ok=True)
        self.engine: AsyncEngine = create_async_engine(self.url, **engine_kwargs)
        if self.is_sqlite:
            _configure_sqlite(self.engine)
        self._sessions = async_sessionmaker(self.engine, expire_on_commit=False)
        self._sqlite_turn = asyncio.Lock() if self.is_sqlite else None

    @property
    def is_sqlite(self) -> bool:
        return self.url.get_backend_name() == "sqlite"

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """A session inside one transaction: committed on success, rolled back on error."""
        if self._sqlite_turn is None:
            async with self._sessions.begin() as session:
                yield session
            return
        if _in_sqlite_transaction.get():
            raise NestedTransactionError("a transaction was opened inside another one")
        async with self._sqlite_turn:
            token = _in_sqlite_transaction.set(True)
            try:
                async with self._sessions.begin() as session:
                    yield session
            finally:
                _in_sqlite_transaction.reset(token)

    async def ping(self) -> None:
        async with self.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def dispose(self) -> None:
        await self.engine.dispose()


def _configure_sqlite(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy emit BEGIN itself (below) instead of the driver's lazy BEGIN.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        for pragma in (
            "journal_mode=WAL",
            "synchronous=NORMAL",
            "foreign_keys=ON",
            "busy_timeout=10000",
        ):
            cursor.execute(f"PRAGMA {pragma}")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
