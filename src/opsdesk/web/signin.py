"""Signing in and out: the password form, one-time sign-in links, and the account page where
a person sets their password."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from opsdesk import clock
from opsdesk.access.passwords import MIN_LENGTH, CommonPassword
from opsdesk.access.sessions import LinkRefusal
from opsdesk.access.users import AccountError, time_zones
from opsdesk.security_events import record
from opsdesk.web.auth import (
    SESSION_COOKIE,
    SecondStep,
    Viewer,
    ask_second_factor,
    clear_session_cookie,
    credentials_of,
    identity_of,
    set_session_cookie,
)
from opsdesk.web.deps import settings_of
from opsdesk.web.forms import read_form
from opsdesk.web.limits import RateLimits, address_of, rate_limited, too_many
from opsdesk.web.navigation import NOTICE_COOKIE, Notice, read_notice, redirect_with
from opsdesk.web.pages import templates

router = APIRouter(include_in_schema=False)
Public = Annotated[None, Depends(rate_limited("people"))]

LINK_PATH = "/signin/link"

_LINK_PROBLEMS = {
    LinkRefusal.UNKNOWN: "This sign-in link is not one of ours, or it was mistyped.",
    LinkRefusal.USED: "This sign-in link has been used already; each works once.",
    LinkRefusal.EXPIRED: "This sign-in link has expired.",
}


def link_url(base_url: str, secret: str) -> str:
    """Where a one-time sign-in link's secret is used."""
    return f"{base_url.rstrip('/')}{LINK_PATH}/{secret}"


def safe_next(value: str | None) -> str:
    """Where to go after signing in: a path on this site, never another site."""
    if not value:
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or not value.startswith("/") or value.startswith("//"):
        return "/"
    if "\\" in value:  # some browsers read a backslash as a slash: /\\evil.example
        return "/"
    if parts.path.startswith(("/signin", "/signout")):
        return "/"
    return value


