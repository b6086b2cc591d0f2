"""The Mailbox's phone: calls placed while Twilio is not configured land here. The page
lists each call, and picking one up plays Twilio's part against the call's real webhooks
(``opsdesk.notify.devphone``), with a keypad for the answer; a call that is a conversation
becomes a call screen (``web/static/phone.js``) talking to the call's real WebSocket. A dev
tool, like the Mailbox: on only while ``opsdesk dev``'s mailbox is in use and Twilio is not
configured.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse

from opsdesk.notify.call_state import call_views
from opsdesk.notify.devmail import uses_dev_mailbox
from opsdesk.notify.devphone import DEV_CALLER, DevPhone, NotOurs, Screen
from opsdesk.notify.models import OutboxEntry
from opsdesk.notify.outbox import Outbox
from opsdesk.notify.views import PAGE_SIZE, render
from opsdesk.notify.voice import WebhookSignature, call_sid, webhook_auth_token
from opsdesk.settings import Settings
from opsdesk.web.auth import OPERATOR, VIEWER
from opsdesk.web.deps import db_of
from opsdesk.web.errors import ApiError
from opsdesk.web.forms import read_form
from opsdesk.web.navigation import NOTICE_COOKIE, Notice, read_notice, redirect_with
from opsdesk.web.pages import may_act
from opsdesk.web.params import RowId


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    on = uses_dev_mailbox(settings) and not settings.twilio_configured
    app.state.dev_phone = (
        DevPhone(app, settings.resolved_public_url, WebhookSignature(webhook_auth_token(settings)))
        if on
        else None
    )
    yield


router = APIRouter(include_in_schema=False, lifespan=_lifespan, dependencies=VIEWER)


CALL_OUTCOMES = {
    "completed": ("Hang up", "hung up"),
    "no-answer": ("Let it ring out", "rang out unanswered"),
    "busy": ("Reject (busy)", "rejected as busy"),
}
"""How a person at the dev phone can end a call, as Twilio's status callback says it."""


def _phone(request: Request) -> DevPhone:
    phone: DevPhone | None = getattr(request.app.state, "dev_phone", None)
    if phone is None:
        raise ApiError(404, "not_found", "the dev phone is off: calls go out through Twilio")
    return phone


async def _call(request: Request, entry_id: RowId) -> OutboxEntry:
    _phone(request)
    entry = await Outbox(db_of(request)).by_id(entry_id)
    if entry is None or entry.channel != "phone" or not entry.callback_url:
        raise ApiError(404, "not_found", "no such call on the dev phone")
    return entry


@router.get("/mailbox/phone", response_class=HTMLResponse)
async def phone_page(request: Request) -> HTMLResponse:
    if getattr(request.app.state, "dev_phone", None) is None:
        return render(request, "notify/phone.html", off=True)
    recent = await Outbox(db_of(request)).recent(channel="phone", limit=PAGE_SIZE)
    calls = [call for call in recent if call.callback_url]
    return _with_notice(
        request,
        render(
            request,
            "notify/phone.html",
            calls=calls,
            views=await call_views(request, calls),
            notice=read_notice(request),
            outcomes=CALL_OUTCOMES,
        ),
    )


@router.get("/mailbox/phone/{entry_id}", response_class=HTMLResponse)
async def call_page(request: Request, entry_id: RowId) -> HTMLResponse:
    """The call as its last turn left it: reading it again posts nothing."""
    entry = await _call(request, entry_id)
    views = await call_views(request, [entry])
    phone = _phone(request)
    screen = phone.screen(entry.id)
    # The screen signs the handshake: only for someone who may answer the call's question.
    relay = screen.turn.relay_url if screen and not entry.call_outcome else None
    relay = relay if may_act(request) else None
    return _with_notice(
        request,
        render(
            request,
            "notify/call.html",
            call=entry,
            view=views[entry.id],
            screen=screen,
            notice=read_notice(request),
            outcomes=CALL_OUTCOMES,
            line=_line(phone, entry, relay, screen.turn.language) if relay and screen else None,
        ),
    )


def _line(phone: DevPhone, entry: OutboxEntry, relay: str, language: str) -> dict[str, str]:
    """What the call screen needs to open the conversation as ConversationRelay does."""
    return {
        "url": relay,
        "language": language,
        "protocols": " ".join(phone.handshake(relay)),
        "call_sid": entry.provider_id or call_sid(entry.key),
        "from": DEV_CALLER,
        "to": entry.to,
        "ended": f"{_call_path(entry)}/relay-ended",
    }


