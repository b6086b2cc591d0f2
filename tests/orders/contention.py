"""Another process's hold on the database: what a busy database looks like to a step."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from opsdesk.db import Database


@asynccontextmanager
async def write_lock_held(db: Database) -> AsyncIterator[None]:
    """Hold SQLite's write lock from a connection of our own, as another process would:
    every step that writes waits (up to ``busy_timeout``) until the block exits.

    The connection's calls run in a thread: they may wait for a transaction the worker,
    on this event loop, is about to commit."""
    path = db.url.database
    assert path, "a file database"
    conn = await asyncio.to_thread(
        sqlite3.connect, path, timeout=30, isolation_level=None, check_same_thread=False
    )
    try:
        await asyncio.to_thread(conn.execute, "BEGIN IMMEDIATE")
        try:
            yield
        finally:
            await asyncio.to_thread(conn.execute, "COMMIT")
    finally:
        await asyncio.to_thread(conn.close)
