"""The WebSocket Twilio's ConversationRelay opens for a call (``/phone/relay/<token>``).

Twilio keeps the call and does speech to text and back; we get ``setup``, ``prompt``,
``dtmf`` and ``interrupt`` messages and answer with ``text`` tokens and, at the end,
``end`` (whose ``handoffData`` the call's ``relay-ended`` webhook says aloud).

The handshake must carry Twilio's signature over our public ``wss`` URL, the token must be
a call's, and a call's conversation is opened once (a row in ``call_relay_claims``). The
workflow owns the question: nothing here is kept but the transcript, and the answer is one
update. A process that stops mid-call drops the socket; Twilio then asks ``relay-ended``,
which asks the open question with the keypad (or says who answered it).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import suppress
from typing import Any

from fastapi import APIRouter, Depends, WebSocket, WebSocketDisconnect
from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from temporalio.service import RPCError

from opsdesk.ai.models import AiUsage
from opsdesk.ai.providers import AnthropicProvider, OpenAIProvider
from opsdesk.ai.select import build_provider
from opsdesk.ai.usage import UsageLog
from opsdesk.db import Database
from opsdesk.db.tables import CallRelayClaim
from opsdesk.maintenance import service
from opsdesk.maintenance.conversation.brains import ModelBrain, OpenAIBrain, RulesBrain
from opsdesk.maintenance.conversation.choice import Handoff
from opsdesk.maintenance.conversation.engine import Brain, Conversation, Ending
from opsdesk.maintenance.conversation.facts import CallFacts, call_facts
from opsdesk.maintenance.ids import request_workflow_id
from opsdesk.maintenance.inputs import CallTranscript
from opsdesk.maintenance.phone import (
    Closed,
    open_question,
    other_way,
    record_call_answer,
    relay_grant,
    webhook_signature,
)
from opsdesk.maintenance.state import RequestState
from opsdesk.maintenance.status import Stage
from opsdesk.notify.devphone import DEV_PHONE_PROTOCOL, offered_signature
from opsdesk.notify.links import LinkGrant
from opsdesk.notify.voice import (
    RELAY_PATH,
    SIGNATURE_HEADER,
    relay_url,
)
from opsdesk.security_events import record
from opsdesk.web.deps import client_of, db_of, settings_of
from opsdesk.web.limits import rate_limited

log = logging.getLogger(__name__)

router = APIRouter(include_in_schema=False, dependencies=[Depends(rate_limited("machines"))])

SETUP_WAIT = 10.0
"""Seconds Twilio has to send ``setup`` once the socket is open."""
WORDS_PER_SECOND = 2.5
"""How fast the desk's words are spoken, roughly: silence is counted from their end."""
POLICY_VIOLATION = 1008


class RelayClaims:
    """Each call's conversation is opened once: a replayed handshake is refused."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def claim(self, grant: LinkGrant) -> bool:
        """Whether this is the call's first conversation (and now its only one)."""
        try:
            async with self.db.transaction() as session:
                session.add(
                    CallRelayClaim(link_id=grant.link_id, request_id=grant.request_id, call_sid="")
                )
        except IntegrityError:
            return False
        return True

    async def called(self, grant: LinkGrant, call_sid: str) -> None:
        """The call the conversation is on, as Twilio's ``setup`` names it."""
        async with self.db.transaction() as session:
            await session.execute(
                update(CallRelayClaim)
                .where(CallRelayClaim.link_id == grant.link_id)
                .values(call_sid=call_sid[:64])
            )


def brain_of(websocket: WebSocket, reference: str) -> Brain:
    """The configured provider's fast model (its turns counted under ``reference``, as
    every model call is); the offline rules otherwise."""
    state = websocket.app.state
    provider = getattr(state, "conversation_provider", False)
    if provider is False:
        provider = build_provider(settings_of(websocket))
        state.conversation_provider = provider
    if not isinstance(provider, AnthropicProvider | OpenAIProvider):
        return RulesBrain()
    log = UsageLog(db_of(websocket))

    async def count(spent: AiUsage, outcome: str) -> None:
        await log.record(reference, spent, outcome)

    if isinstance(provider, OpenAIProvider):
        return OpenAIBrain(provider.client, provider.fast_model, usage=count)
    return ModelBrain(provider.client, provider.fast_model, usage=count)


def _signed(websocket: WebSocket, token: str) -> bool:
    """Twilio signs the handshake over our public ``wss`` URL, with no form."""
    url = relay_url(settings_of(websocket).resolved_public_url, token)
    signature = websocket.headers.get(SIGNATURE_HEADER, "")
    if not signature and _dev_phone(websocket):
        signature = offered_signature(websocket.scope.get("subprotocols", []))
    return webhook_signature(websocket).valid(url, {}, signature)


