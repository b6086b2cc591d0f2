"""The dev phone: on a laptop without Twilio, ``opsdesk dev`` puts calls here instead, and
the Mailbox page plays Twilio's part. It posts to the call's real webhooks what Twilio
would post, signed with the webhook key as Twilio signs, and reads back the TwiML they
answer: what the callee hears, and where their key press goes next. So the production
path (signature check, token, update) runs end to end, with a person at the keypad.

Each turn is kept as the call's screen: a key press posts once and the browser is sent to
the call's page, which shows the last turn again however often it is reloaded.

A call that is a conversation (``<Connect><ConversationRelay>``) is played in the browser:
the call's page becomes a call screen (``web/static/phone.js``) that opens the call's real
WebSocket as ConversationRelay does and sends ``setup``, ``prompt``, ``dtmf`` and
``interrupt`` while the desk's words stream in. A browser cannot set the handshake's
``X-Twilio-Signature`` header, so the page offers the same signature, made here with the
webhook key, as a WebSocket subprotocol (``handshake_protocols``); the endpoint reads it
there only while the dev phone is on. When the desk ends the conversation, or the line
drops, the page asks the server to post ``relay-ended`` as Twilio would.
"""

from __future__ import annotations

import base64
import binascii
import xml.etree.ElementTree as ET  # parses only our own webhook's TwiML
from collections.abc import Iterable
from dataclasses import dataclass, field

import httpx
from starlette.types import ASGIApp

from opsdesk.notify.models import OutboxEntry
from opsdesk.notify.voice import (
    CALLS_PATH,
    SIGNATURE_HEADER,
    WebhookSignature,
    call_sid,
    relay_url,
)

DEV_CALLER = "+15005550006"
"""The number dev calls come from (Twilio's test number that always works)."""


DEV_PHONE_PROTOCOL = "opsdesk-dev-phone"
"""The subprotocol the call screen asks for, and the endpoint picks when it signed in."""
SIGNED_PROTOCOL = "opsdesk-signature."
"""Prefix of the subprotocol carrying the handshake's signature (base64url, unpadded: a
subprotocol is an HTTP token, where ``/`` and ``=`` may not appear)."""


def handshake_protocols(signature: str) -> list[str]:
    """The subprotocols the call screen offers: the signature Twilio would send."""
    encoded = base64.urlsafe_b64encode(base64.b64decode(signature)).decode().rstrip("=")
    return [DEV_PHONE_PROTOCOL, SIGNED_PROTOCOL + encoded]


def offered_signature(protocols: Iterable[str]) -> str:
    """The signature a call screen offered among ``protocols``, as Twilio writes it; "" if
    none (or a malformed one)."""
    for protocol in protocols:
        if protocol.startswith(SIGNED_PROTOCOL):
            encoded = protocol.removeprefix(SIGNED_PROTOCOL)
            try:
                raw = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
            except (binascii.Error, ValueError):
                return ""
            return base64.b64encode(raw).decode()
    return ""


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
    """The call is a conversation: ConversationRelay's WebSocket address, which the call
    screen opens."""
    language: str = "en-US"
    """The language the call speaks (``<Say language>``, or ConversationRelay's): the
    page's for its words, and the call screen's to hear and speak."""


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
        """What the callee hears first; for a conversation, the address the call screen
        opens (this stack's only: the screen signs for nothing else)."""
        turn = await self._post(entry, self._voice_url(entry), {"CallStatus": "in-progress"})
        if turn.relay_url and not self._our_relay(turn.relay_url):
            raise NotOurs(f"{turn.relay_url} is not this stack's conversation address")
        return turn

    def handshake(self, url: str) -> list[str]:
        """The subprotocols that sign the call screen's handshake to ``url``, as Twilio
        signs ConversationRelay's (over the URL, with no form)."""
        if not self._our_relay(url):
            raise NotOurs(f"{url} is not this stack's conversation address")
        return handshake_protocols(self.signature.sign(url, {}))

    async def answer(
        self, entry: OutboxEntry, listening_at: str, *, digits: str = "", speech: str = ""
    ) -> PhoneTurn:
        params = {"CallStatus": "in-progress"}
        if digits:
            params["Digits"] = digits
        if speech:
            params["SpeechResult"] = speech
            params["Confidence"] = "0.9"
        return await self._post(entry, listening_at, params)

    async def relay_ended(self, entry: OutboxEntry, handoff: str) -> PhoneTurn:
        """The conversation is over (``handoff``: the ``end`` message's ``handoffData``; ""
        when the line dropped): what comes next, as Twilio asks the ``<Connect>`` action."""
        params = {"CallStatus": "in-progress"}
        if handoff:
            params["HandoffData"] = handoff
        return await self._post(entry, self._voice_url(entry) + "/relay-ended", params)

    async def end(self, entry: OutboxEntry, outcome: str, seconds: int = 0) -> PhoneTurn:
        """How the call ended, as Twilio's status callback says it."""
        params = {"CallStatus": outcome, "CallDuration": str(seconds)}
        return await self._post(entry, self._voice_url(entry) + "/status", params)

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
        turn.language = relay.get("language") or turn.language
        return turn
    for element in root:
        if element.tag == "Say":
            turn.said.append(element.text or "")
            turn.language = element.get("language") or turn.language
        elif element.tag == "Gather":
            turn.said.extend(say.text or "" for say in element.iter("Say"))
            turn.language = element.get("language") or turn.language
            turn.listening_at = element.get("action")
    return turn
