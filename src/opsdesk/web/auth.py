"""Who a request acts as, and what each route requires of them.

Every route declares its access with a dependency: ``rate_limited(…)`` for the routes
anyone may use (the tenant's form, the pages behind signed links, webhooks, health probes),
``pages.anyone`` for static assets, or ``requires(role)`` (the ``Viewer``, ``Operator`` and
``Admin`` annotations, ``VIEWER`` and ``OPERATOR`` lists) for the rest.
``tests/web/test_access.py`` walks the app's route table and fails on a route that declares
none, so a new route cannot be left open by accident.

A request proves who it is with an API token (``Authorization: Bearer odt_…``) or with the
session cookie a sign-in set. The cookie's value is the session's secret and an HMAC of it
under the session key: a cookie we did not sign is refused before the database is asked.
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import hmac
import inspect
import json
import secrets
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Annotated
from urllib.parse import quote

from fastapi import Depends, FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.responses import RedirectResponse, Response
from fastapi.routing import iter_route_contexts
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Receive, Scope, Send

from opsdesk.access.credentials import digest
from opsdesk.access.roles import Identity, Role
from opsdesk.access.second_factor import SecondFactors
from opsdesk.access.sessions import Sessions
from opsdesk.access.tokens import ApiTokens
from opsdesk.access.users import Users
from opsdesk.db import Database
from opsdesk.keys import local_secret
from opsdesk.settings import Settings
from opsdesk.temporal.codec import EncryptionCodec, payload_keys
from opsdesk.web.errors import ApiError, Redirect, wants_html
from opsdesk.web.navigation import page_posted_from

SESSION_COOKIE = "opsdesk_session"
KEY_FILE = "session-signing.key"
_CACHE_LIMIT = 10_000


def session_key(settings: Settings) -> bytes:
    """``OPSDESK_SESSION_SECRET``, or on a laptop a key generated once into the data dir."""
    if settings.session_secret is not None:
        return settings.session_secret.get_secret_value().encode()
    return local_secret(settings.data_dir / KEY_FILE)


class Credentials:
    """One per API process: turns a token or a session cookie into an identity. A lookup is
    trusted for ``credentials_cache`` seconds; a sign-out or revocation made through this
    process forgets at once."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.users = Users(db)
        self.tokens = ApiTokens(db)
        self.sessions = Sessions(db, settings.session_idle, settings.session_lifetime)
        self.second_factors = SecondFactors(db, EncryptionCodec(payload_keys(settings)))
        self._admins_need_second_factor = settings.admin_second_factor == "required"
        self._key = session_key(settings)
        self._ttl = settings.credentials_cache
        self._cache: dict[str, tuple[float, Identity | None]] = {}

    def cookie_value(self, secret: str) -> str:
        return f"{secret}.{self._mac(secret)}"

    def secret_of(self, cookie: str) -> str | None:
        """The session secret a cookie carries, if we signed it."""
        secret, _, mac = cookie.rpartition(".")
        # Bytes: a cookie may carry any characters, and str comparison wants ASCII.
        if secret and hmac.compare_digest(mac.encode(), self._mac(secret).encode()):
            return secret
        return None

    async def from_token(self, secret: str) -> Identity | None:
        return await self._cached(f"t:{digest(secret)}", lambda: self.tokens.resolve(secret))

    async def from_cookie(self, cookie: str) -> Identity | None:
        secret = self.secret_of(cookie)
        if secret is None:
            return None
        return await self._cached(f"s:{digest(secret)}", lambda: self._session_of(secret))

    def forget(self, session_secret: str | None = None) -> None:
        """Drop what was looked up: one session's entry, or everything (a token revoked,
        which is known by name, not by secret)."""
        if session_secret is None:
            self._cache.clear()
        else:
            self._cache.pop(f"s:{digest(session_secret)}", None)

    async def _session_of(self, secret: str) -> Identity | None:
        """The session's person; with ``OPSDESK_ADMIN_SECOND_FACTOR=required``, an admin
        without a second factor acts as an operator until they turn one on."""
        found = await self.sessions.resolve(secret)
        if (
            found is not None
            and self._admins_need_second_factor
            and found.role is Role.ADMIN
            and await self.second_factors.lacking(found.name)
        ):
            return dataclasses.replace(found, role=Role.OPERATOR)
        return found

    def _mac(self, secret: str) -> str:
        return hmac.new(self._key, secret.encode(), hashlib.sha256).hexdigest()

    async def _cached(
        self, key: str, look_up: Callable[[], Awaitable[Identity | None]]
    ) -> Identity | None:
        now = time.monotonic()
        hit = self._cache.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        found = await look_up()
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        self._cache[key] = (now + self._ttl, found)
        return found


