"""Limits on requests: oversize bodies are refused with the API's JSON error shape (413)
before a handler reads them, whether the client declared a Content-Length or streamed the
body; and the public routes (the tenant's form, the pages behind links, webhooks, health
probes) take a bounded number of requests per client address (429)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Literal

from fastapi import Request
from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from opsdesk.web.errors import ApiError, error_response


class _TooLarge(Exception):
    pass


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _refusal(self) -> ASGIApp:
        return error_response(
            413, "payload_too_large", f"the request body is larger than {self.max_bytes} bytes"
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refusal()(scope, receive, send)
            return

        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._refusal()(scope, receive, send)


Audience = Literal["people", "machines"]


class RateLimits:
    """Requests per client address, in a moving window, per group of routes. In memory:
    each API process counts its own, so N replicas allow N times the limit."""

    def __init__(self, people: str, machines: str) -> None:
        self.limiter = MovingWindowRateLimiter(MemoryStorage())
        self.items: dict[Audience, RateLimitItem] = {
            "people": parse(people),
            "machines": parse(machines),
        }

    async def hit(self, audience: Audience, address: str) -> int | None:
        """None if the request may go ahead; else the seconds until it may."""
        item = self.items[audience]
        if await self.limiter.hit(item, audience, address):
            return None
        stats = await self.limiter.get_window_stats(item, audience, address)
        return max(1, round(stats.reset_time - time.time()))


def rate_limited(audience: Audience) -> Callable[[Request], Awaitable[None]]:
    """A route dependency: refuse a client address that has sent too many requests."""

    async def check(request: Request) -> None:
        limits: RateLimits = request.app.state.rate_limits
        address = request.client.host if request.client else "unknown"
        wait = await limits.hit(audience, address)
        if wait is not None:
            raise ApiError(
                429,
                "too_many_requests",
                f"too many requests from your address; try again in {wait} s",
                headers={"Retry-After": str(wait)},
            )

    return check
