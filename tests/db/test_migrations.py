"""Migrations: they build exactly the tables the code declares, and re-running is a no-op."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from sqlalchemy import inspect

from opsdesk.db import Database
from opsdesk.db.migrate import alembic_config, upgrade_async
from opsdesk.db.tables import metadata


async def test_migrations_match_the_declared_tables(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'm.db'}"
    await upgrade_async(url)
    await upgrade_async(url)  # every process runs it at start
    # Raises if autogenerate would write a new revision: models and migrations agree.
    await asyncio.to_thread(command.check, alembic_config(url))

    db = Database(url)
    try:
        async with db.engine.connect() as conn:
            tables = await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    finally:
        await db.dispose()
    assert tables == set(metadata.tables) | {"alembic_version"}


async def test_migrations_match_the_declared_tables_on_postgresql(pg_db: Database) -> None:
    url = pg_db.url.render_as_string(hide_password=False)
    await upgrade_async(url)  # a second run is a no-op
    await asyncio.to_thread(command.check, alembic_config(url))
    async with pg_db.engine.connect() as conn:
        tables = await conn.run_sync(lambda sync: set(inspect(sync).get_table_names()))
    assert tables == set(metadata.tables) | {"alembic_version"}


async def test_sqlite_runs_in_wal_mode(db: Database) -> None:
    async with db.engine.connect() as conn:
        mode = (await conn.exec_driver_sql("PRAGMA journal_mode")).scalar()
        synchronous = (await conn.exec_driver_sql("PRAGMA synchronous")).scalar()
    assert mode == "wal"
    assert synchronous == 1  # NORMAL
