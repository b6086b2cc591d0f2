"""The second factor's pages: the code a person types after their password (or one-time
link), and on their account the authenticator app they turn on and off.

Sign-in is two steps when a person has turned a second factor on: ``POST /signin`` checks
the password and, instead of a session, hands the browser a signed five-minute cookie
(``opsdesk.web.auth.ask_second_factor``); ``POST /signin/code`` checks the code and only
then opens the session. Each code counts against the same sign-in limits as a password.
"""

from __future__ import annotations

from typing import Annotated

import segno
from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, Response

from opsdesk.access.roles import Identity
from opsdesk.access.users import AccountError, UserInfo
from opsdesk.security_events import record
from opsdesk.web.auth import (
    SECOND_STEP_PATH,
    Viewer,
    clear_second_step,
    credentials_of,
    second_step_of,
)
from opsdesk.web.forms import read_form
from opsdesk.web.limits import RateLimits, rate_limited
from opsdesk.web.navigation import Notice, redirect_with
from opsdesk.web.signin import _page, _signed_in, count_attempt

router = APIRouter(include_in_schema=False)
Public = Annotated[None, Depends(rate_limited("people"))]

ACCOUNT_PATH = "/account/second-factor"
_WRONG_CODE = (
    "That code does not match, or it has been used already. Type the code your app shows "
    "now, or one of your recovery codes."
)
_TOO_LATE = Notice("error", "That sign-in waited too long for its code. Sign in again.")


@router.get(SECOND_STEP_PATH, response_class=HTMLResponse)
async def code_form(request: Request, _: Public) -> Response:
    if second_step_of(request) is None:
        return redirect_with("/signin", _TOO_LATE)
    return _page(request, "signin_code.html", section="signin")


@router.post(SECOND_STEP_PATH, response_model=None)
async def check_code(request: Request, _: Public) -> Response:
    """The second step: a right code opens the session the password (or link) earned."""
    step = second_step_of(request)
    if step is None:
        return redirect_with("/signin", _TOO_LATE)
    fields = await read_form(request)
    await count_attempt(request, step.name)
    credentials = credentials_of(request)
    method = "email_link" if step.by_link else "password"
    if not await credentials.second_factors.check(step.name, fields.get("code", "")[:64]):
        record(
            "sign_in",
            "failure",
            target=step.name,
            request=request,
            method=method,
            reason="wrong second-factor code",
        )
        return _page(request, "signin_code.html", 401, section="signin", problem=_WRONG_CODE)
    limits: RateLimits = request.app.state.rate_limits
    await limits.clear("sign_in_account", step.name)
    record(
        "sign_in",
        "success",
        actor=step.name,
        target=step.name,
        request=request,
        method=method,
        second_factor="totp",
    )
    secret = await credentials.sessions.open(step.name, by_link=step.by_link)
    notice = Notice("ok", f"Signed in as {step.name}.") if step.by_link else None
    response = _signed_in(request, secret, step.next, notice)
    clear_second_step(request, response)
    return response


async def _own_account(request: Request, who: Identity) -> UserInfo | None:
    """The person's account, if it is one that signs in here (not a token, not through
    the identity provider, whose own second factor applies)."""
    user = await credentials_of(request).users.get(who.name) if who.kind == "user" else None
    return user if user is not None and not user.from_provider else None


@router.get(ACCOUNT_PATH, response_class=HTMLResponse)
async def second_factor_page(request: Request, who: Viewer) -> HTMLResponse:
    user = await _own_account(request, who)
    factors = credentials_of(request).second_factors
    enrolled = user is not None and await factors.enrolled(user.name)
    pending = await factors.pending(user.name) if user is not None and not enrolled else None
    return _page(
        request,
        "second_factor.html",
        section="account",
        who=who,
        user=user,
        enrolled=enrolled,
        codes_left=await factors.recovery_codes_left(user.name) if enrolled and user else 0,
        pending=pending,
        qr=segno.make(pending.uri, error="m").svg_data_uri(scale=5) if pending else None,
    )


@router.post(ACCOUNT_PATH + "/start")
async def start(request: Request, who: Viewer) -> Response:
    """A new secret to scan; nothing changes at sign-in until a first code confirms it."""
    user = await _own_account(request, who)
    if user is None:
        return redirect_with(ACCOUNT_PATH, Notice("error", "This account has no password here."))
    try:
        await credentials_of(request).second_factors.begin(user.name)
    except AccountError as exc:
        return redirect_with(ACCOUNT_PATH, Notice("error", f"Not started: {exc}."))
    return redirect_with(ACCOUNT_PATH, Notice("ok", "Scan the code with your authenticator app."))


@router.post(ACCOUNT_PATH + "/confirm", response_model=None)
async def confirm(request: Request, who: Viewer) -> Response:
    """A first code turns it on; the recovery codes are in this answer and nowhere else."""
    fields = await read_form(request)
    user = await _own_account(request, who)
    if user is None:
        return redirect_with(ACCOUNT_PATH, Notice("error", "This account has no password here."))
    credentials = credentials_of(request)
    try:
        codes = await credentials.second_factors.confirm(user.name, fields.get("code", "")[:64])
    except AccountError as exc:
        return redirect_with(ACCOUNT_PATH, Notice("error", f"Not turned on: {exc}."))
    record("second_factor_on", "success", actor=user.name, target=user.name, request=request)
    # An admin held to operator rights until now gets theirs back at once.
    credentials.forget()
    return _page(request, "second_factor_codes.html", section="account", codes=codes)


@router.post(ACCOUNT_PATH + "/off")
async def turn_off(request: Request, who: Viewer) -> Response:
    """Turned off with a code of its own (or a recovery code), counted like a sign-in, so a
    borrowed session cannot remove it."""
    fields = await read_form(request)
    user = await _own_account(request, who)
    if user is None:
        return redirect_with(ACCOUNT_PATH, Notice("error", "This account has no password here."))
    await count_attempt(request, user.name)
    factors = credentials_of(request).second_factors
    if not await factors.check(user.name, fields.get("code", "")[:64]):
        return redirect_with(ACCOUNT_PATH, Notice("error", _WRONG_CODE))
    await factors.turn_off(user.name)
    record("second_factor_off", "success", actor=user.name, target=user.name, request=request)
    credentials_of(request).forget()
    return redirect_with(
        ACCOUNT_PATH, Notice("ok", "Turned off. Signing in asks for your password alone now.")
    )
