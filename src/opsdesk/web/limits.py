"""Limits on requests: oversize bodies are refused with the API's JSON error shape (413)
before a handler reads them, whether the client declared a Content-Length or streamed the
body; and the public routes (the tenant's form, the pages behind links, webhooks, health
probes) take a bounded number of requests per client address (429)."""

from __future__ import annotations

import time
from typing import Literal

from fastapi import Request, WebSocketException
from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage
from limits.aio.strategies import MovingWindowRateLimiter
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from opsdesk.web.errors import ApiError, error_page, error_response, wants_html


class _TooLarge(Exception):
    pass


def _takes_uploads(path: str, upload: str) -> bool:
    if upload.endswith("/"):
        return path.startswith(upload)
    wanted, given = upload.split("/"), path.split("/")
    return len(wanted) == len(given) and all(
        w in ("*", g) for w, g in zip(wanted, given, strict=True)
    )


class BodyLimit:
    """``max_bytes`` for every body, except a POST to one of ``upload_paths`` (a path, where
    ``*`` stands for one segment, or a prefix ending in ``/``), which may carry files up to
    ``upload_bytes``."""

    def __init__(
        self,
        app: ASGIApp,
        max_bytes: int,
        upload_bytes: int | None = None,
        upload_paths: tuple[str, ...] = (),
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.upload_bytes = upload_bytes or max_bytes
        self.upload_paths = upload_paths

    def _limit(self, scope: Scope) -> int:
        path: str = scope["path"]
        if scope["method"] == "POST" and any(
            _takes_uploads(path, upload) for upload in self.upload_paths
        ):
            return self.upload_bytes
        return self.max_bytes

    def _refusal(self, scope: Scope, limit: int) -> ASGIApp:
        if limit == self.upload_bytes and wants_html(Request(scope)):
            # A person's form with files: a page they can read, and a way back.
            megabytes = max(1, limit // 1_000_000)
            return error_page(
                Request(scope),
                413,
                f"The files you chose are larger than {megabytes} MB together. Go back, "
                "choose fewer or smaller ones and send the form again",
            )
        return error_response(
            413, "payload_too_large", f"the request body is larger than {limit} bytes"
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._refusal(scope, limit)(scope, receive, send)
            return

        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
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
                await self._refusal(scope, limit)(scope, receive, send)


Audience = Literal["people", "machines", "sign_in_account", "sign_in_address"]


class RateLimits:
    """Requests per client address (or per account name, for sign-in), in a moving window,
    per group of routes. In memory: each API process counts its own, so N replicas allow N
    times the limit."""

    def __init__(self, people: str, machines: str, sign_in: str, sign_in_address: str) -> None:
        self.limiter = MovingWindowRateLimiter(MemoryStorage())
        self.items: dict[Audience, RateLimitItem] = {
            "people": parse(people),
            "machines": parse(machines),
            "sign_in_account": parse(sign_in),
            "sign_in_address": parse(sign_in_address),
        }

    async def hit(self, audience: Audience, key: str) -> int | None:
        """Counts a request; None if it may go ahead, else the seconds until one may."""
        item = self.items[audience]
        if await self.limiter.hit(item, audience, key):
            return None
        return await self._wait(item, audience, key)

    async def clear(self, audience: Audience, key: str) -> None:
        """Forget ``key``'s count (a name's, once the right password has been given)."""
        await self.limiter.clear(self.items[audience], audience, key)

    async def _wait(self, item: RateLimitItem, audience: Audience, key: str) -> int:
        stats = await self.limiter.get_window_stats(item, audience, key)
        return max(1, round(stats.reset_time - time.time()))


def too_many(wait: int, whose: str = "your address") -> ApiError:
    return ApiError(
        429,
        "too_many_requests",
        f"too many requests from {whose}; try again in {wait} s",
        headers={"Retry-After": str(wait)},
    )


def address_of(request: HTTPConnection) -> str:
    return request.client.host if request.client else "unknown"


class rate_limited:  # noqa: N801 - used like the function it replaced: Depends(rate_limited(…))
    """A route dependency that declares the route public (open to anyone, see
    ``opsdesk.web.auth``) and refuses a client address that has sent too many requests."""

    access = "public"

    def __init__(self, audience: Audience) -> None:
        self.audience = audience

    async def __call__(self, request: HTTPConnection) -> None:
        limits: RateLimits = request.app.state.rate_limits
        wait = await limits.hit(self.audience, address_of(request))
        if wait is not None:
            if request.scope["type"] == "websocket":
                # Refused before the handshake completes: the client sees a 403.
                raise WebSocketException(code=1008, reason=f"too many requests; wait {wait} s")
            raise too_many(wait)
