"""Serve the FastAPI app for tests: in-process over ASGI, or on a real loopback port."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import uvicorn
from fastapi import FastAPI

from opsdesk.app import UVICORN_OPTIONS
from tests.conftest import free_port
from tests.staff import bearer


@asynccontextmanager
async def serve(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """In-process: quick, for routes that answer with one body. The client carries an admin
    API token named ``ops`` (``tests.staff``)."""
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://127.0.0.1",
            headers=await bearer(app),
        ) as http,
    ):
        yield http


@asynccontextmanager
async def served(app: FastAPI, port: int | None = None) -> AsyncIterator[str]:
    """Uvicorn on a loopback port (a free one unless given); yields the base URL."""
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=port or free_port(),
        log_level="warning",
        **UVICORN_OPTIONS,  # as `opsdesk api` serves it
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{config.port}"
    finally:
        server.should_exit = True
        await task


@asynccontextmanager
async def serve_http(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """Real HTTP, streaming (server-sent events) included; authenticated as ``serve``'s."""
    async with (
        served(app) as url,
        httpx.AsyncClient(base_url=url, timeout=30, headers=await bearer(app)) as http,
    ):
        yield http
