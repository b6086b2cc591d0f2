"""Signing in through an OpenID Connect provider (Authlib), beside passwords.

The provider says who the person is (their email, else their preferred username) and, in
one claim (``OPSDESK_OIDC_ROLE_CLAIM``), what they may do: a role name, or group names
that ``OPSDESK_OIDC_ROLES`` maps to roles. The person gets the highest role their claim
maps to, on every sign-in; with none they are refused. The flow's state and nonce ride in a
short-lived signed cookie of their own (Starlette's session middleware), which is what
Authlib keeps them in.
"""

from __future__ import annotations

import logging
from typing import Annotated

import httpx
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.starlette_client import OAuth, OAuthError, StarletteOAuth2App
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from joserfc.errors import JoseError
from starlette.middleware.sessions import SessionMiddleware

from opsdesk.access.roles import role_for
from opsdesk.access.users import AccountError
from opsdesk.security_events import record
from opsdesk.settings import Settings
from opsdesk.web.auth import credentials_of, session_key, set_session_cookie
from opsdesk.web.limits import rate_limited
from opsdesk.web.navigation import Notice, redirect_with
from opsdesk.web.signin import safe_next, sign_in_page

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False)
Public = Annotated[None, Depends(rate_limited("people"))]

CALLBACK_PATH = "/signin/oidc/callback"
FLOW_COOKIE = "opsdesk_oidc"
FLOW_SECONDS = 600
"""How long a person may take at the provider's sign-in page."""


def install(app: FastAPI, settings: Settings) -> None:
    """With a provider configured: the cookie the flow needs, and the client (made here, so
    the provider's metadata and keys are fetched once per process, on first use)."""
    if not settings.oidc_issuer:
        return
    app.add_middleware(
        SessionMiddleware,
        secret_key=session_key(settings).decode(),
        session_cookie=FLOW_COOKIE,
        max_age=FLOW_SECONDS,
        same_site="lax",
        https_only=settings.resolved_public_url.startswith("https:"),
    )
    oauth = OAuth()
    oauth.register(
        "oidc",
        server_metadata_url=f"{settings.oidc_issuer.rstrip('/')}/.well-known/openid-configuration",
        client_id=settings.oidc_client_id,
        client_secret=(
            settings.oidc_client_secret.get_secret_value() if settings.oidc_client_secret else None
        ),
        client_kwargs={"scope": "openid email profile"},
    )
    app.state.oidc = oauth.create_client("oidc")


def _client(request: Request) -> StarletteOAuth2App | None:
    client: StarletteOAuth2App | None = getattr(request.app.state, "oidc", None)
    return client


def _failed(request: Request, why: str, status_code: int) -> HTMLResponse:
    settings: Settings = request.app.state.settings
    return sign_in_page(
        request,
        "/",
        problem=f"Signing in with {settings.oidc_label} failed: {why}",
        status_code=status_code,
    )


@router.get("/signin/oidc", response_model=None)
async def start(request: Request, _: Public, next: str | None = None) -> Response:
    client = _client(request)
    if client is None:
        return _failed(request, "it is not set up here.", 404)
    settings: Settings = request.app.state.settings
    request.session["next"] = safe_next(next)
    try:
        redirect: Response = await client.authorize_redirect(
            request, settings.resolved_public_url.rstrip("/") + CALLBACK_PATH
        )
    except (OAuthError, httpx.HTTPError, OSError, ValueError) as exc:
        log.warning("OpenID Connect provider unreachable: %s", exc)
        return _failed(request, "the provider could not be reached; try again shortly.", 503)
    return redirect


@router.get(CALLBACK_PATH, response_model=None)
async def callback(request: Request, _: Public) -> Response:
    client = _client(request)
    if client is None:
        return _failed(request, "it is not set up here.", 404)
    try:
        token = await client.authorize_access_token(request)
    except (AuthlibBaseError, JoseError) as exc:  # OAuthError is an AuthlibBaseError
        log.info("OpenID Connect sign-in refused: %s", exc)
        record("sign_in", "failure", request=request, method="oidc", reason=str(exc))
        return _failed(request, "the provider's answer could not be used; try again.", 400)
    except (httpx.HTTPError, OSError, ValueError) as exc:
        log.warning("OpenID Connect sign-in failed: %s", exc)
        return _failed(request, "the provider could not be reached; try again shortly.", 503)
    settings: Settings = request.app.state.settings
    claims = dict(token.get("userinfo") or {})
    # The person is the provider's (issuer, sub); the name is only what they are shown as,
    # and an email counts only once the provider has verified it.
    subject = f"{claims.get('iss', settings.oidc_issuer)} {claims.get('sub', '')}"
    email = claims.get("email") if claims.get("email_verified") is True else None
    name = str(email or claims.get("preferred_username") or "").lower()
    role = role_for(claims.get(settings.oidc_role_claim), settings.oidc_roles)
    if not claims.get("sub") or not name:
        record("sign_in", "failure", request=request, method="oidc", reason="no verified email")
        return _failed(request, "the provider did not say who you are (no verified email).", 403)
    if role is None:
        record("sign_in", "failure", target=name, request=request, method="oidc", reason="no role")
        return _failed(request, f"{name} has no Ops Desk role there; ask an admin.", 403)
    credentials = credentials_of(request)
    try:
        identity = await credentials.users.from_provider(subject, name, role)
    except (AccountError, ValueError) as exc:
        record("sign_in", "failure", target=name, request=request, method="oidc", reason=str(exc))
        return _failed(request, f"{exc}.", 403)
    secret = await credentials.sessions.open(identity.name)
    record(
        "sign_in",
        "success",
        actor=identity.name,
        target=identity.name,
        request=request,
        method="oidc",
    )
    next_path = safe_next(request.session.pop("next", None))
    response = redirect_with(
        next_path, Notice("ok", f"Signed in as {identity.name} ({role.value}).")
    )
    set_session_cookie(request, response, credentials, secret)
    return response
