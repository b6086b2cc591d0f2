"""Limits on requests: oversize bodies are refused with the API's JSON error shape (413)
before a handler reads them, whether the client declared a Content-Length or streamed the
body; and the public routes (the tenant's form, the pages behind links, webhooks, health
probes) take a bounded number of requests per client address (429), counted in the
database so that every replica sees the same counts. The client address is the peer's,
or what a proxy in ``OPSDESK_TRUSTED_PROXIES`` forwarded: ``opsdesk.app`` installs uvicorn's
``ProxyHeadersMiddleware`` with those proxies alone, so a forwarded header anyone else
sends is ignored."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Literal

from fastapi import Request, WebSocketException
from limits import RateLimitItem, parse
from sqlalchemy import delete, select
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from opsdesk.db import Database
from opsdesk.db.tables import RateCount
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


Audience = Literal[
    "people",
    "machines",
    "sign_in_account",
    "sign_in_address",
    "second_step",
    "second_factor_account",
]

SECOND_STEP_CODES = 5
"""Codes one right password (or link) may be followed by; after them the half-done sign-in
is void and the password must be typed again. Counted per second-step cookie."""
WRONG_CODES_A_DAY = 20
"""Wrong second-factor codes an account takes in a day; after them no code is taken until
the count has slid out of its window."""

FAILS_CLOSED: frozenset[Audience] = frozenset(
    {"sign_in_account", "sign_in_address", "second_step", "second_factor_account"}
)
"""The limits on guesses at a password or a code: when the database cannot count one (a
flood makes SQLite say "database is locked"), the attempt is refused, for an attacker's
flood must not switch its own limit off."""
BUSY_WAIT = 5
"""Seconds a sign-in refused for want of a count is told to wait."""

SWEEP_EVERY = 60.0
"""Seconds between a process's deletions of the counts no window needs any more."""

log = logging.getLogger(__name__)


class RateLimits:
    """Requests per client address (or per account name, for sign-in), per group of routes,
    counted in the database so every API replica adds to the same counts.

    A sliding window, estimated from two fixed ones: the count so far in this window plus
    the last window's count, weighted by the share of it still within one window of now.
    Each request is one atomic insert-or-increment (``INSERT … ON CONFLICT DO UPDATE``, on
    SQLite as on PostgreSQL) and one read. Refused requests count too, so a client that
    keeps trying stays refused. If the database cannot count, a sign-in's password or code
    is refused (503, ``FAILS_CLOSED``) and any other request goes ahead: a health probe must
    not fail because the database is down, and the rest behind a limit needs the database
    anyway."""

    def __init__(
        self,
        db: Database,
        people: str,
        machines: str,
        sign_in: str,
        sign_in_address: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = db
        self.items: dict[Audience, RateLimitItem] = {
            "people": parse(people),
            "machines": parse(machines),
            "sign_in_account": parse(sign_in),
            "sign_in_address": parse(sign_in_address),
            # A day's window for a five-minute cookie: its count cannot slide away while the
            # cookie lives.
            "second_step": parse(f"{SECOND_STEP_CODES}/day"),
            "second_factor_account": parse(f"{WRONG_CODES_A_DAY}/day"),
        }
        self._clock = clock
        self._next_sweep = 0.0

    async def hit(self, audience: Audience, key: str) -> int | None:
        """Counts a request; None if it may go ahead, else the seconds until one may."""
        item = self.items[audience]
        window = item.get_expiry()
        now = self._clock()
        start = int(now // window) * window
        try:
            current, previous = await self._count(audience, key[:128], start, window, now)
        except (SQLAlchemyError, OSError) as exc:
            self._uncounted(audience, exc)
            return None
        return _judge(item.amount, window, now - start, previous, current)

    async def refused(self, audience: Audience, key: str) -> int | None:
        """Whether one more hit would be refused, counting none: None if it would go ahead,
        else the seconds until one may. For a limit on failures, counted once they fail."""
        item = self.items[audience]
        window = item.get_expiry()
        now = self._clock()
        start = int(now // window) * window
        try:
            async with self.db.transaction() as session:
                rows = await session.execute(
                    select(RateCount.window_start, RateCount.hits).where(
                        RateCount.limit_name == audience,
                        RateCount.client_key == key[:128],
                        RateCount.window_start.in_([start, start - window]),
                    )
                )
                counts = {window_start: hits for window_start, hits in rows}
        except (SQLAlchemyError, OSError) as exc:
            self._uncounted(audience, exc)
            return None
        current = counts.get(start, 0) + 1
        return _judge(item.amount, window, now - start, counts.get(start - window, 0), current)

    def _uncounted(self, audience: Audience, exc: Exception) -> None:
        if audience in FAILS_CLOSED:
            log.warning("rate limit %s not counted (%s): sign-in refused", audience, exc)
            raise sign_in_busy()
        log.warning("rate limit %s not counted (%s): request let through", audience, exc)

    async def clear(self, audience: Audience, key: str) -> None:
        """Forget ``key``'s count (a name's, once the right password has been given)."""
        async with self.db.transaction() as session:
            await session.execute(
                delete(RateCount).where(
                    RateCount.limit_name == audience, RateCount.client_key == key[:128]
                )
            )

    async def _count(
        self, audience: Audience, key: str, start: int, window: int, now: float
    ) -> tuple[int, int]:
        insert = sqlite_insert if self.db.is_sqlite else postgresql_insert
        add_one = (
            insert(RateCount)
            .values(
                limit_name=audience,
                client_key=key,
                window_start=start,
                hits=1,
                expires_at=start + 2 * window,
            )
            .on_conflict_do_update(
                index_elements=["limit_name", "client_key", "window_start"],
                set_={"hits": RateCount.hits + 1},
            )
            .returning(RateCount.hits)
        )
        async with self.db.transaction() as session:
            current = (await session.execute(add_one)).scalar_one()
            previous = await session.scalar(
                select(RateCount.hits).where(
                    RateCount.limit_name == audience,
                    RateCount.client_key == key,
                    RateCount.window_start == start - window,
                )
            )
            if now >= self._next_sweep:
                self._next_sweep = now + SWEEP_EVERY
                await session.execute(delete(RateCount).where(RateCount.expires_at <= now))
        return current, previous or 0


def _judge(limit: int, window: int, elapsed: float, previous: int, current: int) -> int | None:
    """None if ``current`` (this window's count, this request included) is within the limit,
    else the seconds until one more request fits."""
    if previous * (1 - elapsed / window) + current <= limit:
        return None
    return _wait(limit, window, elapsed, previous, current)


def _wait(limit: int, window: int, elapsed: float, previous: int, current: int) -> int:
    """Seconds until one more request fits, if none comes meanwhile."""
    room = limit - current - 1
    if room >= 0 and previous > 0:
        # Within this window, as the last one's weight shrinks.
        return max(1, math.ceil(window * (1 - room / previous) - elapsed))
    # In the next window, where this one's count weighs in as the last one's did.
    share = 1 - (limit - 1) / current if current > limit - 1 else 0
    return max(1, math.ceil(window - elapsed + window * share))


def too_many(wait: int, whose: str = "your address") -> ApiError:
    return ApiError(
        429,
        "too_many_requests",
        f"too many requests from {whose}; try again in {wait} s",
        headers={"Retry-After": str(wait)},
    )


def sign_in_busy() -> ApiError:
    """A sign-in refused because its attempt could not be counted."""
    return ApiError(
        503,
        "unavailable",
        "Sign-in is busy; try again in a few seconds.",
        headers={"Retry-After": str(BUSY_WAIT)},
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
