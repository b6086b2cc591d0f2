"""What every response and every change goes through: security headers, and the rule that
a change (POST, PUT, PATCH, DELETE) a browser makes must come from our own pages.

A browser tells us where a request comes from (``Origin``, and ``Sec-Fetch-Site`` when it
sends no origin). Another site's page posting a form to us is refused, whatever it sends:
its forms can carry no body of ours, but they would carry the browser's cookies. Clients
that are not browsers send neither header and are unaffected; webhooks carry their own
signatures and are not browsers' business.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from starlette.middleware.trustedhost import TrustedHostMiddleware
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from opsdesk.web.deps import settings_of
from opsdesk.web.errors import ApiError

CHANGES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SIGNED = ("/api/webhooks/", "/phone/calls/")
"""Server-to-server routes, each checking its sender's signature."""
FOR_THE_TEMPORAL_UI = ("/codec/",)
"""Routes the Temporal UI's pages post to from their own origin."""

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; frame-src 'self'; frame-ancestors 'none'; base-uri 'self'; "
    "form-action 'self'; object-src 'none'"
)
# The API's reference pages load the Swagger and ReDoc bundles their own way.
_OWN_POLICY = ("/docs", "/redoc")


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


async def same_origin_changes(request: HTTPConnection) -> None:
    """An app-wide dependency: refuse a change a browser sent from another site's page. A
    WebSocket (a call's conversation) is no browser's change: its handshake is signed."""
    path = request.url.path
    if request.scope.get("method") not in CHANGES or path.startswith(SIGNED):
        return
    settings = settings_of(request)
    allowed = {
        origin_of(settings.resolved_public_url),
        origin_of(settings.dashboard_url),
        f"{request.url.scheme}://{request.headers.get('host', '')}".lower(),
    }
    if path.startswith(FOR_THE_TEMPORAL_UI):
        allowed.add(origin_of(settings.resolved_temporal_ui_url))
    origin = request.headers.get("origin")
    if origin is not None and origin != "null":
        if origin.lower().rstrip("/") in allowed:
            return
        raise ApiError(
            403,
            "forbidden",
            f"a change must come from Ops Desk's own pages, not from {origin}",
        )
    site = request.headers.get("sec-fetch-site")
    if origin == "null" or site in ("cross-site", "same-site"):
        raise ApiError(403, "forbidden", "a change must come from Ops Desk's own pages")


class SecurityHeaders:
    """Adds the headers every page wants, unless a route set its own (the Mailbox serves
    a message's HTML under a stricter policy of its own)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        own_policy = str(scope.get("path", "")).startswith(_OWN_POLICY)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                wanted = {
                    b"x-content-type-options": b"nosniff",
                    b"referrer-policy": b"same-origin",
                    b"x-frame-options": b"DENY",
                }
                if not own_policy:
                    wanted[b"content-security-policy"] = CONTENT_SECURITY_POLICY.encode()
                headers += [(k, v) for k, v in wanted.items() if k not in present]
                if b"content-security-policy" in present:
                    # A route's own policy decides how it may be framed.
                    headers = [(k, v) for k, v in headers if k != b"x-frame-options"]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


PROBES = ("/healthz", "/readyz")
"""Answer any host: an orchestrator probes a pod by its address."""


class AllowedHosts:
    """Starlette's host check (a request for another host name gets a 400), but for the
    health probes."""

    def __init__(self, app: ASGIApp, allowed_hosts: list[str]) -> None:
        self.app = app
        self.checked = TrustedHostMiddleware(app, allowed_hosts=allowed_hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and str(scope.get("path", "")) in PROBES:
            await self.app(scope, receive, send)
            return
        await self.checked(scope, receive, send)