def _dev_phone(websocket: WebSocket) -> bool:
    """The dev phone's call screen asks: a browser cannot send the signature's header, so
    it offers the signature as a subprotocol. Only while the dev phone is on (``opsdesk
    dev`` without Twilio): in production only Twilio's header counts."""
    on = getattr(websocket.app.state, "dev_phone", None) is not None
    return on and DEV_PHONE_PROTOCOL in websocket.scope.get("subprotocols", [])


@router.websocket(RELAY_PATH + "/{token}")
async def relay(websocket: WebSocket, token: str) -> None:
    """One call's conversation, from Twilio's ``setup`` to our ``end``."""
    client = websocket.client.host if websocket.client else "unknown"
    if not _signed(websocket, token):
        log.warning("refused a call's WebSocket without a valid Twilio signature from %s", client)
        record(
            "webhook_refused", "refused", target="twilio", request=websocket, reason="bad signature"
        )
        await websocket.close(code=POLICY_VIOLATION)
        return
    grant = relay_grant(websocket, token)  # a forged token is recorded as a refused link
    if grant is None:
        await websocket.close(code=POLICY_VIOLATION)
        return
    claims = RelayClaims(db_of(websocket))
    if not await claims.claim(grant):
        log.warning("refused a second WebSocket for call %s", grant.link_id)
        record(
            "link_refused",
            "refused",
            target=f"request:{grant.request_id}",
            request=websocket,
            reason="replayed",
            link="call",
        )
        await websocket.close(code=POLICY_VIOLATION)
        return
    await websocket.accept(subprotocol=DEV_PHONE_PROTOCOL if _dev_phone(websocket) else None)
    try:
        setup = await asyncio.wait_for(websocket.receive_json(), SETUP_WAIT)
    except (TimeoutError, WebSocketDisconnect, ValueError):
        with suppress(Exception):
            await websocket.close()
        return
    if not isinstance(setup, dict) or setup.get("type") != "setup":
        await _end(websocket, Handoff(fallback=True))
        return
    await claims.called(grant, str(setup.get("callSid", "")))
    found = await open_question(websocket, grant)
    if isinstance(found, Closed):
        await _end(websocket, Handoff(" ".join(found.sentences), language=found.language))
        return
    conversation = _conversation(websocket, grant, found.state, found.language)
    session = RelaySession(websocket, conversation, settings_of(websocket).phone_silence)
    try:
        await session.run()
    finally:
        ending = conversation.ending
        if ending is None or not ending.recorded:
            # Shielded: the socket is gone, and the timeline should still hear of the call.
            await asyncio.shield(_keep_transcript(websocket, grant, conversation))


async def _keep_transcript(
    websocket: WebSocket, grant: LinkGrant, conversation: Conversation
) -> None:
    event = CallTranscript(
        call_id=grant.link_id,
        stage=Stage(grant.stage),
        round=grant.round,
        transcript=conversation.note(),
    )
    try:
        await service.call_transcript(client_of(websocket), grant.request_id, event)
    except RPCError:
        # The call's end still reaches the timeline through Twilio's status callback.
        log.warning(
            "a conversation's transcript for %s could not reach its request", grant.request_id
        )


def _conversation(
    websocket: WebSocket, grant: LinkGrant, state: RequestState, language: str
) -> Conversation:
    stage = Stage(grant.stage)
    facts = call_facts(state, stage, language)

    async def record(approve: bool, note: str) -> Ending:
        # Shielded: a caller who hangs up (or talks) as they confirm still gets their answer.
        recorded, sentences = await asyncio.shield(
            record_call_answer(websocket, grant, state, facts.script, approve, note, facts.phrases)
        )
        return Ending(" ".join(sentences), recorded=recorded)

    async def switch(language: str) -> CallFacts:
        nonlocal facts
        # Twilio listens and speaks in the new language from the next words on.
        await websocket.send_json(
            {"type": "language", "ttsLanguage": language, "transcriptionLanguage": language}
        )
        facts = call_facts(state, stage, language)
        return facts

    return Conversation(
        facts=facts,
        brain=brain_of(websocket, request_workflow_id(grant.request_id)),
        record=record,
        other_way=lambda words: other_way(state, words),
        switch=switch,
    )


async def _end(websocket: WebSocket, handoff: Handoff) -> None:
    with suppress(WebSocketDisconnect, RuntimeError):
        await websocket.send_json({"type": "end", "handoffData": handoff.dumps()})
        await websocket.close()