def credentials_of(request: Request) -> Credentials:
    credentials: Credentials = request.app.state.credentials
    return credentials


async def identity_of(request: Request) -> Identity | None:
    """The token's or the signed-in person's identity; None for an anonymous request. A
    token that is unknown or revoked is refused outright rather than read as anonymous."""
    if hasattr(request.state, "identity"):
        found: Identity | None = request.state.identity
        return found
    credentials = credentials_of(request)
    header = request.headers.get("authorization")
    identity: Identity | None = None
    if header is not None:
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise ApiError(
                401,
                "unauthorized",
                "the Authorization header must be 'Bearer <API token>'",
                headers={"WWW-Authenticate": "Bearer"},
            )
        identity = await credentials.from_token(value.strip())
        if identity is None:
            raise ApiError(
                401,
                "unauthorized",
                "the API token is unknown or has been revoked",
                headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
            )
    elif cookie := request.cookies.get(SESSION_COOKIE):
        identity = await credentials.from_cookie(cookie)
    request.state.identity = identity
    return identity


def sign_in_address(next_path: str) -> str:
    return f"/signin?next={quote(next_path, safe='/')}"


def _came_from(request: Request) -> str:
    if request.method == "GET":
        return request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return page_posted_from(request) or "/"


class requires:  # noqa: N801 - used like a function: Depends(requires(Role.OPERATOR))
    """A route dependency: the request must come from someone with at least ``role``.
    Returns their identity, which is who the timeline records as having acted."""

    def __init__(self, role: Role) -> None:
        self.role = role
        self.access = role.value

    async def __call__(self, request: Request) -> Identity:
        who = await identity_of(request)
        if who is None:
            if wants_html(request):
                raise Redirect(sign_in_address(_came_from(request)))
            raise ApiError(
                401,
                "unauthorized",
                "sign in, or send an API token as 'Authorization: Bearer <token>'",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if not who.role.allows(self.role):
            raise ApiError(
                403,
                "forbidden",
                f"{who.name} is a {who.role.value}; this needs the {self.role.value} role",
            )
        return who


as_viewer = requires(Role.VIEWER)
as_operator = requires(Role.OPERATOR)
as_admin = requires(Role.ADMIN)

Viewer = Annotated[Identity, Depends(as_viewer)]
"""A handler parameter: signed in with any role."""
Operator = Annotated[Identity, Depends(as_operator)]
"""A handler parameter: may act on orders and requests."""
Admin = Annotated[Identity, Depends(as_admin)]
"""A handler parameter: may manage users and tokens."""


def _requirements(dependant: Dependant) -> Iterator[requires]:
    for dependency in dependant.dependencies:
        if isinstance(dependency.call, requires):
            yield dependency.call
        yield from _requirements(dependency)


class AuthenticateFirst:
    """Settles who is asking before a route reads its body: FastAPI parses a body before it
    runs a route's dependencies, so a request without credentials would otherwise hear
    what is wrong with a body it had no right to send (422), not 401 or the sign-in page.

    For each request it finds the route that will answer and runs that route's ``requires``
    checks on the headers alone. The identity found is kept in the request's state, so the
    route's own dependency does not look it up again."""

    def __init__(self, app: ASGIApp, routes_of: FastAPI) -> None:
        self.app = app
        self._routes_of = routes_of
        self._table: list[tuple[BaseRoute, list[requires]]] | None = None

    def _needs(self, scope: Scope) -> list[requires]:
        if self._table is None:
            self._table = []
            for context in iter_route_contexts(self._routes_of.routes):
                dependant = getattr(context, "dependant", None)
                needs = list(_requirements(dependant)) if dependant is not None else []
                self._table.append((context.route, needs))
        for route, needs in self._table:
            match, _ = route.matches(scope)
            if match is Match.FULL:
                return needs
        return []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        needs = self._needs(scope) if scope["type"] == "http" else []
        if needs:
            request = Request(scope)
            try:
                for need in needs:
                    await need(request)
            except (ApiError, Redirect) as refused:
                # Answered as the route's own check would be: the app's handler for it.
                handlers = self._routes_of.exception_handlers
                handler = next(handlers[kind] for kind in type(refused).__mro__ if kind in handlers)
                answer = handler(request, refused)
                response = await answer if inspect.isawaitable(answer) else answer
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


def set_session_cookie(
    request: Request, response: Response, credentials: Credentials, secret: str
) -> None:
    settings: Settings = request.app.state.settings
    response.set_cookie(
        SESSION_COOKIE,
        credentials.cookie_value(secret),
        max_age=int(settings.session_lifetime.total_seconds()),
        path="/",
        httponly=True,
        samesite="lax",
        secure=_secure(request, settings),
    )


def clear_session_cookie(request: Request, response: Response) -> None:
    settings: Settings = request.app.state.settings
    response.delete_cookie(
        SESSION_COOKIE, path="/", httponly=True, samesite="lax", secure=_secure(request, settings)
    )


SECOND_STEP_COOKIE = "opsdesk_second_step"
SECOND_STEP_PATH = "/signin/code"
SECOND_STEP_TIME = timedelta(minutes=5)
"""How long a right password (or a used link) waits for its second factor's code."""


@dataclass(frozen=True)
class SecondStep:
    """A sign-in half done: the first factor was right, the code is still to come."""

    name: str
    next: str
    by_link: bool
    nonce: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    """This half-done sign-in's own: the wrong codes typed after it are counted under it
    (``opsdesk.web.limits.SECOND_STEP_CODES``), on every replica."""


def ask_second_factor(request: Request, step: SecondStep) -> RedirectResponse:
    """Sends the browser to the code form, carrying the half-done sign-in in a signed
    cookie that only that form reads; no session exists until the code is right."""
    expires = int(time.time() + SECOND_STEP_TIME.total_seconds())
    packed = json.dumps([step.name, step.next, step.by_link, expires, step.nonce]).encode()
    value = credentials_of(request).cookie_value("2fa:" + base64.urlsafe_b64encode(packed).decode())
    response = RedirectResponse(SECOND_STEP_PATH, status_code=303)
    response.set_cookie(
        SECOND_STEP_COOKIE,
        value,
        max_age=int(SECOND_STEP_TIME.total_seconds()),
        path=SECOND_STEP_PATH,
        httponly=True,
        samesite="lax",
        secure=_secure(request, request.app.state.settings),
    )
    return response


def second_step_of(request: Request) -> SecondStep | None:
    """The half-done sign-in this browser carries, if we signed it and it is fresh."""
    signed = credentials_of(request).secret_of(request.cookies.get(SECOND_STEP_COOKIE, ""))
    if signed is None or not signed.startswith("2fa:"):
        return None
    try:
        name, next_path, by_link, expires, nonce = json.loads(base64.urlsafe_b64decode(signed[4:]))
    except (ValueError, TypeError):
        # Unreadable, or made before steps had a nonce: the password is asked for again.
        return None
    if not isinstance(expires, int) or expires < time.time():
        return None
    return SecondStep(name=str(name), next=str(next_path), by_link=bool(by_link), nonce=str(nonce))


def clear_second_step(request: Request, response: Response) -> None:
    response.delete_cookie(
        SECOND_STEP_COOKIE,
        path=SECOND_STEP_PATH,
        httponly=True,
        samesite="lax",
        secure=_secure(request, request.app.state.settings),
    )


def _secure(request: Request, settings: Settings) -> bool:
    # Behind a TLS proxy the scheme comes from its forwarded headers (uvicorn's
    # --proxy-headers) or from the public URL people use.
    return request.url.scheme == "https" or settings.resolved_public_url.startswith("https:")


VIEWER = [Depends(as_viewer)]
"""For a route's ``dependencies=``: readable by anyone signed in."""
OPERATOR = [Depends(as_operator)]
"""For a route's ``dependencies=``: an action on orders or requests."""