def _with_notice(request: Request, response: HTMLResponse) -> HTMLResponse:
    if read_notice(request) is not None:
        response.delete_cookie(NOTICE_COOKIE, path="/")  # shown here, so used up
    return response


def _to_call(entry: OutboxEntry) -> RedirectResponse:
    # Post/Redirect/Get: reloading the call's page must not press the key again.
    return RedirectResponse(_call_path(entry), status_code=303)


def _call_path(entry: OutboxEntry) -> str:
    return f"/mailbox/phone/{entry.id}"


def _ended(entry: OutboxEntry) -> RedirectResponse | None:
    if entry.call_outcome is None:
        return None
    return redirect_with(
        _call_path(entry), Notice("error", "This call has ended, so there is nothing to answer.")
    )


@router.post("/mailbox/phone/{entry_id}/pick-up", dependencies=OPERATOR)
async def pick_up(request: Request, entry_id: RowId) -> RedirectResponse:
    entry = await _call(request, entry_id)
    if ended := _ended(entry):
        return ended
    phone = _phone(request)
    try:
        turn = await phone.pick_up(entry)
    except NotOurs as exc:
        raise ApiError(422, "invalid_input", str(exc)) from None
    phone.show(entry.id, Screen(turn))
    return _to_call(entry)


@router.post("/mailbox/phone/{entry_id}/answer", dependencies=OPERATOR)
async def answer_call(request: Request, entry_id: RowId) -> RedirectResponse:
    """A key, some words, or silence, sent where the call is listening."""
    entry = await _call(request, entry_id)
    fields = await read_form(request)
    digits = fields.get("digit", "")[:1]
    speech = fields.get("speech", "").strip()[:500]
    if digits and digits not in "0123456789*#":
        raise ApiError(422, "invalid_input", "press one of the keypad's keys")
    if ended := _ended(entry):
        return ended
    phone = _phone(request)
    try:
        turn = await phone.answer(
            entry, fields.get("listening_at", ""), digits=digits, speech=speech
        )
    except NotOurs as exc:
        raise ApiError(422, "invalid_input", str(exc)) from None
    heard = f"You pressed {digits}" if digits else f"You said “{speech}”" if speech else ""
    phone.show(entry.id, Screen(turn, heard or "You said nothing"))
    return _to_call(entry)


HANDOFF_LIMIT = 4000
"""The longest ``handoffData`` the call screen passes on (the desk's own: a sentence or
three and two flags)."""


@router.post("/mailbox/phone/{entry_id}/relay-ended", dependencies=OPERATOR)
async def relay_ended(request: Request, entry_id: RowId) -> JSONResponse:
    """The call screen's conversation is over (the desk ended it, or the line dropped):
    what Twilio's ``<Connect>`` action answers, for the screen to show. That turn is kept
    as the call's page, so a keypad question (the fallback) is answered there."""
    entry = await _call(request, entry_id)
    if entry.call_outcome is not None:
        raise ApiError(409, "conflict", "this call has ended, so there is nothing to answer")
    fields = await read_form(request)
    handoff = fields.get("handoff", "")
    if len(handoff) > HANDOFF_LIMIT:
        raise ApiError(422, "invalid_input", "the conversation's last words are too long")
    phone = _phone(request)
    turn = await phone.relay_ended(entry, handoff)
    phone.show(entry.id, Screen(turn))
    return JSONResponse(
        {"said": turn.said, "listening": turn.listening_at is not None, "problem": turn.problem}
    )


@router.post("/mailbox/phone/{entry_id}/end", dependencies=OPERATOR)
async def end_call(request: Request, entry_id: RowId) -> RedirectResponse:
    entry = await _call(request, entry_id)
    fields = await read_form(request)
    outcome = fields.get("outcome", "completed")
    if outcome not in CALL_OUTCOMES:
        raise ApiError(422, "invalid_input", f"a call cannot end as {outcome!r}")
    turn = await _phone(request).end(entry, outcome)
    if turn.status >= 400:
        notice = Notice("error", f"The call's status webhook answered {turn.status}.")
    else:
        notice = Notice("ok", f"The call to {entry.to} {CALL_OUTCOMES[outcome][1]}.")
    return redirect_with("/mailbox/phone", notice)