class RelaySession:
    """Reads Twilio's messages while the desk's turn is spoken: a new prompt, a key or an
    interruption stops the turn being spoken at once."""

    def __init__(self, websocket: WebSocket, conversation: Conversation, silence: float) -> None:
        self.websocket = websocket
        self.conversation = conversation
        self.silence = silence
        self.turn: asyncio.Task[int] | None = None
        self.spoken_words = 0

    async def run(self) -> None:
        self._start(_one(self.conversation.opening()))
        receiver: asyncio.Task[str] = asyncio.create_task(self.websocket.receive_text())
        try:
            while self.conversation.ending is None:
                waits: set[asyncio.Task[Any]] = {receiver}
                if self.turn is not None:
                    waits.add(self.turn)
                wait = None if self.turn is not None else self._silence_wait()
                done, _ = await asyncio.wait(
                    waits, timeout=wait, return_when=asyncio.FIRST_COMPLETED
                )
                if self.turn is not None and self.turn in done:
                    self.spoken_words = self._finished(self.turn)
                    self.turn = None
                    continue
                if not done:
                    self._start(self.conversation.silence())
                    continue
                try:
                    message = json.loads(receiver.result())
                except WebSocketDisconnect:
                    log.info("a caller hung up mid-conversation")
                    await self._stop()
                    return
                except (ValueError, KeyError, TypeError):
                    message = None  # not JSON, or a binary frame: not Twilio's, ignored
                receiver = asyncio.create_task(self.websocket.receive_text())
                if isinstance(message, dict):
                    await self._on(message)
            await self._stop_after_record()
            await _end(self.websocket, _handoff(self.conversation))
        finally:
            receiver.cancel()
            await self._stop()

    async def _on(self, message: dict[str, Any]) -> None:
        kind = message.get("type")
        if kind in ("prompt", "dtmf", "interrupt"):
            await self._stop()
            if self.conversation.ending is not None:
                return  # the answer was recorded as the caller spoke: the call ends
        if kind == "prompt" and message.get("last", True):
            self._start(self.conversation.hear(str(message.get("voicePrompt", ""))[:1000]))
        elif kind == "dtmf":
            self._start(self.conversation.press(str(message.get("digit", ""))[:1]))
        elif kind == "interrupt":
            self.conversation.interrupted(str(message.get("utteranceUntilInterrupt", "")))
        elif kind == "error":
            log.warning("ConversationRelay reported: %s", message.get("description", ""))

    def _start(self, words: AsyncIterator[str]) -> None:
        self.turn = asyncio.create_task(self._speak(words))

    async def _speak(self, words: AsyncIterator[str]) -> int:
        count = 0
        spoke = False
        try:
            async for token in words:
                count += len(token.split())
                spoke = True
                await self.websocket.send_json({"type": "text", "token": token, "last": False})
        finally:
            # A stopped turn closes its brain's stream now, not whenever it is collected.
            close = getattr(words, "aclose", None)
            if close is not None:
                await close()
        if spoke:  # a turn that only recorded the answer says nothing: the end follows
            await self.websocket.send_json({"type": "text", "token": "", "last": True})
        return count

    def _finished(self, turn: asyncio.Task[int]) -> int:
        if turn.cancelled():
            return 0
        problem = turn.exception()
        if problem is not None:
            log.error("a call's turn failed", exc_info=problem)
            self.conversation.ending = Ending(
                self.conversation.facts.phrases.trouble, fallback=True
            )
            return 0
        return turn.result()

    async def _stop(self) -> None:
        """Stop the turn being spoken: no more of its words go out. A turn recording the
        answer is let finish: the call must know whether its answer counted."""
        turn, self.turn = self.turn, None
        if turn is not None and self.conversation.recording:
            with suppress(Exception):
                await turn
            # A recording that failed ends the call as a failed turn does: said, not lost.
            self._finished(turn)
        elif turn is not None and not turn.done():
            turn.cancel()
            with suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
                await turn

    async def _stop_after_record(self) -> None:
        # The turn that recorded has nothing more to say; let it finish its last token.
        turn, self.turn = self.turn, None
        if turn is not None:
            with suppress(Exception, asyncio.CancelledError):
                await turn

    def _silence_wait(self) -> float:
        return self.silence + self.spoken_words / WORDS_PER_SECOND


def _handoff(conversation: Conversation) -> Handoff:
    ending, language = conversation.ending, conversation.facts.language
    if ending is None:
        return Handoff(fallback=True, language=language)
    return Handoff(
        ending.goodbye, recorded=ending.recorded, fallback=ending.fallback, language=language
    )


async def _one(text: str) -> AsyncIterator[str]:
    yield text
