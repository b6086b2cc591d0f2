"""Rate limits every replica shares (counted in the database), on the address a client
really has: its peer's, or what a trusted proxy forwarded, never what it claims itself."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select, text
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from opsdesk.app import create_app
from opsdesk.db import Database
from opsdesk.db.tables import RateCount
from opsdesk.settings import Settings
from opsdesk.web.limits import RateLimits
from tests.conftest import BOTH_DATABASES, free_port
from tests.http import served


async def _replicas(
    db: Database, tmp_path: Path, count: int, **overrides: Any
) -> AsyncIterator[list[httpx.AsyncClient]]:
    """``count`` API processes' worth of apps on one database, each on its own port."""
    nowhere = await Client.connect(
        f"127.0.0.1:{free_port()}", lazy=True, data_converter=pydantic_data_converter
    )
    settings = Settings(
        data_dir=tmp_path, database_url=db.url.render_as_string(hide_password=False), **overrides
    )
    async with AsyncExitStack() as stack:
        clients = []
        for _ in range(count):
            url = await stack.enter_async_context(served(create_app(settings, temporal=nowhere)))
            clients.append(
                await stack.enter_async_context(httpx.AsyncClient(base_url=url, timeout=30))
            )
        yield clients


async def _sign_in(
    http: httpx.AsyncClient, name: str, forwarded_for: str | None = None
) -> httpx.Response:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return await http.post(
        "/signin", data={"name": name, "password": "guess", "next": "/"}, headers=headers
    )


async def test_two_replicas_on_one_database_share_a_limit(db: Database, tmp_path: Path) -> None:
    async for first, second in _replicas(db, tmp_path, 2, sign_in_address_rate_limit="4/minute"):
        # Turn about, as a load balancer would send them: each replica sees two or three.
        statuses = [
            (await _sign_in(replica, f"name-{n}")).status_code
            for n, replica in enumerate([first, second] * 3)
        ]
        assert statuses == [401, 401, 401, 401, 429, 429]


async def test_a_forwarded_address_from_an_untrusted_peer_does_not_escape_the_limit(
    db: Database, tmp_path: Path
) -> None:
    async for [http] in _replicas(db, tmp_path, 1):  # no OPSDESK_TRUSTED_PROXIES
        statuses = [
            (await _sign_in(http, f"name-{n}", f"198.51.100.{n}")).status_code for n in range(22)
        ]
        # The default: 20 a minute from one address, whatever each request said it was.
        assert statuses == [401] * 20 + [429] * 2


async def test_a_trusted_proxy_forwards_the_client_address(db: Database, tmp_path: Path) -> None:
    async for [http] in _replicas(
        db, tmp_path, 1, sign_in_address_rate_limit="2/minute", trusted_proxies=["127.0.0.0/8"]
    ):
        assert (await _sign_in(http, "a", "203.0.113.7")).status_code == 401
        assert (await _sign_in(http, "b", "203.0.113.7")).status_code == 401
        assert (await _sign_in(http, "c", "203.0.113.7")).status_code == 429
        # Another client behind the same proxy has its own count; a chain is read from the
        # proxy's end, so what the client put first does not count.
        assert (await _sign_in(http, "d", "203.0.113.7, 203.0.113.8")).status_code == 401


@BOTH_DATABASES
async def test_a_count_slides_out_of_its_window_and_is_swept(db: Database) -> None:
    now = [60.0 * 16_667]  # the start of a minute
    limits = RateLimits(db, "3/minute", "3/minute", "3/minute", "3/minute", clock=lambda: now[0])
    assert [await limits.hit("people", "10.0.0.1") for _ in range(3)] == [None] * 3
    refused = await limits.hit("people", "10.0.0.1")
    assert refused == 90  # the next window, once this one weighs in at half
    assert await limits.hit("people", "10.0.0.2") is None  # another address
    # Many at once from one address: each counted once, atomically.
    hits = await asyncio.gather(*(limits.hit("machines", "10.0.0.9") for _ in range(8)))
    assert sum(wait is None for wait in hits) == 3

    # Half a minute into the next window the last one (four hits) weighs two: one more fits.
    now[0] += 90
    assert await limits.hit("people", "10.0.0.1") is None
    assert await limits.hit("people", "10.0.0.1") is not None
    # Two windows on, nothing from before counts, and the old rows are gone.
    now[0] += 120
    assert await limits.hit("people", "10.0.0.1") is None
    await limits.clear("people", "10.0.0.1")
    async with db.transaction() as session:
        keys = (await session.execute(select(RateCount.client_key))).scalars().all()
    assert keys == []


async def test_sign_in_is_refused_while_its_limits_cannot_be_counted(
    db: Database, tmp_path: Path
) -> None:
    """A flood that breaks the count (SQLite's "database is locked") must not switch the
    sign-in limits off; other limits still let requests through, health probes first."""
    async for [http] in _replicas(db, tmp_path, 1):
        async with db.transaction() as session:
            await session.execute(text("DROP TABLE rate_counts"))
        page = {"Accept": "text/html"}
        busy = await http.post(
            "/signin", data={"name": "dana", "password": "guess", "next": "/"}, headers=page
        )
        assert busy.status_code == 503
        assert busy.headers["retry-after"] == "5"
        assert "Sign-in is busy; try again in a few seconds." in busy.text
        assert (await http.get("/healthz")).status_code == 200
        assert (await http.get("/signin", headers=page)).status_code == 200
