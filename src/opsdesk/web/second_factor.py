"""The second factor's pages: the code a person types after their password (or one-time
link), and on their account the authenticator app they turn on and off.

Sign-in is two steps when a person has turned a second factor on: ``POST /signin`` checks
the password and, instead of a session, hands the browser a signed five-minute cookie
(``opsdesk.web.auth.ask_second_factor``); ``POST /signin/code`` checks the code and only
then opens the session. Each code counts against the same sign-in limits as a password;
besides, one password buys ``limits.SECOND_STEP_CODES`` codes (counted per cookie, by its
nonce), and an account takes ``limits.WRONG_CODES_A_DAY`` wrong codes a day, so that a
known password does not let the six digits be guessed over days.

Turning an app on asks for the password first: a borrowed session must not be able to put
its holder's app on someone else's account (and, with ``OPSDESK_ADMIN_SECOND_FACTOR=
required``, lock an admin out). No email says so: a person here has no address on file.
"""

from __future__ import annotations

import math
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
_TOO_MANY_FOR_ONE = Notice(
    "error",
    "Too many codes were typed after that password. Sign in again with your password, then "
    "type the code your app shows.",
)


def _day_over(wait: int) -> str:
    hours = math.ceil(wait / 3600)
    later = "an hour" if hours == 1 else f"{hours} hours"
    return (
        "Too many wrong codes were typed for your account today, so no code is taken for "
        f"about {later}. Then sign in with a code from your app or one of your recovery "
        "codes; if you cannot wait, ask an admin to turn your second factor off."
    )


async def _locked_for_today(request: Request, name: str) -> str | None:
    """Why ``name`` may not try a code now, if their wrong codes today are used up."""
    limits: RateLimits = request.app.state.rate_limits
    wait = await limits.refused("second_factor_account", name)
    if wait is None:
        return None
    record(
        "lockout",
        "refused",
        target=name,
        request=request,
        reason="too many wrong second-factor codes today",
    )
    return _day_over(wait)


async def _proves(request: Request, name: str, code: str) -> bool:
    """Whether ``code`` is ``name``'s; a wrong one counts against their day's."""
    if await credentials_of(request).second_factors.check(name, code[:64]):
        return True
    limits: RateLimits = request.app.state.rate_limits
    await limits.hit("second_factor_account", name)
    return False


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
    limits: RateLimits = request.app.state.rate_limits
    stop: Notice | None = None
    if await limits.hit("second_step", step.nonce) is not None:
        record(
            "lockout",
            "refused",
            target=step.name,
            request=request,
            reason="too many codes after one password",
        )
        stop = _TOO_MANY_FOR_ONE
    elif (day_over := await _locked_for_today(request, step.name)) is not None:
        stop = Notice("error", day_over)
    if stop is not None:
        # The half-done sign-in is void: the password is asked for again.
        back = redirect_with("/signin", stop)
        clear_second_step(request, back)
        return back
    credentials = credentials_of(request)
    method = "email_link" if step.by_link else "password"
    if not await _proves(request, step.name, fields.get("code", "")):
        record(
            "sign_in",
            "failure",
            target=step.name,
            request=request,
            method=method,
            reason="wrong second-factor code",
        )
        return _page(request, "signin_code.html", 401, section="signin", problem=_WRONG_CODE)
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
    """A new secret to scan, once the password is typed (checked and counted like a
    sign-in, so a borrowed session can neither enrol its own app nor guess the password);
    nothing changes at sign-in until a first code confirms it."""
    fields = await read_form(request)
    user = await _own_account(request, who)
    if user is None or not user.has_password:
        return redirect_with(
            ACCOUNT_PATH,
            Notice("error", "Set a password on your account first: the app's code follows it."),
        )
    await count_attempt(request, user.name)
    credentials = credentials_of(request)
    if await credentials.users.authenticate(user.name, fields.get("password", "")) is None:
        record(
            "second_factor_on",
            "refused",
            actor=user.name,
            target=user.name,
            request=request,
            reason="wrong password",
        )
        return redirect_with(
            ACCOUNT_PATH,
            Notice("error", "That is not your password, so nothing was set up. Try again."),
        )
    # As at sign-in, the right password resets the name's count.
    limits: RateLimits = request.app.state.rate_limits
    await limits.clear("sign_in_account", user.name)
    try:
        await credentials.second_factors.begin(user.name)
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
    if (day_over := await _locked_for_today(request, user.name)) is not None:
        return redirect_with(ACCOUNT_PATH, Notice("error", day_over))
    if not await _proves(request, user.name, fields.get("code", "")):
        return redirect_with(ACCOUNT_PATH, Notice("error", _WRONG_CODE))
    await credentials_of(request).second_factors.turn_off(user.name)
    record("second_factor_off", "success", actor=user.name, target=user.name, request=request)
    credentials_of(request).forget()
    return redirect_with(
        ACCOUNT_PATH, Notice("ok", "Turned off. Signing in asks for your password alone now.")
    )