def _page(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A page: it shows, and so uses up, the notice a form route left for it."""
    notice = read_notice(request)
    response = templates.TemplateResponse(
        request, template, {"notice": notice, **context}, status_code=status_code
    )
    if notice is not None:
        response.delete_cookie(NOTICE_COOKIE, path="/")
    return response


def sign_in_page(
    request: Request, next_path: str, name: str = "", problem: str = "", status_code: int = 200
) -> HTMLResponse:
    settings = request.app.state.settings
    return _page(
        request,
        "signin.html",
        status_code,
        section="signin",
        next=next_path,
        name=name,
        problem=problem,
        oidc_label=settings.oidc_label if settings.oidc_issuer else None,
    )


def _signed_in(request: Request, secret: str, to: str, notice: Notice | None = None) -> Response:
    response: Response = (
        redirect_with(to, notice) if notice else RedirectResponse(to, status_code=303)
    )
    set_session_cookie(request, response, credentials_of(request), secret)
    return response


@router.get("/signin", response_class=HTMLResponse)
async def sign_in_form(request: Request, _: Public, next: str | None = None) -> Response:
    if await identity_of(request) is not None:
        return RedirectResponse(safe_next(next), status_code=303)
    return sign_in_page(request, safe_next(next))


async def count_attempt(request: Request, name: str) -> None:
    """A password attempt counts against the name's and the address's limits before the
    password is checked, so many at once cannot slip past while the checks run."""
    limits: RateLimits = request.app.state.rate_limits
    address = address_of(request)
    wait = await limits.hit("sign_in_address", address) or await limits.hit("sign_in_account", name)
    if wait is not None:
        record("lockout", "refused", target=name, request=request, reason="too many attempts")
        raise too_many(wait, "this address or for this name")


@router.post("/signin", response_model=None)
async def sign_in(request: Request, _: Public) -> Response:
    """Attempts are limited per account name and per address."""
    fields = await read_form(request)
    name = fields.get("name", "").strip().lower()[:64]
    next_path = safe_next(fields.get("next"))
    await count_attempt(request, name)
    credentials = credentials_of(request)
    identity = await credentials.users.authenticate(name, fields.get("password", ""))
    if identity is None:
        record("sign_in", "failure", target=name, request=request, method="password")
        return sign_in_page(
            request, next_path, name, "That name and password do not match.", status_code=401
        )
    if await credentials.second_factors.enrolled(identity.name):
        # The count is left as it is: the code's attempts go on counting against it.
        return ask_second_factor(request, SecondStep(identity.name, next_path, by_link=False))
    # The right password resets the name's count, so a person signing in on several
    # devices is not held up by their own earlier sign-ins.
    limits: RateLimits = request.app.state.rate_limits
    await limits.clear("sign_in_account", name)
    record("sign_in", "success", actor=name, target=name, request=request, method="password")
    return _signed_in(request, await credentials.sessions.open(identity.name), next_path)


@router.post("/signout")
async def sign_out(request: Request, _: Public) -> RedirectResponse:
    credentials = credentials_of(request)
    cookie = request.cookies.get(SESSION_COOKIE)
    if cookie and (secret := credentials.secret_of(cookie)):
        await credentials.sessions.close(secret)
        credentials.forget(secret)
    response = redirect_with("/signin", Notice("ok", "Signed out."))
    clear_session_cookie(request, response)
    return response


@router.get(LINK_PATH + "/{secret}", response_class=HTMLResponse)
async def sign_in_link(request: Request, _: Public, secret: str) -> HTMLResponse:
    return _page(request, "signin_link.html", section="signin", action=f"{LINK_PATH}/{secret}")


@router.post(LINK_PATH + "/{secret}", response_model=None)
async def use_sign_in_link(request: Request, _: Public, secret: str) -> Response:
    credentials = credentials_of(request)
    outcome = await credentials.sessions.redeem_link(secret)
    if isinstance(outcome, LinkRefusal):
        record("sign_in", "failure", request=request, method="email_link", reason=outcome.value)
        return _page(
            request,
            "signin_link.html",
            410 if outcome is not LinkRefusal.UNKNOWN else 404,
            section="signin",
            problem=_LINK_PROBLEMS[outcome],
        )
    if await credentials.second_factors.enrolled(outcome):
        # A link stands in for the password, not for the second factor.
        return ask_second_factor(request, SecondStep(outcome, "/account", by_link=True))
    user = await credentials.users.get(outcome)
    notice = Notice("ok", f"Signed in as {outcome}.")
    if user is not None and not user.has_password:
        notice = Notice("ok", f"Signed in as {outcome}. Set a password to sign in next time.")
    secret = await credentials.sessions.open(outcome, by_link=True)
    record(
        "sign_in", "success", actor=outcome, target=outcome, request=request, method="email_link"
    )
    return _signed_in(request, secret, "/account", notice)


@router.get("/account", response_class=HTMLResponse)
async def account(request: Request, who: Viewer) -> HTMLResponse:
    credentials = credentials_of(request)
    user = await credentials.users.get(who.name) if who.kind == "user" else None
    secret = credentials.secret_of(request.cookies.get(SESSION_COOKIE, ""))
    by_link = secret is not None and await credentials.sessions.opened_by_link(secret)
    return _page(
        request,
        "account.html",
        section="account",
        who=who,
        user=user,
        needs_current=user is not None and user.has_password and not by_link,
        min_length=MIN_LENGTH,
        time_zones=time_zones(),
        business_zone=settings_of(request).business_time_zone,
    )


@router.post("/account/time-zone")
async def set_time_zone(request: Request, who: Viewer) -> RedirectResponse:
    """The zone the person reads the pages' times in."""
    fields = await read_form(request)
    credentials = credentials_of(request)
    if who.kind != "user":
        return redirect_with("/account", Notice("error", "An API token has no time zone."))
    try:
        user = await credentials.users.set_time_zone(who.name, fields.get("zone"))
    except AccountError as exc:
        return redirect_with("/account#time-zone", Notice("error", f"Not saved: {exc}."))
    credentials.forget()
    zone = user.time_zone or settings_of(request).business_time_zone
    return redirect_with(
        "/account#time-zone", Notice("ok", f"Saved. Times now show in {clock.zone_label(zone)}.")
    )


@router.post("/account/password")
async def set_password(request: Request, who: Viewer) -> RedirectResponse:
    """A new password, with the current one (unless this session came from a one-time
    link: that is how a forgotten password is reset). Every other session of the person
    is signed out."""
    fields = await read_form(request)
    credentials = credentials_of(request)
    users = credentials.users
    user = await users.get(who.name) if who.kind == "user" else None
    secret = credentials.secret_of(request.cookies.get(SESSION_COOKIE, ""))
    if user is None or secret is None:
        return redirect_with("/account", Notice("error", "An API token has no password."))
    if user.from_provider:
        return redirect_with(
            "/account", Notice("error", "You sign in through your organisation; no password here.")
        )
    if user.has_password and not await credentials.sessions.opened_by_link(secret):
        # The current password is checked like a sign-in: counted, so a borrowed session
        # cannot be used to guess it.
        await count_attempt(request, who.name)
        if await users.authenticate(who.name, fields.get("current", "")) is None:
            return redirect_with("/account", Notice("error", "Your current password is not that."))
    if fields.get("password", "") != fields.get("again", ""):
        return redirect_with("/account", Notice("error", "The two new passwords differ."))
    try:
        await users.set_password(who.name, fields.get("password", ""))
    except CommonPassword as exc:
        return redirect_with("/account", Notice("error", str(exc)))
    except (ValueError, AccountError) as exc:
        return redirect_with("/account", Notice("error", f"Not saved: {exc}."))
    await credentials.sessions.close_others(who.name, keep=secret)
    credentials.forget()
    return redirect_with(
        "/account", Notice("ok", "Password saved. Your other sessions are signed out.")
    )
