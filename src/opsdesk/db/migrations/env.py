"""Alembic environment: runs migrations on the async engine, serialised across processes."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.pool import NullPool

from opsdesk.db.engine import Database
from opsdesk.db.tables import UtcDateTime, metadata

# Any constant works; it only has to be the same in every process that migrates.
_POSTGRES_MIGRATION_LOCK = 0x0D5D35C


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | Literal[False]:
    # Revisions must not import application types that may change after they are written.
    if type_ == "type" and isinstance(obj, UtcDateTime):
        return "sa.DateTime(timezone=True)"
    return False


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_item=_render_item,
        render_as_batch=True,  # SQLite can only ALTER through table rebuilds
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


async def _run_online() -> None:
    db = Database(context.config.attributes["database_url"], poolclass=NullPool)
    try:
        async with db.engine.connect() as conn:
            if db.url.get_backend_name() == "postgresql":
                # Several workers and API replicas start at once in production.
                await conn.execute(text(f"SELECT pg_advisory_lock({_POSTGRES_MIGRATION_LOCK})"))
            await conn.run_sync(_run)
            await conn.commit()
    finally:
        await db.dispose()


asyncio.run(_run_online())
