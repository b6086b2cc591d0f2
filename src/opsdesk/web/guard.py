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
# ReDoc's bundle, and Swagger UI's OAuth2 redirect, run scripts of their own inline.
# /docs itself lives under the policy above (opsdesk.web.apidocs).
_OWN_POLICY = ("/docs/oauth2-redirect", "/redoc")
PUBLIC_FILES = ("/static/", "/docs/assets/", "/favicon.ico", "/healthz", "/readyz")
"""What carries nobody's data (assets, health probes): the only answers a browser or a
proxy may keep. Everything else, pages and JSON alike, is ``Cache-Control: no-store``."""


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
    a message's HTML under a stricter policy of its own): the content security policy,
    and ``Cache-Control: no-store`` on everything but ``PUBLIC_FILES``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        own_policy = path.startswith(_OWN_POLICY)
        # Pages and JSON carry people's names, addresses and orders: a shared computer's
        # back button or disk cache, or a proxy, must not keep them. A route that sets its
        # own Cache-Control (a signed file link) keeps it.
        kept = path.startswith(PUBLIC_FILES)

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                wanted = {
                    b"x-content-type-options": b"nosniff",
                    b"referrer-policy": b"same-origin",
                    b"x-frame-options": b"DENY",
                }
                if not kept:
                    wanted[b"cache-control"] = b"no-store"
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
