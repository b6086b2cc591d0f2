"""What a request handler needs from the app: the per-process objects made in the lifespan."""

from __future__ import annotations

from starlette.requests import HTTPConnection
from temporalio.client import Client

from opsdesk.db import Database
from opsdesk.settings import Settings
from opsdesk.web.events import ChangeFeed


def settings_of(request: HTTPConnection) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def client_of(request: HTTPConnection) -> Client:
    client: Client = request.app.state.temporal
    return client


def db_of(request: HTTPConnection) -> Database:
    db: Database = request.app.state.db
    return db


def feed_of(request: HTTPConnection) -> ChangeFeed:
    feed: ChangeFeed = request.app.state.change_feed
    return feed
