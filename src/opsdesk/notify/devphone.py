"""The dev phone: on a laptop without Twilio, ``opsdesk dev`` puts calls here instead, and
the Mailbox page plays Twilio's part. It posts to the call's real webhooks what Twilio
would post, signed with the webhook key as Twilio signs, and reads back the TwiML they
answer: what the callee hears, and where their key press goes next. So the production
path (signature check, token, update) runs end to end, with a person at the keypad.

Each turn is kept as the call's screen: a key press posts once and the browser is sent to
the call's page, which shows the last turn again however often it is reloaded.

A call that is a conversation (``<Connect><ConversationRelay>``) is played the same way:
the dev phone opens the call's real WebSocket, signed as Twilio signs its handshake, sends
what the person types or presses as ConversationRelay's ``prompt`` and ``dtmf``, shows the
desk's turn, and when the desk ends the conversation asks ``relay-ended`` what comes next,
as Twilio would. Staying silent says nothing (an empty prompt): Twilio's own wait for
speech is not played.
"""

from __future__ import annotations

import asyncio
import json
import xml.etree.ElementTree as ET  # parses only our own webhook's TwiML
from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

import httpx
from starlette.types import ASGIApp
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import WebSocketException

from opsdesk.notify.models import OutboxEntry
from opsdesk.notify.voice import (
    CALLS_PATH,
    SIGNATURE_HEADER,
    WebhookSignature,
    call_sid,
    relay_url,
)

TURN_WAIT = 60.0
"""Seconds the dev phone waits for the desk's turn in a conversation (a model's reply)."""

DEV_CALLER = "+15005550006"
"""The number dev calls come from (Twilio's test number that always works)."""


class NotOurs(ValueError):
    """An address that is not one of this stack's call webhooks: the dev phone signs
    nothing else."""


@dataclass
class PhoneTurn:
    """What one webhook answered: the words said, and what happens next."""

    said: list[str] = field(default_factory=list)
    listening_at: str | None = None
    """Where the next key press or words go (a ``<Gather>``'s action); None: hung up."""
    status: int = 200
    problem: str = ""
    """Why the webhook did not answer with TwiML (a refused signature, say)."""
    relay_url: str | None = None
    """The call is a conversation: ConversationRelay's WebSocket address."""


@dataclass
class Screen:
    """A call's page as its last turn left it."""

    turn: PhoneTurn
    heard: str = ""
    """What the person at the dev phone last did: "You pressed 1"."""


SCREENS_KEPT = 200
"""Screens kept in memory, the oldest forgotten first: a dev tool's calls are few, and a
forgotten screen only asks the person to pick up again."""


