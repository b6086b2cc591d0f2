"""App factory. One Temporal client and one database engine per process, made in the
lifespan so they live on the server's event loop."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from temporalio.client import Client

from opsdesk.db import Database
from opsdesk.db.migrate import upgrade_async
from opsdesk.settings import Settings
from opsdesk.temporal.client import connect
from opsdesk.temporal.worker import task_queues
from opsdesk.web import errors, health


def create_app(settings: Settings, temporal: Client | None = None) -> FastAPI:
    """The app; ``temporal`` replaces the connection made from settings (tests pass theirs)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await upgrade_async(settings.resolved_database_url)
        db = Database(settings.resolved_database_url)
        app.state.settings = settings
        app.state.db = db
        # Lazy: the API starts (and says why it is not ready) while Temporal is down.
        app.state.temporal = temporal or await connect(settings, lazy=True)
        app.state.task_queues = task_queues(settings)
        try:
            yield
        finally:
            await db.dispose()

    app = FastAPI(title="Ops Desk", version="0.1.0", lifespan=lifespan)
    errors.install(app)
    app.include_router(health.router)
    return app