class DevPhone:
    """Sends Twilio's requests for dev calls to the app itself, in process."""

    def __init__(self, app: ASGIApp, public_url: str, signature: WebhookSignature) -> None:
        self.app = app
        self.public_url = public_url.rstrip("/")
        self.signature = signature
        self._screens: dict[int, Screen] = {}
        self._relays: dict[int, ClientConnection] = {}
        """Conversations on the line, by call."""

    def show(self, entry_id: int, screen: Screen) -> None:
        """Keep ``screen`` as the call's page."""
        self._screens.pop(entry_id, None)
        self._screens[entry_id] = screen
        while len(self._screens) > SCREENS_KEPT:
            del self._screens[next(iter(self._screens))]

    def screen(self, entry_id: int) -> Screen | None:
        return self._screens.get(entry_id)

    def ours(self, url: str) -> bool:
        return url.startswith(f"{self.public_url}{CALLS_PATH}/")

    def _our_relay(self, url: str) -> bool:
        return url.startswith(relay_url(self.public_url, ""))

    async def pick_up(self, entry: OutboxEntry) -> PhoneTurn:
        turn = await self._post(entry, self._voice_url(entry), {"CallStatus": "in-progress"})
        if turn.relay_url:
            return await self._converse(entry, turn.relay_url)
        return turn

    async def answer(
        self, entry: OutboxEntry, listening_at: str, *, digits: str = "", speech: str = ""
    ) -> PhoneTurn:
        if self._our_relay(listening_at):
            return await self._say(entry, digits=digits, speech=speech)
        params = {"CallStatus": "in-progress"}
        if digits:
            params["Digits"] = digits
        if speech:
            params["SpeechResult"] = speech
            params["Confidence"] = "0.9"
        return await self._post(entry, listening_at, params)

    async def end(self, entry: OutboxEntry, outcome: str, seconds: int = 0) -> PhoneTurn:
        """How the call ended, as Twilio's status callback says it."""
        await self._hang_up(entry)
        params = {"CallStatus": outcome, "CallDuration": str(seconds)}
        return await self._post(entry, self._voice_url(entry) + "/status", params)

    async def _converse(self, entry: OutboxEntry, url: str) -> PhoneTurn:
        """Open the call's conversation as ConversationRelay does; its first turn."""
        if not self._our_relay(url):
            raise NotOurs(f"{url} is not this stack's conversation address")
        await self._hang_up(entry)
        headers = {SIGNATURE_HEADER: self.signature.sign(url, {})}
        try:
            relay = await connect(url, additional_headers=headers, open_timeout=TURN_WAIT)
        except (OSError, WebSocketException, TimeoutError) as exc:
            return PhoneTurn(status=502, problem=f"the conversation did not open: {exc}")
        self._relays[entry.id] = relay
        setup = {
            "type": "setup",
            "callSid": entry.provider_id or call_sid(entry.key),
            "from": DEV_CALLER,
            "to": entry.to,
            "direction": "outbound-api",
            "customParameters": {},
        }
        await relay.send(json.dumps(setup))
        return await self._turn(entry)

    async def _say(self, entry: OutboxEntry, *, digits: str, speech: str) -> PhoneTurn:
        relay = self._relays.get(entry.id)
        if relay is None:
            return PhoneTurn(problem="this conversation has ended: pick up again")
        if digits:
            message: dict[str, Any] = {"type": "dtmf", "digit": digits[:1]}
        else:
            message = {"type": "prompt", "voicePrompt": speech, "lang": "en-US", "last": True}
        try:
            await relay.send(json.dumps(message))
        except WebSocketException:
            self._relays.pop(entry.id, None)
            return PhoneTurn(problem="this conversation has ended: pick up again")
        return await self._turn(entry)

    async def _turn(self, entry: OutboxEntry) -> PhoneTurn:
        """The desk's next turn; or, when it ended the conversation, what ``relay-ended``
        answers (its last words, or the question asked with the keypad)."""
        relay = self._relays[entry.id]
        words: list[str] = []
        try:
            while True:
                message = json.loads(await asyncio.wait_for(relay.recv(), TURN_WAIT))
                if message.get("type") == "end":
                    break
                if message.get("type") == "text":
                    words.append(str(message.get("token", "")))
                    if message.get("last"):
                        listening = relay_url(self.public_url, _token_of(entry))
                        return PhoneTurn(said=["".join(words)], listening_at=listening)
        except (WebSocketException, TimeoutError):
            await self._hang_up(entry)
            ended = await self._post(entry, self._voice_url(entry) + "/relay-ended", {})
            ended.said[:0] = ["".join(words)] if words else []
            return ended
        await self._hang_up(entry)
        handoff = str(message.get("handoffData", ""))
        ended = await self._post(
            entry, self._voice_url(entry) + "/relay-ended", {"HandoffData": handoff}
        )
        ended.said[:0] = ["".join(words)] if words else []
        return ended

    async def _hang_up(self, entry: OutboxEntry) -> None:
        relay = self._relays.pop(entry.id, None)
        if relay is not None:
            with suppress(WebSocketException, OSError):
                await relay.close()

    def _voice_url(self, entry: OutboxEntry) -> str:
        if entry.channel != "phone" or not entry.callback_url:
            raise NotOurs("this outbox entry is not a call the dev phone took")
        return entry.callback_url

    async def _post(self, entry: OutboxEntry, url: str, extra: dict[str, str]) -> PhoneTurn:
        if not self.ours(url):
            raise NotOurs(f"{url} is not one of this stack's call webhooks")
        params = {
            "AccountSid": "AC" + "0" * 32,
            "CallSid": entry.provider_id or call_sid(entry.key),
            "From": DEV_CALLER,
            "To": entry.to,
            "Direction": "outbound-api",
            **extra,
        }
        headers = {SIGNATURE_HEADER: self.signature.sign(url, params)}
        transport = httpx.ASGITransport(app=self.app)
        async with httpx.AsyncClient(transport=transport, base_url=self.public_url) as client:
            response = await client.post(url, data=params, headers=headers)
        if response.status_code == 204:
            return PhoneTurn(status=204)
        if response.headers.get("content-type", "").split(";")[0] != "application/xml":
            return PhoneTurn(status=response.status_code, problem=response.text[:500])
        return _read(response.text, response.status_code)


def _read(twiml: str, status: int) -> PhoneTurn:
    turn = PhoneTurn(status=status)
    root = ET.fromstring(twiml)  # noqa: S314 (our own webhook's answer)
    relay = root.find("Connect/ConversationRelay")
    if relay is not None:
        turn.relay_url = relay.get("url")
        return turn
    for element in root:
        if element.tag == "Say":
            turn.said.append(element.text or "")
        elif element.tag == "Gather":
            turn.said.extend(say.text or "" for say in element.iter("Say"))
            turn.listening_at = element.get("action")
    return turn


def _token_of(entry: OutboxEntry) -> str:
    return (entry.callback_url or "").rsplit("/", 1)[-1]
